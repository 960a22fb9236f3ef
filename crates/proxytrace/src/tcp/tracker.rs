//! Connection lifecycle over the flow table: segments are dispatched to their
//! connection's byte stream; SYN, FIN, RST, idle timeout and the flow and byte caps open
//! and close connections. The protocol above plugs in through [`Protocol`]. Which side
//! of a connection is the client is decided in [`super::client`].

use super::assembler::OooLimits;
use super::flow_table::{heap_block, FlowTable, Slot};
use super::segment::SegmentMeta;
use super::stats::TcpStats;
use super::stream::{Stream, StreamCtx};
use crate::decode::{FiveTuple, IpProto};

/// Caps and timeouts of a [`Tracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerLimits {
    /// Tracked flows (including small tombstones for closed or abandoned flows).
    pub max_flows: usize,
    /// Bytes all tracked flows cost (see [`FlowTable::held_bytes`]).
    pub max_total_bytes: usize,
    /// A flow without packets for this long (by capture time) is closed.
    pub idle_timeout_ns: i64,
    /// Per-stream out-of-order caps.
    pub ooo: OooLimits,
    /// Every this long (by capture time) each live connection is shown to
    /// [`Protocol::tick`]; 0: never.
    pub tick_ns: i64,
}

/// One tracked client stream: its bytes and the protocol's state over them.
pub struct Connection<C> {
    /// The client -> server byte stream.
    pub stream: Stream,
    /// The protocol's state.
    pub app: C,
}

/// How a connection came to be tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Its SYN was seen: the stream starts after the ISN.
    Syn,
    /// Only the SYN+ACK was seen: the client's first segment fixes the stream start.
    SynAck,
    /// No handshake seen: the stream starts at a payload the protocol recognised,
    /// `skipped` bytes into its segment.
    Midstream {
        /// Bytes of the segment before the recognised start.
        skipped: usize,
    },
}

/// The protocol's verdict on the first payload of a flow with no state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPayload {
    /// A client stream starts this many bytes into the payload.
    StartsAt(usize),
    /// Recognised as the server's side (the protocol counted it).
    ServerSide,
    /// Nothing recognisable: no state is created.
    NoStart,
}

/// The protocol above TCP, as the tracker sees it.
pub trait Protocol {
    /// Per-connection state.
    type Conn;
    /// State for a new connection.
    fn open(&mut self, how: Open) -> Self::Conn;
    /// Does a first payload on an unknown flow start a client stream, and where?
    fn first_payload(&mut self, payload: &[u8]) -> FirstPayload;
    /// Feeds a segment of a tracked connection (through `conn.stream`).
    fn deliver(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Self::Conn>,
        seg: &SegmentMeta<'_>,
        ctx: &mut StreamCtx<'_>,
    );
    /// A segment on the server's side of a followed connection (`flow` is the client's
    /// direction; the SYN+ACK and empty segments included). Its bytes are not reassembled:
    /// HTTP/1 learns from response starts where the client's messages end, `connections`
    /// counts packets and bytes. Not called for a connection the protocol gave up on
    /// ([`Protocol::can_forget`]); the byte cap is recharged by what [`Protocol::heap_bytes`]
    /// reports after it. Default: ignored.
    fn reverse(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Self::Conn>,
        seg: &SegmentMeta<'_>,
    ) {
        let _ = (flow, conn, seg);
    }
    /// Would [`Protocol::reverse`] do anything with this server-side segment? `false`
    /// spares the connection's lookup (the common body segment of a response). Default:
    /// every segment is shown.
    fn wants_reverse(seg: &SegmentMeta<'_>) -> bool {
        let _ = seg;
        true
    }
    /// The connection is about to end ([`Protocol::close`] follows), for this reason.
    /// Default: ignored.
    fn ending(&mut self, conn: &mut Connection<Self::Conn>, why: EndReason) {
        let _ = (conn, why);
    }
    /// The run's clock reached `now_ns` (every [`TrackerLimits::tick_ns`], for each live
    /// connection in creation order): time-outs of the protocol's own. Default: ignored.
    fn tick(&mut self, conn: &mut Connection<Self::Conn>, now_ns: i64) {
        let _ = (conn, now_ns);
    }
    /// The connection ends: salvage and flush what it holds.
    fn close(
        &mut self,
        flow: FiveTuple,
        conn: &mut Connection<Self::Conn>,
        ctx: &mut StreamCtx<'_>,
    );
    /// Heap bytes the state's buffers hold (allocated capacities).
    fn heap_bytes(conn: &Self::Conn) -> usize;
    /// The protocol gave up on the stream.
    fn is_dead(conn: &Self::Conn) -> bool;
    /// Gave up for good: the state can shrink to a tombstone.
    fn can_forget(conn: &Self::Conn) -> bool;
}

/// Why a flow is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The client's stream delivered everything up to its FIN.
    Fin,
    /// A RST from the client.
    Rst,
    /// No client packet for the idle timeout.
    Timeout,
    /// Evicted over the flow cap.
    EvictFlows,
    /// Evicted over the byte cap.
    EvictBytes,
    /// End of input.
    Finish,
    /// A new connection on the same addresses and ports.
    Replaced,
}

/// Tracks client streams in capture order, under caps. One per worker.
///
/// Memory: [`TrackerLimits::max_total_bytes`] bounds everything the flows cost: per flow
/// its hash-table share, its boxed state and buffer capacities, plus the eviction queue.
/// Over it (or over `max_flows`), flows are evicted least recently active first by a
/// CLOCK sweep over creation order, which does not depend on the hash seed.
pub struct Tracker<C> {
    pub(crate) limits: TrackerLimits,
    pub(crate) table: FlowTable<Connection<C>>,
    /// Latest packet timestamp seen.
    pub(crate) now_ns: i64,
    next_sweep_ns: Option<i64>,
    next_tick_ns: Option<i64>,
}

impl<C> Tracker<C> {
    /// An empty tracker.
    pub fn new(limits: TrackerLimits) -> Tracker<C> {
        Tracker {
            limits,
            table: FlowTable::default(),
            now_ns: i64::MIN,
            next_sweep_ns: None,
            next_tick_ns: None,
        }
    }

    /// Flows currently tracked (live and tombstones).
    pub fn tracked_flows(&self) -> usize {
        self.table.len()
    }

    /// Bytes accounted against [`TrackerLimits::max_total_bytes`].
    pub fn held_bytes(&self) -> usize {
        self.table.held_bytes()
    }

    /// The live connections, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = &Connection<C>> {
        self.table.states()
    }

    /// The live connection of a directed flow, if it is tracked as a client stream.
    pub fn live_mut(&mut self, key: &FiveTuple) -> Option<&mut Connection<C>> {
        match &mut self.table.get_mut(key)?.slot {
            Slot::Live(c) => Some(c),
            _ => None,
        }
    }

    /// Recomputes the held bytes from the flows (tests check the running total).
    #[cfg(test)]
    pub(crate) fn recount_held<P: Protocol<Conn = C>>(&self) -> usize {
        self.table.recount(Self::held_by::<P>)
    }

    /// Heap bytes a connection costs: the boxed struct and its buffers.
    pub(crate) fn held_by<P: Protocol<Conn = C>>(c: &Connection<C>) -> usize {
        heap_block(size_of::<Connection<C>>()) + c.stream.held() + P::heap_bytes(&c.app)
    }

    pub(crate) fn expired(&self, last_ts: i64) -> bool {
        self.now_ns.saturating_sub(last_ts) > self.limits.idle_timeout_ns
    }

    /// Moves the clock to `now_ns` if it is later (the run's clock, for a tracker that
    /// sees only some of the run's segments).
    pub fn advance_clock(&mut self, now_ns: i64) {
        self.now_ns = self.now_ns.max(now_ns);
    }

    /// Feeds one segment.
    pub fn push<P: Protocol<Conn = C>>(
        &mut self,
        seg: SegmentMeta<'_>,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        stats.segments += 1;
        stats.payload_bytes += seg.payload.len() as u64;
        if seg.flow.proto != IpProto::TCP {
            stats.non_tcp_segments += 1;
            return;
        }
        if seg.ts_ns > self.now_ns {
            self.now_ns = seg.ts_ns;
        }
        self.maybe_sweep(proto, stats);
        self.maybe_tick(proto);

        let flags = seg.flags;
        let key = seg.flow;
        if flags.syn() {
            // Rare: settle idle timeouts of both directions first, so that the outcome
            // does not depend on when the sweep ran.
            let rev = key.reversed();
            for k in [key, rev] {
                if self.table.get(&k).is_some_and(|f| self.expired(f.last_ts)) {
                    self.end_flow(&k, EndReason::Timeout, proto, stats);
                }
            }
            if flags.ack() {
                self.on_syn_ack(seg, proto, stats);
            } else {
                self.on_syn(seg, proto, stats);
            }
        } else if self.on_segment(seg, true, proto, stats) {
            // Common case: one map lookup for a tracked client segment.
        } else if !self.server_side(&seg, proto, stats) {
            self.on_unknown(seg, proto, stats);
        }
        self.enforce_byte_cap(proto, stats);
    }

    /// End of input: closes every flow in creation order.
    pub fn finish<P: Protocol<Conn = C>>(&mut self, proto: &mut P, stats: &mut TcpStats) {
        for k in self.table.all() {
            self.end_flow(&k, EndReason::Finish, proto, stats);
        }
        self.table.release();
    }

    /// Tracks a new connection, evicting over the flow cap first.
    pub(crate) fn insert_flow<P: Protocol<Conn = C>>(
        &mut self,
        key: FiveTuple,
        conn: Connection<C>,
        ts: i64,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        while self.table.len() >= self.limits.max_flows.max(1) {
            if !self.evict_one(EndReason::EvictFlows, proto, stats) {
                break;
            }
        }
        stats.flows_created += 1;
        let bytes = Self::held_by::<P>(&conn);
        self.table.insert(key, Box::new(conn), ts, bytes);
    }

    /// Feeds a segment to its tracked flow. Returns false if the flow is not tracked
    /// (or was idle too long and has just been closed).
    pub(crate) fn on_segment<P: Protocol<Conn = C>>(
        &mut self,
        seg: SegmentMeta<'_>,
        check_idle: bool,
        proto: &mut P,
        stats: &mut TcpStats,
    ) -> bool {
        let key = seg.flow;
        let now = self.now_ns;
        let Some(f) = self.table.get_mut(&key) else {
            return false;
        };
        if check_idle && now.saturating_sub(f.last_ts) > self.limits.idle_timeout_ns {
            self.end_flow(&key, EndReason::Timeout, proto, stats);
            return false;
        }
        f.touched = true;
        f.last_ts = f.last_ts.max(seg.ts_ns);
        let conn = match &mut f.slot {
            Slot::Live(c) => c,
            Slot::Dead | Slot::Closed { .. } => {
                stats.segments_on_dead_flows += 1;
                return true;
            }
        };
        let before = Self::held_by::<P>(conn);
        if !conn.stream.seq_known() {
            // After a SYN+ACK, the client's first segment (usually the handshake's
            // ACK, seq = ISN + 1) fixes the stream start.
            conn.stream.start_at(seg.seq);
        }
        let was_dead = P::is_dead(&conn.app);
        let mut ctx = StreamCtx {
            stats: &mut *stats,
            limits: &self.limits.ooo,
        };
        proto.deliver(key, conn, &seg, &mut ctx);
        if was_dead && P::is_dead(&conn.app) {
            stats.segments_on_dead_flows += 1;
        }
        if seg.flags.fin() {
            conn.stream.fin(seg.seq, seg.payload.len());
        }
        // A stream the protocol gave up on may still be waiting for its next segment
        // (a better copy of stray bytes): only then is it forgotten.
        let dead = P::can_forget(&conn.app);
        let fin_done = conn.stream.fin_done();
        let after = Self::held_by::<P>(conn);
        self.table.recharge(before, after);
        if seg.flags.rst() {
            self.end_flow(&key, EndReason::Rst, proto, stats);
        } else if fin_done {
            self.end_flow(&key, EndReason::Fin, proto, stats);
        } else if dead {
            if let Some(f) = self.table.get_mut(&key) {
                f.slot = Slot::Dead;
            }
            self.table.recharge(after, 0);
        }
        true
    }

    /// Closes a flow. FIN/RST leave a small tombstone that absorbs retransmissions.
    pub(crate) fn end_flow<P: Protocol<Conn = C>>(
        &mut self,
        key: &FiveTuple,
        why: EndReason,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        let Some(mut f) = self.table.remove(key) else {
            return;
        };
        let mut syn_seq = None;
        if let Slot::Live(conn) = &mut f.slot {
            let before = Self::held_by::<P>(conn);
            syn_seq = conn.stream.syn_seq();
            proto.ending(conn, why);
            let mut ctx = StreamCtx {
                stats: &mut *stats,
                limits: &self.limits.ooo,
            };
            proto.close(*key, conn, &mut ctx);
            self.table.recharge(before, 0);
        }
        match why {
            EndReason::Fin => stats.flows_ended_fin += 1,
            EndReason::Rst => stats.flows_ended_rst += 1,
            EndReason::Timeout => stats.flows_timed_out += 1,
            EndReason::EvictFlows => stats.flows_evicted_flow_cap += 1,
            EndReason::EvictBytes => stats.flows_evicted_byte_cap += 1,
            EndReason::Finish => stats.flows_open_at_finish += 1,
            EndReason::Replaced => {}
        }
        if matches!(why, EndReason::Fin | EndReason::Rst) {
            f.slot = Slot::Closed { syn_seq };
            self.table.reinsert(*key, f);
        }
    }

    /// Closes the least recently active flow (CLOCK). Returns false if none.
    fn evict_one<P: Protocol<Conn = C>>(
        &mut self,
        why: EndReason,
        proto: &mut P,
        stats: &mut TcpStats,
    ) -> bool {
        let Some(k) = self.table.next_victim() else {
            return false;
        };
        // A FIN/RST tombstone is reinserted by end_flow; evicting removes it for good.
        self.end_flow(&k, why, proto, stats);
        self.table.drop_tombstone(&k);
        true
    }

    fn enforce_byte_cap<P: Protocol<Conn = C>>(&mut self, proto: &mut P, stats: &mut TcpStats) {
        while self.table.held_bytes() > self.limits.max_total_bytes {
            if !self.evict_one(EndReason::EvictBytes, proto, stats) {
                break;
            }
        }
        self.table.compact();
    }

    /// Shows every live connection to [`Protocol::tick`], every
    /// [`TrackerLimits::tick_ns`] of capture time.
    fn maybe_tick<P: Protocol<Conn = C>>(&mut self, proto: &mut P) {
        if self.limits.tick_ns <= 0 {
            return;
        }
        match self.next_tick_ns {
            Some(t) if self.now_ns < t => return,
            _ => {}
        }
        let first = self.next_tick_ns.is_none();
        self.next_tick_ns = Some(self.now_ns.saturating_add(self.limits.tick_ns));
        if !first {
            self.tick_all(proto);
        }
    }

    /// Shows every live connection to [`Protocol::tick`] now (creation order).
    pub(crate) fn tick_all<P: Protocol<Conn = C>>(&mut self, proto: &mut P) {
        let now = self.now_ns;
        for k in self.table.all() {
            if let Some(Slot::Live(conn)) = self.table.get_mut(&k).map(|f| &mut f.slot) {
                let before = Self::held_by::<P>(conn);
                proto.tick(conn, now);
                let after = Self::held_by::<P>(conn);
                self.table.recharge(before, after);
            }
        }
    }

    /// Closes idle flows, at most every half timeout (by capture time).
    fn maybe_sweep<P: Protocol<Conn = C>>(&mut self, proto: &mut P, stats: &mut TcpStats) {
        let timeout = self.limits.idle_timeout_ns.max(1);
        match self.next_sweep_ns {
            None => {
                self.next_sweep_ns = Some(self.now_ns.saturating_add(timeout / 2 + 1));
                return;
            }
            Some(t) if self.now_ns < t => return,
            Some(_) => {}
        }
        self.next_sweep_ns = Some(self.now_ns.saturating_add(timeout / 2 + 1));
        for k in self.table.idle(|last| self.expired(last)) {
            self.end_flow(&k, EndReason::Timeout, proto, stats);
            self.table.drop_tombstone(&k);
        }
    }
}
