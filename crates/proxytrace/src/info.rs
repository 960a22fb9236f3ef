//! `proxytrace info`: what a capture file is and what its packets decode to.

use crate::capture::{
    ByteOrder, Capture, CaptureError, Compression, FileFormat, Interface, Parser, Record, WalkStats,
};
use crate::decode::{self, link_type_name, Decoded, Transport, Undecodable};
use crate::engine::{Engine, Job};
use crate::timefmt::{rfc3339, Precision};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// Per-file packet outcomes. Every record read lands in exactly one of
/// `ipv4`, `ipv6`, `non_ip`, `undecodable` or the walker's skipped records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub ipv4: u64,
    pub ipv6: u64,
    /// Of the IP packets: TCP segments with a readable header.
    pub tcp: u64,
    pub udp: u64,
    /// IP packets carrying another protocol (ICMP, GRE, ...).
    pub other_transport: u64,
    /// Later IP fragments (no transport header).
    pub ip_fragments: u64,
    /// IP packets whose transport header is cut by the snap length.
    pub transport_truncated: u64,
    /// Well-formed frames that carry no IP (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Records that could not be decoded, by reason (keyed by the reason, named only when
    /// written: counting must not allocate per packet).
    #[serde(serialize_with = "undecodable_by_name")]
    pub undecodable: BTreeMap<Undecodable, u64>,
}

impl Outcomes {
    /// Count one decoded record.
    pub fn count(&mut self, result: &Result<Decoded<'_>, Undecodable>) {
        match result {
            Ok(Decoded::NonIp { .. }) => self.non_ip += 1,
            Ok(Decoded::Ip(p)) => {
                if p.ip.version == 4 {
                    self.ipv4 += 1;
                } else {
                    self.ipv6 += 1;
                }
                match p.transport {
                    Transport::Tcp(_) => self.tcp += 1,
                    Transport::Udp(_) => self.udp += 1,
                    Transport::Fragment => self.ip_fragments += 1,
                    Transport::Truncated => self.transport_truncated += 1,
                    Transport::Other => self.other_transport += 1,
                }
            }
            Err(e) => *self.undecodable.entry(*e).or_default() += 1,
        }
    }

    pub fn decoded(&self) -> u64 {
        self.ipv4 + self.ipv6 + self.non_ip
    }

    /// The undecodable counts under their stable snake_case names.
    pub fn undecodable_names(&self) -> BTreeMap<String, u64> {
        self.undecodable
            .iter()
            .map(|(k, v)| (k.name().into_owned(), *v))
            .collect()
    }

    pub fn undecodable_total(&self) -> u64 {
        self.undecodable.values().sum()
    }

    pub fn merge(&mut self, o: &Outcomes) {
        self.ipv4 += o.ipv4;
        self.ipv6 += o.ipv6;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.other_transport += o.other_transport;
        self.ip_fragments += o.ip_fragments;
        self.transport_truncated += o.transport_truncated;
        self.non_ip += o.non_ip;
        for (k, v) in &o.undecodable {
            *self.undecodable.entry(*k).or_default() += v;
        }
    }
}

fn undecodable_by_name<S: serde::Serializer>(
    m: &BTreeMap<Undecodable, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k.name(), v)))
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceInfo {
    pub index: u32,
    pub section: u32,
    pub link_type: u16,
    pub link_type_name: &'static str,
    pub snaplen: u32,
    /// Timestamp resolution as units per second (1000000 = microseconds).
    pub ts_units_per_sec: u64,
    pub ts_offset_s: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Everything `info` reports about one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub file: String,
    /// `pcap` or `pcapng`.
    pub format: &'static str,
    pub compression: Compression,
    /// `little-endian`, `big-endian`, or `mixed` (pcapng sections of both orders).
    pub byte_order: &'static str,
    /// `microsecond`, `nanosecond`, or for pcapng the interfaces' resolutions.
    pub time_resolution: String,
    /// Legacy pcap: format version and whether it is the modified (Kuznetzov) variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub modified: bool,
    pub sections: u32,
    pub interfaces: Vec<InterfaceInfo>,
    /// Bytes of the file (decompressed bytes for compressed inputs).
    pub bytes: u64,
    /// Size on disk, when known (compressed size for .gz/.zst).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    pub records: u64,
    pub captured_bytes: u64,
    /// Earliest and latest record timestamps (RFC 3339, UTC, file precision).
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Records cut by the snap length (captured < original length).
    pub truncated_records: u64,
    pub packets: Outcomes,
    /// Records read but skipped, and damaged regions, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    pub damaged_bytes: u64,
    /// Offsets of the first damaged regions.
    pub damage: Vec<crate::capture::Damage>,
    pub compressed_stream_cut: bool,
}

/// Counts packet outcomes per chunk; chunks' counts add up.
struct InfoJob;

impl Job for InfoJob {
    type Chunk = Outcomes;
    type Out = Outcomes;
    fn start(&self) -> Outcomes {
        Outcomes::default()
    }
    fn record(&self, o: &mut Outcomes, rec: &Record<'_>) {
        o.count(&decode::decode(
            rec.link_type,
            rec.data,
            rec.orig_len,
            rec.ts_ns,
        ));
    }
    fn finish(&self, o: Outcomes, _: &WalkStats) -> Outcomes {
        o
    }
}

/// Read a whole capture with the process-wide engine and describe it.
pub fn describe(cap: Capture) -> Result<FileInfo, CaptureError> {
    match Engine::shared() {
        Ok(engine) => describe_with(engine, cap),
        // No worker threads to be had: walk on this thread.
        Err(_) => describe_sequential(cap),
    }
}

/// Read a whole capture with `engine` and describe it.
pub fn describe_with(engine: &Engine, mut cap: Capture) -> Result<FileInfo, CaptureError> {
    let mut outcomes = Outcomes::default();
    let run = engine.run(&mut cap, &InfoJob, |o, _| {
        outcomes.merge(&o);
        ControlFlow::Continue(())
    })?;
    Ok(summarize(&cap, &run.stats, outcomes))
}

/// The sequential walk, without the engine (the reference the engine must equal).
pub fn describe_sequential(mut cap: Capture) -> Result<FileInfo, CaptureError> {
    let mut stats = WalkStats::default();
    let mut outcomes = InfoJob.start();
    cap.walk(&mut stats, |rec: &Record<'_>| {
        InfoJob.record(&mut outcomes, rec);
        ControlFlow::Continue(())
    })?;
    Ok(summarize(&cap, &stats, outcomes))
}

/// Describe a capture from a finished walk's counters and outcomes.
pub fn summarize(cap: &Capture, stats: &WalkStats, packets: Outcomes) -> FileInfo {
    let (format, byte_order, time_resolution, version, modified, sections, interfaces, precision) =
        match (&cap.format, &cap.parser) {
            (
                FileFormat::Pcap {
                    order,
                    resolution,
                    modified,
                },
                Parser::Legacy(p),
            ) => {
                let iface = InterfaceInfo {
                    index: 0,
                    section: 0,
                    link_type: p.link_type,
                    link_type_name: link_type_name(p.link_type),
                    snaplen: p.snaplen,
                    ts_units_per_sec: match resolution {
                        crate::capture::TimeResolution::Micro => 1_000_000,
                        crate::capture::TimeResolution::Nano => 1_000_000_000,
                    },
                    ts_offset_s: 0,
                    name: None,
                };
                let precision = match resolution {
                    crate::capture::TimeResolution::Micro => Precision::MICRO,
                    crate::capture::TimeResolution::Nano => Precision::NANO,
                };
                (
                    "pcap",
                    order.name(),
                    resolution.name().to_string(),
                    Some(format!("{}.{}", p.version.0, p.version.1)),
                    *modified,
                    1,
                    vec![iface],
                    precision,
                )
            }
            (_, Parser::Ng(p)) => {
                let ifaces: Vec<InterfaceInfo> = p
                    .interfaces
                    .iter()
                    .enumerate()
                    .map(|(i, f)| iface_info(i, f))
                    .collect();
                let orders: Vec<ByteOrder> = p.interfaces.iter().map(|i| i.order).collect();
                let order = if orders.iter().all(|o| *o == ByteOrder::Big) && !orders.is_empty() {
                    "big-endian"
                } else if orders.contains(&ByteOrder::Big) {
                    "mixed"
                } else {
                    p.order.name()
                };
                let mut res: Vec<String> = p
                    .interfaces
                    .iter()
                    .map(|i| resolution_name(i.units_per_sec))
                    .collect();
                res.dedup();
                let finest = p
                    .interfaces
                    .iter()
                    .map(|i| i.units_per_sec)
                    .max()
                    .unwrap_or(1_000_000);
                let precision = if finest > 1_000_000 {
                    Precision::NANO
                } else {
                    Precision::MICRO
                };
                (
                    "pcapng",
                    order,
                    res.join(","),
                    None,
                    false,
                    p.sections,
                    ifaces,
                    precision,
                )
            }
            // The parser always matches the detected format.
            _ => (
                "unknown",
                "unknown",
                String::new(),
                None,
                false,
                0,
                Vec::new(),
                Precision::NANO,
            ),
        };
    let mut skipped = BTreeMap::new();
    for (reason, n) in &stats.skipped {
        skipped.insert(reason.name(), *n);
    }
    FileInfo {
        file: cap.path.display().to_string(),
        format,
        compression: cap.compression,
        byte_order,
        time_resolution,
        version,
        modified,
        sections,
        interfaces,
        bytes: stats.bytes,
        file_bytes: cap.file_len,
        records: stats.records,
        captured_bytes: stats.captured_bytes,
        first_time: stats.min_ts_ns.map(|t| rfc3339(t, precision)),
        last_time: stats.max_ts_ns.map(|t| rfc3339(t, precision)),
        truncated_records: stats.truncated,
        packets,
        skipped,
        damaged_bytes: stats.damaged_bytes,
        damage: stats.damage.clone(),
        compressed_stream_cut: stats.stream_cut,
    }
}

fn iface_info(i: usize, f: &Interface) -> InterfaceInfo {
    InterfaceInfo {
        index: i as u32,
        section: f.section,
        link_type: f.link_type,
        link_type_name: link_type_name(f.link_type),
        snaplen: f.snaplen,
        ts_units_per_sec: f.units_per_sec,
        ts_offset_s: f.offset_s,
        name: f.name.clone(),
    }
}

fn resolution_name(units: u64) -> String {
    match units {
        1 => "second".into(),
        1_000 => "millisecond".into(),
        1_000_000 => "microsecond".into(),
        1_000_000_000 => "nanosecond".into(),
        u => format!("1/{u}s"),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_reasons_are_counted_and_written_by_name() {
        let mut o = Outcomes::default();
        for e in [
            Undecodable::TruncatedIp,
            Undecodable::UnsupportedLinkType(147),
            Undecodable::TruncatedIp,
        ] {
            o.count(&Err(e));
        }
        assert_eq!(o.undecodable_total(), 3);
        assert_eq!(o.decoded(), 0);
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["undecodable"]["truncated_ip_header"], 2);
        assert_eq!(json["undecodable"]["unsupported_link_type_147"], 1);
        let mut merged = o.clone();
        merged.merge(&o);
        assert_eq!(merged.undecodable_names()["truncated_ip_header"], 4);
    }
}
