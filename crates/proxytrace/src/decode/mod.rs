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

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// Why a record produced no IP packet. Every record ends up either decoded (IP or a
/// known non-IP frame) or counted under exactly one of these reasons.
///
/// Its stable names come from [`Undecodable::name`] alone: `Display` and `Serialize` both
/// write it. `UnsupportedLinkType` carries data, so it is not a [`crate::named_enum!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Stable snake_case name used in summaries and JSON: one table for the fixed
    /// reasons, `unsupported_link_type_N` for a link type.
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Undecodable::UnsupportedLinkType(lt) => {
                return Cow::Owned(format!("unsupported_link_type_{lt}"))
            }
            Undecodable::TruncatedLink => "truncated_link_header",
            Undecodable::TruncatedIp => "truncated_ip_header",
            Undecodable::BadIp => "bad_ip_header",
            Undecodable::TooManyLayers => "too_many_link_layers",
            Undecodable::BadIpExtension => "bad_ip_extension_header",
        })
    }
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Undecodable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// A decoded record: an IP packet, or a frame that is well formed but carries no IP
/// (ARP, LLDP, ...), reported by its EtherType.
#[derive(Debug, Clone)]
pub enum Decoded<'a> {
    /// An IPv4 or IPv6 packet.
    Ip(Packet<'a>),
    /// A well-formed frame carrying no IP, by EtherType.
    NonIp {
        /// The frame's EtherType.
        ether_type: u16,
    },
}

#[cfg(test)]
mod tests {
    use super::Undecodable;

    /// The name users see in summaries is also the JSON form and the text form. The
    /// derived serde names (`truncated_link`, `{"unsupported_link_type": 147}`) used to
    /// disagree with the summary names (`truncated_link_header`, ...).
    #[test]
    fn undecodable_names_agree_in_every_form() {
        let all = [
            (
                Undecodable::UnsupportedLinkType(147),
                "unsupported_link_type_147",
            ),
            (Undecodable::TruncatedLink, "truncated_link_header"),
            (Undecodable::TruncatedIp, "truncated_ip_header"),
            (Undecodable::BadIp, "bad_ip_header"),
            (Undecodable::TooManyLayers, "too_many_link_layers"),
            (Undecodable::BadIpExtension, "bad_ip_extension_header"),
        ];
        for (u, name) in all {
            assert_eq!(u.name(), name);
            assert_eq!(u.to_string(), name);
            assert_eq!(serde_json::to_value(u).unwrap(), name);
        }
    }
}
