//! [`SynRow`]: the `syns` row schema (the module documentation of `handshakes` lists its
//! columns), built from a finished [`SynEntry`].

use super::{FileMeta, SynEntry};
use crate::decode::TcpFlags;
use crate::fingerprint::{Database, MatchQuality, P0fIgnores, WindowForm};
use crate::timefmt::write_rfc3339;
use serde::Serialize;
use std::net::IpAddr;

fn quality_name(q: Option<MatchQuality>) -> &'static str {
    match q {
        Some(q) => q.name(),
        None => "none",
    }
}

/// One output row; field order is column order (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynRow {
    /// Packet time, RFC 3339 UTC, capture precision (pcap: file resolution; pcapng: 9 digits).
    pub time: String,
    /// Capture file the packet is in (`-` for stdin).
    pub file: String,
    /// 1-based record number in that file (as Wireshark numbers frames).
    pub packet: u64,
    /// IP source of the packet.
    pub src_ip: IpAddr,
    /// TCP source port.
    pub src_port: u16,
    /// IP destination.
    pub dst_ip: IpAddr,
    /// TCP destination port.
    pub dst_port: u16,
    /// `syn` (client SYN) or `syn+ack` (server SYN+ACK).
    pub direction: &'static str,
    /// 4 or 6.
    pub ip_version: u8,
    /// Observed TTL / hop limit.
    pub ttl: u8,
    /// Initial TTL guess: next of 32, 64, 128, 255.
    pub initial_ttl: u8,
    /// Hops guessed from the TTL; empty beyond 35 (p0f `+?`).
    pub distance: Option<u8>,
    /// IPv4 option bytes (0 for IPv6).
    pub ip_options_len: u8,
    /// MSS option; empty when absent (p0f prints 0).
    pub mss: Option<u16>,
    /// Raw TCP window.
    pub window: u16,
    /// `mss*K` or `mtu*K` when p0f writes the window as a multiple of the MSS or MTU;
    /// empty when it writes the number itself (that is `window`), so the column never
    /// looks numeric to a reader guessing types.
    pub window_form: Option<String>,
    /// Window-scale shift; empty when absent.
    pub window_scale: Option<u8>,
    /// Options in p0f names (`mss,sok,ts,nop,ws`).
    pub olayout: String,
    /// Option kinds as numbers, a bracketed list (`[2,4,8,1,3]`, `[]` for none): never
    /// one bare number, which a reader guessing types would take for an integer column.
    pub option_kinds: String,
    /// P0f quirks (`df,id+`).
    pub quirks: String,
    /// The packet carries payload (p0f payload class `+`; `0` is false).
    pub payload: bool,
    /// P0f raw_sig `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`.
    pub signature: String,
    /// IPv4 don't-fragment flag.
    pub df: bool,
    /// IPv4 identification (IPv6: fragment id if any).
    pub ip_id: Option<u32>,
    /// The two ECN bits of TOS / traffic class (0-3).
    pub ip_ecn: u8,
    /// TCP ECN flags set, of `ece,cwr,ns`.
    pub tcp_ecn: &'static str,
    /// TCP timestamp own value (TSval).
    pub ts_val: Option<u32>,
    /// TCP timestamp echoed value (TSecr).
    pub ts_ecr: Option<u32>,
    /// Payload bytes the IP length announces (TCP Fast Open data).
    pub payload_len: u32,
    /// MTU implied by the MSS (MSS+40 IPv4, MSS+60 IPv6).
    pub link_mtu: Option<u32>,
    /// Link name for that MTU (p0f `[mtu]`: `Ethernet or modem`, `DSL`...).
    pub link: Option<String>,
    /// Ns from the connection's last SYN before the first SYN+ACK to that SYN+ACK (server side).
    pub syn_to_synack_ns: Option<i64>,
    /// Ns from the last SYN+ACK to the client's handshake ACK (client round trip).
    pub synack_to_ack_ns: Option<i64>,
    /// Repeats of this packet (same ports and sequence number) counted instead of emitted: SYNs on a `syn` row, SYN+ACKs on a `syn+ack` row.
    pub retransmits: u32,
    /// Why p0f would not report it: `silly_flags` (SYN+FIN/RST), `fragment`, `ipv6_extensions`, `truncated`.
    pub p0f_ignores: Option<&'static str>,
    /// Host uptime estimate from two timestamped SYNs of this host; a hint (offsets are often random).
    pub uptime_hint_s: Option<u64>,
    /// TCP timestamp clock frequency of that estimate.
    pub ts_clock_hz: Option<u32>,
    /// Matched database label (`s:unix:Linux:3.11 and newer`).
    pub os_label: Option<String>,
    /// `unix`, `win`... (empty for a userland tool `!`).
    pub os_class: Option<String>,
    /// `Linux`, `Windows`....
    pub os_name: Option<String>,
    /// `3.11 and newer`....
    pub os_flavor: Option<String>,
    /// `exact`, `fuzzy`, `generic` or `none`.
    pub match_quality: &'static str,
    /// Signature initial TTL - observed TTL (p0f `dist`).
    pub match_distance: Option<u8>,
}

fn tcp_ecn_names(flags: TcpFlags) -> &'static str {
    // All 8 combinations, so the row needs no allocation for this column.
    const NAMES: [&str; 8] = [
        "",
        "ece",
        "cwr",
        "ece,cwr",
        "ns",
        "ece,ns",
        "cwr,ns",
        "ece,cwr,ns",
    ];
    let i = usize::from(flags.has(TcpFlags::ECE))
        | usize::from(flags.has(TcpFlags::CWR)) << 1
        | usize::from(flags.has(TcpFlags::NS)) << 2;
    NAMES.get(i).copied().unwrap_or("")
}

impl SynRow {
    /// The row of a finished entry of file `meta`, with the database's link names.
    pub fn new(e: &SynEntry<'_>, meta: &FileMeta, db: &Database) -> SynRow {
        let o = &e.obs;
        let mut time = String::with_capacity(32);
        write_rfc3339(&mut time, o.ts_ns, meta.precision);
        let link_mtu = o.link_mtu();
        SynRow {
            time,
            file: meta.name.clone(),
            packet: e.index,
            src_ip: e.src.ip(),
            src_port: e.src.port(),
            dst_ip: e.dst.ip(),
            dst_port: e.dst.port(),
            direction: o.kind.p0f_name(),
            ip_version: o.ip_version,
            ttl: o.ttl,
            initial_ttl: o.initial_ttl_guess(),
            distance: o.distance_guess(),
            ip_options_len: o.ip_options_len,
            mss: o.mss,
            window: o.window,
            window_form: match o.window_form() {
                WindowForm::Raw(_) => None,
                form => Some(form.to_string()),
            },
            window_scale: o.window_scale,
            olayout: o.options.to_string(),
            option_kinds: format!("[{}]", o.options.numeric()),
            quirks: o.quirks.to_string(),
            payload: o.has_payload(),
            signature: o.to_string(),
            df: o.df,
            ip_id: o.ip_id,
            ip_ecn: o.ip_ecn,
            tcp_ecn: tcp_ecn_names(o.tcp_flags),
            ts_val: o.ts_val(),
            ts_ecr: o.ts_ecr(),
            payload_len: o.payload_len,
            link_mtu,
            link: link_mtu.and_then(|m| db.mtu_name(m)).map(str::to_string),
            syn_to_synack_ns: e.syn_to_synack_ns,
            synack_to_ack_ns: e.synack_to_ack_ns,
            retransmits: e.retransmits,
            p0f_ignores: o.p0f_ignores.map(P0fIgnores::name),
            uptime_hint_s: e.uptime.map(|u| u.uptime_s),
            ts_clock_hz: e.uptime.map(|u| u.freq_hz),
            os_label: e.os.map(|m| m.label.to_string()),
            os_class: e.os.and_then(|m| m.class).map(str::to_string),
            os_name: e.os.map(|m| m.name.to_string()),
            os_flavor: e.os.map(|m| m.flavor.to_string()),
            match_quality: quality_name(e.os.map(|m| m.quality)),
            match_distance: e.os.map(|m| m.distance),
        }
    }
}

impl crate::vocab::schema::Columns for SynRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("time", Timestamp, "Packet time, RFC 3339 UTC, capture precision (pcap: file resolution; pcapng: 9 digits)."),
            Column::req("file", Text, "Capture file the packet is in (`-` for stdin)."),
            Column::req("packet", UInt64, "1-based record number in that file (as Wireshark numbers frames)."),
            Column::req("src_ip", Ip, "IP source of the packet."),
            Column::req("src_port", UInt16, "TCP source port."),
            Column::req("dst_ip", Ip, "IP destination."),
            Column::req("dst_port", UInt16, "TCP destination port."),
            Column::req("direction", Text, "`syn` (client SYN) or `syn+ack` (server SYN+ACK)."),
            Column::req("ip_version", UInt8, "4 or 6."),
            Column::req("ttl", UInt8, "Observed TTL / hop limit."),
            Column::req("initial_ttl", UInt8, "Initial TTL guess: next of 32, 64, 128, 255."),
            Column::opt("distance", UInt8, "Hops guessed from the TTL; empty beyond 35 (p0f `+?`)."),
            Column::req("ip_options_len", UInt8, "IPv4 option bytes (0 for IPv6)."),
            Column::opt("mss", UInt16, "MSS option; empty when absent (p0f prints 0)."),
            Column::req("window", UInt16, "Raw TCP window."),
            Column::opt("window_form", Text, "`mss*K` or `mtu*K` when p0f writes the window as a multiple of the MSS or MTU; empty when it writes the number itself (that is `window`), so the column never looks numeric to a reader guessing types."),
            Column::opt("window_scale", UInt8, "Window-scale shift; empty when absent."),
            Column::req("olayout", TextList { sep: "," }, "Options in p0f names (`mss,sok,ts,nop,ws`)."),
            Column::req("option_kinds", UIntList, "Option kinds as numbers, a bracketed list (`[2,4,8,1,3]`, `[]` for none): never one bare number, which a reader guessing types would take for an integer column."),
            Column::req("quirks", TextList { sep: "," }, "P0f quirks (`df,id+`)."),
            Column::req("payload", Bool, "The packet carries payload (p0f payload class `+`; `0` is false)."),
            Column::req("signature", Text, "P0f raw_sig `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`."),
            Column::req("df", Bool, "IPv4 don't-fragment flag."),
            Column::opt("ip_id", UInt32, "IPv4 identification (IPv6: fragment id if any)."),
            Column::req("ip_ecn", UInt8, "The two ECN bits of TOS / traffic class (0-3)."),
            Column::req("tcp_ecn", TextList { sep: "," }, "TCP ECN flags set, of `ece,cwr,ns`."),
            Column::opt("ts_val", UInt32, "TCP timestamp own value (TSval)."),
            Column::opt("ts_ecr", UInt32, "TCP timestamp echoed value (TSecr)."),
            Column::req("payload_len", UInt32, "Payload bytes the IP length announces (TCP Fast Open data)."),
            Column::opt("link_mtu", UInt32, "MTU implied by the MSS (MSS+40 IPv4, MSS+60 IPv6)."),
            Column::opt("link", Text, "Link name for that MTU (p0f `[mtu]`: `Ethernet or modem`, `DSL`...)."),
            Column::opt("syn_to_synack_ns", Int64, "Ns from the connection's last SYN before the first SYN+ACK to that SYN+ACK (server side)."),
            Column::opt("synack_to_ack_ns", Int64, "Ns from the last SYN+ACK to the client's handshake ACK (client round trip)."),
            Column::req("retransmits", UInt32, "Repeats of this packet (same ports and sequence number) counted instead of emitted: SYNs on a `syn` row, SYN+ACKs on a `syn+ack` row."),
            Column::opt("p0f_ignores", Text, "Why p0f would not report it: `silly_flags` (SYN+FIN/RST), `fragment`, `ipv6_extensions`, `truncated`."),
            Column::opt("uptime_hint_s", UInt64, "Host uptime estimate from two timestamped SYNs of this host; a hint (offsets are often random)."),
            Column::opt("ts_clock_hz", UInt32, "TCP timestamp clock frequency of that estimate."),
            Column::opt("os_label", Text, "Matched database label (`s:unix:Linux:3.11 and newer`)."),
            Column::opt("os_class", Text, "`unix`, `win`... (empty for a userland tool `!`)."),
            Column::opt("os_name", Text, "`Linux`, `Windows`...."),
            Column::opt("os_flavor", Text, "`3.11 and newer`...."),
            Column::req("match_quality", Text, "`exact`, `fuzzy`, `generic` or `none`."),
            Column::opt("match_distance", UInt8, "Signature initial TTL - observed TTL (p0f `dist`)."),
        ]
    }
}
