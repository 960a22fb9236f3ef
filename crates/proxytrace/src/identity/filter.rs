//! The `--client` filter, one implementation for every command.
//!
//! Semantics: a row is kept when its client address lies in one of the networks; an empty
//! filter keeps every row. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is its IPv4
//! address everywhere, in the filter and in the value: `--client ::ffff:10.0.0.0/104`
//! keeps 10.1.2.3, and `--client 10.0.0.0/8` keeps a client written `::ffff:10.1.2.3`.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A list of client networks; empty matches every address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    /// The networks, mapped IPv6 ones stored as their IPv4 network.
    nets: Vec<IpNet>,
}

impl ClientFilter {
    /// A filter keeping addresses in any of `nets` (every address when `nets` is empty).
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> ClientFilter {
        ClientFilter {
            nets: nets.into_iter().map(canonical_net).collect(),
        }
    }

    /// True when the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// The networks as stored (IPv4-mapped IPv6 networks as IPv4).
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }

    /// Whether a client at `ip` is kept.
    pub fn matches(&self, ip: IpAddr) -> bool {
        if self.nets.is_empty() {
            return true;
        }
        let ip = ip.to_canonical();
        // A v6 network wider than ::ffff:0:0/96 (say ::/0) still holds the mapped form of
        // an IPv4 client.
        let mapped = match ip {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(_) => None,
        };
        self.nets
            .iter()
            .any(|n| n.contains(&ip) || mapped.is_some_and(|m| n.contains(&m)))
    }

    /// Whether a row whose client is `ip` (none: no client identified) is kept. A row
    /// without a client is only kept by an empty filter.
    pub fn matches_opt(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            Some(ip) => self.matches(ip),
            None => self.nets.is_empty(),
        }
    }
}

impl FromIterator<IpNet> for ClientFilter {
    fn from_iter<I: IntoIterator<Item = IpNet>>(nets: I) -> ClientFilter {
        ClientFilter::new(nets)
    }
}

/// A network inside ::ffff:0:0/96 becomes the IPv4 network it maps; others are unchanged.
fn canonical_net(net: IpNet) -> IpNet {
    let IpNet::V6(v6) = net else {
        return net;
    };
    match (
        v6.network().to_ipv4_mapped(),
        v6.prefix_len().checked_sub(96),
    ) {
        (Some(v4), Some(len)) => Ipv4Net::new(v4, len).map_or(net, |n| IpNet::V4(n.trunc())),
        _ => IpNet::V6(Ipv6Net::trunc(&v6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(nets: &[&str]) -> ClientFilter {
        nets.iter().map(|n| n.parse::<IpNet>().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_keeps_everything_even_rows_without_client() {
        let f = ClientFilter::default();
        assert!(f.is_empty());
        assert!(f.matches(ip("11.0.0.1")));
        assert!(f.matches(ip("2001:db8::1")));
        assert!(f.matches_opt(None));
        assert!(!filter(&["0.0.0.0/0"]).matches_opt(None));
    }

    #[test]
    fn plain_networks_and_addresses() {
        let f = filter(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]);
        assert!(f.matches(ip("10.1.2.3")));
        assert!(f.matches(ip("192.0.2.7")));
        assert!(f.matches(ip("2001:db8::99")));
        assert!(!f.matches(ip("11.0.0.1")));
        assert!(!f.matches(ip("192.0.2.8")));
        assert!(!f.matches(ip("2001:db9::1")));
    }

    /// Every combination of plain and mapped spelling, in the filter and in the value,
    /// answers the same.
    #[test]
    fn ipv4_mapped_matches_its_ipv4_address_in_filter_and_value() {
        for net in ["10.0.0.0/8", "::ffff:10.0.0.0/104", "::ffff:0:0/96", "::/0"] {
            let f = filter(&[net]);
            for value in ["10.1.2.3", "::ffff:10.1.2.3"] {
                assert!(f.matches(ip(value)), "{net} should keep {value}");
            }
        }
        for net in ["10.0.0.0/8", "::ffff:10.0.0.0/104"] {
            let f = filter(&[net]);
            for value in ["11.1.2.3", "::ffff:11.1.2.3", "::10.1.2.3", "2001:db8::1"] {
                assert!(!f.matches(ip(value)), "{net} should not keep {value}");
            }
        }
        assert_eq!(
            filter(&["::ffff:10.1.2.3/128"]).nets(),
            &["10.1.2.3/32".parse::<IpNet>().unwrap()]
        );
        // An IPv4-compatible (not mapped) network stays IPv6.
        assert!(!filter(&["::10.0.0.0/104"]).matches(ip("10.1.2.3")));
    }

    /// Regression: `requests --client` compared the canonical value against the networks
    /// as given, `syns --client` the value as given or canonical: a mapped network such as
    /// `::ffff:10.0.0.0/104` kept `::ffff:10.1.2.3` in `syns` but dropped it in `requests`
    /// (and both dropped a plain 10.1.2.3). Both commands now call this one filter.
    #[test]
    fn requests_and_syns_filters_no_longer_diverge_on_mapped_networks() {
        let f = filter(&["::ffff:10.0.0.0/104"]);
        assert!(f.matches(ip("::ffff:10.1.2.3")));
        assert!(f.matches_opt(Some(ip("::ffff:10.1.2.3"))));
        assert!(f.matches(ip("10.1.2.3")));
        assert!(f.matches_opt(Some(ip("10.1.2.3"))));
    }
}
