//! Pairing: requests and responses as segments in, head events with their responses out.

use crate::decode::{FiveTuple, IpProto, TcpFlags};
use crate::http1::response::{BodyFraming, ResponseMissing};
use crate::http1::{HeadAssembler, HeadEvent, ReassemblyConfig, SegmentMeta};
use std::net::{IpAddr, Ipv4Addr};

const PA: u16 = TcpFlags::ACK | TcpFlags::PSH;
const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

fn client() -> FiveTuple {
    FiveTuple {
        src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        src_port: 40000,
        dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        dst_port: 80,
        proto: IpProto::TCP,
    }
}

/// One connection: the client's and the server's next sequence numbers, 1 ms a packet.
struct Conn {
    asm: HeadAssembler,
    idx: u64,
    c_seq: u32,
    s_seq: u32,
    ev: Vec<HeadEvent>,
}

impl Conn {
    fn open() -> Conn {
        Conn::with(ReassemblyConfig::default())
    }
    fn with(cfg: ReassemblyConfig) -> Conn {
        let mut c = Conn {
            asm: HeadAssembler::new(ReassemblyConfig {
                pair_responses: true,
                ..cfg
            }),
            idx: 0,
            c_seq: C_ISN + 1,
            s_seq: S_ISN + 1,
            ev: Vec::new(),
        };
        c.push(client(), C_ISN, TcpFlags::SYN, b"");
        c.push(
            client().reversed(),
            S_ISN,
            TcpFlags::SYN | TcpFlags::ACK,
            b"",
        );
        c
    }
    fn push(&mut self, flow: FiveTuple, seq: u32, flags: u16, payload: &[u8]) {
        let s = SegmentMeta {
            ts_ns: 1_000_000 * self.idx as i64,
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
    fn req(&mut self, b: &[u8]) {
        self.push(client(), self.c_seq, PA, b);
        self.c_seq = self.c_seq.wrapping_add(b.len() as u32);
    }
    fn resp_flags(&mut self, b: &[u8], flags: u16) {
        self.push(client().reversed(), self.s_seq, flags, b);
        self.s_seq = self.s_seq.wrapping_add(b.len() as u32);
    }
    fn resp(&mut self, b: &[u8]) {
        self.resp_flags(b, PA);
    }
    /// The server's bytes skip `n` (lost from the capture).
    fn lose(&mut self, n: u32) {
        self.s_seq = self.s_seq.wrapping_add(n);
    }
    fn finish(&mut self) {
        let ev = &mut self.ev;
        self.asm.finish(&mut |e| ev.push(e));
    }
    fn statuses(&self) -> Vec<Option<u16>> {
        self.ev.iter().map(|e| e.response.status).collect()
    }
    fn missing(&self) -> Vec<Option<ResponseMissing>> {
        self.ev.iter().map(|e| e.response.missing).collect()
    }
}

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const OK5: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn a_request_leaves_with_its_complete_response() {
    let mut c = Conn::open();
    c.req(GET);
    assert!(c.ev.is_empty(), "held until its response");
    assert!(
        c.asm.oldest_pending_ts().is_some(),
        "and it holds the release bound"
    );
    c.resp(OK5);
    assert_eq!(c.ev.len(), 1);
    let r = &c.ev[0].response;
    assert_eq!(r.status, Some(200));
    assert_eq!(r.head_bytes, Some(64));
    assert_eq!(r.body_bytes, Some(5));
    assert_eq!(r.framing, Some(BodyFraming::ContentLength));
    assert_eq!(r.content_type.as_deref(), Some(&b"text/plain"[..]));
    // Request at packet 2 (2 ms), response at packet 3 (3 ms).
    assert_eq!(r.first_byte_ts, Some(3_000_000));
    assert!(!r.closed_after);
    assert_eq!(r.missing, None);
    assert_eq!(c.asm.oldest_pending_ts(), None);
    assert_eq!(c.asm.stats().http.responses_complete, 1);
}

#[test]
fn a_response_split_at_every_byte() {
    let mut c = Conn::open();
    c.req(GET);
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
    for b in chunked.iter() {
        c.resp(std::slice::from_ref(b));
    }
    c.req(GET);
    c.resp(OK5);
    assert_eq!(c.statuses(), [Some(200), Some(200)]);
    assert_eq!(c.ev[0].response.framing, Some(BodyFraming::Chunked));
    assert_eq!(
        c.ev[0].response.body_bytes,
        Some(3),
        "the chunks' data only"
    );
    assert_eq!(c.ev[1].response.body_bytes, Some(5));
    assert_eq!(c.missing(), [None, None]);
}

#[test]
fn pipelined_responses_pair_in_request_order() {
    let mut c = Conn::open();
    let mut reqs = Vec::new();
    reqs.extend_from_slice(GET);
    reqs.extend_from_slice(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n");
    reqs.extend_from_slice(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    reqs.extend_from_slice(b"GET /n HTTP/1.1\r\nHost: h\r\n\r\n");
    c.req(&reqs);
    let mut resps = Vec::new();
    // The HEAD's Content-Length announces a body that is not sent.
    resps.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
    resps.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n");
    resps.extend_from_slice(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n",
    );
    resps.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
    c.resp(&resps);
    assert_eq!(c.statuses(), [Some(404), Some(200), Some(200), Some(304)]);
    let framing: Vec<_> = c.ev.iter().map(|e| e.response.framing).collect();
    assert_eq!(
        framing,
        [
            Some(BodyFraming::ContentLength),
            Some(BodyFraming::None),
            Some(BodyFraming::Chunked),
            Some(BodyFraming::None)
        ]
    );
    let bodies: Vec<_> = c.ev.iter().map(|e| e.response.body_bytes).collect();
    assert_eq!(bodies, [Some(2), Some(0), Some(5), Some(0)]);
    assert_eq!(c.missing(), [None; 4]);
}

#[test]
fn interim_responses_are_skipped_and_counted() {
    let mut c = Conn::open();
    c.req(b"POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    c.resp(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(c.ev.is_empty());
    c.req(b"ok");
    c.resp(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.statuses(), [Some(201)]);
    assert_eq!(c.ev[0].response.interim, 1);
    // The final response's first byte, not the 100's.
    assert_eq!(c.ev[0].response.first_byte_ts, Some(5_000_000));
    assert_eq!(c.asm.stats().http.responses_interim, 1);
}

#[test]
fn a_close_delimited_body_ends_with_the_servers_fin() {
    let mut c = Conn::open();
    c.req(GET);
    c.resp(b"HTTP/1.0 200 OK\r\n\r\nsome");
    c.resp(b" body");
    assert!(c.ev.is_empty(), "the body runs to the close");
    c.resp_flags(b"", TcpFlags::ACK | TcpFlags::FIN);
    assert_eq!(c.statuses(), [Some(200)]);
    let r = &c.ev[0].response;
    assert_eq!(r.framing, Some(BodyFraming::Close));
    assert_eq!(r.body_bytes, Some(9));
    assert!(r.closed_after);
    assert_eq!(r.missing, None);
}

#[test]
fn closed_after_a_close_header_or_a_fin_with_the_last_bytes() {
    let mut c = Conn::open();
    c.req(GET);
    c.resp(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(c.ev[0].response.closed_after);
    let mut c = Conn::open();
    c.req(GET);
    c.resp_flags(OK5, PA | TcpFlags::FIN);
    assert!(c.ev[0].response.closed_after);
    assert_eq!(c.ev[0].response.missing, None);
}

#[test]
fn no_response_says_why() {
    // The capture ends.
    let mut c = Conn::open();
    c.req(GET);
    c.finish();
    assert_eq!(c.missing(), [Some(ResponseMissing::CaptureEnd)]);
    assert_eq!(c.statuses(), [None]);
    // The server resets, in the middle of a body: the status stays.
    let mut c = Conn::open();
    c.req(GET);
    c.resp(b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nabc");
    c.resp_flags(b"", TcpFlags::RST);
    assert_eq!(c.statuses(), [Some(500)]);
    assert_eq!(c.ev[0].response.body_bytes, Some(3));
    assert_eq!(c.missing(), [Some(ResponseMissing::Reset)]);
    // The server closes first; a request after that leaves at once.
    let mut c = Conn::open();
    c.req(GET);
    c.resp_flags(b"", TcpFlags::ACK | TcpFlags::FIN);
    c.req(GET);
    assert_eq!(c.missing(), [Some(ResponseMissing::Closed); 2]);
}

#[test]
fn a_request_left_unanswered_times_out_by_the_run_clock() {
    let cfg = ReassemblyConfig {
        response_timeout_ns: 4_000_000,
        ..ReassemblyConfig::default()
    };
    let mut c = Conn::with(cfg);
    c.req(GET);
    // Another connection's packets move the clock: 1 ms each.
    let other = FiveTuple {
        src_port: 40001,
        ..client()
    };
    c.push(other, 1, TcpFlags::SYN, b"");
    for _ in 0..8 {
        c.push(other, 2, TcpFlags::ACK, b"");
    }
    assert_eq!(c.missing(), [Some(ResponseMissing::Timeout)]);
    assert_eq!(c.asm.stats().http.responses_timed_out, 1);
    // Its response, late, has nobody to answer.
    c.resp(OK5);
    assert_eq!(c.ev.len(), 1);
    assert_eq!(c.asm.stats().http.responses_unmatched, 1);
}

#[test]
fn a_response_without_a_request_is_counted() {
    let mut c = Conn::open();
    c.resp(OK5);
    c.req(GET);
    c.resp(OK5);
    assert_eq!(c.statuses(), [Some(200)]);
    assert_eq!(c.asm.stats().http.responses_unmatched, 1);
}

#[test]
fn a_gap_inside_a_body_of_known_length_keeps_the_pairing() {
    // One segment waits for a hole at most: the next declares it a gap.
    let mut c = Conn::with(ReassemblyConfig {
        max_ooo_segments: 1,
        ..ReassemblyConfig::default()
    });
    c.req(GET);
    c.req(GET);
    c.resp(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
    c.lose(4);
    c.resp(b"cdef");
    c.resp(OK5);
    assert_eq!(c.statuses(), [Some(200), Some(200)]);
    assert_eq!(c.missing(), [Some(ResponseMissing::Gap), None]);
}

#[test]
fn a_gap_elsewhere_ends_the_pairing() {
    let mut c = Conn::with(ReassemblyConfig {
        max_ooo_segments: 1,
        ..ReassemblyConfig::default()
    });
    c.req(GET);
    c.req(GET);
    c.resp(b"HTTP/1.1 200 OK\r\nContent-");
    c.lose(30);
    c.resp(OK5);
    c.resp(OK5);
    c.req(GET);
    assert_eq!(c.missing(), [Some(ResponseMissing::Gap); 3]);
}

#[test]
fn hostile_server_bytes_end_the_pairing() {
    for bytes in [
        &b"SSH-2.0-OpenSSH\r\n"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
    ] {
        let mut c = Conn::open();
        c.req(GET);
        c.req(GET);
        c.resp(bytes);
        assert_eq!(
            c.missing(),
            [Some(ResponseMissing::Unparsed); 2],
            "{bytes:?}"
        );
    }
    // A head that never ends is cut at the head cap.
    let cfg = ReassemblyConfig {
        max_head_bytes: 64,
        ..ReassemblyConfig::default()
    };
    let mut c = Conn::with(cfg);
    c.req(GET);
    c.resp(b"HTTP/1.1 200 OK\r\n");
    for _ in 0..10 {
        c.resp(b"X-Filler: aaaaaaaaaaaa\r\n");
    }
    assert_eq!(c.missing(), [Some(ResponseMissing::Unparsed)]);
}

#[test]
fn too_many_waiting_requests_let_the_oldest_go() {
    let mut c = Conn::open();
    for _ in 0..=super::MAX_AWAITING {
        c.req(GET);
    }
    assert_eq!(c.missing(), [Some(ResponseMissing::Cap)]);
    c.resp(OK5);
    // The first response now answers the second request, as the server's order says.
    assert_eq!(c.ev.len(), 2);
    assert_eq!(c.ev[1].ordinal, 2);
    assert_eq!(c.asm.stats().http.responses_awaiting_capped, 1);
}

#[test]
fn a_tunnel_ends_the_pairing() {
    let mut c = Conn::open();
    c.req(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    c.resp(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01");
    assert_eq!(c.statuses(), [Some(200)]);
    assert_eq!(c.ev[0].response.framing, Some(BodyFraming::None));
    assert_eq!(c.missing(), [None]);
}

#[test]
fn out_of_order_server_segments_are_repaired() {
    let mut c = Conn::open();
    c.req(GET);
    let start = c.s_seq;
    let (a, b) = OK5.split_at(20);
    c.push(client().reversed(), start + 20, PA, b);
    assert!(c.ev.is_empty());
    c.push(client().reversed(), start, PA, a);
    assert_eq!(c.statuses(), [Some(200)]);
    assert_eq!(c.missing(), [None]);
}
