//! What the records of a run decoded to: every record read lands in exactly one outcome.

use super::{Decoded, Transport, Undecodable};
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-file packet outcomes. Every record read lands in exactly one of
/// `ipv4`, `ipv6`, `non_ip`, `undecodable` or the walker's skipped records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// Records decoded to an IPv4 packet.
    pub ipv4: u64,
    /// Records decoded to an IPv6 packet.
    pub ipv6: u64,
    /// Of the IP packets: TCP segments with a readable header.
    pub tcp: u64,
    /// Of the IP packets: UDP datagrams with a readable 8-byte header.
    pub udp: u64,
    /// IP packets carrying another protocol (ICMP, GRE, ...).
    pub other_transport: u64,
    /// Later IP fragments (no transport header).
    pub ip_fragments: u64,
    /// IP packets whose transport header is cut by the snap length.
    pub transport_truncated: u64,
    /// Well-formed frames that carry no IP (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Records that could not be decoded, by reason (keyed by the reason, named only when
    /// written: counting must not allocate per packet).
    #[serde(serialize_with = "undecodable_by_name")]
    pub undecodable: BTreeMap<Undecodable, u64>,
}

impl Outcomes {
    /// Count one decoded record.
    pub fn count(&mut self, result: &Result<Decoded<'_>, Undecodable>) {
        match result {
            Ok(Decoded::NonIp { .. }) => self.non_ip += 1,
            Ok(Decoded::Ip(p)) => {
                if p.ip.version == 4 {
                    self.ipv4 += 1;
                } else {
                    self.ipv6 += 1;
                }
                match p.transport {
                    Transport::Tcp(_) => self.tcp += 1,
                    Transport::Udp(_) => self.udp += 1,
                    Transport::Fragment => self.ip_fragments += 1,
                    Transport::Truncated => self.transport_truncated += 1,
                    Transport::Other => self.other_transport += 1,
                }
            }
            Err(e) => *self.undecodable.entry(*e).or_default() += 1,
        }
    }

    /// Records decoded: IPv4, IPv6 and non-IP frames (everything but `undecodable`).
    pub fn decoded(&self) -> u64 {
        self.ipv4 + self.ipv6 + self.non_ip
    }

    /// The undecodable counts under their stable snake_case names.
    pub fn undecodable_names(&self) -> BTreeMap<String, u64> {
        self.undecodable
            .iter()
            .map(|(k, v)| (k.name().into_owned(), *v))
            .collect()
    }

    /// Records that could not be decoded, all reasons together.
    pub fn undecodable_total(&self) -> u64 {
        self.undecodable.values().sum()
    }

    /// Add another run's (or file's) counts to these.
    pub fn merge(&mut self, o: &Outcomes) {
        self.ipv4 += o.ipv4;
        self.ipv6 += o.ipv6;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.other_transport += o.other_transport;
        self.ip_fragments += o.ip_fragments;
        self.transport_truncated += o.transport_truncated;
        self.non_ip += o.non_ip;
        for (k, v) in &o.undecodable {
            *self.undecodable.entry(*k).or_default() += v;
        }
    }
}

fn undecodable_by_name<S: serde::Serializer>(
    m: &BTreeMap<Undecodable, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k.name(), v)))
}
