//! [`SynRow`]: the `syns` row schema (the module documentation of `handshakes` lists its
//! columns), built from a finished [`SynEntry`].

use super::{FileMeta, SynEntry};
use crate::decode::TcpFlags;
use crate::fingerprint::{Database, MatchQuality, P0fIgnores};
use crate::timefmt::write_rfc3339;
use serde::Serialize;
use std::net::IpAddr;

fn p0f_ignores_name(r: P0fIgnores) -> &'static str {
    match r {
        P0fIgnores::SillyFlags => "silly_flags",
        P0fIgnores::Fragment => "fragment",
        P0fIgnores::Ipv6Extensions => "ipv6_extensions",
        P0fIgnores::Truncated => "truncated",
    }
}

fn quality_name(q: Option<MatchQuality>) -> &'static str {
    match q {
        Some(MatchQuality::Exact) => "exact",
        Some(MatchQuality::Fuzzy) => "fuzzy",
        Some(MatchQuality::Generic) => "generic",
        None => "none",
    }
}

/// One output row; field order is column order (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynRow {
    pub time: String,
    pub file: String,
    pub packet: u64,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub direction: &'static str,
    pub ip_version: u8,
    pub ttl: u8,
    pub initial_ttl: u8,
    pub distance: Option<u8>,
    pub ip_options_len: u8,
    pub mss: Option<u16>,
    pub window: u16,
    pub window_form: String,
    pub window_scale: Option<u8>,
    pub olayout: String,
    pub option_kinds: String,
    pub quirks: String,
    pub pclass: &'static str,
    pub signature: String,
    pub df: bool,
    pub ip_id: Option<u32>,
    pub ip_ecn: u8,
    pub tcp_ecn: &'static str,
    pub ts_val: Option<u32>,
    pub ts_ecr: Option<u32>,
    pub payload_len: u32,
    pub link_mtu: Option<u32>,
    pub link: Option<String>,
    pub syn_to_synack_ns: Option<i64>,
    pub synack_to_ack_ns: Option<i64>,
    pub retransmits: u32,
    pub p0f_ignores: Option<&'static str>,
    pub uptime_hint_s: Option<u64>,
    pub ts_clock_hz: Option<u32>,
    pub os_label: Option<String>,
    pub os_class: Option<String>,
    pub os_name: Option<String>,
    pub os_flavor: Option<String>,
    pub match_quality: &'static str,
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
            window_form: o.window_form().to_string(),
            window_scale: o.window_scale,
            olayout: o.options.to_string(),
            option_kinds: o.options.numeric().to_string(),
            quirks: o.quirks.to_string(),
            pclass: if o.has_payload() { "+" } else { "0" },
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
            p0f_ignores: o.p0f_ignores.map(p0f_ignores_name),
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
