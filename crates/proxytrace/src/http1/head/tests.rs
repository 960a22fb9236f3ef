//! Request-head parsing: request lines, header lines, anomalies, identity fields.

use super::*;

fn p(b: &[u8]) -> RequestHead<'_> {
    parse_request_head(b, &[]).expect("valid head")
}

#[test]
fn simple_get() {
    let h = p(b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n\r\nBODY");
    assert_eq!(h.method, b"GET");
    assert_eq!(h.target, b"/a?b=1");
    assert_eq!(h.version, HttpVersion::Http11);
    assert_eq!(h.host, Some(&b"example.com"[..]));
    assert_eq!(h.user_agent, Some(&b"curl/8.5.0"[..]));
    assert_eq!(h.identity.len(), 1);
    assert_eq!(h.identity[0].kind, HeaderKind::XForwardedFor);
    assert_eq!(h.identity[0].value, b"1.2.3.4, 5.6.7.8");
    assert_eq!(h.header_count, 3);
    assert!(h.complete);
    // 21 + 19 + 25 + 36 + 2 bytes up to and including the blank line.
    assert_eq!(h.head_len, b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n\r\n".len());
    assert!(h.anomalies.is_empty(), "{}", h.anomalies);
}

#[test]
fn http10_and_bad_versions() {
    assert_eq!(p(b"HEAD / HTTP/1.0\r\n\r\n").version, HttpVersion::Http10);
    assert_eq!(
        parse_request_head(b"GET / HTTP/2.0\r\n\r\n", &[]),
        Err(HeadError::BadVersion)
    );
    assert!(parse_request_head(b"GET /\r\n\r\n", &[]).is_err());
    assert_eq!(parse_request_head(b"", &[]), Err(HeadError::Empty));
    assert_eq!(
        parse_request_head(b"GET / HTTP/1.1", &[]),
        Err(HeadError::RequestLineIncomplete)
    );
    assert!(parse_request_head(b"G\x00T / HTTP/1.1\r\n\r\n", &[]).is_err());
    assert!(parse_request_head(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n", &[]).is_err());
}

#[test]
fn leading_empty_lines_skipped() {
    let h = p(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.method, b"GET");
    assert_eq!(h.host, Some(&b"a"[..]));
    assert!(h.anomalies.contains(HeadAnomalies::LEADING_EMPTY_LINES));
}

#[test]
fn identity_names_any_case_in_order() {
    let h = parse_request_head(
            b"GET / HTTP/1.1\r\nx-FORWARDED-for: 1.1.1.1\r\nFORWARDED: for=2.2.2.2\r\nx-real-ip: 3.3.3.3\r\nX-Client-IP: 4.4.4.4\r\ntrue-client-ip: 5.5.5.5\r\nCf-Connecting-Ip: 6.6.6.6\r\nX-P0f-OS: Linux 3.11\r\nx_tcp_mss: 1460\r\nX-My-Client: 7.7.7.7\r\nX-Forwarded-For: 8.8.8.8\r\nX-Forwarded-Host: nope\r\n\r\n",
            &[b"x-other", b"X-MY-CLIENT"],
        )
        .unwrap();
    let kinds: Vec<_> = h.identity.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            HeaderKind::XForwardedFor,
            HeaderKind::Forwarded,
            HeaderKind::XRealIp,
            HeaderKind::XClientIp,
            HeaderKind::TrueClientIp,
            HeaderKind::CfConnectingIp,
            HeaderKind::P0f,
            HeaderKind::P0f,
            HeaderKind::Custom(1),
            HeaderKind::XForwardedFor,
        ]
    );
    assert_eq!(h.identity[0].name, b"x-FORWARDED-for");
    assert_eq!(h.identity[8].value, b"7.7.7.7");
    assert_eq!(h.header_count, 11);
}

#[test]
fn obs_fold_extends_value_and_is_flagged() {
    let h = p(b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4,\r\n\t5.6.7.8\r\nHost: a\r\n\r\n");
    assert!(h.anomalies.contains(HeadAnomalies::OBS_FOLD));
    assert_eq!(h.identity[0].value, b"1.2.3.4,\r\n\t5.6.7.8");
    assert!(h.identity[0].folded);
    assert_eq!(h.header_count, 2);
    // Fold right after the request line.
    let h = p(b"GET / HTTP/1.1\r\n X-Forwarded-For: 1.2.3.4\r\n\r\n");
    assert!(h.anomalies.contains(HeadAnomalies::FOLD_AT_START));
    assert!(h.identity.is_empty());
    // Empty value continued on the next line.
    let h = p(b"GET / HTTP/1.1\r\nX-Real-IP:\r\n 9.9.9.9\r\n\r\n");
    assert_eq!(h.identity[0].value, b"9.9.9.9");
}

#[test]
fn space_before_colon_still_recognised() {
    let h = p(b"GET / HTTP/1.1\r\nX-Forwarded-For : 1.2.3.4\r\nHost\t: h\r\n\r\n");
    assert!(h.anomalies.contains(HeadAnomalies::SPACE_BEFORE_COLON));
    assert_eq!(h.identity[0].name, b"X-Forwarded-For");
    assert_eq!(h.identity[0].value, b"1.2.3.4");
    assert_eq!(h.host, Some(&b"h"[..]));
}

#[test]
fn bare_lf_nul_non_utf8_duplicate_host() {
    let h =
        p(b"GET / HTTP/1.1\nHost: a\nHost: b\nX-Real-IP: 1.2.3.4\x00\nX-Client-IP: \xff\xfe\n\n");
    assert!(h.anomalies.contains(HeadAnomalies::BARE_LF));
    assert!(h.anomalies.contains(HeadAnomalies::NUL_BYTE));
    assert!(h.anomalies.contains(HeadAnomalies::NON_UTF8));
    assert!(h.anomalies.contains(HeadAnomalies::DUPLICATE_HOST));
    assert_eq!(h.host, Some(&b"a"[..]));
    assert_eq!(h.identity[0].value, b"1.2.3.4\x00");
    assert_eq!(h.identity[1].value, b"\xff\xfe");
    assert!(h.complete);
    assert_eq!(
        h.anomalies.to_string(),
        "bare_lf|nul_byte|non_utf8|duplicate_host"
    );
}

#[test]
fn content_length_anomalies() {
    let a = |b: &[u8]| p(b).anomalies.to_string();
    assert_eq!(a(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), "");
    assert_eq!(
        a(b"POST / HTTP/1.1\r\ncontent-length: 5\r\nContent-Length: 05\r\n\r\n"),
        "duplicate_content_length"
    );
    assert_eq!(
        a(b"POST / HTTP/1.1\r\nContent-Length: 5 , 6\r\n\r\n"),
        "conflicting_content_length"
    );
    assert_eq!(
        a(b"POST / HTTP/1.1\r\nContent-Length: x\r\nContent-Length: y\r\n\r\n"),
        "conflicting_content_length"
    );
    assert_eq!(
        a(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
        "content_length_with_transfer_encoding"
    );
    assert_eq!(
        a(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ""
    );
}

#[test]
fn non_utf8_target_kept_and_flagged() {
    let h = p(b"GET /caf\xe9 HTTP/1.1\r\n\r\n");
    assert_eq!(h.target, b"/caf\xe9");
    assert!(h.anomalies.contains(HeadAnomalies::NON_UTF8));
}

#[test]
fn no_colon_empty_name_invalid_name() {
    let h = p(b"GET / HTTP/1.1\r\nGarbage line\r\n: v\r\nX Forwarded For: 1.1.1.1\r\nx-forwarded-for\x01: 2\r\n\r\n");
    assert!(h.anomalies.contains(HeadAnomalies::NO_COLON));
    assert!(h.anomalies.contains(HeadAnomalies::EMPTY_NAME));
    assert!(h.anomalies.contains(HeadAnomalies::INVALID_NAME_CHAR));
    assert!(h.identity.is_empty());
}

#[test]
fn partial_head_last_line_not_parsed() {
    let h = p(b"GET / HTTP/1.1\r\nX-Real-IP: 1.2.3.4\r\nX-Forwarded-For: 1.2.3.4");
    assert!(!h.complete);
    assert!(h.anomalies.contains(HeadAnomalies::TRUNCATED));
    assert_eq!(h.identity.len(), 1);
    assert_eq!(h.identity[0].kind, HeaderKind::XRealIp);
    let h = p(b"GET / HTTP/1.1\r\n");
    assert!(!h.complete);
    assert!(h.anomalies.contains(HeadAnomalies::TRUNCATED));
}

#[test]
fn megabyte_line_flagged() {
    let mut b = b"GET / HTTP/1.1\r\nX-Forwarded-For: ".to_vec();
    b.extend(std::iter::repeat_n(b'9', 1 << 20));
    b.extend_from_slice(b"\r\nHost: z\r\n\r\n");
    let h = p(&b);
    assert!(h.anomalies.contains(HeadAnomalies::LONG_LINE));
    assert_eq!(h.identity[0].value.len(), 1 << 20);
    assert_eq!(h.host, Some(&b"z"[..]));
}

#[test]
fn hundred_thousand_headers_capped() {
    let mut b = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100_000u32 {
        if i % 2 == 0 {
            b.extend_from_slice(b"X-Forwarded-For: 10.0.0.1\r\n");
        } else {
            b.extend_from_slice(b"X-Junk: y\r\n");
        }
    }
    b.extend_from_slice(b"\r\n");
    let h = p(&b);
    assert_eq!(h.header_count, 100_000);
    assert_eq!(h.identity.len(), MAX_IDENTITY_FIELDS);
    assert_eq!(h.identity_capped, 50_000 - MAX_IDENTITY_FIELDS);
    assert!(h.anomalies.contains(HeadAnomalies::IDENTITY_CAPPED));
    assert!(h.complete);
}

#[test]
fn serializes_to_json() {
    let h = p(b"GET / HTTP/1.1\r\nX-Real-IP: 1.2.3.4\r\n\n");
    let j = serde_json::to_value(&h).unwrap();
    assert_eq!(j["version"], "HTTP/1.1");
    assert_eq!(j["identity"][0]["kind"], "x_real_ip");
    assert_eq!(j["identity"][0]["value"], "1.2.3.4");
    assert_eq!(j["anomalies"][0], "bare_lf");
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let _ = parse_request_head(&bytes, &[b"x-a"]);
    }

    #[test]
    fn never_panics_after_valid_line(
        tail in proptest::collection::vec(proptest::sample::select(b"aX-:\r\n \t,\x00\xff1.".to_vec()), 0..512)
    ) {
        let mut b = b"GET / HTTP/1.1\r\n".to_vec();
        b.extend_from_slice(&tail);
        let h = parse_request_head(&b, &[]).unwrap();
        proptest::prop_assert!(h.head_len <= b.len());
        for f in &h.identity {
            // Values borrow from the input: their span lies inside it.
            let off = f.value.as_ptr() as usize - b.as_ptr() as usize;
            proptest::prop_assert!(off + f.value.len() <= b.len());
        }
    }
}

/// The counter names of unparsed heads come from one table: serde writes `name()`, every
/// reason is in `ALL` once, and the names stay the ones summaries have always used.
#[test]
fn head_error_names_come_from_one_table() {
    let names: Vec<&str> = HeadError::ALL.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "empty",
            "request_line_incomplete",
            "bad_method",
            "bad_target",
            "bad_version",
            "bad_request_line"
        ]
    );
    for e in HeadError::ALL {
        assert_eq!(serde_json::to_value(e).unwrap(), e.name());
    }
}
