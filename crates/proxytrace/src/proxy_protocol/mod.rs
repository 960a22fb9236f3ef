//! HAProxy PROXY protocol, versions 1 (text) and 2 (binary), from the raw preamble bytes of
//! a connection. The spec: <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>.
//!
//! The result is owned (it is small, one per connection) so it can outlive the buffer and
//! be serialized as is. Malformed lengths are typed errors, never panics.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Serialize, Serializer};
use thiserror::Error;

/// The 12-byte v2 signature.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\x00\r\nQUIT\n";
/// Longest v1 line including CRLF (spec section 2.1).
pub const V1_MAX_LEN: usize = 107;

/// Why bytes are not a valid PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyError {
    #[error("no PROXY protocol signature")]
    NotProxy,
    #[error("PROXY header truncated: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("PROXY v1 line longer than 107 bytes")]
    V1TooLong,
    #[error("PROXY v1 line not in `PROXY proto src dst sport dport` form")]
    V1BadFormat,
    #[error("PROXY v1 unknown protocol")]
    V1BadProtocol,
    #[error("PROXY v1 invalid address")]
    V1BadAddress,
    #[error("PROXY v1 invalid port")]
    V1BadPort,
    #[error("PROXY v2 unsupported version nibble {0}")]
    V2BadVersion(u8),
    #[error("PROXY v2 unknown command {0}")]
    V2BadCommand(u8),
    #[error("PROXY v2 unknown family/protocol byte {0:#04x}")]
    V2BadFamily(u8),
    #[error("PROXY v2 address block of {len} bytes too short for family (needs {needed})")]
    V2AddressTooShort { len: usize, needed: usize },
    #[error("PROXY v2 TLV at offset {offset} overruns the header")]
    V2TlvOverrun { offset: usize },
    #[error("PROXY v2 SSL TLV shorter than 5 bytes")]
    V2SslTooShort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyCommand {
    /// Relayed connection: the addresses are the original client's.
    Proxy,
    /// Health check or the proxy's own connection: addresses are to be ignored.
    Local,
}

/// Address family and transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyFamily {
    Tcp4,
    Tcp6,
    Udp4,
    Udp6,
    UnixStream,
    UnixDgram,
    /// v1 `UNKNOWN`, or v2 AF_UNSPEC / unspecified transport.
    Unknown,
}

impl ProxyFamily {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProxyFamily::Tcp4 => "TCP4",
            ProxyFamily::Tcp6 => "TCP6",
            ProxyFamily::Udp4 => "UDP4",
            ProxyFamily::Udp6 => "UDP6",
            ProxyFamily::UnixStream => "UNIX_STREAM",
            ProxyFamily::UnixDgram => "UNIX_DGRAM",
            ProxyFamily::Unknown => "UNKNOWN",
        }
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

/// How a unique id TLV value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UniqueIdEncoding {
    Text,
    Hex,
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
    pub version: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub cn: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub cipher: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub sig_alg: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub key_alg: Option<Vec<u8>>,
    pub other: Vec<RawTlv>,
}

/// A v2 TLV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Tlv {
    Alpn {
        #[serde(serialize_with = "ser_text")]
        value: Vec<u8>,
    },
    Authority {
        #[serde(serialize_with = "ser_text")]
        value: Vec<u8>,
    },
    /// CRC32C of the whole header; `valid` says whether it matched.
    Crc32c {
        value: u32,
        valid: bool,
    },
    Noop {
        len: usize,
    },
    /// PP2_TYPE_UNIQUE_ID: HAProxy's unique-id-format output, text when it is printable
    /// ASCII, lower-case hex otherwise; `encoding` says which.
    UniqueId {
        encoding: UniqueIdEncoding,
        #[serde(serialize_with = "ser_unique_id")]
        value: Vec<u8>,
    },
    Ssl(SslInfo),
    Netns {
        #[serde(serialize_with = "ser_text")]
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
    pub command: ProxyCommand,
    pub family: ProxyFamily,
    /// Original client (source) and proxy-side destination, for TCP/UDP over IP with
    /// the PROXY command.
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    /// AF_UNIX paths (trailing NULs removed).
    #[serde(serialize_with = "ser_opt_text")]
    pub unix_src: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub unix_dst: Option<Vec<u8>>,
    pub tlvs: Vec<Tlv>,
    /// Bytes of the connection taken by the header.
    pub header_len: usize,
}

/// CSV form: `v2 PROXY TCP4 src -> dst`.
impl fmt::Display for ProxyHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cmd = match self.command {
            ProxyCommand::Proxy => "PROXY",
            ProxyCommand::Local => "LOCAL",
        };
        write!(f, "v{} {} {}", self.version, cmd, self.family.as_str())?;
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
        parse_v2(bytes)
    } else if bytes.starts_with(b"PROXY ") {
        parse_v1(bytes)
    } else {
        Err(ProxyError::NotProxy)
    }
}

fn parse_v1(bytes: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let window = bytes.get(..bytes.len().min(V1_MAX_LEN)).unwrap_or_default();
    let Some(lf) = memchr::memmem::find(window, b"\r\n") else {
        return Err(if bytes.len() >= V1_MAX_LEN {
            ProxyError::V1TooLong
        } else {
            ProxyError::Truncated {
                needed: bytes.len().saturating_add(1),
                available: bytes.len(),
            }
        });
    };
    let line = window.get(6..lf).unwrap_or_default();
    let mut it = line.split(|&b| b == b' ');
    let proto = it.next().unwrap_or_default();
    let mut h = ProxyHeader {
        version: 1,
        command: ProxyCommand::Proxy,
        family: ProxyFamily::Unknown,
        src: None,
        dst: None,
        unix_src: None,
        unix_dst: None,
        tlvs: Vec::new(),
        header_len: lf + 2,
    };
    let v6 = match proto {
        // "the receiver must ignore anything presented before the CRLF"
        b"UNKNOWN" => return Ok(h),
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(ProxyError::V1BadProtocol),
    };
    let fields: [&[u8]; 4] = [
        it.next().ok_or(ProxyError::V1BadFormat)?,
        it.next().ok_or(ProxyError::V1BadFormat)?,
        it.next().ok_or(ProxyError::V1BadFormat)?,
        it.next().ok_or(ProxyError::V1BadFormat)?,
    ];
    if it.next().is_some() {
        return Err(ProxyError::V1BadFormat);
    }
    let addr = |b: &[u8]| -> Result<IpAddr, ProxyError> {
        let s = std::str::from_utf8(b).map_err(|_| ProxyError::V1BadAddress)?;
        if v6 {
            s.parse::<Ipv6Addr>().map(IpAddr::V6)
        } else {
            s.parse::<Ipv4Addr>().map(IpAddr::V4)
        }
        .map_err(|_| ProxyError::V1BadAddress)
    };
    let port = |b: &[u8]| -> Result<u16, ProxyError> {
        // Decimal digits only (u16::from_str would accept a leading '+').
        if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ProxyError::V1BadPort);
        }
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ProxyError::V1BadPort)
    };
    let (s, d) = (addr(fields[0])?, addr(fields[1])?);
    let (sp, dp) = (port(fields[2])?, port(fields[3])?);
    h.family = if v6 {
        ProxyFamily::Tcp6
    } else {
        ProxyFamily::Tcp4
    };
    h.src = Some(SocketAddr::new(s, sp));
    h.dst = Some(SocketAddr::new(d, dp));
    Ok(h)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn parse_v2(bytes: &[u8]) -> Result<ProxyHeader, ProxyError> {
    let fixed = bytes.get(..16).ok_or(ProxyError::Truncated {
        needed: 16,
        available: bytes.len(),
    })?;
    let ver_cmd = fixed[12];
    let fam = fixed[13];
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    let total = 16 + len;
    let header = bytes.get(..total).ok_or(ProxyError::Truncated {
        needed: total,
        available: bytes.len(),
    })?;
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::V2BadVersion(ver_cmd >> 4));
    }
    let command = match ver_cmd & 0x0f {
        0 => ProxyCommand::Local,
        1 => ProxyCommand::Proxy,
        c => return Err(ProxyError::V2BadCommand(c)),
    };
    let (family, addr_len) = match fam {
        0x00 => (ProxyFamily::Unknown, 0),
        0x11 => (ProxyFamily::Tcp4, 12),
        0x12 => (ProxyFamily::Udp4, 12),
        0x21 => (ProxyFamily::Tcp6, 36),
        0x22 => (ProxyFamily::Udp6, 36),
        0x31 => (ProxyFamily::UnixStream, 216),
        0x32 => (ProxyFamily::UnixDgram, 216),
        // AF given with unspecified transport, or unspecified AF with a transport:
        // the spec gives such combinations no address layout.
        0x10 | 0x20 | 0x30 | 0x01 | 0x02 => (ProxyFamily::Unknown, 0),
        f => return Err(ProxyError::V2BadFamily(f)),
    };
    let block = header.get(16..).unwrap_or_default();
    let mut h = ProxyHeader {
        version: 2,
        command,
        family,
        src: None,
        dst: None,
        unix_src: None,
        unix_dst: None,
        tlvs: Vec::new(),
        header_len: total,
    };
    if command == ProxyCommand::Local || family == ProxyFamily::Unknown {
        // LOCAL: "the receiver must ... discard the protocol block including the family";
        // AF_UNSPEC: "the receiver should ignore address information". Nothing to read.
        return Ok(h);
    }
    if block.len() < addr_len {
        return Err(ProxyError::V2AddressTooShort {
            len: block.len(),
            needed: addr_len,
        });
    }
    let a = block.get(..addr_len).unwrap_or_default();
    match family {
        ProxyFamily::Tcp4 | ProxyFamily::Udp4 => {
            let ip = |o: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    a.get(o).copied().unwrap_or(0),
                    a.get(o + 1).copied().unwrap_or(0),
                    a.get(o + 2).copied().unwrap_or(0),
                    a.get(o + 3).copied().unwrap_or(0),
                ))
            };
            h.src = Some(SocketAddr::new(ip(0), be16(a, 8).unwrap_or(0)));
            h.dst = Some(SocketAddr::new(ip(4), be16(a, 10).unwrap_or(0)));
        }
        ProxyFamily::Tcp6 | ProxyFamily::Udp6 => {
            let ip = |o: usize| {
                let mut x = [0u8; 16];
                if let Some(s) = a.get(o..o + 16) {
                    x.copy_from_slice(s);
                }
                IpAddr::V6(Ipv6Addr::from(x))
            };
            h.src = Some(SocketAddr::new(ip(0), be16(a, 32).unwrap_or(0)));
            h.dst = Some(SocketAddr::new(ip(16), be16(a, 34).unwrap_or(0)));
        }
        ProxyFamily::UnixStream | ProxyFamily::UnixDgram => {
            let path = |s: &[u8]| {
                let end = s.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                s.get(..end).unwrap_or_default().to_vec()
            };
            h.unix_src = Some(path(a.get(..108).unwrap_or_default()));
            h.unix_dst = Some(path(a.get(108..216).unwrap_or_default()));
        }
        ProxyFamily::Unknown => {}
    }
    let tlv_base = 16 + addr_len;
    let tlvs = block.get(addr_len..).unwrap_or_default();
    for (off, kind, value) in TlvIter::new(tlvs, tlv_base) {
        let value = value?;
        h.tlvs.push(match kind {
            0x01 => Tlv::Alpn {
                value: value.to_vec(),
            },
            0x02 => Tlv::Authority {
                value: value.to_vec(),
            },
            0x03 => {
                let v = value
                    .get(..4)
                    .filter(|_| value.len() == 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                match v {
                    Some(v) => Tlv::Crc32c {
                        value: v,
                        valid: crc32c_header(header, off + 3) == v,
                    },
                    // A CRC TLV of the wrong size cannot be checked: keep it raw.
                    None => Tlv::Unknown(RawTlv {
                        kind,
                        value: value.to_vec(),
                    }),
                }
            }
            0x04 => Tlv::Noop { len: value.len() },
            0x05 => Tlv::UniqueId {
                encoding: UniqueIdEncoding::of(value),
                value: value.to_vec(),
            },
            0x20 => Tlv::Ssl(parse_ssl(value, off + 3)?),
            0x30 => Tlv::Netns {
                value: value.to_vec(),
            },
            _ => Tlv::Unknown(RawTlv {
                kind,
                value: value.to_vec(),
            }),
        });
    }
    Ok(h)
}

/// Iterates `(absolute offset, type, value)`; a TLV running past the end yields an error.
struct TlvIter<'a> {
    b: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    fn new(b: &'a [u8], base: usize) -> Self {
        TlvIter {
            b,
            pos: 0,
            base,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = (usize, u8, Result<&'a [u8], ProxyError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.b.len() {
            return None;
        }
        let off = self.base + self.pos;
        let parsed = (|| {
            let kind = *self.b.get(self.pos)?;
            let len = usize::from(be16(self.b, self.pos + 1)?);
            let v = self.b.get(self.pos + 3..self.pos + 3 + len)?;
            Some((kind, v, 3 + len))
        })();
        match parsed {
            Some((kind, v, adv)) => {
                self.pos += adv;
                Some((off, kind, Ok(v)))
            }
            None => {
                self.failed = true;
                let kind = self.b.get(self.pos).copied().unwrap_or(0);
                Some((off, kind, Err(ProxyError::V2TlvOverrun { offset: off })))
            }
        }
    }
}

fn parse_ssl(v: &[u8], base: usize) -> Result<SslInfo, ProxyError> {
    let head = v.get(..5).ok_or(ProxyError::V2SslTooShort)?;
    let mut s = SslInfo {
        client: head[0],
        verify: u32::from_be_bytes([head[1], head[2], head[3], head[4]]),
        ..SslInfo::default()
    };
    for (_, kind, value) in TlvIter::new(v.get(5..).unwrap_or_default(), base + 5) {
        let value = value?.to_vec();
        match kind {
            0x21 => s.version = Some(value),
            0x22 => s.cn = Some(value),
            0x23 => s.cipher = Some(value),
            0x24 => s.sig_alg = Some(value),
            0x25 => s.key_alg = Some(value),
            _ => s.other.push(RawTlv { kind, value }),
        }
    }
    Ok(s)
}

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bitwise: headers are at most
/// 64 KiB and rare, so a table or a crate buys nothing.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_update(!0, data) ^ !0
}

fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// CRC32C of `header` with the 4 checksum bytes at `at` taken as zero (spec 2.2.2).
fn crc32c_header(header: &[u8], at: usize) -> u32 {
    let before = header.get(..at).unwrap_or_default();
    let after = header.get(at + 4..).unwrap_or_default();
    let crc = crc32c_update(!0, before);
    let crc = crc32c_update(crc, &[0, 0, 0, 0]);
    crc32c_update(crc, after) ^ !0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    /// TLV text is the header writer's: a terminal escape or a bidi override in it comes
    /// out escaped in JSON, not raw.
    #[test]
    fn tlv_text_is_escaped_in_json() {
        let h = ProxyHeader {
            version: 2,
            command: ProxyCommand::Proxy,
            family: ProxyFamily::Tcp4,
            src: None,
            dst: None,
            unix_src: Some(b"/run/\x1b[2J".to_vec()),
            unix_dst: None,
            tlvs: vec![Tlv::Authority {
                value: b"a\xe2\x80\xaeb\xff".to_vec(),
            }],
            header_len: 16,
        };
        let j = serde_json::to_value(&h).unwrap();
        assert_eq!(j["unix_src"], "/run/\\x1b[2J");
        assert_eq!(j["tlvs"][0]["value"], "a\\u{202e}b\\xff");
    }

    #[test]
    fn v1_spec_examples() {
        // Spec 2.1: the worst cases and the example.
        let b = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
        let h = parse_proxy(b).unwrap();
        assert_eq!(h.src, sa("255.255.255.255:65535"));
        assert_eq!(h.header_len, 56);
        assert_eq!(h.family, ProxyFamily::Tcp4);
        let b = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(b.len(), 104);
        let h = parse_proxy(b).unwrap();
        assert_eq!(h.family, ProxyFamily::Tcp6);
        assert_eq!(h.dst, sa("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
        let h = parse_proxy(b"PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n").unwrap();
        assert_eq!(
            (h.family, h.src, h.header_len),
            (ProxyFamily::Unknown, None, 15)
        );
        let b = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(b.len(), 107);
        assert_eq!(parse_proxy(b).unwrap().header_len, 107);
        let h = parse_proxy(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n")
            .unwrap();
        assert_eq!(h.src, sa("192.168.0.1:56324"));
        assert_eq!(h.dst, sa("192.168.0.11:443"));
        assert_eq!(h.header_len, 47);
        assert_eq!(
            h.to_string(),
            "v1 PROXY TCP4 192.168.0.1:56324 -> 192.168.0.11:443"
        );
    }

    #[test]
    fn v1_errors() {
        use ProxyError::*;
        let cases: [(&[u8], ProxyError); 11] = [
            (b"GET / HTTP/1.1\r\n", NotProxy),
            (
                b"PROXY TCP4 1.2.3.4",
                Truncated {
                    needed: 19,
                    available: 18,
                },
            ),
            (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", V1BadProtocol),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", V1BadFormat),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", V1BadFormat),
            (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", V1BadFormat),
            (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", V1BadAddress),
            (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", V1BadAddress),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", V1BadPort),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", V1BadPort),
            (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", V1BadAddress),
        ];
        for (b, e) in cases {
            assert_eq!(parse_proxy(b), Err(e), "{}", String::from_utf8_lossy(b));
        }
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(200, b'a');
        assert_eq!(parse_proxy(&long), Err(V1TooLong));
    }

    fn v2(ver_cmd: u8, fam: u8, block: &[u8]) -> Vec<u8> {
        let mut b = V2_SIGNATURE.to_vec();
        b.push(ver_cmd);
        b.push(fam);
        b.extend_from_slice(&(block.len() as u16).to_be_bytes());
        b.extend_from_slice(block);
        b
    }

    #[test]
    fn v2_tcp4_with_tlvs() {
        let mut block = vec![192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
        block.extend_from_slice(&[0x01, 0, 2, b'h', b'2']); // ALPN "h2"
        block.extend_from_slice(&[0x02, 0, 11]);
        block.extend_from_slice(b"example.com");
        block.extend_from_slice(&[0x05, 0, 3, 0xde, 0xad, 0x01]);
        block.extend_from_slice(&[0x30, 0, 4]);
        block.extend_from_slice(b"blue");
        block.extend_from_slice(&[0xea, 0, 2, 0x01, 0x02]); // AWS, kept raw
        block.extend_from_slice(&[0x04, 0, 3, 0, 0, 0]); // NOOP padding
        let mut b = v2(0x21, 0x11, &block);
        b.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let h = parse_proxy(&b).unwrap();
        assert_eq!(h.version, 2);
        assert_eq!(h.command, ProxyCommand::Proxy);
        assert_eq!(h.family, ProxyFamily::Tcp4);
        // 0xdc04 = 56324, 0x01bb = 443
        assert_eq!(h.src, sa("192.0.2.1:56324"));
        assert_eq!(h.dst, sa("198.51.100.2:443"));
        assert_eq!(h.header_len, 16 + block.len());
        assert_eq!(
            h.tlvs,
            vec![
                Tlv::Alpn {
                    value: b"h2".to_vec()
                },
                Tlv::Authority {
                    value: b"example.com".to_vec()
                },
                Tlv::UniqueId {
                    encoding: UniqueIdEncoding::Hex,
                    value: vec![0xde, 0xad, 0x01]
                },
                Tlv::Netns {
                    value: b"blue".to_vec()
                },
                Tlv::Unknown(RawTlv {
                    kind: 0xea,
                    value: vec![1, 2]
                }),
                Tlv::Noop { len: 3 },
            ]
        );
        let j = serde_json::to_value(&h).unwrap();
        assert_eq!(j["src"], "192.0.2.1:56324");
        assert_eq!(j["tlvs"][0]["type"], "alpn");
        assert_eq!(j["tlvs"][0]["value"], "h2");
        assert_eq!(j["tlvs"][2]["value"], "dead01");
        assert_eq!(j["tlvs"][2]["encoding"], "hex");
        assert_eq!(j["tlvs"][4]["type"], "unknown");
        assert_eq!(j["tlvs"][4]["code"], 0xea);
        assert_eq!(j["tlvs"][4]["value"], "0102");
    }

    /// HAProxy's default unique-id-format gives printable text: shown as text (escaped like
    /// other text, here a backslash), hex only for bytes that are not printable ASCII.
    #[test]
    fn unique_id_text_when_printable() {
        let id = b"C0A80001:D6F2_0A000002:01BB_5F5E1000_0001:1A2B";
        let mut block = vec![192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
        block.extend_from_slice(&[0x05, 0, id.len() as u8]);
        block.extend_from_slice(id);
        block.extend_from_slice(&[0x05, 0, 3, b'a', b'\\', b'b']);
        block.extend_from_slice(&[0x05, 0, 3, b'a', 0x7f, b'b']);
        block.extend_from_slice(&[0x05, 0, 0]);
        let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
        let j = serde_json::to_value(&h).unwrap();
        let shown: Vec<(&str, &str)> = (0..4)
            .map(|i| {
                (
                    j["tlvs"][i]["encoding"].as_str().unwrap_or("-"),
                    j["tlvs"][i]["value"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("text", "C0A80001:D6F2_0A000002:01BB_5F5E1000_0001:1A2B"),
                ("text", "a\\\\b"),
                ("hex", "617f62"),
                ("hex", ""),
            ]
        );
    }

    #[test]
    fn v2_tcp6_udp6_unix_local_unspec() {
        let mut block = vec![0u8; 36];
        block[0] = 0x20;
        block[1] = 0x01;
        block[2] = 0x0d;
        block[3] = 0xb8;
        block[15] = 1; // 2001:db8::1
        block[16] = 0x20;
        block[17] = 0x01;
        block[18] = 0x0d;
        block[19] = 0xb8;
        block[31] = 2; // 2001:db8::2
        block[32..34].copy_from_slice(&1234u16.to_be_bytes());
        block[34..36].copy_from_slice(&443u16.to_be_bytes());
        let h = parse_proxy(&v2(0x21, 0x21, &block)).unwrap();
        assert_eq!(h.src, sa("[2001:db8::1]:1234"));
        assert_eq!(h.dst, sa("[2001:db8::2]:443"));
        let h = parse_proxy(&v2(0x21, 0x22, &block)).unwrap();
        assert_eq!(h.family, ProxyFamily::Udp6);

        let mut block = vec![0u8; 216];
        block[..12].copy_from_slice(b"/run/a.sock\0");
        block[108..113].copy_from_slice(b"/b.s\0");
        let h = parse_proxy(&v2(0x21, 0x31, &block)).unwrap();
        assert_eq!(h.unix_src.as_deref(), Some(&b"/run/a.sock"[..]));
        assert_eq!(h.unix_dst.as_deref(), Some(&b"/b.s"[..]));
        assert_eq!(h.src, None);

        // LOCAL: addresses discarded even if present.
        let h = parse_proxy(&v2(0x20, 0x11, &[1; 12])).unwrap();
        assert_eq!(
            (h.command, h.src, h.header_len),
            (ProxyCommand::Local, None, 28)
        );
        let h = parse_proxy(&v2(0x21, 0x00, &[])).unwrap();
        assert_eq!((h.family, h.src), (ProxyFamily::Unknown, None));
    }

    #[test]
    fn v2_ssl_tlv() {
        let mut ssl = vec![0x07, 0, 0, 0, 0];
        for (t, v) in [
            (0x21u8, &b"TLSv1.3"[..]),
            (0x22, b"client.example"),
            (0x23, b"TLS_AES_128_GCM_SHA256"),
            (0x24, b"SHA256"),
            (0x25, b"RSA2048"),
            (0x2f, b"?"),
        ] {
            ssl.push(t);
            ssl.extend_from_slice(&(v.len() as u16).to_be_bytes());
            ssl.extend_from_slice(v);
        }
        let mut block = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81];
        block.push(0x20);
        block.extend_from_slice(&(ssl.len() as u16).to_be_bytes());
        block.extend_from_slice(&ssl);
        let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
        let Tlv::Ssl(s) = &h.tlvs[0] else {
            panic!("{:?}", h.tlvs)
        };
        assert_eq!(s.client, 7);
        assert_eq!(s.verify, 0);
        assert_eq!(s.version.as_deref(), Some(&b"TLSv1.3"[..]));
        assert_eq!(s.cn.as_deref(), Some(&b"client.example"[..]));
        assert_eq!(s.cipher.as_deref(), Some(&b"TLS_AES_128_GCM_SHA256"[..]));
        assert_eq!(s.sig_alg.as_deref(), Some(&b"SHA256"[..]));
        assert_eq!(s.key_alg.as_deref(), Some(&b"RSA2048"[..]));
        assert_eq!(
            s.other,
            vec![RawTlv {
                kind: 0x2f,
                value: b"?".to_vec()
            }]
        );
        // Too short SSL TLV and sub-TLV overrun.
        let mut block = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81, 0x20, 0, 2, 1, 0];
        assert_eq!(
            parse_proxy(&v2(0x21, 0x11, &block)),
            Err(ProxyError::V2SslTooShort)
        );
        block.truncate(12);
        block.extend_from_slice(&[0x20, 0, 8, 1, 0, 0, 0, 0, 0x22, 0, 9]);
        assert_eq!(
            parse_proxy(&v2(0x21, 0x11, &block)),
            Err(ProxyError::V2TlvOverrun {
                offset: 16 + 12 + 3 + 5
            })
        );
    }

    #[test]
    fn crc32c_known_vector_and_header_check() {
        // The standard check value for CRC-32C (iSCSI): "123456789" -> 0xE3069283.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        let mut block = vec![
            192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2, 0x03, 0, 4, 0, 0, 0, 0,
        ];
        let b = v2(0x21, 0x11, &block);
        let crc = crc32c(&b); // computed with the field zero, as the spec says
        let n = block.len();
        block[n - 4..].copy_from_slice(&crc.to_be_bytes());
        let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
        assert_eq!(
            h.tlvs,
            vec![Tlv::Crc32c {
                value: crc,
                valid: true
            }]
        );
        block[0] = 193;
        let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
        assert_eq!(
            h.tlvs,
            vec![Tlv::Crc32c {
                value: crc,
                valid: false
            }]
        );
    }

    #[test]
    fn v2_errors() {
        use ProxyError::*;
        assert_eq!(
            parse_proxy(&V2_SIGNATURE[..]),
            Err(Truncated {
                needed: 16,
                available: 12
            })
        );
        let mut b = v2(0x21, 0x11, &[0; 12]);
        b.truncate(20);
        assert_eq!(
            parse_proxy(&b),
            Err(Truncated {
                needed: 28,
                available: 20
            })
        );
        assert_eq!(parse_proxy(&v2(0x11, 0x11, &[0; 12])), Err(V2BadVersion(1)));
        assert_eq!(parse_proxy(&v2(0x22, 0x11, &[0; 12])), Err(V2BadCommand(2)));
        assert_eq!(
            parse_proxy(&v2(0x21, 0x41, &[0; 12])),
            Err(V2BadFamily(0x41))
        );
        assert_eq!(
            parse_proxy(&v2(0x21, 0x13, &[0; 12])),
            Err(V2BadFamily(0x13))
        );
        assert_eq!(
            parse_proxy(&v2(0x21, 0x21, &[0; 12])),
            Err(V2AddressTooShort {
                len: 12,
                needed: 36
            })
        );
        let mut block = vec![0; 12];
        block.extend_from_slice(&[0x01, 0, 5, b'h']);
        assert_eq!(
            parse_proxy(&v2(0x21, 0x11, &block)),
            Err(V2TlvOverrun { offset: 28 })
        );
        let mut block = vec![0; 12];
        block.extend_from_slice(&[0x01, 0]);
        assert_eq!(
            parse_proxy(&v2(0x21, 0x11, &block)),
            Err(V2TlvOverrun { offset: 28 })
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300), prefix in 0u8..3) {
            let mut b = match prefix {
                0 => V2_SIGNATURE.to_vec(),
                1 => b"PROXY ".to_vec(),
                _ => Vec::new(),
            };
            b.extend_from_slice(&tail);
            if let Ok(h) = parse_proxy(&b) {
                proptest::prop_assert!(h.header_len <= b.len());
            }
        }
    }
}
