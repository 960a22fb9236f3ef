//! Head assembler behaviour: segments in, head events out.

use super::*;
use crate::decode::{IpProto, Packet, TcpFlags};
use crate::http1::event::HeadFlags;
use crate::http1::preamble::PP2_SIG;
use std::net::{IpAddr, Ipv4Addr};

const CLIENT: u16 = 40000;

fn tuple(client_port: u16) -> FiveTuple {
    FiveTuple {
        src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        src_port: client_port,
        dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        dst_port: 80,
        proto: IpProto::TCP,
    }
}

const A: u16 = TcpFlags::ACK;
const PA: u16 = TcpFlags::ACK | TcpFlags::PSH;

/// Test driver: numbers packets, timestamps them 1 µs apart, collects events.
struct Drv {
    asm: HeadAssembler,
    idx: u64,
    ev: Vec<HeadEvent>,
}

impl Drv {
    fn new() -> Drv {
        Drv::with(ReassemblyConfig::default())
    }
    fn with(cfg: ReassemblyConfig) -> Drv {
        Drv {
            asm: HeadAssembler::new(cfg),
            idx: 0,
            ev: Vec::new(),
        }
    }
    fn seg_t(&mut self, flow: FiveTuple, ts: i64, seq: u32, flags: u16, payload: &[u8]) {
        let s = SegmentMeta {
            ts_ns: ts,
            packet_index: self.idx,
            flow,
            seq,
            flags: TcpFlags(flags),
            payload,
        };
        self.idx += 1;
        let ev = &mut self.ev;
        self.asm.push(s, &mut |e| ev.push(e));
    }
    fn seg(&mut self, flow: FiveTuple, seq: u32, flags: u16, payload: &[u8]) {
        let ts = 1_000 * self.idx as i64;
        self.seg_t(flow, ts, seq, flags, payload);
    }
    fn syn(&mut self, flow: FiveTuple, isn: u32) {
        self.seg(flow, isn, TcpFlags::SYN, b"");
    }
    fn finish(&mut self) {
        let ev = &mut self.ev;
        self.asm.finish(&mut |e| ev.push(e));
    }
    fn heads(&self) -> Vec<&[u8]> {
        self.ev.iter().map(|e| e.head.as_slice()).collect()
    }
}

const REQ1: &[u8] = b"GET /a HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
const REQ2: &[u8] = b"POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n";

#[test]
fn whole_head_in_one_segment() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 1000);
    d.seg(tuple(CLIENT), 1001, PA, REQ1);
    assert_eq!(d.ev.len(), 1);
    let e = &d.ev[0];
    assert_eq!(e.head, REQ1);
    assert_eq!(
        (e.packet_index, e.ts_ns, e.seq, e.stream_offset),
        (1, 1000, 1001, 0)
    );
    assert_eq!(e.ordinal, 1);
    assert_eq!(e.flags, HeadFlags::default());
    assert_eq!(e.proxy_preamble, None);
    assert_eq!(e.flow, tuple(CLIENT));
    d.finish();
    assert_eq!(d.ev.len(), 1);
    assert_eq!(d.asm.stats().http.heads_complete, 1);
    assert_eq!(d.asm.held_bytes(), 0);
}

#[test]
fn split_at_every_point_and_three_ways_in_terminator() {
    let n = REQ1.len();
    let mut cuts: Vec<Vec<usize>> = (1..n).map(|i| vec![i]).collect();
    // Inside the CRLFCRLF terminator, every pair of cuts.
    for a in n - 4..n {
        for b in a + 1..n {
            cuts.push(vec![a, b]);
        }
    }
    // Inside a header name ("X-Forwarded-For" starts at 37).
    cuts.push(vec![38, 44, 50]);
    for c in cuts {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 7);
        let mut bounds = vec![0];
        bounds.extend(&c);
        bounds.push(n);
        for w in bounds.windows(2) {
            d.seg(tuple(CLIENT), 8 + w[0] as u32, PA, &REQ1[w[0]..w[1]]);
        }
        assert_eq!(d.heads(), vec![REQ1], "cuts {c:?}");
        // First byte came with packet 1; completed by the last packet.
        assert_eq!(d.ev[0].packet_index, 1, "cuts {c:?}");
        assert_eq!(d.ev[0].flags, HeadFlags::default());
    }
}

#[test]
fn out_of_order_segments_are_repaired() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let (a, b, c) = (&REQ1[..10], &REQ1[10..30], &REQ1[30..]);
    d.seg(tuple(CLIENT), 31, PA, c); // packet 1
    d.seg(tuple(CLIENT), 11, PA, b); // packet 2
    assert!(d.ev.is_empty());
    d.seg(tuple(CLIENT), 1, PA, a); // packet 3 fills the hole
    assert_eq!(d.heads(), vec![REQ1]);
    assert_eq!(d.ev[0].packet_index, 3);
    assert!(d.ev[0].flags.contains(HeadFlags::OUT_OF_ORDER_REPAIRED));
    assert_eq!(d.asm.stats().tcp.ooo_segments_buffered, 2);
    assert_eq!(d.asm.stats().tcp.ooo_segments_repaired, 2);
    assert_eq!(d.asm.buffered_bytes(), 0);
}

#[test]
fn first_byte_position_from_a_buffered_segment() {
    // The head's first byte arrives out of order (buffered) after a body's end.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let mut stream = REQ2.to_vec();
    stream.extend_from_slice(b"hello");
    let second_at = stream.len();
    stream.extend_from_slice(REQ1);
    d.seg(
        tuple(CLIENT),
        1 + second_at as u32,
        PA,
        &stream[second_at..],
    ); // packet 1
    d.seg(tuple(CLIENT), 1, PA, &stream[..second_at]); // packet 2
    assert_eq!(d.heads(), vec![REQ2, REQ1]);
    assert_eq!(d.ev[1].packet_index, 1);
    assert_eq!(d.ev[1].ts_ns, 1000);
    assert_eq!(d.ev[1].stream_offset, second_at as u64);
    assert_eq!(d.ev[1].ordinal, 2);
}

#[test]
fn retransmissions_and_overlaps_never_duplicate() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 100);
    let s = 101u32;
    d.seg(tuple(CLIENT), s, PA, &REQ1[..20]);
    d.seg(tuple(CLIENT), s, PA, &REQ1[..20]); // exact duplicate
    d.seg(tuple(CLIENT), s + 10, PA, &REQ1[10..40]); // overlaps 10 old bytes
    d.seg(tuple(CLIENT), s + 50, PA, &REQ1[50..]); // ahead
    d.seg(tuple(CLIENT), s + 50, PA, &REQ1[50..]); // duplicate of a buffered one
    d.seg(tuple(CLIENT), s, PA, REQ1); // covers everything
    assert_eq!(d.heads(), vec![REQ1]);
    assert!(d.ev[0].flags.contains(HeadFlags::RETRANSMISSION_SEEN));
    // The whole head retransmitted after it was emitted: nothing new.
    d.seg(tuple(CLIENT), s, PA, REQ1);
    d.finish();
    assert_eq!(d.ev.len(), 1);
    let st = d.asm.stats();
    // 20 + 10 + 60 (dup of buffered) + 80 (ahead part trimmed on drain) ...
    assert!(st.tcp.retransmitted_bytes > 0);
    assert_eq!(st.http.heads_complete, 1);
}

#[test]
fn head_larger_than_a_segment() {
    let mut head = b"GET /big HTTP/1.1\r\nHost: h\r\nCookie: ".to_vec();
    head.extend(std::iter::repeat_n(b'c', 5000));
    head.extend_from_slice(b"\r\n\r\n");
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    for (i, chunk) in head.chunks(1448).enumerate() {
        d.seg(tuple(CLIENT), 1 + (i * 1448) as u32, PA, chunk);
    }
    assert_eq!(d.heads(), vec![head.as_slice()]);
    assert_eq!(d.ev[0].packet_index, 1);
}

#[test]
fn keep_alive_and_pipelining() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let mut seq = 1u32;
    d.seg(tuple(CLIENT), seq, PA, REQ1);
    seq += REQ1.len() as u32;
    // Three pipelined requests in one segment, the POST with a body.
    let mut p = Vec::new();
    p.extend_from_slice(REQ2);
    p.extend_from_slice(b"abcde");
    p.extend_from_slice(REQ1);
    p.extend_from_slice(b"HEAD / HTTP/1.0\r\n\r\n");
    d.seg(tuple(CLIENT), seq, PA, &p);
    assert_eq!(
        d.heads(),
        vec![REQ1, REQ2, REQ1, &b"HEAD / HTTP/1.0\r\n\r\n"[..]]
    );
    let ords: Vec<u32> = d.ev.iter().map(|e| e.ordinal).collect();
    assert_eq!(ords, vec![1, 2, 3, 4]);
    let r1 = REQ1.len() as u64;
    let r2 = REQ2.len() as u64;
    let offs: Vec<u64> = d.ev.iter().map(|e| e.stream_offset).collect();
    assert_eq!(offs, vec![0, r1, r1 + r2 + 5, 2 * r1 + r2 + 5]);
    assert_eq!(d.ev[3].seq, 1 + (2 * r1 + r2 + 5) as u32);
}

#[test]
fn content_length_body_with_header_like_text_is_skipped() {
    let body = b"GET /evil HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
    let head = format!(
        "POST /up HTTP/1.1\r\nHost: h\r\ncontent-length:  {} \r\n\r\n",
        body.len()
    );
    let mut s = head.as_bytes().to_vec();
    s.extend_from_slice(body);
    s.extend_from_slice(REQ1);
    // Byte-at-a-time segments as the worst case for the state machine.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    for (i, b) in s.iter().enumerate() {
        d.seg(tuple(CLIENT), 1 + i as u32, PA, std::slice::from_ref(b));
    }
    assert_eq!(d.heads(), vec![head.as_bytes(), REQ1]);
    assert_eq!(d.asm.stats().http.body_bytes_skipped, body.len() as u64);
}

#[test]
fn chunked_body_with_extensions_and_trailers_is_skipped() {
    let head = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 3\r\n\r\n";
    let body: &[u8] = b"1a;ext=\"x\"\r\nGET /no HTTP/1.1\r\nA: b\r\n\r\n\r\n\
5 ; e\r\nX: y\n\r\n0\r\nTrailer-X: GET / HTTP/1.1\r\nGET /t HTTP/1.1\r\n\r\n";
    // Check the hand-written chunk sizes: 0x1a = 26 bytes of data.
    assert_eq!(b"GET /no HTTP/1.1\r\nA: b\r\n\r\n".len(), 0x1a);
    let mut s = head.to_vec();
    s.extend_from_slice(body);
    s.extend_from_slice(REQ1);
    for step in [1usize, 2, 3, 7, 1000] {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        for (i, c) in s.chunks(step).enumerate() {
            d.seg(tuple(CLIENT), 1 + (i * step) as u32, PA, c);
        }
        assert_eq!(d.heads(), vec![&head[..], REQ1], "step {step}");
        assert_eq!(d.asm.stats().http.chunked_framing_errors, 0);
    }
}

#[test]
fn reused_proxy_connection_gives_one_event_per_request() {
    let a = b"GET /x HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n";
    let b = b"GET /y HTTP/1.1\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n";
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, a);
    d.seg(tuple(CLIENT), 1 + a.len() as u32, PA, b);
    assert_eq!(d.heads(), vec![&a[..], &b[..]]);
    assert_eq!((d.ev[0].ordinal, d.ev[1].ordinal), (1, 2));
}

#[test]
fn not_http_stops_tracking() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, b"SSH-2.0-OpenSSH_9.6\r\n");
    d.seg(tuple(CLIENT), 22, PA, REQ1);
    d.finish();
    assert!(d.ev.is_empty());
    assert_eq!(d.asm.stats().http.not_http_flows, 1);
    assert_eq!(d.asm.stats().tcp.segments_on_dead_flows, 1);
    // A request-line-shaped line with a wrong version is not HTTP/1.x either.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(d.ev.is_empty());
    assert_eq!(d.asm.stats().http.not_http_flows, 1);
    // Garbage after a complete request, at a message boundary.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let mut s = REQ1.to_vec();
    s.extend_from_slice(b"\x16\x03\x01\x02\x00");
    d.seg(tuple(CLIENT), 1, PA, &s);
    assert_eq!(d.heads(), vec![REQ1]);
    assert_eq!(d.asm.stats().http.not_http_flows, 1);
}

#[test]
fn connect_makes_a_tunnel() {
    let c = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let mut s = c.to_vec();
    s.extend_from_slice(b"\x16\x03\x01GET / HTTP/1.1\r\n\r\n");
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, &s);
    assert_eq!(d.heads(), vec![&c[..]]);
    assert_eq!(d.asm.stats().http.connect_tunnels, 1);
}

#[test]
fn midstream_start_resynchronises() {
    let mut d = Drv::new();
    // Tail of an earlier body, then a request after an LF.
    let mut s = b"ody text\r\nmore GET / HTTP/1.1 text\n".to_vec();
    let at = s.len();
    s.extend_from_slice(REQ1);
    d.seg(tuple(CLIENT), 5000, PA, &s);
    // Found by searching: held until something says what it is.
    assert!(d.ev.is_empty());
    assert_eq!(d.asm.stats().http.resync_bytes_skipped, at as u64);
    // Next request on the same flow, where the first one's framing ends.
    d.seg(tuple(CLIENT), 5000 + s.len() as u32, PA, REQ2);
    assert!(d.ev.is_empty());
    // No server side seen: both come out at the end, said uncertain, with the midstream
    // flag.
    d.finish();
    assert_eq!(d.heads(), vec![REQ1, REQ2]);
    assert_eq!(d.ev[0].seq, 5000 + at as u32);
    let want = HeadFlags(HeadFlags::MIDSTREAM_START | HeadFlags::RESYNC_UNCERTAIN);
    assert!(d.ev.iter().all(|e| e.flags == want));
    assert_eq!(d.asm.stats().http.resync_heads_uncertain, 2);

    // A flow whose first payload starts with a request line: the server's response to
    // it corroborates it.
    let mut d = Drv::new();
    d.seg(tuple(CLIENT + 1), 9, PA, REQ1);
    assert!(d.ev.is_empty());
    d.seg(
        tuple(CLIENT + 1).reversed(),
        70,
        PA,
        b"HTTP/1.1 204 No Content\r\n\r\n",
    );
    assert_eq!(d.heads(), vec![REQ1]);
    let want = HeadFlags(HeadFlags::MIDSTREAM_START | HeadFlags::RESYNC_CORROBORATED);
    assert_eq!(d.ev[0].flags, want);
    assert_eq!(d.asm.stats().http.resync_heads_corroborated, 1);
    // The next request is at a known message start: plain.
    d.seg(tuple(CLIENT + 1), 9 + REQ1.len() as u32, PA, REQ1);
    assert_eq!(d.ev[1].flags, HeadFlags(HeadFlags::MIDSTREAM_START));

    // Payload with no request line: nothing tracked.
    let mut d = Drv::new();
    d.seg(tuple(CLIENT + 2), 9, PA, b"<html>\r\nhello\r\n");
    assert_eq!(d.asm.tracked_flows(), 0);
    assert_eq!(d.asm.stats().tcp.unsynced_segments, 1);
}

#[test]
fn server_direction_is_ignored() {
    let c = tuple(CLIENT);
    let s = c.reversed();
    let mut d = Drv::new();
    d.syn(c, 0);
    d.seg(s, 500, TcpFlags::SYN | A, b"");
    d.seg(c, 1, PA, REQ1);
    d.seg(s, 501, PA, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    // Even a request-looking payload from the server side is ignored.
    d.seg(s, 540, PA, REQ1);
    assert_eq!(d.ev.len(), 1);
    assert_eq!(d.ev[0].flow, c);
    assert_eq!(d.asm.stats().tcp.server_side_segments, 3);

    // Midstream: response first, then the request on the reverse tuple (held as a
    // candidate until the end: the response came before the flow was known).
    let mut d = Drv::new();
    d.seg(s, 1, PA, b"HTTP/1.1 200 OK\r\n\r\n");
    d.seg(c, 1, PA, REQ1);
    d.finish();
    assert_eq!(d.ev.len(), 1);
    assert_eq!(d.ev[0].flow, c);
    assert_eq!(d.asm.stats().http.response_segments_ignored, 1);

    // Only the SYN+ACK seen: the reverse is the client, not flagged midstream.
    let mut d = Drv::new();
    d.seg(s, 500, TcpFlags::SYN | A, b"");
    d.seg(c, 1, A, b"");
    d.seg(c, 1 + 20, PA, &REQ1[20..]);
    d.seg(c, 1, PA, &REQ1[..20]);
    assert_eq!(d.heads(), vec![REQ1]);
    assert!(!d.ev[0].flags.contains(HeadFlags::MIDSTREAM_START));
}

#[test]
fn syn_corrects_a_wrong_direction_guess() {
    let c = tuple(CLIENT);
    let mut d = Drv::new();
    // The "server" side sent something request-like first (midstream guess)...
    d.seg(c.reversed(), 1, PA, REQ1);
    // ...then a real SYN from the other side: it is authoritative (the guess's head,
    // unconfirmed, comes out said uncertain).
    d.syn(c, 0);
    assert_eq!(d.ev.len(), 1);
    assert!(d.ev[0].flags.contains(HeadFlags::RESYNC_UNCERTAIN));
    d.seg(c, 1, PA, REQ2);
    assert_eq!(d.ev.len(), 2);
    assert_eq!(d.ev[1].flow, c);
    assert_eq!(d.asm.stats().tcp.direction_corrections, 1);
}

#[test]
fn proxy_v1_and_v2_preambles() {
    let v1 = b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n";
    // v2: signature, ver/cmd 0x21, fam 0x11 (TCP4), len 12, addresses and ports.
    let mut v2 = PP2_SIG.to_vec();
    v2.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
    v2.extend_from_slice(&[192, 0, 2, 1, 10, 0, 0, 2, 0xc7, 0x38, 0x00, 0x50]);
    assert_eq!(v2.len(), 28);
    for pre in [&v1[..], &v2[..]] {
        let mut s = pre.to_vec();
        s.extend_from_slice(REQ1);
        s.extend_from_slice(REQ1);
        // Split inside the preamble (and inside the v2 signature) and one byte at a time.
        for cut in [1usize, 3, 5, 7, 13, 15, pre.len() - 1, pre.len()] {
            let mut d = Drv::new();
            d.syn(tuple(CLIENT), 0);
            d.seg(tuple(CLIENT), 1, PA, &s[..cut]);
            d.seg(tuple(CLIENT), 1 + cut as u32, PA, &s[cut..]);
            assert_eq!(d.heads(), vec![REQ1, REQ1], "cut {cut}");
            for e in &d.ev {
                assert_eq!(e.proxy_preamble.as_deref(), Some(pre), "cut {cut}");
                assert!(!e.flags.contains(HeadFlags::PREAMBLE_INVALID));
            }
            assert_eq!(d.ev[0].stream_offset, pre.len() as u64);
        }
    }
    // v1 without CRLF in 107 bytes: invalid, flagged; the request after it is resynced.
    let mut s = b"PROXY ".to_vec();
    s.extend(std::iter::repeat_n(b'x', 120));
    s.extend_from_slice(b"\r\n");
    s.extend_from_slice(REQ1);
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, &s);
    d.finish();
    assert_eq!(d.heads(), vec![REQ1]);
    assert!(d.ev[0].flags.contains(HeadFlags::PREAMBLE_INVALID));
    assert!(d.ev[0].flags.contains(HeadFlags::RESYNC_UNCERTAIN));
    assert_eq!(d.ev[0].proxy_preamble.as_ref().map(Vec::len), Some(107));
    // Not at the start of the stream: a PROXY line is not a preamble; it is skipped
    // and flags the requests after it (not the one already emitted).
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let mut s = REQ1.to_vec();
    s.extend_from_slice(v1);
    s.extend_from_slice(REQ1);
    d.seg(tuple(CLIENT), 1, PA, &s);
    assert_eq!(d.heads(), vec![REQ1, REQ1]);
    assert_eq!(d.ev[0].proxy_preamble, None);
    assert!(
        !d.ev[0].flags.contains(HeadFlags::PREAMBLE_INVALID)
            && d.ev[1].flags.contains(HeadFlags::PREAMBLE_INVALID)
    );
    assert_eq!(d.asm.stats().http.not_http_flows, 0);
    assert_eq!(d.asm.stats().http.preambles_repeated, 1);
    assert_eq!(d.ev[1].stream_offset, (REQ1.len() + v1.len()) as u64);
    // A request whose generic method is PROXY stays a request.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let mut s = REQ1.to_vec();
    s.extend_from_slice(b"PROXY /x HTTP/1.1\r\n\r\n");
    d.seg(tuple(CLIENT), 1, PA, &s);
    assert_eq!(d.heads(), vec![REQ1, b"PROXY /x HTTP/1.1\r\n\r\n"]);
    assert_eq!(d.asm.stats().http.preambles_repeated, 0);
    // A stream starting with "P" of POST, split after "P": not a preamble.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, &REQ2[..1]);
    d.seg(tuple(CLIENT), 2, PA, &REQ2[1..]);
    assert_eq!(d.heads(), vec![REQ2]);
    assert_eq!(d.ev[0].packet_index, 1);
    // Empty lines split like a v2 signature prefix, then a request.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, b"\r\n\r");
    d.seg(tuple(CLIENT), 4, PA, b"\nGET / HTTP/1.1\r\n\r\n");
    assert_eq!(d.heads(), vec![&b"GET / HTTP/1.1\r\n\r\n"[..]]);
    assert_eq!(d.ev[0].stream_offset, 4);
}

#[test]
fn head_cap_emits_capped_and_resyncs() {
    let cfg = ReassemblyConfig {
        max_head_bytes: 40,
        ..ReassemblyConfig::default()
    };
    let mut s = b"GET /long HTTP/1.1\r\nCookie: ".to_vec();
    s.extend(std::iter::repeat_n(b'z', 100));
    s.extend_from_slice(b"\r\n\r\n");
    s.extend_from_slice(b"GET /2 HTTP/1.1\r\n\r\n");
    for step in [1000usize, 7] {
        let mut d = Drv::with(cfg.clone());
        d.syn(tuple(CLIENT), 0);
        for (i, c) in s.chunks(step).enumerate() {
            d.seg(tuple(CLIENT), 1 + (i * step) as u32, PA, c);
        }
        // The head after the cap is found by searching; nothing confirms it.
        d.finish();
        assert_eq!(d.ev.len(), 2, "step {step}");
        assert!(d.ev[1].flags.contains(HeadFlags::RESYNC_UNCERTAIN));
        assert_eq!(d.ev[0].head, &s[..40]);
        assert!(
            d.ev[0].flags.contains(HeadFlags::CAPPED) && d.ev[0].flags.contains(HeadFlags::PARTIAL)
        );
        assert_eq!(d.ev[1].head, b"GET /2 HTTP/1.1\r\n\r\n");
        assert_eq!(d.asm.stats().http.heads_capped, 1);
    }
}

#[test]
fn lost_segment_is_a_counted_gap() {
    let cfg = ReassemblyConfig {
        max_ooo_segments: 2,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    d.syn(tuple(CLIENT), 0);
    let r1 = REQ1.len() as u32;
    // Request 1's middle is never seen; requests 2..4 follow in their own segments.
    d.seg(tuple(CLIENT), 1, PA, &REQ1[..10]);
    d.seg(tuple(CLIENT), 21, PA, &REQ1[20..]);
    d.seg(tuple(CLIENT), 1 + r1, PA, REQ1);
    assert!(d.ev.is_empty());
    d.seg(tuple(CLIENT), 1 + 2 * r1, PA, REQ1); // third buffered -> over the cap
                                                // Partial head of request 1 at the gap; requests 2 and 3, found by searching after
                                                // it, wait for the server's side, and without one come out uncertain at the end.
    assert_eq!(d.ev.len(), 1);
    d.finish();
    assert_eq!(d.ev.len(), 3);
    assert!(d.ev[1..]
        .iter()
        .all(|e| e.flags.contains(HeadFlags::RESYNC_UNCERTAIN)));
    assert!(d.ev[0].flags.contains(HeadFlags::PARTIAL));
    assert_eq!(d.ev[0].head, &REQ1[..10]);
    assert_eq!(d.heads()[1..], [REQ1, REQ1]);
    assert!(d.ev[1].flags.contains(HeadFlags::GAP_BEFORE));
    assert!(!d.ev[2].flags.contains(HeadFlags::GAP_BEFORE));
    let st = d.asm.stats();
    assert_eq!(
        (st.tcp.gaps, st.tcp.gap_bytes, st.tcp.ooo_cap_gaps),
        (1, 10, 1)
    );
}

#[test]
fn gap_inside_a_body_keeps_framing() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    let head = b"POST / HTTP/1.1\r\nContent-Length: 3000\r\n\r\n";
    let mut s = head.to_vec();
    // A body that looks like requests at every line start.
    while s.len() < head.len() + 3000 {
        s.extend_from_slice(b"GET /fake HTTP/1.1\r\n");
    }
    s.truncate(head.len() + 3000);
    s.extend_from_slice(REQ1);
    let segs: Vec<(usize, &[u8])> = s
        .chunks(1000)
        .enumerate()
        .map(|(i, c)| (i * 1000, c))
        .collect();
    for (i, (off, c)) in segs.iter().enumerate() {
        if i != 1 {
            d.seg(tuple(CLIENT), 1 + *off as u32, PA, c);
        }
    }
    d.finish(); // the hole is salvaged at the end
    assert_eq!(d.heads(), vec![&head[..], REQ1]);
    assert!(d.ev[1].flags.contains(HeadFlags::GAP_BEFORE));
    assert_eq!(d.asm.stats().http.gaps_inside_body, 1);
    assert_eq!(d.asm.stats().http.resyncs, 0);
}

#[test]
fn fin_and_rst_end_flows_and_flush_partials() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA | TcpFlags::FIN, &REQ1[..30]);
    assert_eq!(d.ev.len(), 1);
    assert!(d.ev[0].flags.contains(HeadFlags::PARTIAL));
    assert_eq!(d.ev[0].head, &REQ1[..30]);
    // Retransmission after the FIN: absorbed by the tombstone.
    d.seg(tuple(CLIENT), 1, PA, REQ1);
    assert_eq!(d.ev.len(), 1);
    assert_eq!(d.asm.stats().tcp.flows_ended_fin, 1);
    // FIN arriving before a missing segment: waits for it.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 21, PA | TcpFlags::FIN, &REQ1[20..]);
    d.seg(tuple(CLIENT), 1, PA, &REQ1[..20]);
    assert_eq!(d.heads(), vec![REQ1]);
    assert_eq!(d.asm.stats().tcp.flows_ended_fin, 1);
    // RST: flushes immediately.
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(tuple(CLIENT), 1, PA, &REQ1[..5]);
    d.seg(tuple(CLIENT), 6, TcpFlags::RST, b"");
    assert_eq!(d.heads(), vec![&REQ1[..5]]);
    assert_eq!(d.asm.stats().tcp.flows_ended_rst, 1);
    // A new SYN (port reuse) on the closed tuple starts a new connection.
    d.syn(tuple(CLIENT), 90000);
    d.seg(tuple(CLIENT), 90001, PA, REQ1);
    assert_eq!(d.ev.len(), 2);
    assert_eq!(d.ev[1].ordinal, 1);
}

#[test]
fn idle_timeout_flushes_in_creation_order() {
    let cfg = ReassemblyConfig {
        idle_timeout_ns: 1_000_000,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    for p in [5u16, 3, 9] {
        d.seg_t(tuple(p), 0, 1, PA, b"GET /");
    }
    assert!(d.ev.is_empty());
    // Another flow, much later, triggers the sweep.
    d.seg_t(tuple(1), 10_000_000, 1, A, b"");
    let ports: Vec<u16> = d.ev.iter().map(|e| e.flow.src_port).collect();
    assert_eq!(ports, vec![5, 3, 9]);
    assert!(d
        .ev
        .iter()
        .all(|e| e.flags.contains(HeadFlags::PARTIAL) && e.head == b"GET /"));
    assert_eq!(d.asm.stats().tcp.flows_timed_out, 3);
    assert_eq!(d.asm.tracked_flows(), 0);
    assert_eq!(d.asm.held_bytes(), 0);
}

#[test]
fn flow_and_byte_caps_evict_the_oldest() {
    let cfg = ReassemblyConfig {
        max_flows: 2,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    d.seg(tuple(1), 1, PA, b"GET /1");
    d.seg(tuple(2), 1, PA, b"GET /2");
    d.seg(tuple(2), 7, PA, b"x"); // flow 2 active again
    d.seg(tuple(3), 1, PA, b"GET /3");
    assert_eq!(d.heads(), vec![&b"GET /1"[..]]);
    assert_eq!(d.asm.stats().tcp.flows_evicted_flow_cap, 1);
    assert_eq!(d.asm.tracked_flows(), 2);

    // Room for one flow's state and buffer, not two.
    let mut one = Drv::new();
    one.seg(tuple(1), 1, PA, b"GET /1");
    let cap = one.asm.held_bytes() + 10;
    let cfg = ReassemblyConfig {
        max_total_bytes: cap,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    d.seg(tuple(1), 1, PA, b"GET /1");
    assert!(d.ev.is_empty());
    d.seg(tuple(2), 1, PA, b"GET /22");
    assert_eq!(d.heads(), vec![&b"GET /1"[..]]);
    assert_eq!(d.asm.stats().tcp.flows_evicted_byte_cap, 1);
    assert!(d.asm.held_bytes() <= cap);
}

#[test]
fn sequence_numbers_wrap() {
    let mut d = Drv::new();
    let isn = u32::MAX - 10;
    d.syn(tuple(CLIENT), isn);
    let start = isn.wrapping_add(1);
    d.seg(tuple(CLIENT), start.wrapping_add(20), PA, &REQ1[20..]);
    d.seg(tuple(CLIENT), start, PA, &REQ1[..20]);
    assert_eq!(d.heads(), vec![REQ1]);
    assert_eq!(d.ev[0].seq, start);
}

#[test]
fn stats_serialize_with_stable_names() {
    let v = serde_json::to_value(ReassemblyStats::default()).unwrap();
    let o = v.as_object().unwrap();
    for k in [
        "gaps",
        "heads_capped",
        "flows_evicted_byte_cap",
        "not_http_flows",
    ] {
        assert!(o.contains_key(k), "{k}");
    }
}

// ------------------------------------------------------------------------------
// Property tests.

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    /// Chunks (data, extension) and trailer lines.
    Chunked(Vec<(Vec<u8>, String)>, Vec<String>),
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Body,
    leading_crlf: bool,
}

const FAKE: &[u8] = b"GET /fake HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..20),
            Just(FAKE.to_vec()),
            Just(b"\r\n\r\n".to_vec()),
            Just(b"0\r\n\r\n".to_vec()),
            Just(b"\nPOST / HTTP/1.1\r\n".to_vec()),
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
}

fn req() -> impl Strategy<Value = Req> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE",
    ]);
    let name = prop::sample::select(vec![
        "Host",
        "X-Forwarded-For",
        "Cookie",
        "Forwarded",
        "Accept",
        "X-Real-IP",
    ]);
    let header = (name, "[a-zA-Z0-9 .,;=/:-]{0,40}");
    let chunk = (
        body_bytes().prop_filter("non-empty chunk", |b| !b.is_empty()),
        prop::sample::select(vec!["", ";a=b", " ;x", ";q=\"v\""]).prop_map(String::from),
    );
    let trailer = prop::sample::select(vec![
        "X-Trailer: 1",
        "X-Forwarded-For: GET / HTTP/1.1",
        "Expires: never",
    ])
    .prop_map(String::from);
    let body = prop_oneof![
        Just(Body::None),
        body_bytes().prop_map(Body::Length),
        (
            prop::collection::vec(chunk, 0..4),
            prop::collection::vec(trailer, 0..3)
        )
            .prop_map(|(c, t)| Body::Chunked(c, t)),
    ];
    (
        method,
        "/[a-z0-9]{0,12}",
        prop::collection::vec(header, 0..5),
        body,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(method, path, headers, body, leading_crlf)| Req {
            method,
            path,
            headers,
            body,
            leading_crlf,
        })
}

/// Serializes the request; returns (head, whole message).
fn serialize(r: &Req) -> (Vec<u8>, Vec<u8>) {
    let mut h = format!("{} {} HTTP/1.1\r\n", r.method, r.path).into_bytes();
    for (n, v) in &r.headers {
        h.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    let mut body = Vec::new();
    match &r.body {
        Body::None => {}
        Body::Length(b) => {
            h.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
            body.extend_from_slice(b);
        }
        Body::Chunked(chunks, trailers) => {
            h.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            for (data, ext) in chunks {
                body.extend_from_slice(format!("{:x}{ext}\r\n", data.len()).as_bytes());
                body.extend_from_slice(data);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\n");
            for t in trailers {
                body.extend_from_slice(format!("{t}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
        }
    }
    h.extend_from_slice(b"\r\n");
    let mut m = if r.leading_crlf {
        b"\r\n".to_vec()
    } else {
        Vec::new()
    };
    m.extend_from_slice(&h);
    m.extend_from_slice(&body);
    (h, m)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("naive: needle")
}

/// Deliberately naive reference: the whole contiguous stream, split message by
/// message with string operations. Returns (preamble, heads with their offsets).
/// Heads with their stream offsets.
type Heads = Vec<(usize, Vec<u8>)>;

fn naive_heads(s: &[u8]) -> (Option<Vec<u8>>, Heads) {
    let mut i = 0;
    let mut pre = None;
    if s.starts_with(b"PROXY ") {
        i = find(s, b"\r\n", 0) + 2;
        pre = Some(s[..i].to_vec());
    } else if s.starts_with(PP2_SIG) {
        i = 16 + (s[14] as usize) * 256 + s[15] as usize;
        pre = Some(s[..i].to_vec());
    }
    let mut heads = Vec::new();
    loop {
        while i < s.len() && (s[i] == b'\r' || s[i] == b'\n') {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let end = find(s, b"\r\n\r\n", i) + 4;
        let text = String::from_utf8_lossy(&s[i..end]).to_string();
        heads.push((i, s[i..end].to_vec()));
        i = end;
        let mut cl = 0usize;
        let mut chunked = false;
        for line in text.split("\r\n").skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                match k.to_lowercase().as_str() {
                    "content-length" => cl = v.trim().parse().unwrap(),
                    "transfer-encoding" => chunked = v.trim().to_lowercase().ends_with("chunked"),
                    _ => {}
                }
            }
        }
        if !chunked {
            i += cl;
            continue;
        }
        loop {
            let le = find(s, b"\r\n", i);
            let line = String::from_utf8_lossy(&s[i..le]).to_string();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
            i = le + 2;
            if size > 0 {
                i += size + 2;
                continue;
            }
            loop {
                let le = find(s, b"\r\n", i);
                let empty = le == i;
                i = le + 2;
                if empty {
                    break;
                }
            }
            break;
        }
    }
    (pre, heads)
}

fn preamble() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        Just(Some(b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n".to_vec())),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|tlv| {
            let mut v = PP2_SIG.to_vec();
            v.extend_from_slice(&[0x21, 0x11]);
            v.extend_from_slice(&(tlv.len() as u16).to_be_bytes());
            v.extend_from_slice(&tlv);
            Some(v)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_segmentation_matches_naive_reference(
        pre in preamble(),
        reqs in prop::collection::vec(req(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        jitter in prop::collection::vec(0usize..4, 64),
        dups in prop::collection::vec((any::<prop::sample::Index>(), 0usize..6, any::<bool>()), 0..6),
        isn in any::<u32>(),
        noise in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut stream = pre.clone().unwrap_or_default();
        let mut expected = Vec::new();
        for r in &reqs {
            let (h, m) = serialize(r);
            let at = stream.len() + usize::from(r.leading_crlf) * 2;
            expected.push((at, h));
            stream.extend_from_slice(&m);
        }
        // The naive reference agrees with what was generated.
        let (npre, nheads) = naive_heads(&stream);
        prop_assert_eq!(&npre, &pre);
        prop_assert_eq!(&nheads, &expected);

        // Random segmentation.
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).collect();
        bounds.push(0);
        bounds.push(stream.len());
        bounds.sort_unstable();
        bounds.dedup();
        let mut segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        // Bounded reordering: sort by index + jitter.
        let mut keyed: Vec<(usize, (usize, usize))> =
            segs.iter().enumerate().map(|(i, s)| (i + jitter[i % jitter.len()], *s)).collect();
        keyed.sort_by_key(|k| k.0);
        segs = keyed.into_iter().map(|k| k.1).collect();
        // Duplicates and overlapping retransmissions (a segment merged with its successor),
        // placed a little later.
        for (idx, later, merge) in &dups {
            let i = idx.index(segs.len());
            let (a, mut b) = segs[i];
            if *merge {
                b = (b + 1 + b - a).min(stream.len());
            }
            let at = (i + 1 + later).min(segs.len());
            segs.insert(at, (a, b));
        }
        let c = tuple(CLIENT);
        let mut d = Drv::with(ReassemblyConfig { max_ooo_segments: 32, ..ReassemblyConfig::default() });
        d.syn(c, isn);
        d.seg(c.reversed(), 77, TcpFlags::SYN | A, b"");
        let start = isn.wrapping_add(1);
        for (k, (a, b)) in segs.iter().enumerate() {
            d.seg(c, start.wrapping_add(*a as u32), PA, &stream[*a..*b]);
            // Server-side noise (even request-shaped) must be ignored.
            if noise.iter().any(|n| n.index(segs.len()) == k) {
                d.seg(c.reversed(), 78, PA, FAKE);
            }
        }
        d.finish();
        let got: Vec<(usize, Vec<u8>)> =
            d.ev.iter().map(|e| (e.stream_offset as usize, e.head.clone())).collect();
        prop_assert_eq!(&got, &expected);
        for (i, e) in d.ev.iter().enumerate() {
            prop_assert_eq!(e.ordinal as usize, i + 1);
            prop_assert_eq!(&e.proxy_preamble, &pre);
            prop_assert!(!e.flags.contains(HeadFlags::PARTIAL) && !e.flags.contains(HeadFlags::GAP_BEFORE) && !e.flags.contains(HeadFlags::MIDSTREAM_START));
            prop_assert_eq!(e.seq, start.wrapping_add(e.stream_offset as u32));
        }
        let st = d.asm.stats();
        prop_assert_eq!(st.tcp.gaps + st.http.resyncs + st.http.not_http_flows + st.http.framing_errors, 0);
        // Duplicates carry the same bytes: never a conflict.
        prop_assert_eq!(st.tcp.overlap_conflicts + st.http.overlap_rewinds, 0);
        prop_assert_eq!(d.asm.held_bytes(), 0);
    }

    #[test]
    fn never_panics_and_keeps_its_bounds(
        max_head in 1usize..200,
        max_ooo_segments in 0usize..4,
        max_ooo_bytes in 0usize..300,
        max_flows in 1usize..4,
        max_total in 0usize..500,
        timeout in 1i64..5_000,
        pkts in prop::collection::vec(
            (
                0u16..4,
                any::<bool>(),
                any::<u16>(),
                prop_oneof![0u32..400, any::<u32>()],
                prop::collection::vec(
                    prop_oneof![
                        prop::collection::vec(any::<u8>(), 0..12),
                        Just(b"GET / HTTP/1.1\r\n".to_vec()),
                        Just(b"\r\n".to_vec()),
                        Just(b"Content-Length: 5\r\n".to_vec()),
                        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
                        Just(b"PROXY TCP4 ".to_vec()),
                        Just(PP2_SIG.to_vec()),
                        Just(b"3;x\r\nabc\r\n0\r\n".to_vec()),
                        Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
                        Just(b"CONNECT a:1 HTTP/1.1\r\n\r\n".to_vec()),
                    ],
                    0..5,
                ),
                -100i64..3_000,
            ),
            0..60,
        ),
    ) {
        let cfg = ReassemblyConfig {
            max_head_bytes: max_head,
            max_ooo_segments,
            max_ooo_bytes,
            max_flows,
            max_total_bytes: max_total,
            idle_timeout_ns: timeout,
            response_timeout_ns: timeout / 3,
            pair_responses: timeout % 2 == 0,
        };
        let mut asm = HeadAssembler::new(cfg);
        let mut events = Vec::new();
        let mut ts = 0i64;
        for (i, (port, rev, flags, seq, parts, dt)) in pkts.iter().enumerate() {
            ts += dt;
            let flow = if *rev { tuple(*port).reversed() } else { tuple(*port) };
            let payload = parts.concat();
            let s = SegmentMeta {
                ts_ns: ts,
                packet_index: i as u64,
                flow,
                seq: *seq,
                flags: TcpFlags(flags & 0x1ff),
                payload: &payload,
            };
            asm.push(s, &mut |e| events.push(e));
            prop_assert!(asm.held_bytes() <= max_total);
            prop_assert_eq!(asm.held_bytes(), asm.recount_held());
            prop_assert!(asm.tracked_flows() <= max_flows);
        }
        asm.finish(&mut |e| events.push(e));
        prop_assert_eq!(asm.held_bytes(), 0);
        prop_assert_eq!(asm.tracked_flows(), 0);
        for e in &events {
            prop_assert!(e.head.len() <= max_head);
            prop_assert!(!e.head.is_empty());
            prop_assert!(e.flags.contains(HeadFlags::PARTIAL) || e.head.ends_with(b"\n\n") || e.head.ends_with(b"\n\r\n"));
        }
    }
}

#[test]
fn lf_only_lines_and_resync_bookkeeping() {
    let mut d = Drv::new();
    d.syn(tuple(CLIENT), 0);
    d.seg(
        tuple(CLIENT),
        1,
        PA,
        b"GET / HTTP/1.0\nHost: a\n\nGET /2 HTTP/1.1\n\r\n",
    );
    assert_eq!(
        d.heads(),
        vec![
            &b"GET / HTTP/1.0\nHost: a\n\n"[..],
            &b"GET /2 HTTP/1.1\n\r\n"[..]
        ]
    );
    // A resync candidate line left without its LF at the end is counted, not lost.
    let cfg = ReassemblyConfig {
        max_head_bytes: 20,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    d.syn(tuple(CLIENT), 0);
    let s = b"GET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\nGET /b";
    d.seg(tuple(CLIENT), 1, PA, s);
    d.finish();
    assert_eq!(d.ev.len(), 1);
    assert!(d.ev[0].flags.contains(HeadFlags::CAPPED));
    // 20 bytes in the capped head; the rest (including "GET /b") skipped by resync.
    assert_eq!(
        d.asm.stats().http.resync_bytes_skipped,
        (s.len() - 20) as u64
    );
}

#[test]
fn segment_from_decoded_packet() {
    use crate::decode::{Fragment, IpInfo, TcpView, Transport};
    let t = tuple(CLIENT);
    let tcp = TcpView {
        src_port: t.src_port,
        dst_port: t.dst_port,
        seq: 4242,
        ack: 0,
        flags: TcpFlags(PA),
        window: 0,
        urgent_ptr: 0,
        reserved: 0,
        header_len: 20,
        options: b"",
        payload: REQ1,
        payload_len_on_wire: REQ1.len() as u32,
    };
    let pkt = Packet {
        ts_ns: 99,
        link_type: 1,
        ip: IpInfo {
            version: 4,
            src: t.src_ip,
            dst: t.dst_ip,
            ttl: 64,
            df: true,
            ip_id: None,
            ecn: 0,
            reserved_bit: false,
            flow_label: 0,
            options_len: 0,
            header_len: 20,
            total_len: 40 + REQ1.len() as u32,
            proto: IpProto::TCP,
            fragment: Fragment::None,
        },
        transport: Transport::Tcp(tcp),
        truncated: false,
    };
    let s = SegmentMeta::from_packet(&pkt, 7).unwrap();
    assert_eq!((s.ts_ns, s.packet_index, s.seq, s.flow), (99, 7, 4242, t));
    assert_eq!(s.payload, REQ1);
    let other = Packet {
        transport: Transport::Other,
        ..pkt
    };
    assert!(SegmentMeta::from_packet(&other, 8).is_none());
}

/// Heads waiting for corroboration are capped per flow (8 heads, and the head cap in
/// bytes): past it the oldest come out said uncertain, counted, before the flow ends.
#[test]
fn heads_held_for_corroboration_are_capped() {
    let mut d = Drv::new();
    let f = tuple(CLIENT);
    let mut seq = 9;
    for _ in 0..10 {
        d.seg(f, seq, PA, REQ1);
        seq += REQ1.len() as u32;
    }
    // Ten heads found after a midstream start, no server side: two let go over the cap.
    assert_eq!(d.ev.len(), 2);
    assert!(d
        .ev
        .iter()
        .all(|e| e.flags.contains(HeadFlags::RESYNC_UNCERTAIN)));
    assert_eq!(d.asm.stats().http.resync_pending_capped, 2);
    assert_eq!(d.asm.recount_held(), d.asm.held_bytes());
    d.finish();
    assert_eq!(d.ev.len(), 10);
    assert_eq!(
        d.ev.iter().map(|e| e.ordinal).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    // In bytes: heads of 40 bytes under a 100-byte cap: each third one lets the oldest go.
    let cfg = ReassemblyConfig {
        max_head_bytes: 100,
        ..ReassemblyConfig::default()
    };
    let mut d = Drv::with(cfg);
    let h: &[u8] = b"GET /0123456789012 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(h.len(), 40);
    let mut seq = 9;
    for _ in 0..4 {
        d.seg(f, seq, PA, h);
        seq += h.len() as u32;
    }
    assert_eq!(d.ev.len(), 2);
    assert_eq!(d.asm.stats().http.resync_pending_capped, 2);
}
