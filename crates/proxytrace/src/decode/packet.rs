//! The borrowed packet view every later stage reads.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// IP protocol number (6 TCP, 17 UDP, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IpProto(pub u8);

impl IpProto {
    /// TCP (6).
    pub const TCP: IpProto = IpProto(6);
    /// UDP (17).
    pub const UDP: IpProto = IpProto(17);
}

/// A directed transport 5-tuple: source first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FiveTuple {
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// Transport protocol (TCP or UDP).
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
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
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
    /// Place in a fragmented datagram (IPv6: from the fragment header, if any).
    pub fragment: Fragment,
}

/// TCP flags, including NS (bit 8), CWR and ECE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN: the sender has no more data.
    pub const FIN: u16 = 0x001;
    /// SYN: synchronise sequence numbers (opens a connection).
    pub const SYN: u16 = 0x002;
    /// RST: reset the connection.
    pub const RST: u16 = 0x004;
    /// PSH: push buffered data to the application.
    pub const PSH: u16 = 0x008;
    /// ACK: the acknowledgment number is valid.
    pub const ACK: u16 = 0x010;
    /// URG: the urgent pointer is valid.
    pub const URG: u16 = 0x020;
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: u16 = 0x040;
    /// CWR: Congestion Window Reduced (RFC 3168).
    pub const CWR: u16 = 0x080;
    /// NS: ECN nonce sum (RFC 3540, historic), the low bit of header byte 12.
    pub const NS: u16 = 0x100;

    /// Whether any bit of the mask `bit` is set.
    #[inline]
    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    /// SYN is set (with or without ACK).
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK is set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN is set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST is set.
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
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number as on the wire (absolute, not relative to the ISN).
    pub seq: u32,
    /// Acknowledgment number as on the wire (meaningful when ACK is set).
    pub ack: u32,
    /// The flag bits, NS included.
    pub flags: TcpFlags,
    /// Window field as sent, before any window scaling.
    pub window: u16,
    /// Urgent pointer (meaningful when URG is set).
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
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Bytes after the 8-byte header, to the end of the IP payload as captured (the
    /// UDP length field is not applied).
    pub payload: &'a [u8],
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment whose whole header (options included) was captured.
    Tcp(TcpView<'a>),
    /// A UDP datagram whose 8-byte header was captured.
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
    /// Capture time of the record, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Link-layer type (LINKTYPE_*) of the record the packet was decoded from.
    pub link_type: u16,
    /// The IP header.
    pub ip: IpInfo,
    /// What follows the IP header.
    pub transport: Transport<'a>,
    /// The frame was cut by the snap length somewhere (caplen < original length or a
    /// header runs past the captured bytes).
    pub truncated: bool,
}

impl<'a> Packet<'a> {
    /// The TCP header and payload, for TCP packets.
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
