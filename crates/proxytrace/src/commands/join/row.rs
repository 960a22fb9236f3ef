//! [`JoinRow`]: one joined row, the schema of `join`'s output.

use super::rules::{JoinOutcome, Joiner};
use crate::extract::requests::RequestRow;
use crate::timefmt::{write_rfc3339, Precision};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// One joined row: the `requests` columns, the front connection, the client SYN's `syns`
/// columns prefixed `syn_`, and how the join was made. Field order is column order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JoinRow {
    pub time: String,
    pub file: String,
    pub packet_index: u64,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub method: String,
    pub host: String,
    pub target: String,
    pub http_version: &'static str,
    pub user_agent: String,
    pub client_ip: Option<IpAddr>,
    pub client_port: Option<u16>,
    pub identity_source: String,
    pub chain: String,
    pub xff: String,
    pub x_real_ip: String,
    pub forwarded: String,
    pub proxy_version: Option<u8>,
    pub proxy_src: Option<SocketAddr>,
    pub proxy_dst: Option<SocketAddr>,
    pub spoof_suspect: bool,
    pub spoof_reasons: String,
    pub p0f: String,
    pub request_on_connection: u32,
    pub flags: String,

    pub front_src_ip: Option<IpAddr>,
    pub front_src_port: Option<u16>,
    pub front_dst_ip: Option<IpAddr>,
    pub front_dst_port: Option<u16>,
    pub front_syn_time: Option<String>,

    pub syn_time: Option<String>,
    pub syn_file: Option<String>,
    pub syn_packet: Option<u64>,
    pub syn_src_ip: Option<IpAddr>,
    pub syn_src_port: Option<u16>,
    pub syn_dst_ip: Option<IpAddr>,
    pub syn_dst_port: Option<u16>,
    pub syn_direction: Option<&'static str>,
    pub syn_ip_version: Option<u8>,
    pub syn_ttl: Option<u8>,
    pub syn_initial_ttl: Option<u8>,
    pub syn_distance: Option<u8>,
    pub syn_ip_options_len: Option<u8>,
    pub syn_mss: Option<u16>,
    pub syn_window: Option<u16>,
    pub syn_window_form: Option<String>,
    pub syn_window_scale: Option<u8>,
    pub syn_olayout: Option<String>,
    pub syn_option_kinds: Option<String>,
    pub syn_quirks: Option<String>,
    pub syn_pclass: Option<&'static str>,
    pub syn_signature: Option<String>,
    pub syn_df: Option<bool>,
    pub syn_ip_id: Option<u32>,
    pub syn_ip_ecn: Option<u8>,
    pub syn_tcp_ecn: Option<&'static str>,
    pub syn_ts_val: Option<u32>,
    pub syn_ts_ecr: Option<u32>,
    pub syn_payload_len: Option<u32>,
    pub syn_link_mtu: Option<u32>,
    pub syn_link: Option<String>,
    pub syn_syn_to_synack_ns: Option<i64>,
    pub syn_synack_to_ack_ns: Option<i64>,
    pub syn_retransmits: Option<u32>,
    pub syn_p0f_ignores: Option<&'static str>,
    pub syn_uptime_hint_s: Option<u64>,
    pub syn_ts_clock_hz: Option<u32>,
    pub syn_os_label: Option<String>,
    pub syn_os_class: Option<String>,
    pub syn_os_name: Option<String>,
    pub syn_os_flavor: Option<String>,
    pub syn_match_quality: Option<&'static str>,
    pub syn_match_distance: Option<u8>,

    pub join_method: &'static str,
    pub join_confidence: &'static str,
    /// Distinct fingerprints that could match (1 for a certain match, 0 for none).
    pub join_candidates: u32,
    /// Back request time (clock-corrected) - front SYN time.
    pub join_delta_ns: Option<i64>,

    /// The request's time, ns (for summaries; not a column).
    #[serde(skip)]
    pub ts_ns: i64,
}

impl Joiner<'_, '_> {
    /// The output row of a request and its outcome.
    pub fn row(&self, r: RequestRow, o: &JoinOutcome) -> JoinRow {
        let front = o.syn.and_then(|s| self.index.five_tuple(&s));
        let syn = o.syn.and_then(|s| self.index.syn_row(&s));
        let s = syn.as_ref();
        let front_syn_time = o.syn.map(|f| {
            let prec = self
                .index
                .vars
                .get(f.detail as usize)
                .and_then(|v| self.index.files.get(v.file as usize))
                .map_or(Precision::NANO, |m| m.precision);
            let mut t = String::with_capacity(32);
            write_rfc3339(&mut t, f.ts_ns, prec);
            t
        });
        JoinRow {
            time: r.time,
            file: r.file,
            packet_index: r.packet_index,
            src_ip: r.src_ip,
            src_port: r.src_port,
            dst_ip: r.dst_ip,
            dst_port: r.dst_port,
            method: r.method,
            host: r.host,
            target: r.target,
            http_version: r.http_version,
            user_agent: r.user_agent,
            client_ip: r.client_ip,
            client_port: r.client_port,
            identity_source: r.identity_source,
            chain: r.chain,
            xff: r.xff,
            x_real_ip: r.x_real_ip,
            forwarded: r.forwarded,
            proxy_version: r.proxy_version,
            proxy_src: r.proxy_src,
            proxy_dst: r.proxy_dst,
            spoof_suspect: r.spoof_suspect,
            spoof_reasons: r.spoof_reasons,
            p0f: r.p0f,
            request_on_connection: r.request_on_connection,
            flags: r.flags,
            front_src_ip: front.map(|f| f.src_ip),
            front_src_port: front.map(|f| f.src_port),
            front_dst_ip: front.map(|f| f.dst_ip),
            front_dst_port: front.map(|f| f.dst_port),
            front_syn_time,
            syn_time: s.map(|s| s.time.clone()),
            syn_file: s.map(|s| s.file.clone()),
            syn_packet: s.map(|s| s.packet),
            syn_src_ip: s.map(|s| s.src_ip),
            syn_src_port: s.map(|s| s.src_port),
            syn_dst_ip: s.map(|s| s.dst_ip),
            syn_dst_port: s.map(|s| s.dst_port),
            syn_direction: s.map(|s| s.direction),
            syn_ip_version: s.map(|s| s.ip_version),
            syn_ttl: s.map(|s| s.ttl),
            syn_initial_ttl: s.map(|s| s.initial_ttl),
            syn_distance: s.and_then(|s| s.distance),
            syn_ip_options_len: s.map(|s| s.ip_options_len),
            syn_mss: s.and_then(|s| s.mss),
            syn_window: s.map(|s| s.window),
            syn_window_form: s.map(|s| s.window_form.clone()),
            syn_window_scale: s.and_then(|s| s.window_scale),
            syn_olayout: s.map(|s| s.olayout.clone()),
            syn_option_kinds: s.map(|s| s.option_kinds.clone()),
            syn_quirks: s.map(|s| s.quirks.clone()),
            syn_pclass: s.map(|s| s.pclass),
            syn_signature: s.map(|s| s.signature.clone()),
            syn_df: s.map(|s| s.df),
            syn_ip_id: s.and_then(|s| s.ip_id),
            syn_ip_ecn: s.map(|s| s.ip_ecn),
            syn_tcp_ecn: s.map(|s| s.tcp_ecn),
            syn_ts_val: s.and_then(|s| s.ts_val),
            syn_ts_ecr: s.and_then(|s| s.ts_ecr),
            syn_payload_len: s.map(|s| s.payload_len),
            syn_link_mtu: s.and_then(|s| s.link_mtu),
            syn_link: s.and_then(|s| s.link.clone()),
            syn_syn_to_synack_ns: s.and_then(|s| s.syn_to_synack_ns),
            syn_synack_to_ack_ns: s.and_then(|s| s.synack_to_ack_ns),
            syn_retransmits: s.map(|s| s.retransmits),
            syn_p0f_ignores: s.and_then(|s| s.p0f_ignores),
            syn_uptime_hint_s: s.and_then(|s| s.uptime_hint_s),
            syn_ts_clock_hz: s.and_then(|s| s.ts_clock_hz),
            syn_os_label: s.and_then(|s| s.os_label.clone()),
            syn_os_class: s.and_then(|s| s.os_class.clone()),
            syn_os_name: s.and_then(|s| s.os_name.clone()),
            syn_os_flavor: s.and_then(|s| s.os_flavor.clone()),
            syn_match_quality: s.map(|s| s.match_quality),
            syn_match_distance: s.and_then(|s| s.match_distance),
            join_method: o.method.name(),
            join_confidence: o.confidence.name(),
            join_candidates: o.candidates,
            join_delta_ns: o.delta_ns,
            ts_ns: r.ts_ns,
        }
    }
}
