//! PROXY protocol version 2: the binary header, its address block, TLVs and CRC32C.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    ProxyCommand, ProxyError, ProxyFamily, ProxyHeader, RawTlv, SslInfo, Tlv, UniqueIdEncoding,
};

/// The 12-byte v2 signature.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\x00\r\nQUIT\n";

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parse a v2 header at the start of `bytes` (which begin with [`V2_SIGNATURE`]).
pub(super) fn parse_v2(bytes: &[u8]) -> Result<ProxyHeader, ProxyError> {
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
