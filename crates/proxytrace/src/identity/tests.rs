//! Unit tests of the chain model and the selection policy.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use super::chain::parse_node;
use super::*;
use crate::http1::head::parse_request_head;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn nets(s: &[&str]) -> Vec<IpNet> {
    s.iter().map(|n| n.parse().unwrap()).collect()
}

#[test]
fn entry_forms() {
    let e = parse_entry(b" 1.2.3.4:5678 ");
    assert_eq!(
        (e.addr, e.port, e.kind),
        (Some(ip("1.2.3.4")), Some(5678), EntryKind::Ip)
    );
    assert_eq!(e.raw, b"1.2.3.4:5678");
    let e = parse_entry(b"[2001:db8::1]:443");
    assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), Some(443)));
    let e = parse_entry(b"[2001:db8::1]");
    assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), None));
    let e = parse_entry(b"2001:db8::1");
    assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), None));
    let e = parse_entry(b"fe80::1%eth0");
    assert_eq!((e.addr, e.zone), (Some(ip("fe80::1")), Some(&b"eth0"[..])));
    let e = parse_entry(b"[fe80::a%25en0]:80");
    assert_eq!(
        (e.addr, e.zone, e.port),
        (Some(ip("fe80::a")), Some(&b"25en0"[..]), Some(80))
    );
    let e = parse_entry(b"::ffff:192.0.2.1");
    assert_eq!(e.addr, Some(ip("192.0.2.1")));
    assert_eq!(e.raw, b"::ffff:192.0.2.1");
    assert_eq!(parse_entry(b"UNKNOWN").kind, EntryKind::Unknown);
    assert_eq!(parse_entry(b"_Hidden-1.x").kind, EntryKind::Obfuscated);
    for bad in [
        &b"_"[..],
        b"_a b",
        b"1.2.3",
        b"1.2.3.4.5",
        b"256.1.1.1",
        b"1.2.3.4:",
        b"1.2.3.4:65536",
        b"1.2.3.4:80:90",
        b"[2001:db8::1",
        b"[2001:db8::1]x",
        b"[1.2.3.4]",
        b"fe80::1%",
        b"0x7f.0.0.1",
        b"2130706433",
        b"1.2.3.4 5.6.7.8",
        b"\xff\xfe",
        b"1.2.3.4\x00",
        b"example.com",
        b"\"1.2.3.4\"",
        b"",
        b"1.2.3.4:+80",
    ] {
        let e = parse_entry(bad);
        assert_eq!(
            e.kind,
            EntryKind::Invalid,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(e.addr, None);
    }
}

fn anomalies_of(h: &[u8]) -> (Option<IpAddr>, Option<u16>, String) {
    let h = parse_request_head(h, &[]).unwrap();
    let id = extract_identity(Some(&h), None, &[]);
    (id.client_ip, id.client_port, id.anomalies_string())
}

#[test]
fn leading_zero_ipv4_read_only_when_octal_and_decimal_agree() {
    // Arkime's test capture value: octal and decimal both give 10.0.0.3.
    let e = parse_entry(b"10.000.000.03");
    assert_eq!((e.addr, e.kind), (Some(ip("10.0.0.3")), EntryKind::Ip));
    assert_eq!(e.raw, b"10.000.000.03");
    // 04 is 4 both ways; with a port too.
    let e = parse_entry(b"1.2.3.04:8080");
    assert_eq!((e.addr, e.port), (Some(ip("1.2.3.4")), Some(8080)));
    // 010 is 8 in octal and 10 in decimal; 08 is no octal at all; 0377 is 255 in
    // octal and 377 (no octet) in decimal: never guess.
    for raw in [&b"010.0.0.1"[..], b"1.2.3.08", b"0377.0.0.1"] {
        let e = parse_entry(raw);
        assert_eq!((e.addr, e.kind), (None, EntryKind::Invalid), "{raw:?}");
        assert!(is_leading_zero_ipv4(raw));
    }
    assert!(!is_leading_zero_ipv4(b"10.0.0.3"));
    assert!(!is_leading_zero_ipv4(b"10.0.0"));
    assert!(!is_leading_zero_ipv4(b"01.0.0.0.1"));
    assert_eq!(
        anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.000.000.03\r\n\r\n"),
        (
            Some(ip("10.0.0.3")),
            None,
            "leading_zero_ipv4:x_forwarded_for".into()
        )
    );
    assert_eq!(
        anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: 010.0.0.1\r\n\r\n"),
        (None, None, "leading_zero_ipv4:x_forwarded_for".into())
    );
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_client() {
    for h in [
        &b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.9.9.9, ::ffff:77.148.90.167\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX-Forwarded-For: [::FFFF:77.148.90.167]:40001\r\n\r\n",
    ] {
        let (client, _, flags) = anomalies_of(h);
        assert_eq!(client, Some(ip("77.148.90.167")));
        assert_eq!(flags, "ipv4_mapped_ipv6:x_forwarded_for");
    }
    assert_eq!(
        anomalies_of(b"GET / HTTP/1.1\r\nForwarded: for=\"[::ffff:77.148.90.167]:4711\"\r\n\r\n"),
        (
            Some(ip("77.148.90.167")),
            Some(4711),
            "ipv4_mapped_ipv6:forwarded".into()
        )
    );
    // A PROXY v2 IPv6 source in mapped form.
    let id = extract_identity(
        None,
        Some("[::ffff:77.148.90.167]:5000".parse().unwrap()),
        &[],
    );
    assert_eq!(id.client_ip, Some(ip("77.148.90.167")));
    assert_eq!(id.client_port, Some(5000));
    assert_eq!(id.anomalies_string(), "ipv4_mapped_ipv6:proxy_protocol");
    // An IPv4-compatible (not mapped) address stays IPv6, unflagged.
    let (client, _, flags) =
        anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: ::77.148.90.167\r\n\r\n");
    assert_eq!(client, Some(ip("::4d94:5aa7")));
    assert_eq!(flags, "");
}

#[test]
fn nginx_unbracketed_ipv6_port_in_forwarded() {
    // 40000 has five digits: no hex group, so only address:port reads.
    assert_eq!(
        anomalies_of(b"GET / HTTP/1.1\r\nForwarded: for=\"2001:db8::5:40000\"\r\n\r\n"),
        (
            Some(ip("2001:db8::5")),
            Some(40000),
            "unbracketed_ipv6_port:forwarded".into()
        )
    );
    // 8080 is also a hex group: the whole address is taken and the row says so.
    assert_eq!(
        anomalies_of(b"GET / HTTP/1.1\r\nForwarded: for=\"2001:db8::5:8080\"\r\n\r\n"),
        (
            Some(ip("2001:db8:0:0:0:0:5:8080")),
            None,
            "ambiguous_ipv6_port:forwarded".into()
        )
    );
    // Eight groups and a port: the whole is no address, the part before the colon is.
    let e = parse_node(b"2001:db8:1:2:3:4:5:6:443", true);
    assert_eq!(
        (e.addr, e.port),
        (Some(ip("2001:db8:1:2:3:4:5:6")), Some(443))
    );
    // A plain IPv6 and a mapped one (the `:` before the dotted quad is no port).
    let e = parse_node(b"2001:db8::5", true);
    assert_eq!(
        (e.addr, e.port, e.form),
        (Some(ip("2001:db8::5")), None, EntryForm::default())
    );
    let e = parse_node(b"::ffff:1.2.3.4:40000", true);
    assert_eq!((e.addr, e.port), (Some(ip("1.2.3.4")), Some(40000)));
    // Port out of range, or XFF (not Forwarded syntax): not split.
    assert_eq!(parse_node(b"2001:db8::5:70000", true).addr, None);
    assert_eq!(parse_entry(b"2001:db8::5:40000").addr, None);
}

#[test]
fn chain_junk_between_commas_and_several_headers() {
    let c = parse_chain([
        &b"1.1.1.1, ,,garbage ,  2.2.2.2:80"[..],
        &b"[2001:db8::2]:8443,"[..],
    ]);
    let raws: Vec<&[u8]> = c.entries.iter().map(|e| e.raw).collect();
    assert_eq!(
        raws,
        vec![
            &b"1.1.1.1"[..],
            b"garbage",
            b"2.2.2.2:80",
            b"[2001:db8::2]:8443"
        ]
    );
    assert_eq!(c.empty_entries, 3);
    assert_eq!(c.entries[1].kind, EntryKind::Invalid);
    assert_eq!(
        c.to_string(),
        "1.1.1.1, garbage, 2.2.2.2:80, [2001:db8::2]:8443"
    );
}

#[test]
fn hundred_thousand_entry_chain_keeps_rightmost() {
    let mut v = Vec::new();
    for i in 0..100_000u32 {
        v.extend_from_slice(
            format!("10.{}.{}.{}, ", (i >> 16) & 255, (i >> 8) & 255, i & 255).as_bytes(),
        );
    }
    v.extend_from_slice(b"203.0.113.9");
    let c = parse_chain([&v[..]]);
    assert_eq!(c.entries.len(), MAX_CHAIN_ENTRIES);
    assert_eq!(c.dropped_left, 100_001 - MAX_CHAIN_ENTRIES);
    assert_eq!(c.entries.last().unwrap().addr, Some(ip("203.0.113.9")));
    assert!(c.to_string().starts_with("(+99745 dropped), 10."));
    let (sel, _) = select_client(&c, &[]);
    assert_eq!(sel, Some(MAX_CHAIN_ENTRIES - 1));
}

#[test]
fn megabyte_entry_nul_and_non_utf8_kept_raw() {
    let mut v = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1, ".to_vec();
    v.extend(std::iter::repeat_n(b'7', 1 << 20));
    v.extend_from_slice(b", 2.2.2.\x002, \xff1.2.3.4, 3.3.3.3\r\n\r\n");
    let head = parse_request_head(&v, &[]).unwrap();
    let id = extract_identity(Some(&head), None, &[]);
    let c = &id.sources[0].chain;
    let kinds: Vec<_> = c.entries.iter().map(|e| e.kind).collect();
    use EntryKind::*;
    assert_eq!(kinds, vec![Ip, Invalid, Invalid, Invalid, Ip]);
    assert_eq!(c.entries[1].raw.len(), 1 << 20);
    assert_eq!(c.entries[2].raw, b"2.2.2.\x002");
    assert_eq!(id.client_ip, Some(ip("3.3.3.3")));
}

#[test]
fn select_rightmost_without_trust_and_walk_with_trust() {
    let c = parse_chain([&b"6.6.6.6, 198.51.100.7, 10.0.0.2, unknown"[..]]);
    // No trusted list: rightmost address.
    assert_eq!(select_client(&c, &[]), (Some(2), false));
    // Trusted: the first untrusted hop from the right is `unknown`: no client.
    assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (None, false));
    let c = parse_chain([&b"6.6.6.6, 198.51.100.7, 10.0.0.2, 10.0.0.3"[..]]);
    assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (Some(1), false));
    assert_eq!(
        select_client(&c, &nets(&["10.0.0.0/8", "198.51.100.0/24"])),
        (Some(0), false)
    );
    // All trusted: leftmost.
    assert_eq!(select_client(&c, &nets(&["0.0.0.0/0"])), (Some(0), true));
    // IPv4-mapped entries match IPv4 nets.
    let c = parse_chain([&b"1.1.1.1, ::ffff:10.0.0.9"[..]]);
    assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (Some(0), false));
}

fn ident<'a>(h: &'a [u8], proxy: Option<&str>, trusted: &[IpNet]) -> Identity<'a> {
    let head = parse_request_head(h, &[b"X-Custom-IP"]).unwrap();
    // The head borrows `h`; identity borrows the same bytes.
    let id = extract_identity(Some(&head), proxy.map(|p| p.parse().unwrap()), trusted);
    id
}

#[test]
fn precedence_and_source_naming() {
    let h = b"GET / HTTP/1.1\r\nX-Custom-IP: 9.9.9.9\r\nCF-Connecting-IP: 8.8.8.8\r\nX-Real-IP: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n";
    let id = ident(h, None, &[]);
    assert_eq!(id.identity_source, Some(IdentitySource::XForwardedFor));
    assert_eq!(id.client_ip, Some(ip("198.51.100.1")));
    let order: Vec<_> = id.sources.iter().map(|s| s.source).collect();
    assert_eq!(
        order,
        vec![
            IdentitySource::XForwardedFor,
            IdentitySource::XRealIp,
            IdentitySource::CfConnectingIp,
            IdentitySource::Custom(0)
        ]
    );
    assert!(!id.spoof_suspect);
    // PROXY beats everything.
    let id = ident(h, Some("198.51.100.1:5555"), &[]);
    assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
    assert_eq!(id.client_port, Some(5555));
    assert!(!id.spoof_suspect);
    // Custom alone.
    let id = ident(
        b"GET / HTTP/1.1\r\nx-custom-ip: [2001:db8::9]:1\r\n\r\n",
        None,
        &[],
    );
    assert_eq!(id.identity_source, Some(IdentitySource::Custom(0)));
    assert_eq!(id.client_ip, Some(ip("2001:db8::9")));
    assert_eq!(id.client_port, Some(1));
}

#[test]
fn trusted_proxy_source_defers_to_headers() {
    // CDN (trusted) -> HAProxy sends PROXY with the CDN edge as source; XFF names the client.
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.50, 192.0.2.10\r\n\r\n";
    let t = nets(&["192.0.2.0/24"]);
    let id = ident(h, Some("192.0.2.10:40000"), &t);
    assert_eq!(id.identity_source, Some(IdentitySource::XForwardedFor));
    assert_eq!(id.client_ip, Some(ip("203.0.113.50")));
    assert!(!id.spoof_suspect);
    // Everything trusted: fall back to the first source that names an address.
    let id = ident(h, Some("192.0.2.10:40000"), &nets(&["0.0.0.0/0"]));
    assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
}

#[test]
fn spoof_reasons() {
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 5.6.7.8\r\nForwarded: for=1.2.3.4\r\n\r\n";
    let id = ident(h, Some("9.9.9.9:1"), &[]);
    assert!(id.spoof_suspect);
    assert_eq!(
        id.spoof_reasons,
        vec![
            SpoofReason::of(SpoofKind::ProxyVsXff),
            SpoofReason::of(SpoofKind::ProxyVsForwarded),
            SpoofReason::of(SpoofKind::XffVsRealIp)
        ]
    );
    assert_eq!(
        id.spoof_reasons_string(),
        "proxy_vs_xff|proxy_vs_forwarded|xff_vs_real_ip"
    );
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 192.168.1.5, 8.8.4.4, 10.0.0.1\r\n\r\n";
    let id = ident(h, None, &[]);
    assert_eq!(
        id.spoof_reasons,
        vec![SpoofReason::in_source(
            SpoofKind::PrivateLeftOfPublic,
            IdentitySource::XForwardedFor
        )]
    );
    assert_eq!(
        id.spoof_reasons[0].to_string(),
        "private_left_of_public:x_forwarded_for"
    );
    // Public left of private is the normal shape (client, then internal hops).
    // Without --trusted for those hops, the last one is no client: flagged, not spoofing.
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 8.8.4.4, 10.0.0.1, 100.64.0.1, fd00::1\r\n\r\n";
    let id = ident(h, None, &[]);
    assert!(!id.spoof_suspect);
    assert_eq!(
        id.anomalies_string(),
        "special_range_client:x_forwarded_for"
    );
    let id = ident(h, None, &nets(&["10.0.0.0/8", "100.64.0.0/10", "fd00::/8"]));
    assert_eq!(id.client_ip, Some(ip("8.8.4.4")));
    assert_eq!(id.anomalies_string(), "");
    // IPv4-mapped PROXY source equals the IPv4 XFF entry.
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
    assert!(!ident(h, Some("[::ffff:1.2.3.4]:80"), &[]).spoof_suspect);
}

#[test]
fn untrusted_hop_not_an_address() {
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4, _hidden, 10.0.0.1\r\n\r\n";
    let id = ident(h, None, &nets(&["10.0.0.0/8"]));
    assert_eq!(id.client_ip, None);
    assert_eq!(id.identity_source, None);
    assert_eq!(
        id.anomalies,
        vec![IdentityAnomaly::new(
            AnomalyKind::UntrustedHopNotAnAddress,
            IdentitySource::XForwardedFor
        )]
    );
}

#[test]
fn p0f_fields() {
    let h = b"GET / HTTP/1.1\r\nX-P0f-OS: Linux 3.11 and newer\r\nx-tcp-link: Ethernet or modem\r\nx_tcp_dist: 11\r\nX-P0F-Uptime: 42 hrs\r\nx-p0f-nat: 0\r\nx-tcp-match-q: 0\r\nX-P0f-MTU: 1500\r\nx_tcp_mss: 1460\r\nx-p0f-weird: z\r\n\r\n";
    let id = ident(h, None, &[]);
    let keys: Vec<_> = id.p0f.iter().map(|f| (f.key, f.value)).collect();
    assert_eq!(
        keys,
        vec![
            (P0fKey::Os, &b"Linux 3.11 and newer"[..]),
            (P0fKey::Link, b"Ethernet or modem"),
            (P0fKey::Dist, b"11"),
            (P0fKey::Uptime, b"42 hrs"),
            (P0fKey::Nat, b"0"),
            (P0fKey::MatchQuality, b"0"),
            (P0fKey::Mtu, b"1500"),
            (P0fKey::Mss, b"1460"),
            (P0fKey::Other, b"z"),
        ]
    );
    assert!(id.sources.is_empty());
    assert_eq!(id.client_ip, None);
    assert!(id
        .p0f_string()
        .starts_with("X-P0f-OS=Linux 3.11 and newer|x-tcp-link=Ethernet or modem|"));
}

#[test]
fn proxy_only_no_head() {
    let id = extract_identity(None, Some("[2001:db8::1]:443".parse().unwrap()), &[]);
    assert_eq!(id.client_ip, Some(ip("2001:db8::1")));
    assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
}

#[test]
fn obs_folded_xff_is_joined() {
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1,\r\n 2.2.2.2\r\n\r\n";
    let id = ident(h, None, &[]);
    let c = &id.sources[0].chain;
    assert_eq!(c.entries.len(), 2);
    assert_eq!(c.entries[1].addr, Some(ip("2.2.2.2")));
    assert_eq!(id.client_ip, Some(ip("2.2.2.2")));
}

#[test]
fn serializes() {
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4:80, junk\r\n\r\n";
    let id = ident(h, None, &[]);
    let j = serde_json::to_value(&id).unwrap();
    assert_eq!(j["client_ip"], "1.2.3.4");
    assert_eq!(j["identity_source"], "x_forwarded_for");
    assert_eq!(j["sources"][0]["chain"]["entries"][1]["raw"], "junk");
    assert_eq!(j["sources"][0]["chain"]["entries"][1]["kind"], "invalid");
    assert_eq!(j["anomalies"][0]["anomaly"], "invalid_entry");
}

/// Deliberately simple reference: split on commas, trim spaces, parse with std only.
fn naive_chain(s: &str) -> Vec<(Option<IpAddr>, Option<u16>)> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if let Ok(sa) = p.parse::<SocketAddr>() {
                (Some(sa.ip()), Some(sa.port()))
            } else if let Ok(a) = p
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                (Some(a), None)
            } else {
                (None, None)
            }
        })
        .collect()
}

fn arb_entry() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(o, p)| format!("{}:{p}", std::net::Ipv4Addr::from(o))),
        any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
        (any::<[u16; 8]>(), any::<u16>())
            .prop_map(|(s, p)| format!("[{}]:{p}", std::net::Ipv6Addr::from(s))),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        Just("unknown".to_string()),
        "[a-z]{1,8}",
    ]
}

proptest::proptest! {
    #[test]
    fn chain_agrees_with_naive_reference(
        entries in proptest::collection::vec(arb_entry(), 0..20),
        sep in proptest::sample::select(vec![",", ", ", " ,  ", ",\t"]),
    ) {
        let s = entries.join(sep);
        let c = parse_chain([s.as_bytes()]);
        let got: Vec<_> = c.entries.iter().map(|e| (e.addr, e.port)).collect();
        proptest::prop_assert_eq!(got, naive_chain(&s));
    }

    #[test]
    fn entries_never_panic_and_addr_implies_ip(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let e = parse_entry(&b);
        proptest::prop_assert_eq!(e.addr.is_some(), e.kind == EntryKind::Ip);
        // An address is only given when the text is exactly an address form.
        match e.addr {
            // std rejects leading zeros, so IPv4 text is canonical: `a` or `a:port`.
            Some(IpAddr::V4(a)) => {
                let t = std::str::from_utf8(e.raw).unwrap();
                let rest = t.strip_prefix(a.to_string().as_str()).unwrap();
                proptest::prop_assert!(rest.is_empty() || rest.strip_prefix(':').unwrap().parse::<u16>().is_ok());
            }
            Some(IpAddr::V6(_)) => {
                proptest::prop_assert!(memchr::memchr_iter(b':', e.raw).count() >= 2);
            }
            None => {}
        }
    }

    #[test]
    fn identity_never_panics(tail in proptest::collection::vec(proptest::sample::select(b"X-Forwarded-For:Real-IP x_tcp_os Forwarded for=\"[]:1.2,;\r\n%_".to_vec()), 0..400)) {
        let mut b = b"GET / HTTP/1.1\r\n".to_vec();
        b.extend_from_slice(&tail);
        let head = parse_request_head(&b, &[]).unwrap();
        let _ = extract_identity(Some(&head), Some("1.2.3.4:1".parse().unwrap()), &nets(&["1.0.0.0/8"]));
    }
}

/// Every name a user sees for the identity vocabulary comes from one table: `name()`,
/// `Display` and the JSON form agree for every value.
#[test]
fn vocabulary_names_agree_in_every_form() {
    for k in SpoofKind::ALL {
        assert_eq!(k.to_string(), k.name());
        assert_eq!(serde_json::to_value(k).unwrap(), k.name());
    }
    for k in AnomalyKind::ALL {
        assert_eq!(k.to_string(), k.name());
        assert_eq!(serde_json::to_value(k).unwrap(), k.name());
    }
    for k in EntryKind::ALL {
        assert_eq!(k.to_string(), k.name());
        assert_eq!(serde_json::to_value(k).unwrap(), k.name());
    }
    for k in P0fKey::ALL {
        assert_eq!(k.to_string(), k.name());
        assert_eq!(serde_json::to_value(k).unwrap(), k.name());
    }
    let sources = [
        IdentitySource::ProxyProtocol,
        IdentitySource::Forwarded,
        IdentitySource::XForwardedFor,
        IdentitySource::XRealIp,
        IdentitySource::XClientIp,
        IdentitySource::TrueClientIp,
        IdentitySource::CfConnectingIp,
        IdentitySource::Custom(0),
        IdentitySource::Custom(7),
        IdentitySource::Transparent,
    ];
    for s in sources {
        assert_eq!(s.to_string(), s.name());
        assert_eq!(serde_json::to_value(s).unwrap(), &*s.name());
    }
    // The derived serde form of a data-carrying variant was `{"custom": 7}` while rows
    // said `custom_7`.
    assert_eq!(IdentitySource::Custom(7).name(), "custom_7");
    assert_eq!(
        serde_json::to_value(IdentitySource::Custom(7)).unwrap(),
        "custom_7"
    );
    // Composite values: text `kind:source`, JSON `{kind, source}`, same names.
    let a = IdentityAnomaly::new(AnomalyKind::InvalidEntry, IdentitySource::Custom(2));
    assert_eq!(a.to_string(), "invalid_entry:custom_2");
    assert_eq!(
        serde_json::to_value(a).unwrap(),
        serde_json::json!({"anomaly": "invalid_entry", "source": "custom_2"})
    );
    let r = SpoofReason::of(SpoofKind::XffVsRealIp);
    assert_eq!(r.to_string(), "xff_vs_real_ip");
    assert_eq!(
        serde_json::to_value(r).unwrap(),
        serde_json::json!({"reason": "xff_vs_real_ip"})
    );
    let r = SpoofReason::in_source(SpoofKind::PrivateLeftOfPublic, IdentitySource::Forwarded);
    assert_eq!(
        serde_json::to_value(r).unwrap(),
        serde_json::json!({"reason": "private_left_of_public", "source": "forwarded"})
    );
}

/// An entry's form flags raise the identity anomalies of the same name.
#[test]
fn entry_form_flags_are_named_like_their_anomalies() {
    let mut all = EntryForm::default();
    for bit in [
        EntryForm::LEADING_ZERO_IPV4,
        EntryForm::IPV4_MAPPED_IPV6,
        EntryForm::UNBRACKETED_IPV6_PORT,
        EntryForm::AMBIGUOUS_IPV6_PORT,
    ] {
        all.set(bit);
    }
    assert_eq!(all.names().count(), 4);
    for name in all.names() {
        assert!(name.parse::<AnomalyKind>().is_ok(), "{name}");
    }
    assert_eq!(
        parse_entry(b"::ffff:1.2.3.4").form.to_string(),
        "ipv4_mapped_ipv6"
    );
}

/// The identity of `h` chosen from `sources` (the proxy's, as a profile found them).
fn ident_known(
    h: &[u8],
    proxy: Option<&str>,
    basis: IdentityBasis,
    sources: &[IdentitySource],
    front_public: bool,
) -> Identity<'static> {
    let bytes: &'static [u8] = Box::leak(h.to_vec().into_boxed_slice());
    let head = parse_request_head(bytes, &[]).unwrap();
    let policy = ChoicePolicy {
        trusted: &[],
        basis,
        sources,
        front_public,
    };
    extract_identity_with(Some(&head), proxy.map(|p| p.parse().unwrap()), &policy)
}

#[test]
fn the_source_the_proxy_writes_beats_a_forged_one() {
    use IdentitySource::*;
    // HAProxy appended its peer to XFF; the client wrote Forwarded (the lab's forgery).
    let h = b"GET / HTTP/1.1\r\nForwarded: for=\"8.8.8.8:1234\"\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.5\r\n\r\n";
    let id = ident(h, None, &[]);
    assert_eq!(
        id.client_ip,
        Some(ip("8.8.8.8")),
        "the default order is fooled"
    );
    let id = ident_known(h, None, IdentityBasis::Profile, &[XForwardedFor], false);
    assert_eq!(id.client_ip, Some(ip("203.0.113.5")));
    assert_eq!(id.client_port, None);
    assert_eq!(id.identity_source, Some(XForwardedFor));
    assert_eq!(id.basis, IdentityBasis::Profile);
    assert_eq!(
        id.spoof_reasons_string(),
        "client_sent:forwarded|client_sent:x_forwarded_for"
    );
    // HAProxy sets X-Client-IP; every other source is the client's.
    let h = b"GET / HTTP/1.1\r\nX-Real-IP: 9.9.9.9\r\nX-Forwarded-For: 9.9.9.9\r\nX-Client-IP: 198.51.100.7\r\n\r\n";
    let id = ident_known(h, None, IdentityBasis::Configured, &[XClientIp], false);
    assert_eq!(id.client_ip, Some(ip("198.51.100.7")));
    assert_eq!(
        id.spoof_reasons_string(),
        "client_sent:x_forwarded_for|client_sent:x_real_ip"
    );
    // Sources agreeing with the chosen client are no evidence of anything.
    let h = b"GET / HTTP/1.1\r\nX-Real-IP: 198.51.100.7\r\nX-Client-IP: 198.51.100.7\r\n\r\n";
    let id = ident_known(h, None, IdentityBasis::Profile, &[XClientIp], false);
    assert!(!id.spoof_suspect);
}

#[test]
fn without_the_proxys_source_there_is_no_client() {
    use IdentitySource::*;
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 8.8.8.8\r\n\r\n";
    let id = ident_known(h, None, IdentityBasis::Profile, &[XRealIp], false);
    assert_eq!(id.client_ip, None);
    assert_eq!(id.identity_source, None);
    assert_eq!(id.anomalies_string(), "identity_source_absent:x_real_ip");
    // The PROXY preamble comes first whatever the headers say.
    let id = ident_known(
        h,
        Some("192.0.2.1:5"),
        IdentityBasis::Profile,
        &[ProxyProtocol],
        false,
    );
    assert_eq!(id.identity_source, Some(ProxyProtocol));
    assert_eq!(id.client_ip, Some(ip("192.0.2.1")));
    assert_eq!(id.spoof_reasons_string(), "client_sent:x_forwarded_for");
    assert_eq!(id.anomalies_string(), "");
}

#[test]
fn a_special_range_client_behind_a_public_front_is_flagged() {
    use IdentitySource::*;
    // A lone client-sent XFF naming an internal hop after a public address.
    let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 10.1.2.3\r\n\r\n";
    let id = ident(h, None, &[]);
    assert_eq!(id.client_ip, Some(ip("10.1.2.3")));
    assert_eq!(
        id.anomalies_string(),
        "special_range_client:x_forwarded_for"
    );
    // A proxy whose other clients are public names a private one.
    let h = b"GET / HTTP/1.1\r\nX-Real-IP: 192.168.7.7\r\n\r\n";
    let id = ident_known(h, None, IdentityBasis::Profile, &[XRealIp], true);
    assert_eq!(id.anomalies_string(), "special_range_client:x_real_ip");
    // Behind a proxy with internal clients it is what is expected.
    let id = ident_known(h, None, IdentityBasis::Profile, &[XRealIp], false);
    assert_eq!(id.anomalies_string(), "");
}
