//! The `connections` row schema: [`ConnectionRow`] (flat, the CSV and table columns) and
//! [`ConnectionJson`] (the JSON forms, with the parsed PROXY header), and the vocabulary of
//! its columns.

use crate::identity::IdentitySource;
use crate::proxy_protocol::ProxyHeader;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

crate::named_enum! {
    /// How a connection's tracking ended.
    pub enum ConnEnd {
        /// A FIN was seen (either side) and no RST.
        Fin => "fin",
        /// A RST was seen (either side).
        Rst => "rst",
        /// Neither: still open at the end of the capture, idle past the timeout, or
        /// evicted over a cap (the run's `tcp` counters say how many of each).
        Open => "open",
    }
}

crate::named_enum! {
    /// What the client's first payload bytes (after any PROXY preamble) are.
    pub enum FirstProtocol {
        /// An HTTP/1 request line (or a request head was found on the connection).
        Http1 => "http1",
        /// A TLS handshake record.
        Tls => "tls",
        /// An SSH identification string (`SSH-`).
        Ssh => "ssh",
        /// Anything else.
        Other => "other",
        /// No client payload was seen (or only a PROXY preamble).
        None => "none",
    }
}

/// What was uncertain or incomplete about a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ConnFlags(pub u8);

impl ConnFlags {
    /// No handshake was seen: the client is the side that sent the first payload.
    pub const MIDSTREAM_START: u8 = 1 << 0;
    /// The PROXY preamble does not parse (its addresses are not believed).
    pub const PREAMBLE_INVALID: u8 = 1 << 1;
    /// Bytes of the client's first payload are missing (a capture hole): the protocol
    /// and the ClientHello are read from what came before it, if anything.
    pub const FIRST_BYTES_GAP: u8 = 1 << 2;
    /// The first bytes did not decide within the cap (16 KiB): a PROXY preamble or a
    /// ClientHello that does not end there.
    pub const FIRST_BYTES_CAPPED: u8 = 1 << 3;
    /// The TLS ClientHello breaks the format: SNI and ALPN are not shown.
    pub const CLIENT_HELLO_MALFORMED: u8 = 1 << 4;
    /// The connection ended (or a hole came) before the ClientHello was complete.
    pub const CLIENT_HELLO_INCOMPLETE: u8 = 1 << 5;
    /// A copy of client bytes disagreed with the copy taken first (first copy wins).
    pub const OVERLAP_CONFLICT: u8 = 1 << 6;

    /// Stable snake_case names, in the order the CSV `flags` column lists them.
    pub const NAMES: [(u8, &'static str); 7] = [
        (Self::MIDSTREAM_START, "midstream_start"),
        (Self::PREAMBLE_INVALID, "preamble_invalid"),
        (Self::FIRST_BYTES_GAP, "first_bytes_gap"),
        (Self::FIRST_BYTES_CAPPED, "first_bytes_capped"),
        (Self::CLIENT_HELLO_MALFORMED, "client_hello_malformed"),
        (Self::CLIENT_HELLO_INCOMPLETE, "client_hello_incomplete"),
        (Self::OVERLAP_CONFLICT, "overlap_conflict"),
    ];
}

crate::vocab::flags::impl_flag_set!(ConnFlags, u8);

/// One back-side TCP connection, flat: the CSV schema. Field order is column order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConnectionRow {
    /// The connection's first packet (RFC 3339 UTC, at the capture's precision).
    pub time: String,
    /// Its last packet seen while it was tracked.
    pub last_time: String,
    /// The capture of the first packet (`-` for standard input).
    pub file: String,
    /// 1-based packet number of the first packet.
    pub packet: u64,
    /// Client side (the SYN's sender; without a handshake, the first payload's sender).
    pub src_ip: IpAddr,
    /// Client-side port.
    pub src_port: u16,
    /// Server side (the backend).
    pub dst_ip: IpAddr,
    /// Server-side port.
    pub dst_port: u16,
    /// Packets client -> server (pure ACKs included) while the connection was tracked: up
    /// to the end of the client's stream (its FIN reached in order), a RST, the idle
    /// timeout, an eviction or the end of input. Packets after that (the server's last
    /// FIN/ACK and the final ACK, usually one each way) are not counted.
    pub client_packets: u64,
    /// Payload bytes client -> server, as captured (retransmissions included), while
    /// tracked.
    pub client_bytes: u64,
    /// Packets server -> client while tracked (the SYN+ACK included).
    pub server_packets: u64,
    /// Payload bytes server -> client, as captured, while tracked.
    pub server_bytes: u64,
    /// fin, rst or open.
    pub end: ConnEnd,
    /// The first FIN or RST (either side) seen while the connection was tracked; empty
    /// when neither was.
    pub end_time: Option<String>,
    /// PROXY protocol version (1 or 2) when the client's bytes began with a preamble.
    pub proxy_version: Option<u8>,
    /// Source address of the PROXY header.
    pub proxy_src: Option<SocketAddr>,
    /// Destination address of the PROXY header.
    pub proxy_dst: Option<SocketAddr>,
    /// The client: the PROXY source, or the back-side source with `--transparent`.
    pub client_ip: Option<IpAddr>,
    /// The client's port, when the PROXY header names one.
    pub client_port: Option<u16>,
    /// proxy_protocol or transparent (empty when no source named a client).
    #[serde(serialize_with = "IdentitySource::serialize_or_empty")]
    pub identity_source: Option<IdentitySource>,
    /// What the client's first payload after any preamble is.
    pub protocol: FirstProtocol,
    /// The ClientHello's server_name, escaped.
    pub tls_sni: String,
    /// The ClientHello's ALPN names, escaped (a `,` inside a name as `\x2c`), joined
    /// with `,`.
    pub tls_alpn: String,
    /// HTTP/1 request heads found on the connection (`requests` gives their rows).
    pub http_requests: u32,
    /// What was uncertain ([`ConnFlags`] names), joined with `|`.
    pub flags: String,
    /// `time` as nanoseconds since the epoch (ordering; not a column).
    #[serde(skip)]
    pub ts_ns: i64,
    /// The PROXY header, for JSON output (TLVs included).
    #[serde(skip)]
    pub proxy: Option<ProxyHeader>,
}

/// The JSON and JSON Lines form: the flat row plus the parsed PROXY header with its TLVs.
#[derive(Serialize)]
pub struct ConnectionJson {
    /// The flat columns.
    #[serde(flatten)]
    pub row: ConnectionRow,
    /// The parsed PROXY header.
    pub proxy: Option<ProxyHeader>,
}

impl From<ConnectionRow> for ConnectionJson {
    fn from(mut row: ConnectionRow) -> ConnectionJson {
        ConnectionJson {
            proxy: row.proxy.take(),
            row,
        }
    }
}

impl crate::vocab::schema::Columns for ConnectionRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("time", Timestamp, "The connection's first packet (RFC 3339 UTC, at the capture's precision)."),
            Column::req("last_time", Timestamp, "Its last packet seen while it was tracked."),
            Column::req("file", Text, "The capture of the first packet (`-` for standard input)."),
            Column::req("packet", UInt64, "1-based packet number of the first packet."),
            Column::req("src_ip", Ip, "Client side (the SYN's sender; without a handshake, the first payload's sender)."),
            Column::req("src_port", UInt16, "Client-side port."),
            Column::req("dst_ip", Ip, "Server side (the backend)."),
            Column::req("dst_port", UInt16, "Server-side port."),
            Column::req("client_packets", UInt64, "Packets client -> server (pure ACKs included) while the connection was tracked: up to the end of the client's stream (its FIN reached in order), a RST, the idle timeout, an eviction or the end of input. Packets after that (the server's last FIN/ACK and the final ACK, usually one each way) are not counted."),
            Column::req("client_bytes", UInt64, "Payload bytes client -> server, as captured (retransmissions included), while tracked."),
            Column::req("server_packets", UInt64, "Packets server -> client while tracked (the SYN+ACK included)."),
            Column::req("server_bytes", UInt64, "Payload bytes server -> client, as captured, while tracked."),
            Column::req("end", Text, "fin, rst or open."),
            Column::opt("end_time", Timestamp, "The first FIN or RST (either side) seen while the connection was tracked; empty when neither was."),
            Column::opt("proxy_version", UInt8, "PROXY protocol version (1 or 2) when the client's bytes began with a preamble."),
            Column::opt("proxy_src", SocketAddr, "Source address of the PROXY header."),
            Column::opt("proxy_dst", SocketAddr, "Destination address of the PROXY header."),
            Column::opt("client_ip", Ip, "The client: the PROXY source, or the back-side source with `--transparent`."),
            Column::opt("client_port", UInt16, "The client's port, when the PROXY header names one."),
            Column::req("identity_source", Text, "proxy_protocol or transparent (empty when no source named a client)."),
            Column::req("protocol", Text, "What the client's first payload after any preamble is."),
            Column::req("tls_sni", Text, "The ClientHello's server_name, escaped."),
            Column::req("tls_alpn", TextList { sep: "," }, "The ClientHello's ALPN names, escaped (a `,` inside a name as `\\x2c`), joined with `,`."),
            Column::req("http_requests", UInt32, "HTTP/1 request heads found on the connection (`requests` gives their rows)."),
            Column::req("flags", TextList { sep: "|" }, "What was uncertain (ConnFlags names), joined with `|`."),
        ]
    }
}
