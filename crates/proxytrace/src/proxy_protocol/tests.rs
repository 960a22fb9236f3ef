//! Unit tests of the PROXY protocol parsers.

use std::net::SocketAddr;

use super::v2::crc32c;
use super::*;

fn sa(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

/// TLV text is the header writer's: a terminal escape or a bidi override in it comes
/// out escaped in JSON, not raw.
#[test]
fn tlv_text_is_escaped_in_json() {
    let h = ProxyHeader {
        version: 2,
        command: ProxyCommand::Proxy,
        family: ProxyFamily::Tcp4,
        src: None,
        dst: None,
        unix_src: Some(b"/run/\x1b[2J".to_vec()),
        unix_dst: None,
        tlvs: vec![Tlv::Authority {
            value: b"a\xe2\x80\xaeb\xff".to_vec(),
        }],
        header_len: 16,
    };
    let j = serde_json::to_value(&h).unwrap();
    assert_eq!(j["unix_src"], "/run/\\x1b[2J");
    assert_eq!(j["tlvs"][0]["value"], "a\\u{202e}b\\xff");
}

#[test]
fn v1_spec_examples() {
    // Spec 2.1: the worst cases and the example.
    let b = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    let h = parse_proxy(b).unwrap();
    assert_eq!(h.src, sa("255.255.255.255:65535"));
    assert_eq!(h.header_len, 56);
    assert_eq!(h.family, ProxyFamily::Tcp4);
    let b = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_eq!(b.len(), 104);
    let h = parse_proxy(b).unwrap();
    assert_eq!(h.family, ProxyFamily::Tcp6);
    assert_eq!(h.dst, sa("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
    let h = parse_proxy(b"PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n").unwrap();
    assert_eq!(
        (h.family, h.src, h.header_len),
        (ProxyFamily::Unknown, None, 15)
    );
    let b = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_eq!(b.len(), 107);
    assert_eq!(parse_proxy(b).unwrap().header_len, 107);
    let h = parse_proxy(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n")
        .unwrap();
    assert_eq!(h.src, sa("192.168.0.1:56324"));
    assert_eq!(h.dst, sa("192.168.0.11:443"));
    assert_eq!(h.header_len, 47);
    assert_eq!(
        h.to_string(),
        "v1 PROXY TCP4 192.168.0.1:56324 -> 192.168.0.11:443"
    );
}

#[test]
fn v1_errors() {
    use ProxyError::*;
    let cases: [(&[u8], ProxyError); 11] = [
        (b"GET / HTTP/1.1\r\n", NotProxy),
        (
            b"PROXY TCP4 1.2.3.4",
            Truncated {
                needed: 19,
                available: 18,
            },
        ),
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", V1BadProtocol),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", V1BadFormat),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", V1BadFormat),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", V1BadFormat),
        (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", V1BadAddress),
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", V1BadAddress),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", V1BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", V1BadPort),
        (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", V1BadAddress),
    ];
    for (b, e) in cases {
        assert_eq!(parse_proxy(b), Err(e), "{}", String::from_utf8_lossy(b));
    }
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(200, b'a');
    assert_eq!(parse_proxy(&long), Err(V1TooLong));
}

fn v2(ver_cmd: u8, fam: u8, block: &[u8]) -> Vec<u8> {
    let mut b = V2_SIGNATURE.to_vec();
    b.push(ver_cmd);
    b.push(fam);
    b.extend_from_slice(&(block.len() as u16).to_be_bytes());
    b.extend_from_slice(block);
    b
}

#[test]
fn v2_tcp4_with_tlvs() {
    let mut block = vec![192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
    block.extend_from_slice(&[0x01, 0, 2, b'h', b'2']); // ALPN "h2"
    block.extend_from_slice(&[0x02, 0, 11]);
    block.extend_from_slice(b"example.com");
    block.extend_from_slice(&[0x05, 0, 3, 0xde, 0xad, 0x01]);
    block.extend_from_slice(&[0x30, 0, 4]);
    block.extend_from_slice(b"blue");
    block.extend_from_slice(&[0xea, 0, 2, 0x01, 0x02]); // AWS, kept raw
    block.extend_from_slice(&[0x04, 0, 3, 0, 0, 0]); // NOOP padding
    let mut b = v2(0x21, 0x11, &block);
    b.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let h = parse_proxy(&b).unwrap();
    assert_eq!(h.version, 2);
    assert_eq!(h.command, ProxyCommand::Proxy);
    assert_eq!(h.family, ProxyFamily::Tcp4);
    // 0xdc04 = 56324, 0x01bb = 443
    assert_eq!(h.src, sa("192.0.2.1:56324"));
    assert_eq!(h.dst, sa("198.51.100.2:443"));
    assert_eq!(h.header_len, 16 + block.len());
    assert_eq!(
        h.tlvs,
        vec![
            Tlv::Alpn {
                value: b"h2".to_vec()
            },
            Tlv::Authority {
                value: b"example.com".to_vec()
            },
            Tlv::UniqueId {
                encoding: UniqueIdEncoding::Hex,
                value: vec![0xde, 0xad, 0x01]
            },
            Tlv::Netns {
                value: b"blue".to_vec()
            },
            Tlv::Unknown(RawTlv {
                kind: 0xea,
                value: vec![1, 2]
            }),
            Tlv::Noop { len: 3 },
        ]
    );
    let j = serde_json::to_value(&h).unwrap();
    assert_eq!(j["src"], "192.0.2.1:56324");
    assert_eq!(j["tlvs"][0]["type"], "alpn");
    assert_eq!(j["tlvs"][0]["value"], "h2");
    assert_eq!(j["tlvs"][2]["value"], "dead01");
    assert_eq!(j["tlvs"][2]["encoding"], "hex");
    assert_eq!(j["tlvs"][4]["type"], "unknown");
    assert_eq!(j["tlvs"][4]["code"], 0xea);
    assert_eq!(j["tlvs"][4]["value"], "0102");
}

/// HAProxy's default unique-id-format gives printable text: shown as text (escaped like
/// other text, here a backslash), hex only for bytes that are not printable ASCII.
#[test]
fn unique_id_text_when_printable() {
    let id = b"C0A80001:D6F2_0A000002:01BB_5F5E1000_0001:1A2B";
    let mut block = vec![192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb];
    block.extend_from_slice(&[0x05, 0, id.len() as u8]);
    block.extend_from_slice(id);
    block.extend_from_slice(&[0x05, 0, 3, b'a', b'\\', b'b']);
    block.extend_from_slice(&[0x05, 0, 3, b'a', 0x7f, b'b']);
    block.extend_from_slice(&[0x05, 0, 0]);
    let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
    let j = serde_json::to_value(&h).unwrap();
    let shown: Vec<(&str, &str)> = (0..4)
        .map(|i| {
            (
                j["tlvs"][i]["encoding"].as_str().unwrap_or("-"),
                j["tlvs"][i]["value"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("text", "C0A80001:D6F2_0A000002:01BB_5F5E1000_0001:1A2B"),
            ("text", "a\\\\b"),
            ("hex", "617f62"),
            ("hex", ""),
        ]
    );
}

#[test]
fn v2_tcp6_udp6_unix_local_unspec() {
    let mut block = vec![0u8; 36];
    block[0] = 0x20;
    block[1] = 0x01;
    block[2] = 0x0d;
    block[3] = 0xb8;
    block[15] = 1; // 2001:db8::1
    block[16] = 0x20;
    block[17] = 0x01;
    block[18] = 0x0d;
    block[19] = 0xb8;
    block[31] = 2; // 2001:db8::2
    block[32..34].copy_from_slice(&1234u16.to_be_bytes());
    block[34..36].copy_from_slice(&443u16.to_be_bytes());
    let h = parse_proxy(&v2(0x21, 0x21, &block)).unwrap();
    assert_eq!(h.src, sa("[2001:db8::1]:1234"));
    assert_eq!(h.dst, sa("[2001:db8::2]:443"));
    let h = parse_proxy(&v2(0x21, 0x22, &block)).unwrap();
    assert_eq!(h.family, ProxyFamily::Udp6);

    let mut block = vec![0u8; 216];
    block[..12].copy_from_slice(b"/run/a.sock\0");
    block[108..113].copy_from_slice(b"/b.s\0");
    let h = parse_proxy(&v2(0x21, 0x31, &block)).unwrap();
    assert_eq!(h.unix_src.as_deref(), Some(&b"/run/a.sock"[..]));
    assert_eq!(h.unix_dst.as_deref(), Some(&b"/b.s"[..]));
    assert_eq!(h.src, None);

    // LOCAL: addresses discarded even if present.
    let h = parse_proxy(&v2(0x20, 0x11, &[1; 12])).unwrap();
    assert_eq!(
        (h.command, h.src, h.header_len),
        (ProxyCommand::Local, None, 28)
    );
    let h = parse_proxy(&v2(0x21, 0x00, &[])).unwrap();
    assert_eq!((h.family, h.src), (ProxyFamily::Unknown, None));
}

#[test]
fn v2_ssl_tlv() {
    let mut ssl = vec![0x07, 0, 0, 0, 0];
    for (t, v) in [
        (0x21u8, &b"TLSv1.3"[..]),
        (0x22, b"client.example"),
        (0x23, b"TLS_AES_128_GCM_SHA256"),
        (0x24, b"SHA256"),
        (0x25, b"RSA2048"),
        (0x2f, b"?"),
    ] {
        ssl.push(t);
        ssl.extend_from_slice(&(v.len() as u16).to_be_bytes());
        ssl.extend_from_slice(v);
    }
    let mut block = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81];
    block.push(0x20);
    block.extend_from_slice(&(ssl.len() as u16).to_be_bytes());
    block.extend_from_slice(&ssl);
    let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
    let Tlv::Ssl(s) = &h.tlvs[0] else {
        panic!("{:?}", h.tlvs)
    };
    assert_eq!(s.client, 7);
    assert_eq!(s.verify, 0);
    assert_eq!(s.version.as_deref(), Some(&b"TLSv1.3"[..]));
    assert_eq!(s.cn.as_deref(), Some(&b"client.example"[..]));
    assert_eq!(s.cipher.as_deref(), Some(&b"TLS_AES_128_GCM_SHA256"[..]));
    assert_eq!(s.sig_alg.as_deref(), Some(&b"SHA256"[..]));
    assert_eq!(s.key_alg.as_deref(), Some(&b"RSA2048"[..]));
    assert_eq!(
        s.other,
        vec![RawTlv {
            kind: 0x2f,
            value: b"?".to_vec()
        }]
    );
    // Too short SSL TLV and sub-TLV overrun.
    let mut block = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 81, 0x20, 0, 2, 1, 0];
    assert_eq!(
        parse_proxy(&v2(0x21, 0x11, &block)),
        Err(ProxyError::V2SslTooShort)
    );
    block.truncate(12);
    block.extend_from_slice(&[0x20, 0, 8, 1, 0, 0, 0, 0, 0x22, 0, 9]);
    assert_eq!(
        parse_proxy(&v2(0x21, 0x11, &block)),
        Err(ProxyError::V2TlvOverrun {
            offset: 16 + 12 + 3 + 5
        })
    );
}

#[test]
fn crc32c_known_vector_and_header_check() {
    // The standard check value for CRC-32C (iSCSI): "123456789" -> 0xE3069283.
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    let mut block = vec![
        192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2, 0x03, 0, 4, 0, 0, 0, 0,
    ];
    let b = v2(0x21, 0x11, &block);
    let crc = crc32c(&b); // computed with the field zero, as the spec says
    let n = block.len();
    block[n - 4..].copy_from_slice(&crc.to_be_bytes());
    let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
    assert_eq!(
        h.tlvs,
        vec![Tlv::Crc32c {
            value: crc,
            valid: true
        }]
    );
    block[0] = 193;
    let h = parse_proxy(&v2(0x21, 0x11, &block)).unwrap();
    assert_eq!(
        h.tlvs,
        vec![Tlv::Crc32c {
            value: crc,
            valid: false
        }]
    );
}

#[test]
fn v2_errors() {
    use ProxyError::*;
    assert_eq!(
        parse_proxy(&V2_SIGNATURE[..]),
        Err(Truncated {
            needed: 16,
            available: 12
        })
    );
    let mut b = v2(0x21, 0x11, &[0; 12]);
    b.truncate(20);
    assert_eq!(
        parse_proxy(&b),
        Err(Truncated {
            needed: 28,
            available: 20
        })
    );
    assert_eq!(parse_proxy(&v2(0x11, 0x11, &[0; 12])), Err(V2BadVersion(1)));
    assert_eq!(parse_proxy(&v2(0x22, 0x11, &[0; 12])), Err(V2BadCommand(2)));
    assert_eq!(
        parse_proxy(&v2(0x21, 0x41, &[0; 12])),
        Err(V2BadFamily(0x41))
    );
    assert_eq!(
        parse_proxy(&v2(0x21, 0x13, &[0; 12])),
        Err(V2BadFamily(0x13))
    );
    assert_eq!(
        parse_proxy(&v2(0x21, 0x21, &[0; 12])),
        Err(V2AddressTooShort {
            len: 12,
            needed: 36
        })
    );
    let mut block = vec![0; 12];
    block.extend_from_slice(&[0x01, 0, 5, b'h']);
    assert_eq!(
        parse_proxy(&v2(0x21, 0x11, &block)),
        Err(V2TlvOverrun { offset: 28 })
    );
    let mut block = vec![0; 12];
    block.extend_from_slice(&[0x01, 0]);
    assert_eq!(
        parse_proxy(&v2(0x21, 0x11, &block)),
        Err(V2TlvOverrun { offset: 28 })
    );
}

proptest::proptest! {
    #[test]
    fn never_panics(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300), prefix in 0u8..3) {
        let mut b = match prefix {
            0 => V2_SIGNATURE.to_vec(),
            1 => b"PROXY ".to_vec(),
            _ => Vec::new(),
        };
        b.extend_from_slice(&tail);
        if let Ok(h) = parse_proxy(&b) {
            proptest::prop_assert!(h.header_len <= b.len());
        }
    }
}

/// One table per type: `name()`, `Display` and the JSON form agree. ProxyFamily's text
/// name (`TCP4`) used to be a second, hand-written table disagreeing with its JSON name
/// (`tcp4`); JSON rows show the latter, and the header's text form upper-cases it.
#[test]
fn names_agree_in_every_form() {
    for f in ProxyFamily::ALL {
        assert_eq!(f.to_string(), f.name());
        assert_eq!(serde_json::to_value(f).unwrap(), f.name());
    }
    for c in ProxyCommand::ALL {
        assert_eq!(c.to_string(), c.name());
        assert_eq!(serde_json::to_value(c).unwrap(), c.name());
    }
    for e in UniqueIdEncoding::ALL {
        assert_eq!(e.to_string(), e.name());
        assert_eq!(serde_json::to_value(e).unwrap(), e.name());
    }
    assert_eq!(ProxyFamily::UnixStream.name(), "unix_stream");
    let h = parse_proxy(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n").unwrap();
    assert_eq!(serde_json::to_value(&h).unwrap()["family"], "tcp6");
    assert_eq!(serde_json::to_value(&h).unwrap()["command"], "proxy");
    assert_eq!(
        h.to_string(),
        "v1 PROXY TCP6 [2001:db8::1]:1 -> [2001:db8::2]:2"
    );
}
