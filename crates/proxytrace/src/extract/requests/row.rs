//! The `requests` row schema: [`RequestRow`] (flat, the CSV and table columns) and
//! [`RequestJson`] (the JSON forms, with the parsed PROXY header).

use crate::identity::{IdentityBasis, IdentitySource};
use crate::proxy_protocol::ProxyHeader;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// One request, flat: the CSV schema. Field order is column order (README documents it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRow {
    /// First byte of the request head: RFC 3339 UTC, at the capture's precision.
    pub time: String,
    /// The capture the request head starts in (`-` for standard input).
    pub file: String,
    /// 1-based packet number (as Wireshark numbers frames) holding the first byte.
    pub packet: u64,
    /// Back-side source address (the proxy, or the client with `--transparent`).
    pub src_ip: IpAddr,
    /// Back-side source port.
    pub src_port: u16,
    /// Back-side destination address (the backend).
    pub dst_ip: IpAddr,
    /// Back-side destination port.
    pub dst_port: u16,
    /// Request method, escaped.
    pub method: String,
    /// Host header, escaped.
    pub host: String,
    /// Request target, escaped.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub http_version: &'static str,
    /// User-Agent header, escaped.
    pub user_agent: String,
    /// The client the identity sources name.
    pub client_ip: Option<IpAddr>,
    /// The client's port, when its source names one.
    pub client_port: Option<u16>,
    /// Which source named the client: proxy_protocol, forwarded, x_forwarded_for,
    /// x_real_ip, x_client_ip, true_client_ip, cf_connecting_ip, custom_N, transparent
    /// (written empty when no source named one).
    #[serde(serialize_with = "IdentitySource::serialize_or_empty")]
    pub identity_source: Option<IdentitySource>,
    /// How the client was chosen: configured (the user named the source), profile
    /// (learned: the source this proxy writes on this backend), default_order.
    pub identity_basis: IdentityBasis,
    /// The chosen source's whole chain, entries as written, joined with ", ".
    pub chain: String,
    /// Every X-Forwarded-For value, in order, joined with ", ".
    pub xff: String,
    /// Every X-Real-IP value, joined with ", ".
    pub x_real_ip: String,
    /// Every Forwarded value, joined with ", ".
    pub forwarded: String,
    /// PROXY protocol version (1 or 2) when the connection began with a preamble.
    pub proxy_version: Option<u8>,
    /// Source address of the PROXY header.
    pub proxy_src: Option<SocketAddr>,
    /// Destination address of the PROXY header.
    pub proxy_dst: Option<SocketAddr>,
    /// Something about the identity looks forged.
    pub spoof_suspect: bool,
    /// Why, joined with `|`.
    pub spoof_reasons: String,
    /// p0f SPOE agent headers, `name=value` joined with `|`.
    pub p0f: String,
    /// 1-based position of this request on its connection.
    pub request_on_connection: u32,
    /// Reassembly and parsing flags, joined with `|`.
    pub flags: String,
    /// `time` as nanoseconds since the epoch (ordering, aggregates; not a column).
    #[serde(skip)]
    pub ts_ns: i64,
    /// The PROXY header, for JSON output (TLVs included).
    #[serde(skip)]
    pub proxy: Option<ProxyHeader>,
    /// The address each identity source names (its chosen entry; the PROXY source), when
    /// the config asks for them (not a column).
    #[serde(skip)]
    pub source_addrs: Vec<(IdentitySource, IpAddr)>,
}

/// The JSON and JSON Lines form: the flat row plus the parsed PROXY header with its TLVs.
#[derive(Serialize)]
pub struct RequestJson {
    /// The flat columns.
    #[serde(flatten)]
    pub row: RequestRow,
    /// The parsed PROXY header.
    pub proxy: Option<ProxyHeader>,
}

impl From<RequestRow> for RequestJson {
    fn from(mut row: RequestRow) -> RequestJson {
        RequestJson {
            proxy: row.proxy.take(),
            row,
        }
    }
}
