//! HAProxy PROXY protocol, versions 1 (text) and 2 (binary), from the raw preamble bytes of
//! a connection. The spec: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>.
//!
//! The result is owned (it is small, one per connection) so it can outlive the buffer and
//! be serialized as is. Malformed lengths are typed errors, never panics.
//!
//! This file holds the types and the dispatch; [`v1`] parses the text line, [`v2`] the
//! binary header with its TLVs and CRC32C. Both import the types from here and nothing
//! else from each other.

use std::fmt;
use std::net::SocketAddr;

use serde::{Serialize, Serializer};
use thiserror::Error;

pub mod v1;
pub mod v2;

pub use v1::V1_MAX_LEN;
pub use v2::{crc32c, V2_SIGNATURE};

/// Why bytes are not a valid PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyError {
    #[error("no PROXY protocol signature")]
    /// The bytes start with neither signature.
    NotProxy,
    #[error("PROXY header truncated: {needed} bytes needed, {available} available")]
    /// The header continues past the bytes available.
    Truncated {
        /// Bytes needed to decide.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    #[error("PROXY v1 line longer than 107 bytes")]
    /// A v1 line without CRLF within 107 bytes.
    V1TooLong,
    #[error("PROXY v1 line not in `PROXY proto src dst sport dport` form")]
    /// A v1 line with the wrong number of fields.
    V1BadFormat,
    #[error("PROXY v1 unknown protocol")]
    /// A v1 protocol other than TCP4, TCP6 or UNKNOWN.
    V1BadProtocol,
    #[error("PROXY v1 invalid address")]
    /// A v1 address that does not parse for its family.
    V1BadAddress,
    #[error("PROXY v1 invalid port")]
    /// A v1 port that is not 1-5 decimal digits below 65536.
    V1BadPort,
    #[error("PROXY v2 unsupported version nibble {0}")]
    /// A v2 version nibble other than 2.
    V2BadVersion(u8),
    #[error("PROXY v2 unknown command {0}")]
    /// A v2 command other than LOCAL or PROXY.
    V2BadCommand(u8),
    #[error("PROXY v2 unknown family/protocol byte {0:#04x}")]
    /// A v2 family/transport byte the spec does not define.
    V2BadFamily(u8),
    #[error("PROXY v2 address block of {len} bytes too short for family (needs {needed})")]
    /// A v2 address block shorter than its family needs.
    V2AddressTooShort {
        /// Length of the address block.
        len: usize,
        /// Length the family needs.
        needed: usize,
    },
    #[error("PROXY v2 TLV at offset {offset} overruns the header")]
    /// A v2 TLV whose length runs past the header.
    V2TlvOverrun {
        /// Offset of the TLV in the header.
        offset: usize,
    },
    #[error("PROXY v2 SSL TLV shorter than 5 bytes")]
    /// A v2 SSL TLV shorter than its 5-byte fixed part.
    V2SslTooShort,
}

crate::named_enum! {
    /// What the header says about the connection.
    pub enum ProxyCommand {
        /// Relayed connection: the addresses are the original client's.
        Proxy => "proxy",
        /// Health check or the proxy's own connection: addresses are to be ignored.
        Local => "local",
    }
}

crate::named_enum! {
    /// Address family and transport. The names are the JSON form; the text form of a
    /// header ([`ProxyHeader`]'s `Display`) writes them upper-case, as the v1 line does.
    pub enum ProxyFamily {
        /// TCP over IPv4.
        Tcp4 => "tcp4",
        /// TCP over IPv6.
        Tcp6 => "tcp6",
        /// UDP over IPv4.
        Udp4 => "udp4",
        /// UDP over IPv6.
        Udp6 => "udp6",
        /// AF_UNIX stream socket.
        UnixStream => "unix_stream",
        /// AF_UNIX datagram socket.
        UnixDgram => "unix_dgram",
        /// v1 `UNKNOWN`, or v2 AF_UNSPEC / unspecified transport.
        Unknown => "unknown",
    }
}

/// TLV text (ALPN, authority, SSL names, netns, unix paths) is sent by whoever wrote the
/// header: escaped like every other text field from the capture.
fn ser_text<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::vocab::escape::escape_bytes(b))
}

fn ser_opt_text<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => ser_text(b, s),
        None => s.serialize_none(),
    }
}

/// Opaque bytes as lower-case hex.
fn ser_hex<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

pub(crate) fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(b.len() * 2);
    for &x in b {
        out.push(D[usize::from(x >> 4)] as char);
        out.push(D[usize::from(x & 15)] as char);
    }
    out
}

crate::named_enum! {
    /// How a unique id TLV value is shown.
    pub enum UniqueIdEncoding {
        /// Printable ASCII, shown as text (escaped like every capture text).
        Text => "text",
        /// Anything else, shown as lower-case hex.
        Hex => "hex",
    }
}

impl UniqueIdEncoding {
    /// Text for non-empty printable ASCII (space to `~`), hex for anything else.
    pub fn of(b: &[u8]) -> UniqueIdEncoding {
        if !b.is_empty() && b.iter().all(|&c| (0x20..=0x7e).contains(&c)) {
            UniqueIdEncoding::Text
        } else {
            UniqueIdEncoding::Hex
        }
    }
}

fn ser_unique_id<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match UniqueIdEncoding::of(b) {
        UniqueIdEncoding::Text => ser_text(b, s),
        UniqueIdEncoding::Hex => ser_hex(b, s),
    }
}

/// A TLV we do not interpret, kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawTlv {
    /// The TLV type byte (`code` in JSON: `type` names the TLV variant).
    #[serde(rename = "code")]
    pub kind: u8,
    #[serde(serialize_with = "ser_hex")]
    /// The value, lower-case hex in JSON.
    pub value: Vec<u8>,
}

/// PP2_TYPE_SSL (0x20) contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SslInfo {
    /// PP2_CLIENT_SSL (0x01), PP2_CLIENT_CERT_CONN (0x02), PP2_CLIENT_CERT_SESS (0x04).
    pub client: u8,
    /// 0 when the client presented a certificate that verified.
    pub verify: u32,
    #[serde(serialize_with = "ser_opt_text")]
    /// PP2_SUBTYPE_SSL_VERSION (0x21).
    pub version: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    /// PP2_SUBTYPE_SSL_CN (0x22): the client certificate's common name.
    pub cn: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    /// PP2_SUBTYPE_SSL_CIPHER (0x23).
    pub cipher: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    /// PP2_SUBTYPE_SSL_SIG_ALG (0x24).
    pub sig_alg: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    /// PP2_SUBTYPE_SSL_KEY_ALG (0x25).
    pub key_alg: Option<Vec<u8>>,
    /// Other sub-TLVs, raw.
    pub other: Vec<RawTlv>,
}

/// A v2 TLV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Tlv {
    /// PP2_TYPE_ALPN (0x01): the negotiated application protocol.
    Alpn {
        #[serde(serialize_with = "ser_text")]
        /// The protocol name.
        value: Vec<u8>,
    },
    /// PP2_TYPE_AUTHORITY (0x02): the host name the client asked for (SNI).
    Authority {
        #[serde(serialize_with = "ser_text")]
        /// The host name.
        value: Vec<u8>,
    },
    /// CRC32C of the whole header; `valid` says whether it matched.
    Crc32c {
        /// The checksum as sent.
        value: u32,
        /// Whether it matches the header.
        valid: bool,
    },
    /// PP2_TYPE_NOOP (0x04): padding.
    Noop {
        /// Its length.
        len: usize,
    },
    /// PP2_TYPE_UNIQUE_ID: HAProxy's unique-id-format output, text when it is printable
    /// ASCII, lower-case hex otherwise; `encoding` says which.
    UniqueId {
        /// How `value` is shown.
        encoding: UniqueIdEncoding,
        #[serde(serialize_with = "ser_unique_id")]
        /// The id.
        value: Vec<u8>,
    },
    /// PP2_TYPE_SSL (0x20): the client's TLS session.
    Ssl(SslInfo),
    /// PP2_TYPE_NETNS (0x30): the network namespace name.
    Netns {
        #[serde(serialize_with = "ser_text")]
        /// The namespace name.
        value: Vec<u8>,
    },
    /// Any other type (custom 0xE0-0xEF such as AWS 0xEA, Azure 0xEE, ...), kept raw.
    Unknown(RawTlv),
}

/// A parsed PROXY header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyHeader {
    /// 1 or 2.
    pub version: u8,
    /// PROXY (relayed) or LOCAL (health check).
    pub command: ProxyCommand,
    /// Address family and transport.
    pub family: ProxyFamily,
    /// Original client (source) and proxy-side destination, for TCP/UDP over IP with
    /// the PROXY command.
    pub src: Option<SocketAddr>,
    /// The proxy-side destination address.
    pub dst: Option<SocketAddr>,
    /// AF_UNIX paths (trailing NULs removed).
    #[serde(serialize_with = "ser_opt_text")]
    pub unix_src: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    /// AF_UNIX destination path.
    pub unix_dst: Option<Vec<u8>>,
    /// v2 TLVs, in header order.
    pub tlvs: Vec<Tlv>,
    /// Bytes of the connection taken by the header.
    pub header_len: usize,
}

/// CSV form: `v2 PROXY TCP4 src -> dst`.
impl fmt::Display for ProxyHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wire spelling is the upper-case of the stable names (`PROXY TCP4`).
        write!(
            f,
            "v{} {} {}",
            self.version,
            self.command.name().to_ascii_uppercase(),
            self.family.name().to_ascii_uppercase()
        )?;
        if let (Some(s), Some(d)) = (self.src, self.dst) {
            write!(f, " {s} -> {d}")?;
        }
        Ok(())
    }
}

/// Parse a PROXY v1 or v2 header at the start of `bytes` (trailing bytes are ignored;
/// [`ProxyHeader::header_len`] says where the payload starts).
pub fn parse_proxy(bytes: &[u8]) -> Result<ProxyHeader, ProxyError> {
    if bytes.starts_with(&V2_SIGNATURE) {
        v2::parse_v2(bytes)
    } else if bytes.starts_with(b"PROXY ") {
        v1::parse_v1(bytes)
    } else {
        Err(ProxyError::NotProxy)
    }
}

#[cfg(test)]
mod tests;
