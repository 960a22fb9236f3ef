//! The borrowed packet view every later stage reads.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// IP protocol number (6 TCP, 17 UDP, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IpProto(pub u8);

impl IpProto {
    pub const TCP: IpProto = IpProto(6);
    pub const UDP: IpProto = IpProto(17);
}

/// A directed transport 5-tuple: source first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FiveTuple {
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub proto: IpProto,
}

impl FiveTuple {
    /// The same conversation seen from the other side.
    pub fn reversed(&self) -> FiveTuple {
        FiveTuple {
            src_ip: self.dst_ip,
            src_port: self.dst_port,
            dst_ip: self.src_ip,
            dst_port: self.src_port,
            proto: self.proto,
        }
    }
}

impl fmt::Display for FiveTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sock = |ip: &IpAddr, port: u16| match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        let proto = match self.proto.0 {
            6 => "tcp".to_string(),
            17 => "udp".to_string(),
            n => n.to_string(),
        };
        write!(
            f,
            "{proto} {} -> {}",
            sock(&self.src_ip, self.src_port),
            sock(&self.dst_ip, self.dst_port)
        )
    }
}

/// Where this IP packet sits in a fragmented datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented (IPv6 atomic fragments, offset 0 and no more fragments, count here).
    None,
    /// Offset 0 with more fragments to come: the transport header is (at least partly) here.
    First,
    /// A later fragment: no transport header.
    Later,
}

/// The IP layer's fields, IPv4 and IPv6 alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// 4 or 6.
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 don't-fragment flag (always false for IPv6).
    pub df: bool,
    /// IPv4 identification; the fragment header's identification for fragmented IPv6.
    pub ip_id: Option<u32>,
    /// The two ECN bits of the TOS / traffic class.
    pub ecn: u8,
    /// The IPv4 reserved ("evil") flag bit.
    pub reserved_bit: bool,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// IPv4 option bytes (IHL*4 - 20); 0 for IPv6.
    pub options_len: u8,
    /// Bytes of IP header including IPv4 options or IPv6 extension headers.
    pub header_len: u16,
    /// IPv4 total length or IPv6 payload length + 40, as written in the header.
    pub total_len: u32,
    /// The protocol of the payload after all extension headers.
    pub proto: IpProto,
    pub fragment: Fragment,
}

/// TCP flags, including NS (bit 8), CWR and ECE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const NS: u16 = 0x100;

    #[inline]
    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump-like letters: `S`, `S.`, `P.`, `F.`, `R`, with `E`, `W`, `N`, `U` when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LETTERS: [(u16, char); 9] = [
            (TcpFlags::SYN, 'S'),
            (TcpFlags::FIN, 'F'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::NS, 'N'),
            (TcpFlags::ACK, '.'),
        ];
        for (bit, c) in LETTERS {
            if self.has(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A TCP header and its payload, borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpView<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent_ptr: u16,
    /// The three reserved bits between data offset and NS (`tcp[12] & 0x0e`, shifted down).
    pub reserved: u8,
    /// Data offset in bytes (20..=60).
    pub header_len: u8,
    /// Raw option bytes exactly as on the wire (fingerprinting walks them itself).
    pub options: &'a [u8],
    /// Payload bytes present in the capture (may be fewer than sent if cut by the snap length).
    pub payload: &'a [u8],
    /// Payload length the IP header announces (>= `payload.len()` when truncated;
    /// equals it when the IP length is 0, as in TSO captures).
    pub payload_len_on_wire: u32,
}

/// A UDP header and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpView<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpView<'a>),
    Udp(UdpView<'a>),
    /// A later IPv4/IPv6 fragment: its payload continues a transport header elsewhere.
    Fragment,
    /// The transport header is cut by the snap length (or by a first fragment that is too short).
    Truncated,
    /// Any other protocol (ICMP, GRE, ...).
    Other,
}

/// One decoded IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ts_ns: i64,
    pub link_type: u16,
    pub ip: IpInfo,
    pub transport: Transport<'a>,
    /// The frame was cut by the snap length somewhere (caplen < original length or a
    /// header runs past the captured bytes).
    pub truncated: bool,
}

impl<'a> Packet<'a> {
    pub fn tcp(&self) -> Option<&TcpView<'a>> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The directed 5-tuple, for TCP and UDP packets.
    pub fn five_tuple(&self) -> Option<FiveTuple> {
        let (sp, dp) = match &self.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            _ => return None,
        };
        Some(FiveTuple {
            src_ip: self.ip.src,
            src_port: sp,
            dst_ip: self.ip.dst,
            dst_port: dp,
            proto: self.ip.proto,
        })
    }
}
