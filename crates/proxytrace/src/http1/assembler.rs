//! Client -> server TCP byte streams turned into complete HTTP/1.x request heads.
//!
//! [`HeadAssembler`] takes TCP segments in capture order and emits one [`HeadEvent`] per
//! request head (request line through the blank line), with the raw PROXY protocol
//! preamble of the connection when there is one. It follows message framing
//! (Content-Length and chunked bodies are skipped, never scanned for heads), repairs
//! a bounded amount of reordering, drops retransmitted bytes, and counts every byte it
//! cannot account for in [`ReassemblyStats`]. It does not parse header values beyond
//! the two framing headers.
//!
//! Layers: [`crate::tcp::tracker::Tracker`] owns the flow table and decides which side
//! is the client ([`crate::tcp::client`]); each client stream is a
//! [`crate::tcp::stream::Stream`] delivering bytes in order to a [`Conversation`], the
//! HTTP/1 state machine. This file plugs the two together.
//!
//! # Which side is the client
//! Only client -> server streams are reassembled (rules in [`crate::tcp::client`]).
//! When the capture started mid-connection, a first payload that begins with a
//! PROXY signature or a complete, valid request line (or a known method and SP when the
//! line is longer than the segment) makes its direction the client, flagged
//! `midstream_start`. A payload starting `HTTP/` is a response and ignored. Any other
//! payload is searched for a request line at line starts; if none is found the segment
//! is counted and no state is created, so a server direction that merely looks odd
//! never claims a connection.
//!
//! # Event order
//! Events come out in the order of the input packet that completes them (for a head
//! completed by draining buffered out-of-order segments: the packet that filled the
//! hole), and within one packet in stream order. A head found by searching comes out
//! with the packet that decides it (a server response, the flow's end), with the heads
//! held after it. Flows closed together (idle sweep,
//! [`HeadAssembler::finish`]) are flushed in flow creation order. The caller sorts by
//! first-byte time later if it wants.
//!
//! # Bounds
//! Per flow: the head buffer ([`ReassemblyConfig::max_head_bytes`]), the out-of-order
//! segments and bytes. Globally: the number of tracked flows and every byte they cost
//! (table slot, state, buffer capacities); over either cap, the least recently active flow
//! (CLOCK approximation over creation order, independent of the hash seed) is closed.
//! Idle flows (by packet timestamps) are closed after
//! [`ReassemblyConfig::idle_timeout_ns`]. A closed flow's unfinished head is emitted as a
//! `partial` event; buffered out-of-order data is salvaged across a counted gap first.
//!
//! # Known limits
//! - A payload cut by the snap length looks like a hole: it becomes a counted gap.
//! - After a gap, a cap, invalid framing or a midstream start, heads are found again by
//!   searching line starts for a complete `UPPER-CASE-METHOD SP target SP HTTP/1.x`
//!   line. Such a head is held until corroborated (`resync_corroborated`: the server's
//!   responses place it at a message start) or refuted (no row, counted), else emitted
//!   `resync_uncertain` (see `http1::resync`). Request-like text ending a body that
//!   happens to begin a client segment is answered like a request: corroborated.
//! - `Expect: 100-continue` refused by the server (no body sent) desynchronises the
//!   flow until the next resync point; the server side is not consulted.
//! - When only the SYN+ACK was captured, the client's first segment seen fixes the
//!   stream start; an earlier segment arriving later is taken as a retransmission.
//! - No export/import of unfinished flows for chunk stitching yet.

use super::conversation::{plausible_stream_start, Bound, Conversation, Ctx};
use super::event::HeadEvent;
use super::exchange::PairCtx;
use super::response::ResponseMissing;
use super::scan::find_resync;
use super::stats::{Http1Stats, ReassemblyStats};
use crate::decode::FiveTuple;
use crate::tcp::assembler::OooLimits;
use crate::tcp::segment::SegmentMeta;
use crate::tcp::seq::Seq;
use crate::tcp::stream::StreamCtx;
use crate::tcp::tracker::{
    Connection, EndReason, FirstPayload, Open, Protocol, Tracker, TrackerLimits,
};

/// Limits. Defaults suit a 100 GB capture on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Longest head kept; longer heads are emitted `capped` and the flow resynchronises.
    pub max_head_bytes: usize,
    /// Out-of-order segments buffered per flow before the hole is declared a gap.
    pub max_ooo_segments: usize,
    /// Out-of-order bytes buffered per flow before the hole is declared a gap.
    pub max_ooo_bytes: usize,
    /// Tracked flows (including small tombstones for closed / non-HTTP flows).
    pub max_flows: usize,
    /// Bytes all tracked flows cost: table slots, per-flow state, head buffers,
    /// out-of-order data and preambles (allocated capacities), and the eviction queue.
    /// The default (256 MiB) leaves room under 512 MiB for the rest of a run (reorder
    /// buffer, in-flight chunks, allocator slack).
    pub max_total_bytes: usize,
    /// A flow without packets for this long (by capture time) is closed.
    pub idle_timeout_ns: i64,
    /// A head waits at most this long (by capture time, from its first byte) for its
    /// complete response; then its row leaves with what was seen (`timeout`). Checked
    /// every quarter of it, so a head may wait up to 1.25 times as long.
    pub response_timeout_ns: i64,
    /// Pair each head with its response (`http1::exchange`): a head leaves once its
    /// response is complete or cannot come. Off: heads leave as soon as they are
    /// complete, with an empty response. `requests` turns it on.
    pub pair_responses: bool,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_head_bytes: 64 * 1024,
            max_ooo_segments: 8,
            max_ooo_bytes: 256 * 1024,
            max_flows: 1 << 20,
            max_total_bytes: 256 << 20,
            idle_timeout_ns: 300 * 1_000_000_000,
            response_timeout_ns: 30 * 1_000_000_000,
            pair_responses: false,
        }
    }
}

impl ReassemblyConfig {
    /// One flow shard's share of the limits (engine::SHARDS shards together keep the
    /// run's caps): flows and total bytes divided, per-flow limits unchanged.
    pub fn shard_share(&self, shards: usize) -> ReassemblyConfig {
        let n = shards.max(1);
        ReassemblyConfig {
            max_flows: (self.max_flows / n).max(1),
            max_total_bytes: (self.max_total_bytes / n).max(1),
            ..self.clone()
        }
    }

    /// The TCP layer's share of the limits.
    pub(crate) fn tracker_limits(&self) -> TrackerLimits {
        TrackerLimits {
            max_flows: self.max_flows,
            max_total_bytes: self.max_total_bytes,
            idle_timeout_ns: self.idle_timeout_ns,
            ooo: OooLimits {
                max_segments: self.max_ooo_segments,
                max_bytes: self.max_ooo_bytes,
            },
            tick_ns: if self.pair_responses {
                (self.response_timeout_ns / 4).max(1)
            } else {
                0
            },
        }
    }
}

/// HTTP/1 as the protocol over the TCP tracker, for the duration of one call.
struct Http1<'a> {
    max_head_bytes: usize,
    ooo: OooLimits,
    response_timeout_ns: i64,
    pair: bool,
    /// [`Protocol::tick`] lets every waiting head go with this reason (a live input
    /// paused) instead of only the timed-out ones.
    let_go: Option<ResponseMissing>,
    stats: &'a mut Http1Stats,
    out: &'a mut dyn FnMut(HeadEvent),
    /// Heads the conversation completed during one call, before they wait for their
    /// responses.
    fresh: &'a mut Vec<HeadEvent>,
}

impl Http1<'_> {
    /// Runs `f` over the conversation with a context whose heads are collected, then
    /// makes them wait for their responses.
    fn with_conv(
        &mut self,
        flow: FiveTuple,
        conv: &mut Conversation,
        f: impl FnOnce(&mut Conversation, &mut Ctx<'_>),
    ) {
        let fresh = &mut *self.fresh;
        let mut collect = |ev: HeadEvent| fresh.push(ev);
        let mut ctx = Ctx {
            flow,
            max_head_bytes: self.max_head_bytes,
            stats: &mut *self.stats,
            out: &mut collect,
        };
        f(conv, &mut ctx);
        if !self.pair {
            for ev in self.fresh.drain(..) {
                (self.out)(ev);
            }
            return;
        }
        let mut pair = PairCtx {
            stats: &mut *self.stats,
            out: &mut *self.out,
            max_head_bytes: self.max_head_bytes,
            ooo: self.ooo,
        };
        for ev in self.fresh.drain(..) {
            conv.exchanges.request(ev, &mut pair);
        }
    }

    fn pair_ctx(&mut self) -> PairCtx<'_> {
        PairCtx {
            stats: &mut *self.stats,
            out: &mut *self.out,
            max_head_bytes: self.max_head_bytes,
            ooo: self.ooo,
        }
    }
}

impl Protocol for Http1<'_> {
    type Conn = Conversation;

    fn open(&mut self, how: Open) -> Conversation {
        let mut conv = Conversation::new(matches!(how, Open::Midstream { .. }));
        if let Open::Midstream { skipped } = how {
            if skipped > 0 {
                // Found by searching: this is not the connection's start, no preamble here.
                self.stats.resync_bytes_skipped += skipped as u64;
                self.stats.resync_heads_found += 1;
                conv.start_at_head();
            }
        }
        conv
    }

    fn first_payload(&mut self, p: &[u8]) -> FirstPayload {
        if p.starts_with(b"HTTP/") {
            self.stats.response_segments_ignored += 1;
            return FirstPayload::ServerSide;
        }
        let start = if plausible_stream_start(p) {
            Some(0)
        } else {
            find_resync(p, false)
        };
        start.map_or(FirstPayload::NoStart, FirstPayload::StartsAt)
    }

    fn deliver(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Conversation>,
        seg: &SegmentMeta<'_>,
        tcp: &mut StreamCtx<'_>,
    ) {
        let stream = &mut conn.stream;
        self.with_conv(flow, &mut conn.app, |conv, ctx| {
            let mut app = Bound { conv, ctx };
            stream.receive(Seq(seg.seq), seg.payload, seg.pos(), &mut app, tcp);
        });
    }

    fn wants_reverse(seg: &SegmentMeta<'_>) -> bool {
        // Every server byte: responses are paired with their requests (http1::exchange).
        let _ = seg;
        true
    }

    fn reverse(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Conversation>,
        seg: &SegmentMeta<'_>,
    ) {
        if seg.payload.starts_with(b"HTTP/1.") {
            // A response start may decide heads found by searching (http1::resync).
            let at = conn.stream.at().offset;
            self.with_conv(flow, &mut conn.app, |conv, ctx| {
                conv.on_response(seg.payload, at, ctx);
            });
        }
        if !self.pair || (conn.app.is_dead() && conn.app.exchanges.is_idle()) {
            // Not HTTP (or a tunnel already answered): nothing to pair.
            return;
        }
        let mut pair = self.pair_ctx();
        conn.app.exchanges.server(seg, &mut pair);
    }

    fn ending(&mut self, conn: &mut Connection<Conversation>, why: EndReason) {
        let why = match why {
            EndReason::Fin => ResponseMissing::ClientClosed,
            EndReason::Rst => ResponseMissing::Reset,
            EndReason::Timeout => ResponseMissing::Timeout,
            EndReason::EvictFlows | EndReason::EvictBytes => ResponseMissing::Evicted,
            EndReason::Finish => ResponseMissing::CaptureEnd,
            EndReason::Replaced => ResponseMissing::Replaced,
        };
        let mut pair = self.pair_ctx();
        conn.app.exchanges.end(why, &mut pair);
    }

    fn tick(&mut self, conn: &mut Connection<Conversation>, now_ns: i64) {
        let (timeout, let_go) = (self.response_timeout_ns, self.let_go);
        let mut pair = self.pair_ctx();
        match let_go {
            Some(why) => conn.app.exchanges.let_go_all(why, &mut pair),
            None => conn.app.exchanges.expire(now_ns, timeout, &mut pair),
        }
    }

    fn close(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Conversation>,
        tcp: &mut StreamCtx<'_>,
    ) {
        let stream = &mut conn.stream;
        self.with_conv(flow, &mut conn.app, |conv, ctx| {
            let mut app = Bound {
                conv: &mut *conv,
                ctx: &mut *ctx,
            };
            stream.close(&mut app, tcp);
            conv.finish(ctx);
        });
    }

    fn heap_bytes(conv: &Conversation) -> usize {
        conv.held()
    }

    fn is_dead(conv: &Conversation) -> bool {
        conv.is_dead()
    }

    fn can_forget(conv: &Conversation) -> bool {
        conv.can_forget()
    }
}

/// Reassembles client request heads from TCP segments. One per worker.
///
/// Memory: [`ReassemblyConfig::max_total_bytes`] bounds everything the flows cost (see
/// [`Tracker`]).
pub struct HeadAssembler {
    cfg: ReassemblyConfig,
    tracker: Tracker<Conversation>,
    stats: ReassemblyStats,
    fresh: Vec<HeadEvent>,
}

impl Default for HeadAssembler {
    fn default() -> Self {
        HeadAssembler::new(ReassemblyConfig::default())
    }
}

impl HeadAssembler {
    /// An assembler with these limits.
    pub fn new(cfg: ReassemblyConfig) -> HeadAssembler {
        HeadAssembler {
            tracker: Tracker::new(cfg.tracker_limits()),
            cfg,
            stats: ReassemblyStats::default(),
            fresh: Vec::new(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Flows currently tracked (live and tombstones).
    pub fn tracked_flows(&self) -> usize {
        self.tracker.tracked_flows()
    }

    /// Bytes accounted against [`ReassemblyConfig::max_total_bytes`]: every tracked
    /// flow's table share, state and buffers, and the eviction queue.
    pub fn held_bytes(&self) -> usize {
        self.tracker.held_bytes()
    }

    /// The earliest first-byte time any head still to be emitted can have: heads being
    /// buffered and out-of-order segments held. `None` when nothing is pending. Callers
    /// that sort events by first-byte time release everything earlier than this.
    /// Costs one pass over the tracked flows: call it now and then, not per packet.
    pub fn oldest_pending_ts(&self) -> Option<i64> {
        self.tracker
            .connections()
            .filter_map(|c| {
                let head = c.app.pending_head_ts();
                let ooo = c.stream.out_of_order().oldest_ts();
                match (head, ooo) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min()
    }

    /// Stream bytes buffered (heads, out-of-order payloads, preambles), without the
    /// state and allocation slack `held_bytes` also counts.
    #[cfg(test)]
    fn buffered_bytes(&self) -> usize {
        self.tracker
            .connections()
            .map(|c| c.app.buffered() + c.stream.out_of_order().bytes())
            .sum()
    }

    /// Recomputes held bytes from the flows (tests check the running total).
    #[cfg(test)]
    fn recount_held(&self) -> usize {
        self.tracker.recount_held::<Http1<'_>>()
    }

    fn http1<'a>(
        cfg: &ReassemblyConfig,
        stats: &'a mut Http1Stats,
        fresh: &'a mut Vec<HeadEvent>,
        out: &'a mut dyn FnMut(HeadEvent),
    ) -> Http1<'a> {
        Http1 {
            max_head_bytes: cfg.max_head_bytes,
            ooo: cfg.tracker_limits().ooo,
            response_timeout_ns: cfg.response_timeout_ns,
            pair: cfg.pair_responses,
            let_go: None,
            stats,
            out,
            fresh,
        }
    }

    /// Feeds one segment; events completed by it are passed to `out`. An event leaves
    /// once its response is complete or cannot come (`http1::exchange`).
    pub fn push(&mut self, seg: SegmentMeta<'_>, out: &mut impl FnMut(HeadEvent)) {
        let mut proto = Self::http1(&self.cfg, &mut self.stats.http, &mut self.fresh, out);
        self.tracker.push(seg, &mut proto, &mut self.stats.tcp);
    }

    /// Lets every head waiting for its response go now, with `why` (a live input
    /// paused: its rows are shown rather than held).
    pub fn let_go_waiting(&mut self, why: ResponseMissing, out: &mut impl FnMut(HeadEvent)) {
        let mut proto = Self::http1(&self.cfg, &mut self.stats.http, &mut self.fresh, out);
        proto.let_go = Some(why);
        self.tracker.tick_all(&mut proto);
    }

    /// Feeds one segment seen by a flow shard, with `now_ns`, the latest timestamp of
    /// the run so far over every shard: idle timeouts follow the capture's clock, not
    /// only the shard's own segments.
    pub fn push_at(&mut self, seg: SegmentMeta<'_>, now_ns: i64, out: &mut impl FnMut(HeadEvent)) {
        self.tracker.advance_clock(now_ns);
        self.push(seg, out);
    }

    /// End of input: closes every flow in creation order, flushing unfinished heads as
    /// partial events.
    pub fn finish(&mut self, out: &mut impl FnMut(HeadEvent)) {
        let mut proto = Self::http1(&self.cfg, &mut self.stats.http, &mut self.fresh, out);
        self.tracker.finish(&mut proto, &mut self.stats.tcp);
    }
}

#[cfg(test)]
mod tests;
