//! RFC 7239 `Forwarded` headers, parsed leniently.
//!
//! Grammar: elements separated by `,`, pairs within an element by `;`, each pair
//! `token=(token|quoted-string)`, parameter names case-insensitive. Several header lines
//! form one list. Real traffic breaks the grammar (spaces, junk, unquoted IPv6, repeated
//! parameters), so we accept what can be read, flag the rest and never panic.

use serde::Serialize;

use super::chain::{finish_capped, parse_node, push_capped, Chain, ChainEntry};
use crate::vocab::bytes::{ser_opt_bytes, trim_ws};

/// One forwarded-element: the first occurrence of each known parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForwardedElement<'a> {
    #[serde(rename = "for")]
    /// The first `for=` node.
    pub for_: Option<ChainEntry<'a>>,
    /// The first `by=` node.
    pub by: Option<ChainEntry<'a>>,
    #[serde(serialize_with = "ser_opt_bytes")]
    /// The first `proto=` value, raw.
    pub proto: Option<&'a [u8]>,
    #[serde(serialize_with = "ser_opt_bytes")]
    /// The first `host=` value, raw.
    pub host: Option<&'a [u8]>,
    /// Parameters other than for/by/proto/host.
    pub extensions: usize,
}

/// Oddities in Forwarded values (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ForwardedAnomalies(pub u16);

impl ForwardedAnomalies {
    /// A pair without `=`, or bytes after a closing quote.
    pub const JUNK: u16 = 1 << 0;
    /// A parameter repeated within one element (all `for=` still enter the chain).
    pub const DUPLICATE_PARAM: u16 = 1 << 1;
    /// A quoted string with no closing quote.
    pub const UNTERMINATED_QUOTE: u16 = 1 << 2;
    /// A backslash escape inside a quoted value (value kept raw).
    pub const ESCAPE: u16 = 1 << 3;
    /// An IPv6 node not inside a quoted string (RFC 7239 requires quotes).
    pub const UNQUOTED_IPV6: u16 = 1 << 4;
    /// Empty elements (`,,`).
    pub const EMPTY_ELEMENT: u16 = 1 << 5;

    const NAMES: [(u16, &'static str); 6] = [
        (Self::JUNK, "junk"),
        (Self::DUPLICATE_PARAM, "duplicate_param"),
        (Self::UNTERMINATED_QUOTE, "unterminated_quote"),
        (Self::ESCAPE, "escape"),
        (Self::UNQUOTED_IPV6, "unquoted_ipv6"),
        (Self::EMPTY_ELEMENT, "empty_element"),
    ];
}

crate::vocab::flags::impl_flag_set!(ForwardedAnomalies, u16);

/// All Forwarded headers of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Forwarded<'a> {
    /// The rightmost elements (capped like chains).
    pub elements: Vec<ForwardedElement<'a>>,
    /// Leftmost elements dropped by the cap.
    pub dropped_elements: usize,
    /// Every `for=` node in order, including repeats within an element.
    pub chain: Chain<'a>,
    /// Grammar breaks seen.
    pub anomalies: ForwardedAnomalies,
}

fn is_sep(b: u8) -> bool {
    b == b';' || b == b','
}

/// Parse one or more Forwarded header values, in order.
pub fn parse_forwarded<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Forwarded<'a> {
    let mut out = Forwarded::default();
    for v in values {
        parse_value(v, &mut out);
    }
    out.chain.finish();
    finish_capped(&mut out.elements, &mut out.dropped_elements);
    out
}

fn parse_value<'a>(v: &'a [u8], out: &mut Forwarded<'a>) {
    let len = v.len();
    let mut i = 0usize;
    let mut el = ForwardedElement::default();
    let mut el_pairs = 0usize;
    let mut seen = 0u8; // bit set of for/by/proto/host seen in this element
    let finish = |el: &mut ForwardedElement<'a>,
                  pairs: &mut usize,
                  seen: &mut u8,
                  out: &mut Forwarded<'a>| {
        if *pairs == 0 {
            out.anomalies.set(ForwardedAnomalies::EMPTY_ELEMENT);
        } else {
            push_capped(
                &mut out.elements,
                std::mem::take(el),
                &mut out.dropped_elements,
            );
        }
        *pairs = 0;
        *seen = 0;
    };
    loop {
        while i < len && matches!(v[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if i >= len {
            break;
        }
        match v[i] {
            b',' => {
                finish(&mut el, &mut el_pairs, &mut seen, out);
                i += 1;
                continue;
            }
            b';' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let name_start = i;
        while i < len && v[i] != b'=' && !is_sep(v[i]) {
            i += 1;
        }
        let name = trim_ws(&v[name_start..i]);
        if i >= len || v[i] != b'=' {
            out.anomalies.set(ForwardedAnomalies::JUNK);
            continue;
        }
        i += 1; // '='
        while i < len && matches!(v[i], b' ' | b'\t') {
            i += 1;
        }
        let quoted = i < len && v[i] == b'"';
        let value: &'a [u8];
        if quoted {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            while j < len && v[j] != b'"' {
                if v[j] == b'\\' {
                    escaped = true;
                    j += 1;
                }
                j += 1;
            }
            let end = j.min(len);
            value = &v[start.min(end)..end];
            if escaped {
                out.anomalies.set(ForwardedAnomalies::ESCAPE);
            }
            if j >= len {
                out.anomalies.set(ForwardedAnomalies::UNTERMINATED_QUOTE);
                i = len;
            } else {
                i = j + 1;
            }
            // Anything between the closing quote and the next separator is junk.
            let junk_start = i;
            while i < len && !is_sep(v[i]) {
                i += 1;
            }
            if !trim_ws(&v[junk_start..i]).is_empty() {
                out.anomalies.set(ForwardedAnomalies::JUNK);
            }
        } else {
            let start = i;
            while i < len && !is_sep(v[i]) {
                i += 1;
            }
            value = trim_ws(&v[start..i]);
        }
        el_pairs += 1;
        let bit = if name.eq_ignore_ascii_case(b"for") {
            1
        } else if name.eq_ignore_ascii_case(b"by") {
            2
        } else if name.eq_ignore_ascii_case(b"proto") {
            4
        } else if name.eq_ignore_ascii_case(b"host") {
            8
        } else {
            0
        };
        if bit != 0 && seen & bit != 0 {
            out.anomalies.set(ForwardedAnomalies::DUPLICATE_PARAM);
        }
        match bit {
            1 | 2 => {
                let node = parse_node(value, true);
                if !quoted && memchr::memchr_iter(b':', value).count() >= 2 {
                    out.anomalies.set(ForwardedAnomalies::UNQUOTED_IPV6);
                }
                if bit == 1 {
                    out.chain.push(node);
                    if el.for_.is_none() {
                        el.for_ = Some(node);
                    }
                } else if el.by.is_none() {
                    el.by = Some(node);
                }
            }
            4 => {
                if el.proto.is_none() {
                    el.proto = Some(value);
                }
            }
            8 => {
                if el.host.is_none() {
                    el.host = Some(value);
                }
            }
            _ => el.extensions += 1,
        }
        seen |= bit;
    }
    // Each header line ends its last element (separate lines are list items).
    if el_pairs > 0 {
        finish(&mut el, &mut el_pairs, &mut seen, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::chain::{EntryKind, MAX_CHAIN_ENTRIES};
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn rfc7239_examples() {
        // RFC 7239 section 4 examples.
        let f = parse_forwarded([&br#"for="_gazonk""#[..]]);
        assert_eq!(f.chain.entries[0].kind, EntryKind::Obfuscated);
        assert_eq!(f.chain.entries[0].raw, b"_gazonk");

        let f = parse_forwarded([&br#"For="[2001:db8:cafe::17]:4711""#[..]]);
        let e = f.chain.entries[0];
        assert_eq!(e.addr, ip("2001:db8:cafe::17"));
        assert_eq!(e.port, Some(4711));
        assert_eq!(e.kind, EntryKind::Ip);

        let f = parse_forwarded([&b"for=192.0.2.60;proto=http;by=203.0.113.43"[..]]);
        let el = &f.elements[0];
        assert_eq!(el.for_.unwrap().addr, ip("192.0.2.60"));
        assert_eq!(el.proto, Some(&b"http"[..]));
        assert_eq!(el.by.unwrap().addr, ip("203.0.113.43"));
        assert_eq!(f.anomalies.0, 0);

        let f = parse_forwarded([&b"for=192.0.2.43, for=198.51.100.17"[..]]);
        let addrs: Vec<_> = f.chain.entries.iter().map(|e| e.addr).collect();
        assert_eq!(addrs, vec![ip("192.0.2.43"), ip("198.51.100.17")]);
        assert_eq!(f.elements.len(), 2);
    }

    #[test]
    fn several_lines_case_whitespace_host_unknown() {
        let f = parse_forwarded([
            &b"FOR = unknown ; Host=\"example.com:8080\""[..],
            &b"  for=10.0.0.1:80 ,for=\"_hidden:_port\";BY=_lb1 "[..],
        ]);
        assert_eq!(f.elements.len(), 3);
        assert_eq!(f.chain.entries.len(), 3);
        assert_eq!(f.chain.entries[0].kind, EntryKind::Unknown);
        assert_eq!(f.elements[0].host, Some(&b"example.com:8080"[..]));
        assert_eq!(f.chain.entries[1].addr, ip("10.0.0.1"));
        assert_eq!(f.chain.entries[1].port, Some(80));
        assert_eq!(f.chain.entries[2].raw, b"_hidden:_port");
        // `_hidden:_port` is not a valid obfnode (':' not allowed): kept raw, invalid.
        assert_eq!(f.chain.entries[2].kind, EntryKind::Invalid);
        assert_eq!(f.elements[2].by.unwrap().kind, EntryKind::Obfuscated);
    }

    #[test]
    fn obfuscated_port_on_address() {
        let f = parse_forwarded([&br#"for="[2001:db8::1]:_p1", for="198.51.100.1:_x""#[..]]);
        assert_eq!(f.chain.entries[0].addr, ip("2001:db8::1"));
        assert_eq!(f.chain.entries[0].port, None);
        assert_eq!(f.chain.entries[1].addr, ip("198.51.100.1"));
    }

    #[test]
    fn duplicate_for_in_one_element_all_kept() {
        let f = parse_forwarded([&b"for=1.1.1.1;for=2.2.2.2"[..]]);
        assert!(f.anomalies.contains(ForwardedAnomalies::DUPLICATE_PARAM));
        assert_eq!(f.elements.len(), 1);
        assert_eq!(f.elements[0].for_.unwrap().addr, ip("1.1.1.1"));
        assert_eq!(f.chain.entries.len(), 2);
        assert_eq!(f.chain.entries[1].addr, ip("2.2.2.2"));
    }

    #[test]
    fn junk_quotes_and_separators_inside_quotes() {
        let f = parse_forwarded([
            &br#"garbage;;, ,for="1.2.3.4, 5.6.7.8";x=1, for="9.9.9.9"junk, for="unterminated"#[..],
        ]);
        assert!(f.anomalies.contains(ForwardedAnomalies::JUNK));
        assert!(f.anomalies.contains(ForwardedAnomalies::EMPTY_ELEMENT));
        assert!(f.anomalies.contains(ForwardedAnomalies::UNTERMINATED_QUOTE));
        let raws: Vec<&[u8]> = f.chain.entries.iter().map(|e| e.raw).collect();
        assert_eq!(
            raws,
            vec![
                &b"1.2.3.4, 5.6.7.8"[..],
                &b"9.9.9.9"[..],
                &b"unterminated"[..]
            ]
        );
        // A comma inside quotes does not split, and the value is not an address.
        assert_eq!(f.chain.entries[0].kind, EntryKind::Invalid);
        assert_eq!(f.chain.entries[1].addr, ip("9.9.9.9"));
        assert_eq!(f.elements[0].extensions, 1);
    }

    #[test]
    fn unquoted_ipv6_and_escapes() {
        let f = parse_forwarded([&br#"for=2001:db8::5, for="1.2.3.\4""#[..]]);
        assert!(f.anomalies.contains(ForwardedAnomalies::UNQUOTED_IPV6));
        assert!(f.anomalies.contains(ForwardedAnomalies::ESCAPE));
        assert_eq!(f.chain.entries[0].addr, ip("2001:db8::5"));
        assert_eq!(f.chain.entries[1].kind, EntryKind::Invalid);
        assert_eq!(f.chain.entries[1].raw, br"1.2.3.\4");
    }

    #[test]
    fn trailing_backslash_in_quote_does_not_panic() {
        let f = parse_forwarded([&b"for=\"abc\\"[..]]);
        assert!(f.anomalies.contains(ForwardedAnomalies::UNTERMINATED_QUOTE));
        assert_eq!(f.chain.entries[0].raw, b"abc\\");
    }

    #[test]
    fn huge_forwarded_is_capped_keeping_rightmost() {
        let mut v = Vec::new();
        for i in 0..100_000u32 {
            v.extend_from_slice(
                format!("for=10.{}.{}.{},", (i >> 16) & 255, (i >> 8) & 255, i & 255).as_bytes(),
            );
        }
        let f = parse_forwarded([&v[..]]);
        assert_eq!(f.chain.entries.len(), MAX_CHAIN_ENTRIES);
        assert_eq!(f.chain.dropped_left, 100_000 - MAX_CHAIN_ENTRIES);
        // i = 99_999 = 0x01869F -> 10.1.134.159
        assert_eq!(f.chain.entries.last().unwrap().addr, ip("10.1.134.159"));
        assert_eq!(f.elements.len(), MAX_CHAIN_ENTRIES);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(v in proptest::collection::vec(proptest::sample::select(b"for=by;,\"\\[]:_1.2 af%x".to_vec()), 0..256),
                        w in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let f = parse_forwarded([&v[..], &w[..]]);
            proptest::prop_assert!(f.chain.entries.len() <= v.len() + w.len());
        }
    }
}
