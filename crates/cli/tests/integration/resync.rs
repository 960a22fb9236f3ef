//! Never make up a request, never lose one (issue 12): a back capture that starts inside
//! a request body full of request-like text, and stray bytes on pure ACKs, through
//! `requests`. Captures are built packet by packet, both directions.

use crate::util::{run, TempFile};
use proxytrace_synth::packet::TcpPacket;
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};

const ACK: u16 = 0x10;
const PSH_ACK: u16 = 0x18;
const SYN: u16 = 0x02;
const SYN_ACK: u16 = 0x12;

/// What the lab's late-start clients send in their POST bodies (scripts/lab/clients.py).
const DECOY: &[u8] = b"GET /decoy-in-body HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n\
Host: decoy.example\r\nUser-Agent: decoy\r\n\r\n";
const PAD: &[u8] = b"pad=pppppppppppppppppppppppppppppppppppppppppppp\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Who sends a segment.
#[derive(Clone, Copy)]
enum Dir {
    Client,
    Server,
}

/// Builds a capture of one connection, 10.0.0.2:40000 (the proxy) <-> 10.0.1.1:8080,
/// from `(direction, flags, payload)`: sequence numbers follow each direction's bytes
/// from `client_seq` and `server_seq` (an entry with `Some(seq)` is sent at that number
/// and does not move the counter, for stray bytes on ACKs). One millisecond apart.
struct Capture {
    packets: Vec<(Dir, u16, u32, Vec<u8>)>,
    next: [u32; 2],
}

impl Capture {
    fn new(client_seq: u32, server_seq: u32) -> Capture {
        Capture {
            packets: Vec::new(),
            next: [client_seq, server_seq],
        }
    }

    fn send(&mut self, dir: Dir, flags: u16, payload: &[u8]) -> &mut Capture {
        let i = dir as usize;
        let seq = self.next[i];
        let len = payload.len() as u32 + u32::from(flags & SYN != 0);
        self.next[i] = seq.wrapping_add(len);
        self.packets.push((dir, flags, seq, payload.to_vec()));
        self
    }

    fn client(&mut self, payload: &[u8]) -> &mut Capture {
        self.send(Dir::Client, PSH_ACK, payload)
    }

    fn server(&mut self, payload: &[u8]) -> &mut Capture {
        self.send(Dir::Server, PSH_ACK, payload)
    }

    /// A pure ACK from the client carrying `stray` bytes at the next client sequence
    /// number, which the next client segment reuses.
    fn stray_ack(&mut self, stray: &[u8]) -> &mut Capture {
        let seq = self.next[0];
        self.packets.push((Dir::Client, ACK, seq, stray.to_vec()));
        self
    }

    fn file(&self) -> TempFile {
        let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
        let mut frame = Vec::new();
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let backend = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1));
        for (i, (dir, flags, seq, payload)) in self.packets.iter().enumerate() {
            let (src, dst, sp, dp, ack) = match dir {
                Dir::Client => (proxy, backend, 40000, 8080, self.next[1]),
                Dir::Server => (backend, proxy, 8080, 40000, self.next[0]),
            };
            frame.clear();
            TcpPacket {
                src,
                dst,
                src_port: sp,
                dst_port: dp,
                seq: *seq,
                ack,
                flags: *flags,
                payload,
                ..TcpPacket::default()
            }
            .build(&mut frame);
            w.packet(1_700_000_000_000_000_000 + i as i64 * 1_000_000, &frame)
                .unwrap();
        }
        TempFile::with_bytes(".pcap", &w.finish().unwrap())
    }
}

/// `target client_ip flags` of every row, and the run's summary (stderr).
fn rows_of(f: &TempFile, extra: &[&str]) -> (Vec<String>, String) {
    let mut args = vec!["requests", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(f.0.to_str().unwrap());
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let rows = out
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {}",
                r["target"].as_str().unwrap(),
                r["client_ip"].as_str().unwrap_or("-"),
                r["flags"].as_str().unwrap()
            )
        })
        .collect();
    (rows, err)
}

fn get(target: &str, client: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: {client}\r\n\r\n").into_bytes()
}

fn post(target: &str, client: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "POST {target} HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: {client}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

/// The lab's late start: the capture begins inside a slow POST body on a keep-alive back
/// connection, with request-like text at a segment start, in the middle of segments and
/// as the body's last bytes (answered by the server's response). Then real requests from
/// several clients, one with such a body itself.
fn late_start() -> Capture {
    let mut c = Capture::new(70_000, 90_000);
    let body_in_post = [PAD, DECOY, PAD, DECOY].concat();
    c.client(&[DECOY, PAD].concat())
        .client(&[PAD, DECOY, PAD].concat())
        .client(&[PAD, DECOY].concat())
        .server(RESPONSE)
        .client(&get("/r1", "192.0.2.1"))
        .server(RESPONSE)
        .client(&post("/r2", "192.0.2.2", &body_in_post))
        .server(RESPONSE)
        .client(&get("/r3", "192.0.2.3"))
        .server(RESPONSE)
        .client(&get("/r4", "192.0.2.4"))
        .server(RESPONSE);
    c
}

/// Header-like text in the body the capture starts inside is no request; every real
/// request after it on the connection is found; the first is corroborated by the
/// response before it.
#[test]
fn late_start_inside_a_body_makes_up_nothing_and_loses_nothing() {
    let (rows, err) = rows_of(&late_start().file(), &[]);
    assert_eq!(
        rows,
        [
            "/r1 192.0.2.1 midstream_start|resync_corroborated",
            "/r2 192.0.2.2 midstream_start",
            "/r3 192.0.2.3 midstream_start",
            "/r4 192.0.2.4 midstream_start",
        ]
    );
    // The decoys: at the segment start (followed by body bytes), in the middle (likewise),
    // and the body's last bytes (answered, but it shares its segment with body bytes).
    assert!(err.contains("resync_candidates_rejected: 3\n"), "{err}");
    assert!(!err.contains("not_http_flows"), "{err}");
}

/// A backend that answers a POST before reading its body (nginx with `return 200`, as
/// in the lab): the response came before the capture started, so the body's request-like
/// last bytes are followed directly by the next real request, then by its response. The
/// text, sharing a segment with body bytes, is rejected; the request after it, beginning
/// a segment, is corroborated (seen in the lab's late-start runs, seeds 7 to 9).
#[test]
fn late_start_after_an_early_answer_keeps_the_next_request() {
    let mut c = Capture::new(70_000, 90_000);
    c.client(&[PAD, DECOY, PAD].concat())
        .client(&[PAD, DECOY].concat())
        .client(&get("/r1", "192.0.2.1"))
        .server(RESPONSE)
        .client(&get("/r2", "192.0.2.2"))
        .server(RESPONSE);
    let (rows, err) = rows_of(&c.file(), &[]);
    assert_eq!(
        rows,
        [
            "/r1 192.0.2.1 midstream_start|resync_corroborated",
            "/r2 192.0.2.2 midstream_start",
        ]
    );
    assert!(err.contains("resync_candidates_rejected: 2\n"), "{err}");
}

/// The same with the server direction missing from the capture: nothing corroborates
/// or refutes the requests found after the late start, so they are all said uncertain,
/// and the decoys followed by body bytes are still rejected.
#[test]
fn late_start_without_the_server_side_says_uncertain() {
    let mut c = Capture::new(70_000, 90_000);
    c.client(&[DECOY, PAD].concat())
        .client(&[PAD, DECOY, PAD].concat())
        .client(&get("/r1", "192.0.2.1"))
        .client(&get("/r2", "192.0.2.2"));
    let (rows, err) = rows_of(&c.file(), &[]);
    assert_eq!(
        rows,
        [
            "/r1 192.0.2.1 midstream_start|resync_uncertain",
            "/r2 192.0.2.2 midstream_start|resync_uncertain",
        ]
    );
    assert!(err.contains("resync_candidates_rejected: 2\n"), "{err}");
    assert!(err.contains("resync_heads_uncertain: 2\n"), "{err}");
}

/// A capture that starts between requests: the first request at a segment start,
/// answered by the server, is corroborated.
#[test]
fn late_start_between_requests_is_corroborated_by_the_response() {
    let mut c = Capture::new(70_000, 90_000);
    c.client(&get("/r1", "192.0.2.1"))
        .server(RESPONSE)
        .client(&get("/r2", "192.0.2.2"))
        .server(RESPONSE);
    let (rows, _) = rows_of(&c.file(), &[]);
    assert_eq!(
        rows,
        [
            "/r1 192.0.2.1 midstream_start|resync_corroborated",
            "/r2 192.0.2.2 midstream_start",
        ]
    );
}

/// A body that declares a huge Content-Length after a late start must not hide the
/// requests after it: the server's response ends the candidate's framing.
#[test]
fn a_wrong_candidates_body_length_does_not_hide_later_requests() {
    let fake = b"POST /fake HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n";
    let mut c = Capture::new(70_000, 90_000);
    c.client(&[PAD, fake].concat())
        .client(PAD)
        .server(RESPONSE)
        .client(&get("/r1", "192.0.2.1"))
        .server(RESPONSE)
        .client(&get("/r2", "192.0.2.2"))
        .server(RESPONSE);
    let (rows, err) = rows_of(&c.file(), &[]);
    assert_eq!(
        rows,
        [
            "/r1 192.0.2.1 midstream_start|resync_corroborated",
            "/r2 192.0.2.2 midstream_start",
        ]
    );
    assert!(err.contains("resync_candidates_rejected: 1\n"), "{err}");
}

/// Stray bytes on a pure ACK at the sequence number of the next request, between two
/// requests of a connection seen from its SYN and on one seen midstream: the request is
/// found, flagged `overlap_conflict`, and the connection stays HTTP.
#[test]
fn stray_ack_bytes_between_requests_do_not_lose_the_request() {
    for stray in [&b"\0\0"[..], b"xx", b"\r\n", b"\xff"] {
        let mut c = Capture::new(1_000, 5_000);
        c.send(Dir::Client, SYN, b"")
            .send(Dir::Server, SYN_ACK, b"")
            .client(&get("/a", "192.0.2.1"))
            .server(RESPONSE)
            .stray_ack(stray)
            .client(&get("/b", "192.0.2.2"))
            .server(RESPONSE)
            .client(&get("/c", "192.0.2.3"));
        let (rows, err) = rows_of(&c.file(), &[]);
        assert_eq!(
            rows,
            [
                "/a 192.0.2.1 ",
                "/b 192.0.2.2 overlap_conflict",
                "/c 192.0.2.3 "
            ],
            "stray {stray:?}"
        );
        assert!(!err.contains("not_http_flows"), "{err}");

        let mut c = Capture::new(70_000, 90_000);
        c.client(&get("/a", "192.0.2.1"))
            .server(RESPONSE)
            .stray_ack(stray)
            .client(&get("/b", "192.0.2.2"))
            .server(RESPONSE);
        let (rows, err) = rows_of(&c.file(), &[]);
        assert_eq!(
            rows,
            [
                "/a 192.0.2.1 midstream_start|resync_corroborated",
                "/b 192.0.2.2 midstream_start|overlap_conflict",
            ],
            "stray {stray:?}"
        );
        assert!(!err.contains("not_http_flows"), "{err}");
    }
}

/// Stray ACK bytes right after a request found on a late start, before the server
/// answers it: they refute the held request at first, and the real copy of the next
/// request at the same sequence number restores it (nothing is lost or rejected).
#[test]
fn stray_ack_bytes_after_a_held_request_do_not_refute_it() {
    let mut c = Capture::new(70_000, 90_000);
    c.client(&get("/a", "192.0.2.1"))
        .stray_ack(b"\0\0")
        .client(&get("/b", "192.0.2.2"))
        .server(RESPONSE)
        .server(RESPONSE);
    let (rows, err) = rows_of(&c.file(), &[]);
    assert_eq!(
        rows,
        [
            "/a 192.0.2.1 midstream_start|resync_corroborated",
            "/b 192.0.2.2 midstream_start|overlap_conflict|resync_corroborated",
        ]
    );
    assert!(!err.contains("resync_candidates_rejected"), "{err}");
    assert!(!err.contains("not_http_flows"), "{err}");
}

/// The late start gives the same rows with one thread or several, mapped or streamed.
#[test]
fn late_start_rows_do_not_depend_on_threads_or_reading() {
    let f = late_start().file();
    let (one, _) = rows_of(&f, &["--threads", "1"]);
    let (four, _) = rows_of(&f, &["--threads", "4"]);
    let (stream, _) = rows_of(&f, &["--threads", "4", "--no-mmap"]);
    assert_eq!(one, four);
    assert_eq!(one, stream);
}
