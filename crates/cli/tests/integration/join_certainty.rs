//! `join` is never confidently wrong: `request_match` is not certain while a connection
//! whose requests the front side cannot see could have carried the request, and `ip_time`
//! takes a SYN after the clock-corrected request only within the estimate's slack. Built
//! packet by packet, so the right answer is known without any tool.

use crate::util::{run, TempFile};
use proxytrace_synth::packet::TcpPacket;
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use serde_json::Value;
use std::net::IpAddr;

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;
const CLIENT: [u8; 4] = [198, 51, 100, 77];
const PROXY_FRONT: [u8; 4] = [203, 0, 113, 10];
const SYN: u16 = 0x02;
const PSH_ACK: u16 = 0x18;
const FIN_ACK: u16 = 0x11;

fn capture(packets: &[(i64, TcpPacket)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    let mut frame = Vec::new();
    let mut sorted: Vec<&(i64, TcpPacket)> = packets.iter().collect();
    sorted.sort_by_key(|p| p.0);
    for (ts, p) in sorted {
        frame.clear();
        p.build(&mut frame);
        w.packet(*ts, &frame).unwrap();
    }
    w.finish().unwrap()
}

/// A front connection of the client: its SYN at `t`, then `payload` 2 ms later (none if
/// empty).
fn front_conn(port: u16, dst_port: u16, t: i64, payload: &[u8]) -> Vec<(i64, TcpPacket<'_>)> {
    let p = |seq: u32, flags: u16, payload| TcpPacket {
        src: IpAddr::from(CLIENT),
        dst: IpAddr::from(PROXY_FRONT),
        src_port: port,
        dst_port,
        seq,
        flags,
        payload,
        ..TcpPacket::default()
    };
    let mut v = vec![(t, p(5000, SYN, b""))];
    if !payload.is_empty() {
        v.push((t + 2 * MS, p(5001, PSH_ACK, payload)));
    }
    v
}

/// [`front_conn`], closed by the client's FIN at `fin`.
fn front_conn_closed(
    port: u16,
    dst_port: u16,
    t: i64,
    payload: &[u8],
    fin: i64,
) -> Vec<(i64, TcpPacket<'_>)> {
    let mut v = front_conn(port, dst_port, t, payload);
    let seq = 5001 + payload.len() as u32;
    v.push((
        fin,
        TcpPacket {
            src: IpAddr::from(CLIENT),
            dst: IpAddr::from(PROXY_FRONT),
            src_port: port,
            dst_port,
            seq,
            flags: FIN_ACK,
            ..TcpPacket::default()
        },
    ));
    v
}

/// A back connection from the proxy: its SYN at `t`, the request 1 ms later.
fn back_conn(port: u16, t: i64, payload: &[u8]) -> Vec<(i64, TcpPacket<'_>)> {
    let p = |seq: u32, flags: u16, payload| TcpPacket {
        src: IpAddr::V4([10, 0, 0, 2].into()),
        dst: IpAddr::V4([10, 0, 1, 1].into()),
        src_port: port,
        dst_port: 8080,
        seq,
        flags,
        payload,
        ..TcpPacket::default()
    };
    vec![(t, p(1000, SYN, b"")), (t + MS, p(1001, PSH_ACK, payload))]
}

/// What the client sends, and the proxy forwards with the client in X-Forwarded-For.
const FAVICON: &[u8] = b"GET /favicon.ico HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n\r\n";
const FORWARDED: &[u8] =
    b"GET /favicon.ico HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 198.51.100.77\r\nUser-Agent: u\r\n\r\n";
/// A TLS ClientHello's first bytes: the front side sees no request in it.
const TLS: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03opaque";

/// Join with a given offset of 0: the rows, and stderr (the report).
fn join(front: &[(i64, TcpPacket)], back: &[(i64, TcpPacket)]) -> (Vec<Value>, String) {
    let f = TempFile::with_bytes(".pcap", &capture(front));
    let b = TempFile::with_bytes(".pcap", &capture(back));
    let (code, out, err) = run(&[
        "join",
        "--front",
        f.0.to_str().unwrap(),
        "--back",
        b.0.to_str().unwrap(),
        "--clock-offset",
        "0s",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, err)
}

/// (method, confidence, front port, candidates) of each row.
fn summary(rows: &[Value]) -> Vec<(String, String, i64, i64)> {
    rows.iter()
        .map(|r| {
            (
                r["join_method"].as_str().unwrap().to_string(),
                r["join_confidence"].as_str().unwrap().to_string(),
                r["front_src_port"].as_i64().unwrap_or(-1),
                r["join_candidates"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(method: &str, confidence: &str, port: i64, candidates: i64) -> (String, String, i64, i64) {
    (method.into(), confidence.into(), port, candidates)
}

/// The client fetches /favicon.ico over plaintext (port 50001), then opens a TLS
/// connection (50002) and fetches it again there. The front side sees only the first
/// request, so both back requests match it. The first was forwarded before the TLS
/// connection existed: certain. The second could have come on either connection (it
/// came on the TLS one): not certain. It used to be `certain` and wrong.
#[test]
fn request_match_is_not_certain_while_a_tls_connection_could_have_carried_it() {
    let mut front = front_conn(50001, 80, T0, FAVICON);
    front.extend(front_conn(50002, 443, T0 + 10 * MS, TLS));
    let mut back = back_conn(40000, T0 + 4 * MS, FORWARDED);
    back.extend(back_conn(40001, T0 + 20 * MS, FORWARDED));
    let (rows, err) = join(&front, &back);
    assert_eq!(
        summary(&rows),
        [
            row("request_match", "certain", 50001, 1),
            // Both SYNs have one stack's fingerprint: probable, not ambiguous.
            row("request_match", "probable", 50001, 1),
        ],
        "{err}"
    );
    assert!(
        err.contains("join notes: invisible_alternatives 1"),
        "{err}"
    );
    // The TLS connection was over (its FIN) more than the match window (5 s) before the
    // request was forwarded: it cannot have carried it, the match stays certain. Still
    // open at 4 s before: not certain.
    for (fin_before, want) in [(6_000, "certain"), (4_000, "probable")] {
        let mut front = front_conn_closed(
            50002,
            443,
            T0 - 20_000 * MS,
            TLS,
            T0 + 21 * MS - fin_before * MS,
        );
        front.extend(front_conn(50001, 80, T0, FAVICON));
        let back = back_conn(40001, T0 + 20 * MS, FORWARDED);
        let (rows, err) = join(&front, &back);
        assert_eq!(
            summary(&rows),
            [row("request_match", want, 50001, 1)],
            "{fin_before} ms: {err}"
        );
    }
    // The other connection is plaintext and its requests are seen (another target): it
    // did not carry this one, and the match stays certain.
    let other = b"GET /other HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n\r\n";
    let mut front = front_conn(50001, 80, T0, FAVICON);
    front.extend(front_conn(50002, 80, T0 + 10 * MS, other));
    let back = back_conn(40001, T0 + 20 * MS, FORWARDED);
    let (rows, err) = join(&front, &back);
    assert_eq!(
        summary(&rows),
        [row("request_match", "certain", 50001, 1)],
        "{err}"
    );
    assert!(!err.contains("join notes"), "{err}");
}

/// Two TLS connections, the request forwarded 50 ms after the first SYN and 10 ms before
/// the second: its SYN is the first. The fixed 100 ms slack took the second.
#[test]
fn ip_time_takes_the_syn_before_the_request() {
    let mut front = front_conn(50001, 443, T0, TLS);
    front.extend(front_conn(50002, 443, T0 + 60 * MS, TLS));
    let back = back_conn(40000, T0 + 49 * MS, FORWARDED);
    let (rows, err) = join(&front, &back);
    assert_eq!(
        summary(&rows),
        [row("ip_time", "probable", 50001, 1)],
        "{err}"
    );
    assert_eq!(rows[0]["join_delta_ns"], 50 * MS, "{err}");
    assert!(err.contains("ip_time slack 1000000 ns"), "{err}");
}

/// With a given offset the corrected time is never before the request's own SYN, but for
/// timestamp precision: a SYN 0.5 ms after it is taken (and noted) when the address has
/// none before; one 5 ms after it, beyond the 1 ms slack, is not.
#[test]
fn ip_time_takes_a_later_syn_only_within_the_slack() {
    let back = back_conn(40000, T0 + 49 * MS, FORWARDED);
    let near = front_conn(50001, 443, T0 + 50 * MS + MS / 2, TLS);
    let (rows, err) = join(&near, &back);
    assert_eq!(
        summary(&rows),
        [row("ip_time", "probable", 50001, 1)],
        "{err}"
    );
    assert_eq!(rows[0]["join_delta_ns"], -MS / 2);
    assert!(err.contains("join notes: syn_after_request 1"), "{err}");
    let far = front_conn(50001, 443, T0 + 55 * MS, TLS);
    let (rows, err) = join(&far, &back);
    assert_eq!(summary(&rows), [row("none", "none", -1, 0)], "{err}");
}
