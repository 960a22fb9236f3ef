//! Link-layer dispatch and the IP/TCP/UDP layers.

use super::packet::{Fragment, IpInfo, IpProto, Packet, TcpFlags, TcpView, Transport, UdpView};
use super::{Decoded, Undecodable};
use etherparse::{LaxIpSlice, LenSource};

/// pcap/pcapng link type (LINKTYPE_* numbers; the upper 16 bits of the pcap header field,
/// which may carry FCS information, are masked off by the capture layer).
pub type LinkType = u16;

pub const LINKTYPE_NULL: u16 = 0;
pub const LINKTYPE_ETHERNET: u16 = 1;
pub const LINKTYPE_PPP: u16 = 9;
pub const LINKTYPE_RAW_OPENBSD: u16 = 12;
pub const LINKTYPE_RAW_BSDI: u16 = 14;
pub const LINKTYPE_PPP_HDLC: u16 = 50;
pub const LINKTYPE_RAW: u16 = 101;
pub const LINKTYPE_LOOP: u16 = 108;
pub const LINKTYPE_LINUX_SLL: u16 = 113;
pub const LINKTYPE_IPV4: u16 = 228;
pub const LINKTYPE_IPV6: u16 = 229;
pub const LINKTYPE_NFLOG: u16 = 239;
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

/// A short name for a link type, as tcpdump/libpcap spell them.
pub fn link_type_name(link_type: u16) -> &'static str {
    match link_type {
        LINKTYPE_NULL => "NULL",
        LINKTYPE_ETHERNET => "EN10MB",
        LINKTYPE_PPP => "PPP",
        LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDI | LINKTYPE_RAW => "RAW",
        LINKTYPE_PPP_HDLC => "PPP_HDLC",
        LINKTYPE_LOOP => "LOOP",
        LINKTYPE_LINUX_SLL => "LINUX_SLL",
        LINKTYPE_IPV4 => "IPV4",
        LINKTYPE_IPV6 => "IPV6",
        LINKTYPE_LINUX_SLL2 => "LINUX_SLL2",
        105 => "IEEE802_11",
        127 => "IEEE802_11_RADIOTAP",
        LINKTYPE_NFLOG => "NFLOG",
        _ => "UNKNOWN",
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

/// Deepest stack of VLAN tags, MPLS labels and encapsulations we follow before calling the
/// frame hostile. Real networks use 1-3 VLAN tags and a handful of MPLS labels.
const MAX_LINK_LAYERS: usize = 16;

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// Decode one record. `orig_len` is the length on the wire; when it exceeds `data.len()`
/// the packet is flagged truncated even if every header is intact.
pub fn decode(
    link_type: LinkType,
    data: &[u8],
    orig_len: u32,
    ts_ns: i64,
) -> Result<Decoded<'_>, Undecodable> {
    let cut_by_snaplen = (orig_len as usize) > data.len();
    let inner = match link_type {
        LINKTYPE_ETHERNET => ethernet(data, 0)?,
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDI => by_ip_version(data)?,
        LINKTYPE_IPV4 => Inner::Ip(data),
        LINKTYPE_IPV6 => Inner::Ip(data),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let fam = data.get(..4).ok_or(Undecodable::TruncatedLink)?;
            let fam: [u8; 4] = [fam[0], fam[1], fam[2], fam[3]];
            // NULL stores the address family in the byte order of the machine that captured;
            // LOOP in network order. Accept either order for both: the values do not overlap.
            let le = u32::from_le_bytes(fam);
            let be = u32::from_be_bytes(fam);
            let family = if is_af_inet(le) || is_af_inet6(le) {
                le
            } else {
                be
            };
            if is_af_inet(family) || is_af_inet6(family) {
                Inner::Ip(&data[4..])
            } else {
                return Ok(Decoded::NonIp {
                    ether_type: (family & 0xffff) as u16,
                });
            }
        }
        LINKTYPE_LINUX_SLL => {
            // 16-byte cooked header; protocol (an EtherType for IP) at offset 14.
            let proto = be16(data, 14).ok_or(Undecodable::TruncatedLink)?;
            ether_type(proto, &data[16..], 0)?
        }
        LINKTYPE_LINUX_SLL2 => {
            // 20-byte cooked v2 header; protocol first.
            let proto = be16(data, 0).ok_or(Undecodable::TruncatedLink)?;
            if data.len() < 20 {
                return Err(Undecodable::TruncatedLink);
            }
            ether_type(proto, &data[20..], 0)?
        }
        LINKTYPE_PPP | LINKTYPE_PPP_HDLC => ppp(data)?,
        LINKTYPE_NFLOG => nflog(data)?,
        other => return Err(Undecodable::UnsupportedLinkType(other)),
    };
    match inner {
        Inner::NonIp(et) => Ok(Decoded::NonIp { ether_type: et }),
        Inner::Ip(ip) => ip_layer(ip, link_type, ts_ns, cut_by_snaplen).map(Decoded::Ip),
    }
}

fn is_af_inet(v: u32) -> bool {
    v == 2
}

fn is_af_inet6(v: u32) -> bool {
    // Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS/Darwin 30.
    matches!(v, 10 | 24 | 28 | 30)
}

enum Inner<'a> {
    Ip(&'a [u8]),
    NonIp(u16),
}

fn ethernet(data: &[u8], depth: usize) -> Result<Inner<'_>, Undecodable> {
    let et = be16(data, 12).ok_or(Undecodable::TruncatedLink)?;
    ether_type(et, &data[14..], depth)
}

fn ether_type(mut et: u16, mut rest: &[u8], mut depth: usize) -> Result<Inner<'_>, Undecodable> {
    loop {
        depth += 1;
        if depth > MAX_LINK_LAYERS {
            return Err(Undecodable::TooManyLayers);
        }
        match et {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(Inner::Ip(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                et = be16(rest, 2).ok_or(Undecodable::TruncatedLink)?;
                rest = &rest[4..];
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => return mpls(rest, depth),
            ETHERTYPE_PPPOE_SESSION => {
                // 6-byte PPPoE header, then the 2-byte PPP protocol.
                let proto = be16(rest, 6).ok_or(Undecodable::TruncatedLink)?;
                return ppp_proto(proto, &rest[8..]);
            }
            other => return Ok(Inner::NonIp(other)),
        }
    }
}

fn mpls(mut rest: &[u8], mut depth: usize) -> Result<Inner<'_>, Undecodable> {
    loop {
        depth += 1;
        if depth > MAX_LINK_LAYERS {
            return Err(Undecodable::TooManyLayers);
        }
        let label = rest.get(..4).ok_or(Undecodable::TruncatedLink)?;
        let bottom = label[2] & 0x01 != 0;
        rest = &rest[4..];
        if bottom {
            break;
        }
    }
    // MPLS carries no payload type: guess by the first nibble as routers do.
    match rest.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Ok(Inner::Ip(rest)),
        // Ethernet pseudowire with a control word (first nibble 0), then a full frame.
        Some(0) if rest.len() >= 4 => ethernet(&rest[4..], depth),
        Some(_) => Ok(Inner::NonIp(ETHERTYPE_MPLS)),
        None => Err(Undecodable::TruncatedLink),
    }
}

fn ppp(data: &[u8]) -> Result<Inner<'_>, Undecodable> {
    // Optional HDLC address/control bytes 0xff 0x03, then a 2-byte protocol.
    let rest = if data.starts_with(&[0xff, 0x03]) {
        &data[2..]
    } else {
        data
    };
    let proto = be16(rest, 0).ok_or(Undecodable::TruncatedLink)?;
    ppp_proto(proto, &rest[2..])
}

fn ppp_proto(proto: u16, rest: &[u8]) -> Result<Inner<'_>, Undecodable> {
    match proto {
        0x0021 | 0x0057 => Ok(Inner::Ip(rest)),
        other => Ok(Inner::NonIp(other)),
    }
}

/// Linux NFLOG: a 4-byte header (address family, version, resource id) then TLVs whose
/// length and type are in host byte order (little-endian on every capture seen); the packet
/// is the NFULA_PAYLOAD (type 9) TLV.
fn nflog(data: &[u8]) -> Result<Inner<'_>, Undecodable> {
    const NFULA_PAYLOAD: u16 = 9;
    let family = *data.first().ok_or(Undecodable::TruncatedLink)?;
    let mut rest = data.get(4..).ok_or(Undecodable::TruncatedLink)?;
    for _ in 0..64 {
        let (Some(len), Some(ty)) = (
            rest.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]])),
            rest.get(2..4).map(|b| u16::from_le_bytes([b[0], b[1]])),
        ) else {
            return Err(Undecodable::TruncatedLink);
        };
        let len = usize::from(len);
        if len < 4 {
            return Err(Undecodable::TruncatedLink);
        }
        if ty & 0x7fff == NFULA_PAYLOAD {
            let end = len.min(rest.len());
            return match family {
                2 | 10 => Ok(Inner::Ip(&rest[4..end])),
                other => Ok(Inner::NonIp(u16::from(other))),
            };
        }
        // TLVs are padded to 4 bytes.
        let next = len.next_multiple_of(4);
        rest = rest.get(next..).ok_or(Undecodable::TruncatedLink)?;
    }
    Err(Undecodable::TooManyLayers)
}

fn by_ip_version(data: &[u8]) -> Result<Inner<'_>, Undecodable> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Ok(Inner::Ip(data)),
        Some(_) => Err(Undecodable::BadIp),
        None => Err(Undecodable::TruncatedIp),
    }
}

fn ip_layer(
    data: &[u8],
    link_type: u16,
    ts_ns: i64,
    cut_by_snaplen: bool,
) -> Result<Packet<'_>, Undecodable> {
    use etherparse::err::ip::LaxHeaderSliceError;
    let (ip, ext_err) = match LaxIpSlice::from_slice(data) {
        Ok(v) => v,
        Err(LaxHeaderSliceError::Len(_)) => return Err(Undecodable::TruncatedIp),
        Err(LaxHeaderSliceError::Content(_)) => return Err(Undecodable::BadIp),
    };
    let payload = ip.payload();
    let mut truncated = cut_by_snaplen || payload.incomplete;
    // Judge the extension chain before reading anything from it. etherparse stops at the
    // first bad header but keeps the good ones before it, and its extension iterator
    // trusts the last good header's next-header field: iterating a chain that stopped
    // early reads past the slice (undefined behaviour: a SIGSEGV on a mapped file).
    if let Some((err, _)) = &ext_err {
        use etherparse::err::ipv6_exts::HeaderSliceError;
        let cut = matches!(err, HeaderSliceError::Len(_)) && truncated;
        if !cut {
            // The capture says the packet is whole, yet a header runs past its end or
            // the chain breaks the RFC's order: malformed, not merely truncated.
            return Err(Undecodable::BadIpExtension);
        }
    }
    let info = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let raw = h.slice();
            let frag_offset = h.fragments_offset().value();
            let fragment = match (frag_offset, h.more_fragments()) {
                (0, false) => Fragment::None,
                (0, true) => Fragment::First,
                _ => Fragment::Later,
            };
            IpInfo {
                version: 4,
                src: h.source_addr().into(),
                dst: h.destination_addr().into(),
                ttl: h.ttl(),
                df: h.dont_fragment(),
                ip_id: Some(u32::from(h.identification())),
                ecn: h.ecn().value(),
                reserved_bit: raw[6] & 0x80 != 0,
                flow_label: 0,
                options_len: (raw.len() - 20) as u8,
                header_len: raw.len() as u16,
                total_len: u32::from(h.total_len()),
                proto: IpProto(payload.ip_number.0),
                fragment,
            }
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let exts = v6.extensions();
            // Walked here with bounds checks rather than with etherparse's iterator,
            // which reads unchecked (see above).
            let (fragment, ip_id) = ipv6_fragment(exts.first_header(), exts.slice());
            let tc = h.traffic_class();
            IpInfo {
                version: 6,
                src: h.source_addr().into(),
                dst: h.destination_addr().into(),
                ttl: h.hop_limit(),
                df: false,
                ip_id,
                ecn: tc & 0x03,
                reserved_bit: false,
                flow_label: h.flow_label().value(),
                options_len: 0,
                // A chain may be longer than a u16 holds (jumbo payloads): saturate, so
                // it still reads as "has extensions".
                header_len: u16::try_from(40 + exts.slice().len()).unwrap_or(u16::MAX),
                total_len: u32::from(h.payload_length()) + 40,
                proto: IpProto(payload.ip_number.0),
                fragment,
            }
        }
    };
    if ext_err.is_some() {
        // An extension header cut by the snap length: the transport is unknowable.
        return Ok(Packet {
            ts_ns,
            link_type,
            ip: info,
            transport: Transport::Truncated,
            truncated: true,
        });
    }
    // An IPv4 AH sits between the header (`header_len`, what p0f counts) and the
    // transport: it is not transport bytes.
    let ipv4_auth_len = match &ip {
        LaxIpSlice::Ipv4(v4) => v4.extensions().auth.map_or(0, |a| a.slice().len() as u32),
        LaxIpSlice::Ipv6(_) => 0,
    };
    let on_wire = match (payload.len_source, payload.incomplete) {
        // TSO/GSO captures leave the IP length 0 (too small to be real): what we have is
        // all there is. A snap-cut frame also reads as `Slice`, but `incomplete`, and then
        // the header's length is the truth.
        (LenSource::Slice, false) => payload.payload.len() as u32,
        _ => info
            .total_len
            .saturating_sub(u32::from(info.header_len) + ipv4_auth_len),
    };
    let transport = if info.fragment == Fragment::Later {
        Transport::Fragment
    } else {
        match info.proto {
            IpProto::TCP => tcp(payload.payload, on_wire, &mut truncated),
            IpProto::UDP => udp(payload.payload, &mut truncated),
            _ => Transport::Other,
        }
    };
    Ok(Packet {
        ts_ns,
        link_type,
        ip: info,
        transport,
        truncated,
    })
}

/// The fragment header's place in the datagram and its identification, from the
/// extension headers etherparse validated (`exts` starts with header `first`). Every read
/// is bounds-checked; the walk ends at the first non-extension header or the slice end.
fn ipv6_fragment(first: Option<etherparse::IpNumber>, exts: &[u8]) -> (Fragment, Option<u32>) {
    let mut next = first.map(|n| n.0);
    let mut rest = exts;
    let mut found = (Fragment::None, None);
    while let (Some(number), Some(&following), Some(&len_byte)) = (next, rest.first(), rest.get(1))
    {
        let len = match number {
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => (usize::from(len_byte) + 1) * 8,
            44 => {
                if let Some(f) = rest.get(2..8) {
                    let word = u16::from_be_bytes([f[0], f[1]]);
                    let id = u32::from_be_bytes([f[2], f[3], f[4], f[5]]);
                    let fragment = match (word >> 3, word & 1 != 0) {
                        (0, false) => Fragment::None,
                        (0, true) => Fragment::First,
                        _ => Fragment::Later,
                    };
                    found = (fragment, Some(id));
                }
                8
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => (usize::from(len_byte) + 2) * 4,
            _ => break,
        };
        next = Some(following);
        match rest.get(len..) {
            Some(r) => rest = r,
            None => break,
        }
    }
    found
}

fn tcp<'a>(seg: &'a [u8], on_wire: u32, truncated: &mut bool) -> Transport<'a> {
    use etherparse::err::tcp::HeaderSliceError;
    let t = match etherparse::TcpSlice::from_slice(seg) {
        Ok(t) => t,
        Err(HeaderSliceError::Len(_)) => {
            *truncated = true;
            return Transport::Truncated;
        }
        // A data offset below 5 words: not a TCP header anyone can read.
        Err(HeaderSliceError::Content(_)) => return Transport::Other,
    };
    let raw = t.header_slice();
    let header_len = raw.len() as u8;
    let payload = t.payload();
    let payload_len_on_wire = on_wire.saturating_sub(u32::from(header_len));
    if (payload.len() as u32) < payload_len_on_wire {
        *truncated = true;
    }
    // etherparse has no accessor for the three reserved bits.
    let reserved = (raw[12] >> 1) & 0x07;
    let flags = TcpFlags((u16::from(t.ns()) << 8) | u16::from(raw[13]));
    Transport::Tcp(TcpView {
        src_port: t.source_port(),
        dst_port: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags,
        window: t.window_size(),
        urgent_ptr: t.urgent_pointer(),
        reserved,
        header_len,
        // Raw bytes: etherparse's option iterator stops at unknown kinds and hides EOL
        // padding, both of which fingerprints need.
        options: &raw[20..],
        // Trailing Ethernet padding past the IP length is not payload.
        payload: &payload[..payload.len().min(payload_len_on_wire as usize)],
        payload_len_on_wire,
    })
}

fn udp<'a>(seg: &'a [u8], truncated: &mut bool) -> Transport<'a> {
    if seg.len() < 8 {
        *truncated = true;
        return Transport::Truncated;
    }
    Transport::Udp(UdpView {
        src_port: u16::from_be_bytes([seg[0], seg[1]]),
        dst_port: u16::from_be_bytes([seg[2], seg[3]]),
        payload: &seg[8..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv6 extension headers of the test chain, in order: (protocol number, bytes).
    /// Lengths by RFC 8200 / RFC 4302: hop-by-hop, routing and destination options are
    /// (len + 1) * 8 bytes; fragment always 8; AH (len + 2) * 4.
    const CHAIN: [(u8, &[u8]); 5] = [
        // Hop-by-hop: next, len 0, PadN of 4 bytes.
        (0, &[0, 0, 1, 4, 0, 0, 0, 0]),
        // Routing: next, len 0, type 0, segments left 0, reserved.
        (43, &[0, 0, 0, 0, 0, 0, 0, 0]),
        // Fragment: next, reserved, offset 0 / M 0, identification 0x0102_0304.
        (44, &[0, 0, 0, 0, 1, 2, 3, 4]),
        // Destination options: next, len 0, PadN.
        (60, &[0, 0, 1, 4, 0, 0, 0, 0]),
        // AH: next, payload len 2 (16 bytes), reserved, SPI, sequence, 4-byte ICV.
        (51, &[0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]),
    ];

    /// A minimal TCP SYN header (20 bytes, data offset 5).
    const TCP: [u8; 20] = [
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];

    /// A raw IPv6 packet carrying `exts` (protocol numbers and bytes, next-header bytes
    /// filled in here) then `tail`, with a payload length that matches what is there.
    fn ipv6(exts: &[(u8, Vec<u8>)], tail_proto: u8, tail: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for (i, (_, bytes)) in exts.iter().enumerate() {
            let mut b = bytes.clone();
            b[0] = exts.get(i + 1).map_or(tail_proto, |e| e.0);
            body.extend_from_slice(&b);
        }
        body.extend_from_slice(tail);
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(body.len() as u16).to_be_bytes());
        p.push(exts.first().map_or(tail_proto, |e| e.0));
        p.push(64);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        p.extend_from_slice(&[0; 11]);
        p.push(1);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        p.extend_from_slice(&[0; 11]);
        p.push(2);
        p.extend_from_slice(&body);
        p
    }

    /// The chain up to and including position `bad`, whose header declares more bytes
    /// than the packet holds (length byte 255) or, for the fixed-size fragment header,
    /// is cut after 4 bytes. The IPv6 payload length covers exactly the bytes present.
    fn broken_chain(bad: usize) -> Vec<u8> {
        let mut exts: Vec<(u8, Vec<u8>)> = CHAIN[..=bad]
            .iter()
            .map(|(n, b)| (*n, b.to_vec()))
            .collect();
        let last = exts.last_mut().expect("bad is a chain position");
        if last.0 == 44 {
            last.1.truncate(4);
        } else {
            last.1[1] = 255;
            last.1.truncate(8);
        }
        ipv6(&exts, 6, &[])
    }

    fn full_chain(fragment_word: u16) -> Vec<u8> {
        let mut exts: Vec<(u8, Vec<u8>)> = CHAIN.iter().map(|(n, b)| (*n, b.to_vec())).collect();
        exts[2].1[2..4].copy_from_slice(&fragment_word.to_be_bytes());
        ipv6(&exts, 6, &TCP)
    }

    #[test]
    fn ipv6_extension_chain_past_the_packet_end_is_undecodable_at_every_position() {
        for bad in 0..CHAIN.len() {
            let p = broken_chain(bad);
            let got = decode(LINKTYPE_RAW, &p, p.len() as u32, 0);
            assert!(
                matches!(got, Err(Undecodable::BadIpExtension)),
                "bad header at position {bad}: {got:?}"
            );
        }
    }

    #[test]
    fn hop_by_hop_after_another_extension_is_undecodable() {
        // Routing, then hop-by-hop (allowed only first), then TCP.
        let exts = vec![(43u8, CHAIN[1].1.to_vec()), (0u8, CHAIN[0].1.to_vec())];
        let p = ipv6(&exts, 6, &TCP);
        let got = decode(LINKTYPE_IPV6, &p, p.len() as u32, 0);
        assert!(matches!(got, Err(Undecodable::BadIpExtension)), "{got:?}");
    }

    #[test]
    fn ipv6_extension_chain_cut_by_the_snap_length_is_a_truncated_packet() {
        // Same bytes as a broken chain, but the capture says the frame was longer: the
        // snap length cut it, so the packet is decoded as far as it goes.
        let p = broken_chain(2);
        let Ok(Decoded::Ip(pkt)) = decode(LINKTYPE_RAW, &p, p.len() as u32 + 100, 0) else {
            panic!("expected a truncated IPv6 packet");
        };
        assert_eq!(pkt.transport, Transport::Truncated);
        assert!(pkt.truncated);
        assert_eq!(pkt.ip.version, 6);
    }

    #[test]
    fn full_ipv6_extension_chain_reaches_tcp_and_reads_the_fragment_header() {
        // Offset 0, M clear: an atomic fragment, not fragmented; id kept.
        let p = full_chain(0);
        let Ok(Decoded::Ip(pkt)) = decode(LINKTYPE_RAW, &p, p.len() as u32, 0) else {
            panic!("expected an IPv6 packet");
        };
        // 8 + 8 + 8 + 8 + 16 bytes of extensions.
        assert_eq!(pkt.ip.header_len, 40 + 48);
        assert_eq!(pkt.ip.ip_id, Some(0x0102_0304));
        assert_eq!(pkt.ip.fragment, Fragment::None);
        assert_eq!(pkt.ip.proto, IpProto::TCP);
        let t = pkt.tcp().expect("TCP after the chain");
        assert_eq!((t.src_port, t.dst_port), (40000, 80));
        assert!(!pkt.truncated);
        // M set: the first fragment.
        let p = full_chain(1);
        let Ok(Decoded::Ip(pkt)) = decode(LINKTYPE_RAW, &p, p.len() as u32, 0) else {
            panic!("expected an IPv6 packet");
        };
        assert_eq!(pkt.ip.fragment, Fragment::First);
        // Offset 8 bytes (1 unit): a later fragment, no transport.
        let p = full_chain(1 << 3);
        let Ok(Decoded::Ip(pkt)) = decode(LINKTYPE_RAW, &p, p.len() as u32, 0) else {
            panic!("expected an IPv6 packet");
        };
        assert_eq!(pkt.ip.fragment, Fragment::Later);
        assert_eq!(pkt.transport, Transport::Fragment);
    }

    #[test]
    fn ipv4_authentication_header_is_not_counted_as_missing_payload() {
        // IPv4 (20) + AH (16) + TCP (20) + 5 payload bytes, all captured.
        let mut ah = CHAIN[4].1.to_vec();
        ah[0] = 6;
        let total = 20 + ah.len() + TCP.len() + 5;
        let mut p = vec![0x45, 0, 0, total as u8, 0, 1, 0x40, 0, 64, 51, 0, 0];
        p.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        p.extend_from_slice(&ah);
        p.extend_from_slice(&TCP);
        p.extend_from_slice(b"hello");
        let Ok(Decoded::Ip(pkt)) = decode(LINKTYPE_RAW, &p, p.len() as u32, 0) else {
            panic!("expected an IPv4 packet");
        };
        let t = pkt.tcp().expect("TCP after AH");
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.payload_len_on_wire, 5);
        assert!(!pkt.truncated);
    }
}
