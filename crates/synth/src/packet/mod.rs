//! Frame builders: link layer, IPv4/IPv6, TCP/UDP, with correct checksums.
//!
//! Hand-written rather than etherparse's `PacketBuilder` because tests need raw TCP option
//! bytes (EOL padding, unknown kinds, malformed lengths), IPv4 option bytes and the
//! reserved bit, more than 3 VLAN tags, SLL2, NULL/LOOP, PPPoE and MPLS, none of which
//! `PacketBuilder` writes. Builders append to a caller-owned `Vec<u8>` so a generator can
//! reuse one buffer for every packet (no allocation per packet).

pub use proxytrace::decode::TcpFlags;
use std::net::IpAddr;

/// LINKTYPE_* numbers written by [`Link::link_type`].
pub mod linktype {
    pub const NULL: u16 = 0;
    pub const ETHERNET: u16 = 1;
    pub const RAW: u16 = 101;
    pub const LOOP: u16 = 108;
    pub const LINUX_SLL: u16 = 113;
    pub const IPV4: u16 = 228;
    pub const IPV6: u16 = 229;
    pub const LINUX_SLL2: u16 = 276;
}

/// One 802.1Q (0x8100) or 802.1ad (0x88a8) tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    pub tpid: u16,
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
}

impl VlanTag {
    pub const fn dot1q(vid: u16) -> VlanTag {
        VlanTag {
            tpid: 0x8100,
            pcp: 0,
            dei: false,
            vid,
        }
    }
    pub const fn qinq(vid: u16) -> VlanTag {
        VlanTag {
            tpid: 0x88a8,
            pcp: 0,
            dei: false,
            vid,
        }
    }
}

pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

/// The link layer in front of the IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link<'a> {
    /// Ethernet II with 0..=N VLAN tags, outermost first.
    Ethernet {
        dst: [u8; 6],
        src: [u8; 6],
        vlans: &'a [VlanTag],
    },
    /// Linux cooked v1 (16-byte header, LINKTYPE_LINUX_SLL 113).
    Sll { packet_type: u16, addr: [u8; 6] },
    /// Linux cooked v2 (20-byte header, LINKTYPE_LINUX_SLL2 276).
    Sll2 {
        ifindex: u32,
        packet_type: u8,
        addr: [u8; 6],
    },
    /// Bare IP (LINKTYPE_RAW 101).
    Raw,
    /// Bare IPv4 (228) or IPv6 (229) link type; the frame is the same as `Raw`.
    RawTyped,
    /// BSD loopback, address family in the capturing host's byte order (LINKTYPE_NULL 0).
    /// `big_endian` picks that host order; AF_INET6 is written as `af_inet6` (24/28/30).
    Null { big_endian: bool, af_inet6: u32 },
    /// OpenBSD loopback: address family in network order (LINKTYPE_LOOP 108).
    Loop { af_inet6: u32 },
    /// PPPoE session (EtherType 0x8864) over Ethernet with optional VLAN tags.
    Pppoe {
        dst: [u8; 6],
        src: [u8; 6],
        vlans: &'a [VlanTag],
        session_id: u16,
    },
    /// MPLS label stack (EtherType 0x8847) over Ethernet; labels outermost first, each 20 bits.
    Mpls {
        dst: [u8; 6],
        src: [u8; 6],
        labels: &'a [u32],
        ttl: u8,
    },
}

impl Default for Link<'_> {
    fn default() -> Self {
        Link::Ethernet {
            dst: MAC_B,
            src: MAC_A,
            vlans: &[],
        }
    }
}

impl Link<'_> {
    pub fn link_type(&self, ip_version: u8) -> u16 {
        match self {
            Link::Ethernet { .. } | Link::Pppoe { .. } | Link::Mpls { .. } => linktype::ETHERNET,
            Link::Sll { .. } => linktype::LINUX_SLL,
            Link::Sll2 { .. } => linktype::LINUX_SLL2,
            Link::Raw => linktype::RAW,
            Link::RawTyped => {
                if ip_version == 6 {
                    linktype::IPV6
                } else {
                    linktype::IPV4
                }
            }
            Link::Null { .. } => linktype::NULL,
            Link::Loop { .. } => linktype::LOOP,
        }
    }

    /// Bytes the link header takes.
    pub fn header_len(&self) -> usize {
        match self {
            Link::Ethernet { vlans, .. } => 14 + 4 * vlans.len(),
            Link::Sll { .. } => 16,
            Link::Sll2 { .. } => 20,
            Link::Raw | Link::RawTyped => 0,
            Link::Null { .. } | Link::Loop { .. } => 4,
            Link::Pppoe { vlans, .. } => 14 + 4 * vlans.len() + 8,
            Link::Mpls { labels, .. } => 14 + 4 * labels.len(),
        }
    }

    /// Append the link header for an IP packet of `ip_len` bytes.
    pub fn write(&self, out: &mut Vec<u8>, ip_version: u8, ip_len: usize) {
        let et: u16 = if ip_version == 6 { 0x86dd } else { 0x0800 };
        let eth =
            |out: &mut Vec<u8>, dst: &[u8; 6], src: &[u8; 6], vlans: &[VlanTag], inner: u16| {
                out.extend_from_slice(dst);
                out.extend_from_slice(src);
                for v in vlans {
                    out.extend_from_slice(&v.tpid.to_be_bytes());
                    let tci =
                        (u16::from(v.pcp & 7) << 13) | (u16::from(v.dei) << 12) | (v.vid & 0x0fff);
                    out.extend_from_slice(&tci.to_be_bytes());
                }
                out.extend_from_slice(&inner.to_be_bytes());
            };
        match self {
            Link::Ethernet { dst, src, vlans } => eth(out, dst, src, vlans, et),
            Link::Sll { packet_type, addr } => {
                out.extend_from_slice(&packet_type.to_be_bytes());
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend_from_slice(&6u16.to_be_bytes());
                out.extend_from_slice(addr);
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&et.to_be_bytes());
            }
            Link::Sll2 {
                ifindex,
                packet_type,
                addr,
            } => {
                out.extend_from_slice(&et.to_be_bytes());
                out.extend_from_slice(&[0, 0]); // reserved
                out.extend_from_slice(&ifindex.to_be_bytes());
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.push(*packet_type);
                out.push(6);
                out.extend_from_slice(addr);
                out.extend_from_slice(&[0, 0]);
            }
            Link::Raw | Link::RawTyped => {}
            Link::Null {
                big_endian,
                af_inet6,
            } => {
                let af = if ip_version == 6 { *af_inet6 } else { 2 };
                if *big_endian {
                    out.extend_from_slice(&af.to_be_bytes())
                } else {
                    out.extend_from_slice(&af.to_le_bytes())
                }
            }
            Link::Loop { af_inet6 } => {
                let af = if ip_version == 6 { *af_inet6 } else { 2 };
                out.extend_from_slice(&af.to_be_bytes())
            }
            Link::Pppoe {
                dst,
                src,
                vlans,
                session_id,
            } => {
                eth(out, dst, src, vlans, 0x8864);
                out.push(0x11); // version 1, type 1
                out.push(0x00); // code: session data
                out.extend_from_slice(&session_id.to_be_bytes());
                // PPPoE length covers the PPP protocol field and the payload.
                out.extend_from_slice(&((ip_len + 2) as u16).to_be_bytes());
                let ppp: u16 = if ip_version == 6 { 0x0057 } else { 0x0021 };
                out.extend_from_slice(&ppp.to_be_bytes());
            }
            Link::Mpls {
                dst,
                src,
                labels,
                ttl,
            } => {
                eth(out, dst, src, &[], 0x8847);
                for (i, l) in labels.iter().enumerate() {
                    let bos = u32::from(i + 1 == labels.len());
                    let word = ((l & 0xfffff) << 12) | (bos << 8) | u32::from(*ttl);
                    out.extend_from_slice(&word.to_be_bytes());
                }
            }
        }
    }
}

/// One IPv6 extension header, written in order before the transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Ext<'a> {
    /// Hop-by-hop options (next header 0); `options` padded with zeros to 8n-2 bytes.
    HopByHop(&'a [u8]),
    /// Destination options (60).
    DestOpts(&'a [u8]),
    /// Routing header (43), type and segments-left then `data` padded to 8n-4 bytes.
    Routing {
        routing_type: u8,
        segments_left: u8,
        data: &'a [u8],
    },
    /// Fragment header (44). `offset` in 8-byte units.
    Fragment { offset: u16, more: bool, id: u32 },
}

impl Ipv6Ext<'_> {
    fn number(&self) -> u8 {
        match self {
            Ipv6Ext::HopByHop(_) => 0,
            Ipv6Ext::DestOpts(_) => 60,
            Ipv6Ext::Routing { .. } => 43,
            Ipv6Ext::Fragment { .. } => 44,
        }
    }
    fn len(&self) -> usize {
        match self {
            Ipv6Ext::HopByHop(o) | Ipv6Ext::DestOpts(o) => (o.len() + 2).next_multiple_of(8),
            Ipv6Ext::Routing { data, .. } => (data.len() + 4).next_multiple_of(8),
            Ipv6Ext::Fragment { .. } => 8,
        }
    }
    fn write(&self, out: &mut Vec<u8>, next: u8) {
        let start = out.len();
        let total = self.len();
        out.push(next);
        match self {
            Ipv6Ext::HopByHop(o) | Ipv6Ext::DestOpts(o) => {
                out.push((total / 8 - 1) as u8);
                out.extend_from_slice(o);
            }
            Ipv6Ext::Routing {
                routing_type,
                segments_left,
                data,
            } => {
                out.push((total / 8 - 1) as u8);
                out.push(*routing_type);
                out.push(*segments_left);
                out.extend_from_slice(data);
            }
            Ipv6Ext::Fragment { offset, more, id } => {
                out.push(0);
                let w = ((offset & 0x1fff) << 3) | u16::from(*more);
                out.extend_from_slice(&w.to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        out.resize(start + total, 0);
    }
}

/// IP-layer parameters; which fields apply depends on the address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpParams<'a> {
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 only.
    pub df: bool,
    /// IPv4 identification.
    pub ip_id: u16,
    /// The two ECN bits (TOS / traffic class low bits).
    pub ecn: u8,
    /// DSCP (six high bits of TOS / traffic class).
    pub dscp: u8,
    /// IPv4 reserved flag bit ("evil bit").
    pub reserved_bit: bool,
    /// IPv4 option bytes, zero-padded to a multiple of 4 (at most 40).
    pub ipv4_options: &'a [u8],
    /// IPv4 fragment offset in 8-byte units, and more-fragments flag.
    pub frag_offset: u16,
    pub more_fragments: bool,
    /// IPv6 flow label (20 bits).
    pub flow_label: u32,
    /// IPv6 extension headers, in order.
    pub ipv6_ext: &'a [Ipv6Ext<'a>],
}

impl Default for IpParams<'_> {
    fn default() -> Self {
        IpParams {
            ttl: 64,
            df: true,
            ip_id: 0,
            ecn: 0,
            dscp: 0,
            reserved_bit: false,
            ipv4_options: &[],
            frag_offset: 0,
            more_fragments: false,
            flow_label: 0,
            ipv6_ext: &[],
        }
    }
}

/// Internet checksum accumulator (RFC 1071). Summing 8 bytes at a time into a u64 keeps
/// it fast enough for multi-GB generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checksum(u64);

impl Checksum {
    /// Add bytes that start at an even offset of the checksummed data.
    pub fn add(&mut self, data: &[u8]) {
        let mut chunks = data.chunks_exact(8);
        let mut acc = self.0;
        for c in &mut chunks {
            let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            let (s, carry) = acc.overflowing_add(w);
            acc = s + u64::from(carry);
        }
        let rest = chunks.remainder();
        let mut i = 0;
        while i + 1 < rest.len() {
            acc = add_carry(acc, u64::from(u16::from_be_bytes([rest[i], rest[i + 1]])));
            i += 2;
        }
        if i < rest.len() {
            acc = add_carry(acc, u64::from(rest[i]) << 8);
        }
        self.0 = acc;
    }
    pub fn finish(self) -> u16 {
        let mut s = self.0;
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }
}

#[inline]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    s + u64::from(c)
}

/// Write the IP header for a transport segment of `l4_len` bytes; returns the offset of
/// the IP header in `out` (after the link header).
fn write_ip(
    out: &mut Vec<u8>,
    src: IpAddr,
    dst: IpAddr,
    p: &IpParams<'_>,
    proto: u8,
    l4_len: usize,
) -> usize {
    let start = out.len();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let opt_len = p.ipv4_options.len().next_multiple_of(4).min(40);
            let hl = 20 + opt_len;
            let total = (hl + l4_len) as u16;
            out.push(0x40 | (hl / 4) as u8);
            out.push((p.dscp << 2) | (p.ecn & 3));
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&p.ip_id.to_be_bytes());
            let flags = (u16::from(p.reserved_bit) << 15)
                | (u16::from(p.df) << 14)
                | (u16::from(p.more_fragments) << 13)
                | (p.frag_offset & 0x1fff);
            out.extend_from_slice(&flags.to_be_bytes());
            out.push(p.ttl);
            out.push(proto);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            out.extend_from_slice(&p.ipv4_options[..p.ipv4_options.len().min(40)]);
            out.resize(start + hl, 0);
            let mut c = Checksum::default();
            c.add(&out[start..start + hl]);
            let sum = c.finish().to_be_bytes();
            out[start + 10] = sum[0];
            out[start + 11] = sum[1];
        }
        _ => {
            let s = to_v6(src);
            let d = to_v6(dst);
            let ext_len: usize = p.ipv6_ext.iter().map(|e| e.len()).sum();
            let tc = (p.dscp << 2) | (p.ecn & 3);
            let w = (6u32 << 28) | (u32::from(tc) << 20) | (p.flow_label & 0xfffff);
            out.extend_from_slice(&w.to_be_bytes());
            out.extend_from_slice(&((ext_len + l4_len) as u16).to_be_bytes());
            out.push(p.ipv6_ext.first().map_or(proto, |e| e.number()));
            out.push(p.ttl);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
            for (i, e) in p.ipv6_ext.iter().enumerate() {
                let next = p.ipv6_ext.get(i + 1).map_or(proto, |n| n.number());
                e.write(out, next);
            }
        }
    }
    start
}

fn to_v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(v) => v.octets(),
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
    }
}

fn ip_header_len(src: IpAddr, dst: IpAddr, p: &IpParams<'_>) -> (u8, usize) {
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            (4, 20 + p.ipv4_options.len().next_multiple_of(4).min(40))
        }
        _ => (6, 40 + p.ipv6_ext.iter().map(|e| e.len()).sum::<usize>()),
    }
}

/// Pseudo-header sum for the transport checksum.
fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, l4_len: usize) -> Checksum {
    let mut c = Checksum::default();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            c.add(&s.octets());
            c.add(&d.octets());
            c.add(&[0, proto]);
            c.add(&(l4_len as u16).to_be_bytes());
        }
        _ => {
            c.add(&to_v6(src));
            c.add(&to_v6(dst));
            c.add(&(l4_len as u32).to_be_bytes());
            c.add(&[0, 0, 0, proto]);
        }
    }
    c
}

/// A TCP segment in a frame. Mixing an IPv4 and an IPv6 address writes IPv6 (the v4 one
/// mapped).
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<'a> {
    pub link: Link<'a>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ip: IpParams<'a>,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// See [`flags`]; NS is bit 8.
    pub flags: u16,
    pub window: u16,
    pub urgent_ptr: u16,
    /// The three reserved header bits (0..=7).
    pub reserved: u8,
    /// Raw option bytes, zero-padded to a multiple of 4 (at most 40).
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

impl Default for TcpPacket<'_> {
    fn default() -> Self {
        TcpPacket {
            link: Link::default(),
            src: IpAddr::V4([192, 0, 2, 1].into()),
            dst: IpAddr::V4([192, 0, 2, 2].into()),
            ip: IpParams::default(),
            src_port: 40000,
            dst_port: 80,
            seq: 1,
            ack: 0,
            flags: TcpFlags::ACK,
            window: 65535,
            urgent_ptr: 0,
            reserved: 0,
            options: &[],
            payload: &[],
        }
    }
}

impl TcpPacket<'_> {
    /// Append the whole frame to `out`; returns the frame length.
    pub fn build(&self, out: &mut Vec<u8>) -> usize {
        let begin = out.len();
        let opt_len = self.options.len().next_multiple_of(4).min(40);
        let tcp_len = 20 + opt_len + self.payload.len();
        let (ver, ip_hl) = ip_header_len(self.src, self.dst, &self.ip);
        self.link.write(out, ver, ip_hl + tcp_len);
        write_ip(out, self.src, self.dst, &self.ip, 6, tcp_len);
        let t = out.len();
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        let off = ((20 + opt_len) / 4) as u8;
        out.push((off << 4) | ((self.reserved & 7) << 1) | ((self.flags >> 8) & 1) as u8);
        out.push(self.flags as u8);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.urgent_ptr.to_be_bytes());
        out.extend_from_slice(&self.options[..self.options.len().min(40)]);
        out.resize(t + 20 + opt_len, 0);
        out.extend_from_slice(self.payload);
        let mut c = pseudo(self.src, self.dst, 6, tcp_len);
        c.add(&out[t..]);
        let sum = c.finish().to_be_bytes();
        out[t + 16] = sum[0];
        out[t + 17] = sum[1];
        out.len() - begin
    }
}

/// A UDP datagram in a frame.
#[derive(Debug, Clone, Copy)]
pub struct UdpPacket<'a> {
    pub link: Link<'a>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ip: IpParams<'a>,
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

impl UdpPacket<'_> {
    pub fn build(&self, out: &mut Vec<u8>) -> usize {
        let begin = out.len();
        let udp_len = 8 + self.payload.len();
        let (ver, ip_hl) = ip_header_len(self.src, self.dst, &self.ip);
        self.link.write(out, ver, ip_hl + udp_len);
        write_ip(out, self.src, self.dst, &self.ip, 17, udp_len);
        let t = out.len();
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&(udp_len as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(self.payload);
        let mut c = pseudo(self.src, self.dst, 17, udp_len);
        c.add(&out[t..]);
        // A computed 0 is sent as 0xffff (RFC 768): 0 means "no checksum".
        let sum = match c.finish() {
            0 => 0xffff,
            s => s,
        }
        .to_be_bytes();
        out[t + 6] = sum[0];
        out[t + 7] = sum[1];
        out.len() - begin
    }
}

mod presets;
pub use presets::*;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Naive reference: 16-bit words one at a time.
    pub(crate) fn naive_sum(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            s += u32::from(w);
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    proptest::proptest! {
        #[test]
        fn checksum_matches_naive(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300), split in 0usize..300) {
            let mut c = Checksum::default();
            // Splits at even offsets only, as the API requires.
            let split = (split.min(data.len())) & !1;
            c.add(&data[..split]);
            c.add(&data[split..]);
            proptest::prop_assert_eq!(c.finish(), naive_sum(&data));
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before
        // complement).
        let mut c = Checksum::default();
        c.add(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(c.finish(), !0xddf2);
    }

    #[test]
    fn preset_option_bytes() {
        let mut o = Vec::new();
        // Bytes as tshark shows them in the shared captures (tsval replaced).
        LINUX.options(0x6689f388, &mut o);
        assert_eq!(o, hex("020405b40402080a6689f3880000000001030307"));
        WINDOWS.options(0, &mut o);
        assert_eq!(o, hex("020405b40103030801010402"));
        MACOS.options(0x780321b5, &mut o);
        assert_eq!(o, hex("020405b4010303060101080a780321b50000000004020000"));
        assert_eq!(MACOS.olayout(), "mss,nop,ws,nop,nop,ts,sok,eol+1");
        assert_eq!(IOT.window_value(), 5840);
        BARE.options(1, &mut o);
        assert!(o.is_empty());
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
