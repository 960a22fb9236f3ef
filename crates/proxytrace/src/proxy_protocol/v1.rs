//! PROXY protocol version 1: one text line, `PROXY TCP4|TCP6|UNKNOWN src dst sport dport`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{ProxyCommand, ProxyError, ProxyFamily, ProxyHeader};

/// Longest v1 line including CRLF (spec section 2.1).
pub const V1_MAX_LEN: usize = 107;

/// Parse a v1 line at the start of `bytes` (which begin with `PROXY `).
pub(super) fn parse_v1(bytes: &[u8]) -> Result<ProxyHeader, ProxyError> {
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
