//! Link layer -> IPv4/IPv6 -> TCP/UDP, as a borrowed, zero-copy [`Packet`] view.
//!
//! etherparse does the IP and TCP header work. The link-layer dispatch is ours because
//! etherparse stops after three VLAN tags, has no SLL2, NULL/LOOP, PPPoE or MPLS, and its
//! sliced packets either reject frames cut by the snap length or drop the TCP header of a
//! first IPv4 fragment; a forensics tool needs every header a frame still holds.

mod link;
mod outcomes;
mod packet;

pub use link::{decode, link_type_name, LinkType};
pub use outcomes::Outcomes;
pub use packet::{
    FiveTuple, Fragment, IpInfo, IpProto, Packet, TcpFlags, TcpView, Transport, UdpView,
};

use serde::Serialize;

/// Why a record produced no IP packet. Every record ends up either decoded (IP or a
/// known non-IP frame) or counted under exactly one of these reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undecodable {
    /// The capture's link type is not one we decode.
    UnsupportedLinkType(u16),
    /// The frame ends inside its link-layer header.
    TruncatedLink,
    /// The frame ends inside its IP header.
    TruncatedIp,
    /// An IPv4/IPv6 header whose version, length or checksum-independent fields are invalid.
    BadIp,
    /// An MPLS stack or VLAN stack deeper than we follow (hostile or corrupt).
    TooManyLayers,
    /// An IPv6 extension header (or IPv4 AH) whose declared length runs past the packet
    /// the capture says is complete, or a chain the RFCs forbid (hop-by-hop not first).
    BadIpExtension,
}

impl Undecodable {
    /// Stable snake_case name used in summaries and JSON.
    pub fn name(&self) -> String {
        match self {
            Undecodable::UnsupportedLinkType(lt) => format!("unsupported_link_type_{lt}"),
            Undecodable::TruncatedLink => "truncated_link_header".into(),
            Undecodable::TruncatedIp => "truncated_ip_header".into(),
            Undecodable::BadIp => "bad_ip_header".into(),
            Undecodable::TooManyLayers => "too_many_link_layers".into(),
            Undecodable::BadIpExtension => "bad_ip_extension_header".into(),
        }
    }
}

/// A decoded record: an IP packet, or a frame that is well formed but carries no IP
/// (ARP, LLDP, ...), reported by its EtherType.
#[derive(Debug, Clone)]
pub enum Decoded<'a> {
    Ip(Packet<'a>),
    NonIp { ether_type: u16 },
}
