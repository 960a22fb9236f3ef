use super::*;

/// A ClientHello body with these extensions (type, data), built by hand from RFC 8446.
fn body(exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend([7u8; 32]); // random
    b.push(32);
    b.extend([9u8; 32]); // session id
    b.extend([0x00, 0x04, 0x13, 0x01, 0x13, 0x02]); // two cipher suites
    b.extend([0x01, 0x00]); // null compression
    let mut e = Vec::new();
    for (ty, data) in exts {
        e.extend(ty.to_be_bytes());
        e.extend((data.len() as u16).to_be_bytes());
        e.extend(data);
    }
    b.extend((e.len() as u16).to_be_bytes());
    b.extend(e);
    b
}

/// The handshake message (type 1, 24-bit length) of `body`.
fn message(body: &[u8]) -> Vec<u8> {
    let n = body.len() as u32;
    let mut m = vec![HS_CLIENT_HELLO, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    m.extend(body);
    m
}

/// `msg` in records of at most `split` bytes each.
fn records(msg: &[u8], split: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in msg.chunks(split) {
        out.extend([CONTENT_HANDSHAKE, 3, 1]);
        out.extend((part.len() as u16).to_be_bytes());
        out.extend(part);
    }
    out
}

fn sni_ext(name: &[u8]) -> (u16, Vec<u8>) {
    let mut entry = vec![0u8];
    entry.extend((name.len() as u16).to_be_bytes());
    entry.extend(name);
    let mut d = (entry.len() as u16).to_be_bytes().to_vec();
    d.extend(entry);
    (EXT_SERVER_NAME, d)
}

fn alpn_ext(names: &[&[u8]]) -> (u16, Vec<u8>) {
    let mut list = Vec::new();
    for n in names {
        list.push(n.len() as u8);
        list.extend(*n);
    }
    let mut d = (list.len() as u16).to_be_bytes().to_vec();
    d.extend(list);
    (EXT_ALPN, d)
}

fn hello_bytes() -> Vec<u8> {
    let b = body(&[
        (0x000a, vec![0, 2, 0, 0x1d]), // supported_groups, ignored
        sni_ext(b"www.example.com"),
        alpn_ext(&[b"h2", b"http/1.1"]),
    ]);
    records(&message(&b), MAX_FRAGMENT)
}

#[test]
fn sni_and_alpn_of_a_one_record_hello() {
    let h = parse_client_hello(&hello_bytes()).unwrap();
    assert_eq!(h.legacy_version, 0x0303);
    assert_eq!(h.sni.as_deref(), Some(&b"www.example.com"[..]));
    assert_eq!(h.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
}

#[test]
fn a_hello_over_several_records_and_any_cut_point() {
    let b = body(&[sni_ext(b"a.example"), alpn_ext(&[b"h2"])]);
    let whole = records(&message(&b), 7);
    let h = parse_client_hello(&whole).unwrap();
    assert_eq!(h.sni.as_deref(), Some(&b"a.example"[..]));
    // Every strict prefix asks for more bytes; none panics or claims a result.
    for n in 1..whole.len() {
        assert_eq!(
            parse_client_hello(&whole[..n]),
            Err(HelloError::Truncated),
            "{n}"
        );
    }
    // Bytes after the hello (the next records) are ignored.
    let mut more = whole.clone();
    more.extend([23, 3, 3, 0, 1, 0]);
    assert_eq!(parse_client_hello(&more).unwrap(), h);
}

#[test]
fn no_extensions_and_other_name_types() {
    let mut b = body(&[]);
    b.truncate(b.len() - 2); // no extensions block at all
    let h = parse_client_hello(&records(&message(&b), 100)).unwrap();
    assert_eq!(h.sni, None);
    assert!(h.alpn.is_empty());
    // A server_name list whose only entry is not a host_name.
    let (_, mut d) = sni_ext(b"x");
    d[2] = 7;
    let h = parse_client_hello(&records(&message(&body(&[(0, d)])), 1000)).unwrap();
    assert_eq!(h.sni, None);
}

#[test]
fn not_tls() {
    for b in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"SSH-2.0-x",
        b"\x16\x04",
        b"\x17\x03\x03",
    ] {
        assert_eq!(parse_client_hello(b), Err(HelloError::NotTls), "{b:?}");
    }
    assert!(looks_like_tls(b"\x16"));
    assert!(looks_like_tls(b"\x16\x03\x01\x02\x00"));
    assert!(!looks_like_tls(b"\x16\x03\x05"));
}

#[test]
fn malformed_lengths_are_errors() {
    let good = hello_bytes();
    // The handshake length says more than the record carries: incomplete, not malformed.
    let mut long = good.clone();
    long[7] = long[7].wrapping_add(1);
    assert_eq!(parse_client_hello(&long), Err(HelloError::Truncated));
    // A server_name list longer than its extension.
    let (_, mut d) = sni_ext(b"abc");
    d[1] += 1;
    let bad = records(&message(&body(&[(0, d)])), 1000);
    assert!(matches!(
        parse_client_hello(&bad),
        Err(HelloError::Malformed(_))
    ));
    // A server hello where the client hello should be.
    let mut sh = good.clone();
    sh[5] = 2;
    assert!(matches!(
        parse_client_hello(&sh),
        Err(HelloError::Malformed(_))
    ));
    // An empty record, then an alert record in the middle of the hello.
    assert!(matches!(
        parse_client_hello(&[22, 3, 1, 0, 0]),
        Err(HelloError::Malformed(_))
    ));
    let b = body(&[sni_ext(b"a")]);
    let mut split = records(&message(&b), 10);
    split[15] = 21;
    assert!(matches!(
        parse_client_hello(&split),
        Err(HelloError::Malformed(_))
    ));
    // Two server_name extensions, an empty ALPN name.
    let twice = records(&message(&body(&[sni_ext(b"a"), sni_ext(b"b")])), 1000);
    assert!(matches!(
        parse_client_hello(&twice),
        Err(HelloError::Malformed(_))
    ));
    let empty_alpn = records(&message(&body(&[alpn_ext(&[b""])])), 1000);
    assert!(matches!(
        parse_client_hello(&empty_alpn),
        Err(HelloError::Malformed(_))
    ));
}

#[test]
fn over_the_cap_is_too_large() {
    // A hello announcing 20 000 bytes: over the cap as soon as its header is read.
    let mut m = vec![HS_CLIENT_HELLO, 0, 0x4e, 0x20];
    m.extend([0u8; 100]);
    assert_eq!(
        parse_client_hello(&records(&m, 1000)),
        Err(HelloError::TooLarge)
    );
    // Records that keep coming without ending the hello, up to the cap.
    let mut m = vec![HS_CLIENT_HELLO, 0, 0x3f, 0xf0];
    m.extend(vec![0u8; 17_000]);
    let bytes = records(&m, 1000);
    assert_eq!(parse_client_hello(&bytes), Err(HelloError::TooLarge));
}
