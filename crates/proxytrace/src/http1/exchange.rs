//! Each request head paired with its response, on one followed connection.
//!
//! HTTP/1 answers requests in order (pipelining included), so the heads the conversation
//! completes wait here, oldest first, and the server's responses are matched to them one
//! by one. The server's bytes come through [`crate::tcp::tracker::Protocol::reverse`] into a
//! [`Stream`] of their own (the same reassembly as the client's: reordering repaired and
//! retransmissions dropped under the same out-of-order caps). A response head gives the
//! status, content type and body framing (RFC 9112 section 6.3: the request's method
//! matters for HEAD and CONNECT); the body is skipped by its framing (chunk sizes
//! followed, trailers capped, as for requests) to find where the next response starts.
//! Interim 1xx responses are skipped and counted.
//!
//! A head leaves (to the caller's `out`) when its response is complete, or without one,
//! with the reason ([`ResponseMissing`]): the connection ended, the server's bytes were
//! cut by a gap or are no response, more than [`MAX_AWAITING`] heads waited, or the
//! response timeout passed (`ReassemblyConfig::response_timeout_ns`, run clock). A gap
//! inside a body of known length keeps the pairing (that response says `gap`); any other
//! gap, unparsable bytes or a tunnel end the pairing on the connection, and later heads
//! leave at once with that reason. Bounds: the waiting heads count in the reassembly's
//! byte cap (as the connection's state), the server stream in its out-of-order caps.
//!
//! Known limits: `closed_after` is decided when the response completes (a FIN or RST
//! that comes in a later segment is not waited for); a capture that starts midstream
//! pairs the first response seen with the first head seen; a response the server sends
//! before the request head is complete on the client side (seen earlier in the capture)
//! is counted unmatched.

use super::event::HeadEvent;
use super::framing::{Chunk, ChunkNext, CHUNK_SIZE_START};
use super::response::{head_end, parse_response_head, Body, ResponseMissing};
use super::stats::Http1Stats;
use crate::tcp::assembler::OooLimits;
use crate::tcp::flow_table::heap_block;
use crate::tcp::segment::{SegPos, SegmentMeta};
use crate::tcp::seq::Seq;
use crate::tcp::stats::TcpStats;
use crate::tcp::stream::{Note, Stream, StreamApp, StreamAt, StreamCtx};
use std::collections::VecDeque;

/// Request heads that wait for their responses on one connection at most; beyond it the
/// oldest leaves without one (`cap`, counted `responses_awaiting_capped`).
pub const MAX_AWAITING: usize = 32;

/// What pairing needs from the assembler while it runs.
pub(crate) struct PairCtx<'c> {
    pub(crate) stats: &'c mut Http1Stats,
    pub(crate) out: &'c mut dyn FnMut(HeadEvent),
    /// Longest response head followed.
    pub(crate) max_head_bytes: usize,
    pub(crate) ooo: OooLimits,
}

/// Where the server's stream is.
enum Parse {
    /// At a response start (`buf` empty) or inside a head.
    Head {
        buf: Vec<u8>,
        first_ts: i64,
    },
    /// Body bytes left.
    Body(u64),
    Chunked(Chunk),
    /// The body runs to the server's close.
    UntilClose,
    /// Not followed any more (pairing ended).
    Off,
}

/// The server's side of a connection.
struct ServerSide {
    stream: Stream,
    parse: Parse,
    /// The response being read answers the first waiting head.
    attached: bool,
    /// A gap fell inside that response's body.
    gap_in_body: bool,
}

/// The pairing state of one connection.
#[derive(Default)]
pub(crate) struct Exchanges {
    awaiting: VecDeque<HeadEvent>,
    server: Option<Box<ServerSide>>,
    /// Pairing ended: heads leave at once with this reason.
    ended: Option<ResponseMissing>,
}

impl Exchanges {
    /// Heap bytes held: the waiting heads and the server side's buffers.
    pub(crate) fn held(&self) -> usize {
        let heads = if self.awaiting.capacity() == 0 {
            0
        } else {
            heap_block(self.awaiting.capacity() * size_of::<HeadEvent>())
                + self
                    .awaiting
                    .iter()
                    .map(|e| heap_block(e.head.capacity()) + e.preamble_capacity())
                    .sum::<usize>()
        };
        let server = self.server.as_ref().map_or(0, |s| {
            let buf = match &s.parse {
                Parse::Head { buf, .. } => heap_block(buf.capacity()),
                _ => 0,
            };
            heap_block(size_of::<ServerSide>()) + s.stream.held() + buf
        });
        heads + server
    }

    /// Nothing waits.
    pub(crate) fn is_idle(&self) -> bool {
        self.awaiting.is_empty()
    }

    /// First-byte time of the oldest waiting head.
    pub(crate) fn oldest_ts(&self) -> Option<i64> {
        self.awaiting.iter().map(|e| e.ts_ns).min()
    }

    /// A head the conversation completed: it waits for its response.
    pub(crate) fn request(&mut self, ev: HeadEvent, ctx: &mut PairCtx<'_>) {
        if let Some(why) = self.ended {
            emit(ev, Some(why), ctx);
            return;
        }
        self.awaiting.push_back(ev);
        if self.awaiting.len() > MAX_AWAITING {
            ctx.stats.responses_awaiting_capped += 1;
            self.let_go_oldest(ResponseMissing::Cap, ctx);
        }
    }

    /// The oldest waiting head leaves without a (complete) response.
    fn let_go_oldest(&mut self, why: ResponseMissing, ctx: &mut PairCtx<'_>) {
        if let Some(s) = &mut self.server {
            // Its response, if being read, is still skipped; nobody owns it now.
            s.attached = false;
        }
        if let Some(ev) = self.awaiting.pop_front() {
            emit(ev, Some(why), ctx);
        }
    }

    /// Heads that waited longer than `timeout_ns` by `now_ns` leave without a response.
    pub(crate) fn expire(&mut self, now_ns: i64, timeout_ns: i64, ctx: &mut PairCtx<'_>) {
        while self
            .awaiting
            .front()
            .is_some_and(|e| now_ns.saturating_sub(e.ts_ns) > timeout_ns)
        {
            ctx.stats.responses_timed_out += 1;
            self.let_go_oldest(ResponseMissing::Timeout, ctx);
        }
    }

    /// Every waiting head leaves now with `why`; pairing goes on (a live input paused).
    pub(crate) fn let_go_all(&mut self, why: ResponseMissing, ctx: &mut PairCtx<'_>) {
        while !self.awaiting.is_empty() {
            self.let_go_oldest(why, ctx);
        }
    }

    /// The connection ends (or pairing on it does): every waiting head leaves with `why`,
    /// and heads completed later too.
    pub(crate) fn end(&mut self, why: ResponseMissing, ctx: &mut PairCtx<'_>) {
        if self.ended.is_some() {
            return;
        }
        let attached = self.server.as_ref().is_some_and(|s| s.attached);
        if attached {
            if let Some(ev) = self.awaiting.front_mut() {
                // The server stopped after (or inside) this response.
                ev.response.closed_after = true;
            }
        }
        self.let_go_all(why, ctx);
        self.ended = Some(why);
        if let Some(s) = &mut self.server {
            s.parse = Parse::Off;
        }
    }

    /// A segment on the server's side (SYN+ACK and empty segments included).
    pub(crate) fn server(&mut self, seg: &SegmentMeta<'_>, ctx: &mut PairCtx<'_>) {
        if self.ended.is_some() {
            return;
        }
        let rst = seg.flags.rst();
        if self.server.is_none() {
            let start = if seg.flags.syn() {
                Some(seg.seq.wrapping_add(1))
            } else if seg.payload.starts_with(b"HTTP/1.") {
                // Joined midstream: follow from the first response start seen.
                Some(seg.seq)
            } else {
                None
            };
            match start {
                Some(at) => {
                    self.server = Some(Box::new(ServerSide {
                        stream: Stream::new(at, true, None),
                        parse: Parse::Head {
                            buf: Vec::new(),
                            first_ts: 0,
                        },
                        attached: false,
                        gap_in_body: false,
                    }));
                }
                None => {
                    if rst || seg.flags.fin() {
                        let why = if rst {
                            ResponseMissing::Reset
                        } else {
                            ResponseMissing::Closed
                        };
                        self.end(why, ctx);
                    }
                    return;
                }
            }
        }
        if seg.flags.syn() {
            return;
        }
        let Some(side) = self.server.as_deref_mut() else {
            return;
        };
        let mut last = None;
        let mut tcp = TcpStats::default();
        let ooo = ctx.ooo;
        let mut sctx = StreamCtx {
            stats: &mut tcp,
            limits: &ooo,
        };
        let mut app = ServerApp {
            parse: &mut side.parse,
            attached: &mut side.attached,
            gap_in_body: &mut side.gap_in_body,
            awaiting: &mut self.awaiting,
            ended: &mut self.ended,
            last: &mut last,
            ctx: &mut *ctx,
        };
        side.stream
            .receive(Seq(seg.seq), seg.payload, seg.pos(), &mut app, &mut sctx);
        if seg.flags.fin() {
            side.stream.fin(seg.seq, seg.payload.len());
        }
        let closing = if rst {
            Some(ResponseMissing::Reset)
        } else if side.stream.fin_done() {
            Some(ResponseMissing::Closed)
        } else {
            None
        };
        let close_delimited = matches!(side.parse, Parse::UntilClose) && side.attached;
        if let Some(mut ev) = last {
            if rst || seg.flags.fin() {
                ev.response.closed_after = true;
            }
            emit(ev, None, ctx);
        }
        let Some(why) = closing else {
            return;
        };
        if close_delimited && why == ResponseMissing::Closed {
            // The close is the end of this body: complete.
            side.attached = false;
            side.parse = Parse::Off;
            if let Some(mut ev) = self.awaiting.pop_front() {
                ev.response.closed_after = true;
                let gap = std::mem::take(&mut side.gap_in_body);
                emit(ev, gap.then_some(ResponseMissing::Gap), ctx);
            }
        }
        self.end(why, ctx);
    }
}

/// A head leaves, its response as found (`missing`: why it is not complete).
fn emit(mut ev: HeadEvent, missing: Option<ResponseMissing>, ctx: &mut PairCtx<'_>) {
    ev.response.missing = missing;
    if missing.is_some() {
        ctx.stats.responses_missing += 1;
    } else {
        ctx.stats.responses_complete += 1;
    }
    (ctx.out)(ev);
}

/// The server's stream bound to the pairing state, as its [`StreamApp`].
struct ServerApp<'a, 'c> {
    parse: &'a mut Parse,
    attached: &'a mut bool,
    gap_in_body: &'a mut bool,
    awaiting: &'a mut VecDeque<HeadEvent>,
    ended: &'a mut Option<ResponseMissing>,
    /// The last head completed by this segment, held so a FIN or RST on the segment can
    /// say the connection closed after it.
    last: &'a mut Option<HeadEvent>,
    ctx: &'a mut PairCtx<'c>,
}

impl ServerApp<'_, '_> {
    /// The response being read is complete.
    fn complete(&mut self) {
        *self.parse = Parse::Head {
            buf: Vec::new(),
            first_ts: 0,
        };
        let gap = std::mem::take(self.gap_in_body);
        if !std::mem::take(self.attached) {
            return;
        }
        if let Some(ev) = self.awaiting.pop_front() {
            if let Some(prev) = self.last.take() {
                emit(prev, None, self.ctx);
            }
            if gap {
                emit(ev, Some(ResponseMissing::Gap), self.ctx);
            } else {
                *self.last = Some(ev);
            }
        }
    }

    /// Pairing on this connection ends: the response being read and every waiting head
    /// leave with `why`.
    fn lose(&mut self, why: ResponseMissing) {
        if let Some(prev) = self.last.take() {
            emit(prev, None, self.ctx);
        }
        *self.parse = Parse::Off;
        *self.attached = false;
        *self.ended = Some(why);
        for ev in self.awaiting.drain(..) {
            emit(ev, Some(why), self.ctx);
        }
    }

    /// A complete response head (`head`): which head it answers and what follows it.
    fn on_head(&mut self, head: &[u8], first_ts: i64) {
        let method = self
            .awaiting
            .front()
            .map(|e| e.head.split(|&c| c == b' ').next().unwrap_or_default())
            .unwrap_or_default();
        let Some(h) = parse_response_head(head, method) else {
            self.ctx.stats.responses_unparsed += 1;
            self.lose(ResponseMissing::Unparsed);
            return;
        };
        if h.interim() {
            self.ctx.stats.responses_interim += 1;
            if let Some(e) = self.awaiting.front_mut() {
                e.response.interim = e.response.interim.saturating_add(1);
            }
            return;
        }
        match self.awaiting.front_mut() {
            None => self.ctx.stats.responses_unmatched += 1,
            Some(e) => {
                *self.attached = true;
                let r = &mut e.response;
                r.status = Some(h.status);
                r.head_bytes = Some(u32::try_from(head.len()).unwrap_or(u32::MAX));
                r.body_bytes = Some(0);
                r.framing = Some(h.body.framing());
                r.content_type = h.content_type.map(<[u8]>::to_vec);
                r.first_byte_ts = Some(first_ts);
                r.closed_after = h.close;
            }
        }
        match h.body {
            Body::None | Body::Length(0) => self.complete(),
            Body::Length(n) => *self.parse = Parse::Body(n),
            Body::Chunked => *self.parse = Parse::Chunked(CHUNK_SIZE_START),
            Body::Close => *self.parse = Parse::UntilClose,
            Body::Unknown => {
                self.ctx.stats.responses_unparsed += 1;
                self.lose(ResponseMissing::Unparsed);
            }
            Body::Tunnel => {
                self.complete();
                self.lose(ResponseMissing::Tunnel);
            }
        }
    }

    fn add_body(&mut self, n: usize) {
        if *self.attached {
            if let Some(e) = self.awaiting.front_mut() {
                let b = e.response.body_bytes.get_or_insert(0);
                *b = b.saturating_add(n as u64);
            }
        }
    }

    fn take_head(&mut self, d: &[u8], pos: SegPos) -> usize {
        let max = self.ctx.max_head_bytes.max(16);
        let Parse::Head { buf, first_ts } = &mut *self.parse else {
            return 0;
        };
        if buf.is_empty() {
            // Empty lines between messages are tolerated.
            let skip = d.iter().take_while(|&&c| c == b'\r' || c == b'\n').count();
            if skip > 0 {
                return skip;
            }
            *first_ts = pos.ts_ns;
        }
        let old = buf.len();
        let k = d.len().min(max + 1 - old);
        buf.extend_from_slice(&d[..k]);
        let prefix = buf.len().min(5);
        if buf[..prefix] != b"HTTP/"[..prefix] {
            self.ctx.stats.responses_unparsed += 1;
            self.lose(ResponseMissing::Unparsed);
            return k;
        }
        match head_end(buf, old) {
            Some(end) => {
                let head = std::mem::take(buf);
                let ts = *first_ts;
                *self.parse = Parse::Head {
                    buf: Vec::new(),
                    first_ts: 0,
                };
                self.on_head(&head[..end], ts);
                end - old
            }
            None if buf.len() > max => {
                self.ctx.stats.responses_unparsed += 1;
                self.lose(ResponseMissing::Unparsed);
                k
            }
            None => k,
        }
    }
}

impl StreamApp for ServerApp<'_, '_> {
    fn is_dead(&self) -> bool {
        matches!(self.parse, Parse::Off)
    }

    fn take(&mut self, d: &[u8], _at: StreamAt, pos: SegPos) -> usize {
        match *self.parse {
            Parse::Off => d.len(),
            Parse::Head { .. } => self.take_head(d, pos),
            Parse::Body(rem) => {
                let k = rem.min(d.len() as u64) as usize;
                self.add_body(k);
                if rem == k as u64 {
                    self.complete();
                } else {
                    *self.parse = Parse::Body(rem - k as u64);
                }
                k
            }
            Parse::Chunked(c) => {
                let (used, _, next) = c.step(d);
                if matches!(c, Chunk::Data(_)) {
                    self.add_body(used);
                }
                match next {
                    ChunkNext::More(c) => *self.parse = Parse::Chunked(c),
                    ChunkNext::End => self.complete(),
                    ChunkNext::Invalid => {
                        self.ctx.stats.responses_unparsed += 1;
                        self.lose(ResponseMissing::Unparsed);
                    }
                }
                used
            }
            Parse::UntilClose => {
                self.add_body(d.len());
                d.len()
            }
        }
    }

    fn gap(&mut self, n: u32) {
        self.ctx.stats.response_gaps += 1;
        match *self.parse {
            Parse::Body(rem) if u64::from(n) <= rem => {
                *self.gap_in_body |= *self.attached;
                if rem == u64::from(n) {
                    self.complete();
                } else {
                    *self.parse = Parse::Body(rem - u64::from(n));
                }
            }
            Parse::UntilClose => *self.gap_in_body |= *self.attached,
            Parse::Off => {}
            _ => self.lose(ResponseMissing::Gap),
        }
    }

    fn note(&mut self, _what: Note) {}

    fn rewind(&mut self, _: Seq, _: &[u8], _: bool, _: &mut TcpStats) -> Option<StreamAt> {
        None
    }

    fn forget_rewind_point(&mut self) {}
}

#[cfg(test)]
mod tests;
