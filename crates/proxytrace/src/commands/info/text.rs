//! The human-readable form of [`FileInfo`]: one `key: value` block per file.

use super::FileInfo;
use crate::capture::Compression;

/// The human-readable form: one `key: value` block per file.
pub fn write_text<W: std::io::Write + ?Sized>(w: &mut W, f: &FileInfo) -> std::io::Result<()> {
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "file:              {}", f.file);
    let compression = match f.compression {
        Compression::None => String::new(),
        Compression::Gzip => ", gzip".into(),
        Compression::Zstd => ", zstd".into(),
    };
    let variant = if f.modified { " (modified)" } else { "" };
    let version = f
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "format:            {}{version}{variant}{compression}",
        f.format
    );
    let _ = writeln!(s, "byte order:        {}", f.byte_order);
    let _ = writeln!(s, "time resolution:   {}", f.time_resolution);
    if f.format == "pcapng" {
        let _ = writeln!(s, "sections:          {}", f.sections);
    }
    for i in &f.interfaces {
        let name = i
            .name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "interface {}:       {} ({}), snaplen {}{name}{}",
            i.index,
            i.link_type_name,
            i.link_type,
            i.snaplen,
            if i.ts_offset_s != 0 {
                format!(", ts offset {}s", i.ts_offset_s)
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(s, "bytes:             {}", f.bytes);
    let _ = writeln!(s, "records:           {}", f.records);
    let _ = writeln!(
        s,
        "first time:        {}",
        f.first_time.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        s,
        "last time:         {}",
        f.last_time.as_deref().unwrap_or("-")
    );
    let p = &f.packets;
    let _ = writeln!(
        s,
        "packets:           ipv4 {}, ipv6 {}, non-ip {}, undecodable {}",
        p.ipv4,
        p.ipv6,
        p.non_ip,
        p.undecodable_total()
    );
    let _ = writeln!(
        s,
        "transport:         tcp {}, udp {}, other {}, fragments {}, truncated {}",
        p.tcp, p.udp, p.other_transport, p.ip_fragments, p.transport_truncated
    );
    for (reason, n) in &p.undecodable_names() {
        let _ = writeln!(s, "  undecodable {reason}: {n}");
    }
    let _ = writeln!(s, "truncated records: {}", f.truncated_records);
    for (reason, n) in &f.skipped {
        let _ = writeln!(s, "skipped {reason}: {n}");
    }
    if f.damaged_bytes > 0 {
        let _ = writeln!(s, "damaged bytes:     {}", f.damaged_bytes);
        for d in &f.damage {
            let _ = writeln!(
                s,
                "  at byte {}: {} bytes ({})",
                d.offset,
                d.bytes,
                d.reason.name()
            );
        }
    }
    if f.compressed_stream_cut {
        let _ = writeln!(s, "warning:           compressed stream ends early");
    }
    s.push('\n');
    w.write_all(s.as_bytes())
}
