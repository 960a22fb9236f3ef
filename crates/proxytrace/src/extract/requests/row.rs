//! The `requests` row schema: [`RequestRow`] (flat, the CSV and table columns) and
//! [`RequestJson`] (the JSON forms, with the parsed PROXY header).

use crate::http1::{BodyFraming, ResponseMissing};
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
    /// Status code of the response on the same connection (interim 1xx ones skipped);
    /// empty when no response head was seen.
    pub status: Option<u16>,
    /// Bytes of the response head, status line through the blank line.
    pub response_head_bytes: Option<u32>,
    /// Response body bytes seen (a chunked body's data, without its chunk framing).
    pub response_body_bytes: Option<u64>,
    /// How the response body is delimited: content_length, chunked, close, none (HEAD,
    /// 1xx, 204, 304, a tunnel's 2xx or 101), unknown (invalid length: not followed).
    pub response_body_framing: Option<BodyFraming>,
    /// The response's Content-Type, escaped.
    pub content_type: String,
    /// Microseconds from the request's first byte to the response's first byte (both
    /// capture timestamps; negative if the capture's clock stepped back).
    pub response_time_us: Option<i64>,
    /// The connection closed after this response: it said `Connection: close` (or is
    /// HTTP/1.0 without keep-alive), its body ran to the close, or the server's FIN or a
    /// RST came with its last bytes (a later close is not waited for).
    pub closed_after: Option<bool>,
    /// Why there is no complete response: capture_end, timeout, closed, reset,
    /// client_closed, gap, unparsed, cap, evicted, replaced, tunnel; empty
    /// when it is complete.
    pub response_missing: Option<ResponseMissing>,
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

impl crate::vocab::schema::Columns for RequestRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("time", Timestamp, "First byte of the request head: RFC 3339 UTC, at the capture's precision."),
            Column::req("file", Text, "The capture the request head starts in (`-` for standard input)."),
            Column::req("packet", UInt64, "1-based packet number (as Wireshark numbers frames) holding the first byte."),
            Column::req("src_ip", Ip, "Back-side source address (the proxy, or the client with `--transparent`)."),
            Column::req("src_port", UInt16, "Back-side source port."),
            Column::req("dst_ip", Ip, "Back-side destination address (the backend)."),
            Column::req("dst_port", UInt16, "Back-side destination port."),
            Column::req("method", Text, "Request method, escaped."),
            Column::req("host", Text, "Host header, escaped."),
            Column::req("target", Text, "Request target, escaped."),
            Column::req("http_version", Text, "`HTTP/1.0` or `HTTP/1.1`."),
            Column::req("user_agent", Text, "User-Agent header, escaped."),
            Column::opt("client_ip", Ip, "The client the identity sources name."),
            Column::opt("client_port", UInt16, "The client's port, when its source names one."),
            Column::req("identity_source", Text, "Which source named the client: proxy_protocol, forwarded, x_forwarded_for, x_real_ip, x_client_ip, true_client_ip, cf_connecting_ip, custom_N, transparent (written empty when no source named one)."),
            Column::req("identity_basis", Text, "How the client was chosen: configured (the user named the source), profile (learned: the source this proxy writes on this backend), default_order."),
            Column::req("chain", Text, "The chosen source's whole chain, entries as written, joined with \", \"."),
            Column::req("xff", Text, "Every X-Forwarded-For value, in order, joined with \", \"."),
            Column::req("x_real_ip", Text, "Every X-Real-IP value, joined with \", \"."),
            Column::req("forwarded", Text, "Every Forwarded value, joined with \", \"."),
            Column::opt("proxy_version", UInt8, "PROXY protocol version (1 or 2) when the connection began with a preamble."),
            Column::opt("proxy_src", SocketAddr, "Source address of the PROXY header."),
            Column::opt("proxy_dst", SocketAddr, "Destination address of the PROXY header."),
            Column::req("spoof_suspect", Bool, "Something about the identity looks forged."),
            Column::req("spoof_reasons", TextList { sep: "|" }, "Why, joined with `|`."),
            Column::req("p0f", TextList { sep: "|" }, "p0f SPOE agent headers, `name=value` joined with `|`."),
            Column::req("request_on_connection", UInt32, "1-based position of this request on its connection."),
            Column::req("flags", TextList { sep: "|" }, "Reassembly and parsing flags, joined with `|`."),
            Column::opt("status", UInt16, "Status code of the response on the same connection (interim 1xx ones skipped); empty when no response head was seen."),
            Column::opt("response_head_bytes", UInt32, "Bytes of the response head, status line through the blank line."),
            Column::opt("response_body_bytes", UInt64, "Response body bytes seen (a chunked body's data, without its chunk framing)."),
            Column::opt("response_body_framing", Text, "How the response body is delimited: content_length, chunked, close, none (HEAD, 1xx, 204, 304, a tunnel's 2xx or 101), unknown (invalid length: not followed)."),
            Column::req("content_type", Text, "The response's Content-Type, escaped."),
            Column::opt("response_time_us", Int64, "Microseconds from the request's first byte to the response's first byte (both capture timestamps; negative if the capture's clock stepped back)."),
            Column::opt("closed_after", Bool, "The connection closed after this response: it said `Connection: close` (or is HTTP/1.0 without keep-alive), its body ran to the close, or the server's FIN or a RST came with its last bytes (a later close is not waited for)."),
            Column::opt("response_missing", Text, "Why there is no complete response: capture_end, timeout, closed, reset, client_closed, gap, unparsed, cap, evicted, replaced, tunnel; empty when it is complete."),
        ]
    }
}
