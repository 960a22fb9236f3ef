//! Special-purpose address ranges (IANA special registries, RFC 6890): an address a
//! public client cannot connect from. A client named in one of them, behind a proxy whose
//! other clients are public, is either an internal host or a value a client wrote.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

crate::named_enum! {
    /// The special range an address lies in.
    pub enum SpecialRange {
        /// RFC 1918 (10/8, 172.16/12, 192.168/16).
        Private => "private",
        /// 127/8, ::1.
        Loopback => "loopback",
        /// 169.254/16, fe80::/10.
        LinkLocal => "link_local",
        /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 (RFC 5737, RFC 3849).
        Documentation => "documentation",
        /// 0.0.0.0, ::.
        Unspecified => "unspecified",
        /// 100.64/10, carrier-grade NAT (RFC 6598).
        Shared => "shared",
        /// fc00::/7 (RFC 4193).
        UniqueLocal => "unique_local",
        /// 224/4, ff00::/8.
        Multicast => "multicast",
        /// 0/8, 198.18/15 (benchmarking), 240/4 and 255.255.255.255, fec0::/10.
        Reserved => "reserved",
    }
}

/// The special range `a` lies in (an IPv4-mapped IPv6 address as its IPv4 address), or
/// `None` for a globally routable unicast address.
pub fn special_range(a: IpAddr) -> Option<SpecialRange> {
    match a.to_canonical() {
        IpAddr::V4(v) => special_v4(v),
        IpAddr::V6(v) => special_v6(v),
    }
}

fn special_v4(v: Ipv4Addr) -> Option<SpecialRange> {
    let o = v.octets();
    Some(if v.is_unspecified() {
        SpecialRange::Unspecified
    } else if v.is_private() {
        SpecialRange::Private
    } else if v.is_loopback() {
        SpecialRange::Loopback
    } else if v.is_link_local() {
        SpecialRange::LinkLocal
    } else if v.is_documentation() {
        SpecialRange::Documentation
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        SpecialRange::Shared
    } else if v.is_multicast() {
        SpecialRange::Multicast
    } else if o[0] == 0 || o[0] >= 240 || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        SpecialRange::Reserved
    } else {
        return None;
    })
}

fn special_v6(v: Ipv6Addr) -> Option<SpecialRange> {
    let s = v.segments();
    Some(if v.is_unspecified() {
        SpecialRange::Unspecified
    } else if v.is_loopback() {
        SpecialRange::Loopback
    } else if (s[0] & 0xffc0) == 0xfe80 {
        SpecialRange::LinkLocal
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        SpecialRange::Documentation
    } else if (s[0] & 0xfe00) == 0xfc00 {
        SpecialRange::UniqueLocal
    } else if v.is_multicast() {
        SpecialRange::Multicast
    } else if (s[0] & 0xffc0) == 0xfec0 {
        SpecialRange::Reserved
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> Option<SpecialRange> {
        special_range(s.parse().unwrap())
    }

    #[test]
    fn ranges_by_registry() {
        use SpecialRange::*;
        for (a, want) in [
            ("10.1.2.3", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.0.1", Some(Private)),
            ("127.0.0.2", Some(Loopback)),
            ("169.254.1.1", Some(LinkLocal)),
            ("192.0.2.7", Some(Documentation)),
            ("198.51.100.1", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("0.0.0.0", Some(Unspecified)),
            ("100.64.0.1", Some(Shared)),
            ("100.128.0.1", None),
            ("224.0.0.1", Some(Multicast)),
            ("0.1.2.3", Some(Reserved)),
            ("198.19.0.1", Some(Reserved)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Reserved)),
            ("6.6.6.6", None),
            ("8.8.8.8", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fe80::1", Some(LinkLocal)),
            ("2001:db8::5", Some(Documentation)),
            ("fd00::1", Some(UniqueLocal)),
            ("ff02::1", Some(Multicast)),
            ("fec0::1", Some(Reserved)),
            ("2a00:1450::1", None),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:8.8.8.8", None),
        ] {
            assert_eq!(range(a), want, "{a}");
        }
    }
}
