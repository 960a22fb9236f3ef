//! Per-connection accounting as a protocol over the TCP tracker ([`crate::tcp::tracker`]):
//! the same flow table, client-side rules, caps and reassembly as `requests`, with a
//! different state per connection. Both directions are counted (the server side through
//! [`Protocol::reverse`]); the client stream is reassembled and its first bytes
//! (at most [`MAX_FIRST_BYTES`]) are kept until they say what the connection carries:
//! a PROXY preamble, then HTTP/1, TLS (with the ClientHello read), SSH or something else.
//! The buffer is freed as soon as that is decided; later bytes are only counted.

use super::row::{ConnFlags, FirstProtocol};
use crate::decode::FiveTuple;
use crate::http1::preamble::{check_preamble, PreambleCheck};
use crate::proxy_protocol::{parse_proxy, ProxyHeader};
use crate::tcp::flow_table::heap_block;
use crate::tcp::segment::{SegPos, SegmentMeta};
use crate::tcp::seq::Seq;
use crate::tcp::stats::TcpStats;
use crate::tcp::stream::{Note, StreamApp, StreamAt, StreamCtx};
use crate::tcp::tracker::{Connection, FirstPayload, Open, Protocol};
use crate::tls::{looks_like_tls, parse_client_hello, ClientHello, HelloError};
use serde::Serialize;

/// First client bytes kept per connection to decide its protocol (PROXY preamble
/// included): one TLS record, the cap of the ClientHello parser.
pub const MAX_FIRST_BYTES: usize = crate::tls::MAX_CLIENT_HELLO_BYTES;

/// Longest method token looked for at the start of an HTTP/1 request line.
const MAX_METHOD: usize = 20;

/// What the first-bytes reading decided, over the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirstBytesStats {
    /// ClientHellos read completely.
    pub client_hellos: u64,
    /// ClientHellos that break the format.
    pub client_hello_malformed: u64,
    /// ClientHellos cut by a hole or the connection's end.
    pub client_hello_incomplete: u64,
    /// First bytes that did not decide within [`MAX_FIRST_BYTES`].
    pub first_bytes_capped: u64,
    /// First bytes cut by a capture hole before they decided.
    pub first_bytes_gap: u64,
    /// PROXY preambles that do not parse.
    pub preambles_unparsed: u64,
    /// First payloads on unknown flows that start `HTTP/` (a server's side: no state).
    pub response_segments_ignored: u64,
}

/// One connection's accounting, kept in the flow table.
#[derive(Default)]
pub(crate) struct ConnState {
    pub(crate) first_ts: i64,
    pub(crate) first_packet: u64,
    pub(crate) last_ts: i64,
    pub(crate) client_packets: u64,
    pub(crate) client_bytes: u64,
    pub(crate) server_packets: u64,
    pub(crate) server_bytes: u64,
    pub(crate) fin: bool,
    pub(crate) rst: bool,
    /// Time of the first FIN or RST seen (either side), in capture order.
    pub(crate) end_ts: Option<i64>,
    pub(crate) flags: ConnFlags,
    pub(crate) http_requests: u32,
    pub(crate) proxy: Option<Box<ProxyHeader>>,
    pub(crate) protocol: Option<FirstProtocol>,
    pub(crate) hello: Option<Box<ClientHello>>,
    /// First client bytes, until the protocol is decided.
    buf: Vec<u8>,
    /// Where the payload starts in `buf`, once any PROXY preamble is settled.
    payload_at: Option<usize>,
}

impl ConnState {
    fn decided(&self) -> bool {
        self.protocol.is_some()
    }

    fn see(&mut self, seg: &SegmentMeta<'_>) {
        self.last_ts = self.last_ts.max(seg.ts_ns);
        self.fin |= seg.flags.fin();
        self.rst |= seg.flags.rst();
        if self.end_ts.is_none() && (seg.flags.fin() || seg.flags.rst()) {
            self.end_ts = Some(seg.ts_ns);
        }
    }

    /// Decides what the first bytes are, if they can tell yet (`last`: no more will come).
    fn decide(&mut self, last: bool, stats: &mut FirstBytesStats) {
        if self.decided() {
            return;
        }
        let full = self.buf.len() >= MAX_FIRST_BYTES;
        let start = match self.payload_at {
            Some(k) => k,
            None => match check_preamble(&self.buf) {
                PreambleCheck::NotPreamble => 0,
                PreambleCheck::NeedMore if !last && !full => return,
                PreambleCheck::NeedMore => {
                    self.flags.set(ConnFlags::PREAMBLE_INVALID);
                    stats.preambles_unparsed += 1;
                    return self.settle(FirstProtocol::None, full, stats);
                }
                PreambleCheck::Complete(n, bad) => {
                    match parse_proxy(&self.buf[..n]) {
                        Ok(h) if !bad => self.proxy = Some(Box::new(h)),
                        _ => {
                            self.flags.set(ConnFlags::PREAMBLE_INVALID);
                            stats.preambles_unparsed += 1;
                        }
                    }
                    n
                }
            },
        };
        self.payload_at = Some(start);
        let p = self.buf.get(start..).unwrap_or_default();
        let wait = !last && !full;
        if p.is_empty() {
            if !wait {
                self.settle(FirstProtocol::None, false, stats);
            }
            return;
        }
        if looks_like_tls(p) {
            match parse_client_hello(p) {
                Ok(h) => {
                    stats.client_hellos += 1;
                    self.hello = Some(Box::new(h));
                }
                Err(HelloError::Truncated) if wait => return,
                Err(HelloError::Truncated | HelloError::NotTls) => {
                    stats.client_hello_incomplete += 1;
                    self.flags.set(ConnFlags::CLIENT_HELLO_INCOMPLETE);
                }
                Err(HelloError::TooLarge) => {
                    stats.client_hello_incomplete += 1;
                    self.flags.set(ConnFlags::CLIENT_HELLO_INCOMPLETE);
                    return self.settle(FirstProtocol::Tls, true, stats);
                }
                Err(HelloError::Malformed(_)) => {
                    stats.client_hello_malformed += 1;
                    self.flags.set(ConnFlags::CLIENT_HELLO_MALFORMED);
                }
            }
            return self.settle(FirstProtocol::Tls, full, stats);
        }
        if p.len() < 4 && b"SSH-".starts_with(p) && wait {
            return;
        }
        if p.starts_with(b"SSH-") {
            return self.settle(FirstProtocol::Ssh, false, stats);
        }
        let method = p.iter().take_while(|c| c.is_ascii_uppercase()).count();
        if method == p.len() && method <= MAX_METHOD && wait {
            return;
        }
        let http = (1..=MAX_METHOD).contains(&method) && p.get(method) == Some(&b' ');
        let proto = if http {
            FirstProtocol::Http1
        } else {
            FirstProtocol::Other
        };
        self.settle(proto, false, stats);
    }

    /// The protocol is known: the buffer goes.
    fn settle(&mut self, proto: FirstProtocol, capped: bool, stats: &mut FirstBytesStats) {
        if capped {
            self.flags.set(ConnFlags::FIRST_BYTES_CAPPED);
            stats.first_bytes_capped += 1;
        }
        self.protocol = Some(proto);
        self.buf = Vec::new();
    }

    /// Heap bytes held (allocated capacities), for the tracker's byte cap.
    fn held(&self) -> usize {
        let proxy = self.proxy.as_ref().map_or(0, |p| {
            heap_block(size_of::<ProxyHeader>()) + heap_block(p.header_len)
        });
        let hello = self.hello.as_ref().map_or(0, |h| {
            heap_block(size_of::<ClientHello>())
                + h.sni.as_ref().map_or(0, |s| heap_block(s.capacity()))
                + heap_block(h.alpn.capacity() * size_of::<Vec<u8>>())
                + h.alpn
                    .iter()
                    .map(|a| heap_block(a.capacity()))
                    .sum::<usize>()
        });
        heap_block(self.buf.capacity()) + proxy + hello
    }
}

/// The client stream's bytes, as seen by the first-bytes reading.
struct FirstBytes<'a> {
    state: &'a mut ConnState,
    stats: &'a mut FirstBytesStats,
}

impl StreamApp for FirstBytes<'_> {
    fn is_dead(&self) -> bool {
        // Never: the stream must keep its place to see the FIN; decided bytes are only
        // counted.
        false
    }

    fn take(&mut self, d: &[u8], _at: StreamAt, _from: SegPos) -> usize {
        if !self.state.decided() {
            let room = MAX_FIRST_BYTES.saturating_sub(self.state.buf.len());
            let n = room.min(d.len());
            self.state.buf.extend_from_slice(&d[..n]);
            self.state.decide(false, self.stats);
        }
        d.len()
    }

    fn gap(&mut self, _n: u32) {
        if !self.state.decided() {
            self.state.flags.set(ConnFlags::FIRST_BYTES_GAP);
            self.stats.first_bytes_gap += 1;
            self.state.decide(true, self.stats);
        }
    }

    fn note(&mut self, what: Note) {
        if what == Note::OverlapConflict {
            self.state.flags.set(ConnFlags::OVERLAP_CONFLICT);
        }
    }

    fn rewind(
        &mut self,
        _seq: Seq,
        _new: &[u8],
        _dead: bool,
        _stats: &mut TcpStats,
    ) -> Option<StreamAt> {
        None
    }

    fn forget_rewind_point(&mut self) {}
}

/// The accounting protocol for one call into the tracker.
pub(crate) struct ConnProtocol<'a> {
    /// The segment being pushed (a new connection's first packet).
    pub(crate) at: SegPos,
    pub(crate) stats: &'a mut FirstBytesStats,
    /// Connections closed during the call, in the order they closed.
    pub(crate) closed: &'a mut Vec<(FiveTuple, ConnState)>,
}

impl Protocol for ConnProtocol<'_> {
    type Conn = ConnState;

    fn open(&mut self, how: Open) -> ConnState {
        let mut s = ConnState {
            first_ts: self.at.ts_ns,
            first_packet: self.at.packet_index,
            last_ts: self.at.ts_ns,
            ..ConnState::default()
        };
        match how {
            // The SYN itself is not delivered (it carries no stream byte).
            Open::Syn => s.client_packets = 1,
            Open::SynAck => {}
            Open::Midstream { .. } => s.flags.set(ConnFlags::MIDSTREAM_START),
        }
        s
    }

    fn first_payload(&mut self, payload: &[u8]) -> FirstPayload {
        // Without a handshake the first payload's sender is the client (flagged), except
        // for an HTTP response: its client will speak next.
        if payload.starts_with(b"HTTP/") {
            self.stats.response_segments_ignored += 1;
            FirstPayload::ServerSide
        } else {
            FirstPayload::StartsAt(0)
        }
    }

    fn deliver(
        &mut self,
        _flow: FiveTuple,
        conn: &mut Connection<ConnState>,
        seg: &SegmentMeta<'_>,
        ctx: &mut StreamCtx<'_>,
    ) {
        let s = &mut conn.app;
        s.client_packets += 1;
        s.client_bytes += seg.payload.len() as u64;
        s.see(seg);
        let mut app = FirstBytes {
            state: s,
            stats: &mut *self.stats,
        };
        conn.stream
            .receive(Seq(seg.seq), seg.payload, seg.pos(), &mut app, ctx);
    }

    fn reverse(
        &mut self,
        _flow: FiveTuple,
        conn: &mut Connection<ConnState>,
        seg: &SegmentMeta<'_>,
    ) {
        let s = &mut conn.app;
        s.server_packets += 1;
        s.server_bytes += seg.payload.len() as u64;
        s.see(seg);
    }

    fn close(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<ConnState>,
        ctx: &mut StreamCtx<'_>,
    ) {
        let mut app = FirstBytes {
            state: &mut conn.app,
            stats: &mut *self.stats,
        };
        // Salvage what waited behind a hole (counted as a gap by the stream).
        conn.stream.close(&mut app, ctx);
        conn.app.decide(true, self.stats);
        self.closed.push((flow, std::mem::take(&mut conn.app)));
    }

    fn heap_bytes(conn: &ConnState) -> usize {
        conn.held()
    }

    fn is_dead(_conn: &ConnState) -> bool {
        false
    }

    fn can_forget(_conn: &ConnState) -> bool {
        false
    }
}
