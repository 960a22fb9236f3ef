//! The HTTP/1 state machine over one reassembled client stream: an optional PROXY
//! preamble at the stream start, then request heads, each followed by a body skipped by
//! its framing; framing lost (gap, cap, invalid framing) or a midstream start means
//! searching for a request line again, and a head found so is held until the stream or
//! the server's side corroborates or refutes it (`http1::resync`, `search`). Emits one
//! [`HeadEvent`] per head. Bytes come from a
//! [`tcp::stream::Stream`](crate::tcp::stream::Stream) through `Bound`, in order.

use super::event::{HeadEvent, HeadFlags};
use super::exchange::Exchanges;
use super::framing::{framing, Chunk, ChunkNext, Framing, CHUNK_SIZE_START};
use super::preamble::{check_preamble, PreambleCheck, PP2_SIG};
use super::resync::{release, Candidate, Candidates};
use super::scan::{
    plausible_line_prefix, resume_from, scan_head, valid_request_line, HeadScan, KNOWN_METHODS,
};
use super::stats::Http1Stats;
use crate::decode::FiveTuple;
use crate::tcp::flow_table::heap_block;
use crate::tcp::segment::SegPos;
use crate::tcp::seq::Seq;
use crate::tcp::stats::TcpStats;
use crate::tcp::stream::{Note, StreamApp, StreamAt};
use memchr::memchr;

mod search;

/// A first payload on an unknown flow that may start a client stream: a PROXY preamble,
/// a complete valid request line, or a known method and SP when the line is longer than
/// the payload.
pub(crate) fn plausible_stream_start(d: &[u8]) -> bool {
    if check_preamble(d) != PreambleCheck::NotPreamble {
        return true;
    }
    match memchr(b'\n', d) {
        Some(lf) => valid_request_line(&d[..lf], false),
        None => KNOWN_METHODS
            .iter()
            .any(|m| d.len() > m.len() && d.starts_with(m) && d[m.len()] == b' '),
    }
}

/// Why a stream is no longer followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dead {
    NotHttp,
    Tunnel,
}

/// Where in the message cycle the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Start of stream: a PROXY preamble may come first (bytes buffered in `buf`).
    Preamble,
    /// At a message boundary (buf empty) or inside a head (buf holds it).
    Head,
    Body(u64),
    Chunked(Chunk),
    /// Framing lost: looking for a request line at line starts.
    Resync {
        at_line_start: bool,
    },
    Dead(Dead),
}

/// A message start in the stream with no head emitted since, where a disagreeing copy
/// that starts a request may replace stray bytes taken first (see
/// [`Conversation::rewind`]).
#[derive(Clone, Copy)]
struct Boundary {
    at: StreamAt,
    /// The phase to restart in: the stream start may still hold a PROXY preamble.
    preamble: bool,
}

/// What the conversation needs from the assembler while it runs.
pub(crate) struct Ctx<'c> {
    /// Client -> server 5-tuple, for the events.
    pub(crate) flow: FiveTuple,
    /// Longest head kept (at least 1).
    pub(crate) max_head_bytes: usize,
    pub(crate) stats: &'c mut Http1Stats,
    pub(crate) out: &'c mut dyn FnMut(HeadEvent),
}

/// HTTP/1 state of one client stream.
pub struct Conversation {
    phase: Phase,
    buf: Vec<u8>,
    scan_from: usize,
    line1_done: bool,
    head_ts: i64,
    head_pkt: u64,
    head_seq: Seq,
    head_pos: u64,
    preamble: Option<Vec<u8>>,
    conn_flags: HeadFlags,
    pending: HeadFlags,
    ordinal: u32,
    /// Resynchronising after a message whose length is unknown: a request line may
    /// start anywhere in a line (a body without a line end runs into it), not only at
    /// line starts.
    resync_anywhere: bool,
    boundary: Option<Boundary>,
    /// The next head is found by searching (midstream start, resync): a candidate until
    /// the stream corroborates it (see `http1::resync`).
    unsynced: bool,
    /// Candidates waiting for the server's side.
    candidates: Candidates,
    /// Candidates rejected by the bytes at the message start `boundary` keeps: restored
    /// if a disagreeing copy there is taken instead (those bytes were stray).
    stashed: Candidates,
    /// The packet that delivered the last bytes taken, and the stream offset where its
    /// bytes began (`u64::MAX`: they began inside it, after bytes not followed).
    seg_pkt: Option<u64>,
    seg_from: u64,
    /// The first packet's bytes begin inside it (a midstream start found by searching).
    first_seg_inside: bool,
    /// The head being assembled began a client segment.
    head_seg_start: bool,
    /// Where the client stream was when the server last started a final response.
    response_at: Option<u64>,
    /// The heads emitted, waiting for their responses (`http1::exchange`).
    pub(crate) exchanges: Exchanges,
}

/// A conversation bound to its context: what its byte stream delivers to.
pub(crate) struct Bound<'a, 'c> {
    pub(crate) conv: &'a mut Conversation,
    pub(crate) ctx: &'a mut Ctx<'c>,
}

impl StreamApp for Bound<'_, '_> {
    fn is_dead(&self) -> bool {
        self.conv.is_dead()
    }
    fn take(&mut self, d: &[u8], at: StreamAt, from: SegPos) -> usize {
        self.conv.take(d, at, from, self.ctx)
    }
    fn gap(&mut self, n: u32) {
        self.conv.gap(n, self.ctx);
    }
    fn note(&mut self, what: Note) {
        self.conv.pending.set(match what {
            Note::Retransmission => HeadFlags::RETRANSMISSION_SEEN,
            Note::OverlapConflict => HeadFlags::OVERLAP_CONFLICT,
            Note::OutOfOrderRepaired => HeadFlags::OUT_OF_ORDER_REPAIRED,
        });
    }
    fn rewind(
        &mut self,
        seq: Seq,
        new: &[u8],
        dead: bool,
        stats: &mut TcpStats,
    ) -> Option<StreamAt> {
        self.conv.rewind(seq, new, dead, self.ctx, stats)
    }
    fn forget_rewind_point(&mut self) {
        self.conv.clear_boundary();
    }
}

impl Conversation {
    /// A conversation at the start of a stream (`midstream`: no SYN was seen).
    pub(crate) fn new(midstream: bool) -> Conversation {
        let mut conn_flags = HeadFlags::default();
        if midstream {
            conn_flags.set(HeadFlags::MIDSTREAM_START);
        }
        Conversation {
            phase: Phase::Preamble,
            buf: Vec::new(),
            scan_from: 0,
            line1_done: false,
            head_ts: 0,
            head_pkt: 0,
            head_seq: Seq(0),
            head_pos: 0,
            preamble: None,
            conn_flags,
            pending: HeadFlags::default(),
            ordinal: 0,
            resync_anywhere: false,
            boundary: None,
            unsynced: midstream,
            candidates: Candidates::default(),
            stashed: Candidates::default(),
            seg_pkt: None,
            seg_from: 0,
            first_seg_inside: false,
            head_seg_start: false,
            response_at: None,
            exchanges: Exchanges::default(),
        }
    }

    /// The stream was joined at a request line found by searching inside its first
    /// segment: no preamble here.
    pub(crate) fn start_at_head(&mut self) {
        self.phase = Phase::Head;
        self.first_seg_inside = true;
    }

    /// Heap bytes of its buffers (allocated capacities): the head buffer and preamble.
    pub(crate) fn held(&self) -> usize {
        heap_block(self.buf.capacity())
            + self
                .preamble
                .as_ref()
                .map_or(0, |p| heap_block(p.capacity()))
            + self.candidates.held()
            + self.stashed.held()
            + self.exchanges.held()
    }

    /// Stream bytes buffered (head so far, preamble).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
            + self.preamble.as_ref().map_or(0, Vec::len)
            + self.candidates.bytes()
            + self.stashed.bytes()
    }

    /// First-byte time of the earliest head not emitted yet (held candidates, the head
    /// being buffered, heads waiting for their responses), if any.
    pub(crate) fn pending_head_ts(&self) -> Option<i64> {
        let buffered = (!self.buf.is_empty()).then_some(self.head_ts);
        [
            self.candidates.oldest_ts(),
            buffered,
            self.exchanges.oldest_ts(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The stream is not followed any more.
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self.phase, Phase::Dead(_))
    }

    /// Not followed, and no rewind can revive it: the state can go.
    pub(crate) fn can_forget(&self) -> bool {
        self.is_dead()
            && self.boundary.is_none()
            && self.candidates.is_empty()
            && self.exchanges.is_idle()
    }

    fn mark_head_start(&mut self, at: StreamAt, pos: SegPos) {
        self.head_ts = pos.ts_ns;
        self.head_pkt = pos.packet_index;
        self.head_seq = at.seq;
        self.head_pos = at.offset;
        self.head_seg_start = at.offset == self.seg_from;
    }

    /// No rewind to the last message start any more (and so no restoring what was
    /// rejected there).
    fn clear_boundary(&mut self) {
        self.boundary = None;
        self.stashed = Candidates::default();
    }

    fn emit(&mut self, head: &[u8], extra: HeadFlags, ctx: &mut Ctx<'_>) {
        self.ordinal = self.ordinal.saturating_add(1);
        self.clear_boundary();
        let flags = self.conn_flags.union(self.pending).union(extra);
        self.pending = HeadFlags::default();
        let ev = HeadEvent {
            flow: ctx.flow,
            ts_ns: self.head_ts,
            packet_index: self.head_pkt,
            seq: self.head_seq.0,
            stream_offset: self.head_pos,
            head: head.to_vec(),
            proxy_preamble: self.preamble.clone(),
            ordinal: self.ordinal,
            flags,
            response: Default::default(),
        };
        if !self.unsynced && self.candidates.is_empty() {
            (ctx.out)(ev);
            return;
        }
        // Found by searching, or led to by the framing of heads that were.
        self.unsynced = false;
        if extra.contains(HeadFlags::PARTIAL) {
            // Cut short: nothing will tell what it and the heads before it were.
            self.candidates.flush_uncertain(ctx.stats, ctx.out);
            release(ev, HeadFlags::RESYNC_UNCERTAIN, ctx.stats, ctx.out);
            return;
        }
        if self.candidates.is_empty()
            && self.head_seg_start
            && self.response_at == Some(self.head_pos)
        {
            // The first client bytes after a response: a proxy writes a request there.
            release(ev, HeadFlags::RESYNC_CORROBORATED, ctx.stats, ctx.out);
            return;
        }
        let c = Candidate {
            ev,
            seg_start: self.head_seg_start,
        };
        let max = ctx.max_head_bytes.max(1);
        self.candidates.push(c, max, ctx.stats, ctx.out);
    }

    fn start_resync(&mut self, ctx: &mut Ctx<'_>, at_line_start: bool) {
        ctx.stats.resyncs += 1;
        self.resync_anywhere = false;
        self.unsynced = true;
        self.clear_boundary();
        self.buf.clear();
        self.line1_done = false;
        self.scan_from = 0;
        self.phase = Phase::Resync { at_line_start };
    }

    /// Body framing after a complete head.
    fn after_head(&mut self, f: Framing, ctx: &mut Ctx<'_>) {
        self.phase = match f {
            Framing::None => Phase::Head,
            Framing::Length(n) => Phase::Body(n),
            Framing::Chunked => Phase::Chunked(CHUNK_SIZE_START),
            Framing::Tunnel => {
                ctx.stats.connect_tunnels += 1;
                Phase::Dead(Dead::Tunnel)
            }
            Framing::Invalid => {
                ctx.stats.framing_errors += 1;
                // Where the held heads' last message ends is unknown: nothing will say.
                self.candidates.flush_uncertain(ctx.stats, ctx.out);
                self.start_resync(ctx, true);
                return;
            }
            Framing::Conflicting => {
                // A careful server refuses the message; we cannot know how much body the
                // client sent, so neither length is followed: the next request line is
                // searched for wherever it starts.
                ctx.stats.framing_errors += 1;
                ctx.stats.conflicting_content_lengths += 1;
                self.candidates.flush_uncertain(ctx.stats, ctx.out);
                self.start_resync(ctx, true);
                self.resync_anywhere = true;
                return;
            }
        };
    }

    /// Takes in-order bytes `d` (not empty) that start at `at`; returns how many it used.
    fn take(&mut self, d: &[u8], at: StreamAt, pos: SegPos, ctx: &mut Ctx<'_>) -> usize {
        if self.seg_pkt != Some(pos.packet_index) {
            self.seg_pkt = Some(pos.packet_index);
            self.seg_from = if std::mem::take(&mut self.first_seg_inside) {
                u64::MAX
            } else {
                at.offset
            };
        }
        if self.boundary.is_none() && self.buf.is_empty() {
            let preamble = self.phase == Phase::Preamble;
            if preamble || self.phase == Phase::Head {
                self.boundary = Some(Boundary { at, preamble });
            }
        }
        match self.phase {
            // The stream does not deliver to a dead conversation.
            Phase::Dead(_) => 0,
            Phase::Preamble => self.step_preamble(d, at, pos, ctx),
            Phase::Head => self.step_head(d, at, pos, ctx),
            Phase::Body(rem) => {
                let k = rem.min(d.len() as u64) as usize;
                ctx.stats.body_bytes_skipped += k as u64;
                let left = rem - k as u64;
                self.phase = if left == 0 {
                    Phase::Head
                } else {
                    Phase::Body(left)
                };
                k
            }
            Phase::Chunked(c) => self.step_chunked(c, d, ctx),
            Phase::Resync { at_line_start } => self.step_resync(d, at_line_start, at, pos, ctx),
        }
    }

    fn step_preamble(&mut self, d: &[u8], at: StreamAt, pos: SegPos, ctx: &mut Ctx<'_>) -> usize {
        let old = self.buf.len();
        let check = if old == 0 {
            check_preamble(d)
        } else {
            // Rare path: the preamble spans segments. Both versions are bounded
            // (107 and 16 + 65535 bytes), so the buffer is too.
            self.buf.extend_from_slice(d);
            check_preamble(&self.buf)
        };
        match check {
            PreambleCheck::NotPreamble => {
                self.phase = Phase::Head;
                self.line1_done = false;
                self.scan_from = 0;
                if old > 0 {
                    // The buffered prefix ("P", "\r\n\r"...) starts a head after all:
                    // keep it as the head so far, minus empty lines, and let the head
                    // step append `d` (none of `d` is consumed here).
                    self.buf.truncate(old);
                    let skip = self
                        .buf
                        .iter()
                        .position(|&c| c != b'\r' && c != b'\n')
                        .unwrap_or(old);
                    ctx.stats.empty_line_bytes_skipped += skip as u64;
                    self.buf.drain(..skip);
                    let kept = self.buf.len();
                    self.head_seq = at.seq - kept;
                    self.head_pos = at.offset.saturating_sub(kept as u64);
                    self.head_seg_start &= skip == 0;
                }
                0
            }
            PreambleCheck::NeedMore => {
                if old == 0 {
                    self.mark_head_start(at, pos);
                    self.buf.extend_from_slice(d);
                }
                d.len()
            }
            PreambleCheck::Complete(len, bad) => {
                let bytes = if old == 0 {
                    d[..len].to_vec()
                } else {
                    let v = self.buf[..len].to_vec();
                    self.buf.clear();
                    v
                };
                let v1 = bytes.starts_with(b"PROXY ");
                let line_ended = bytes.contains(&b'\n');
                if v1 {
                    ctx.stats.preambles_v1 += 1;
                } else {
                    ctx.stats.preambles_v2 += 1;
                }
                self.preamble = Some(bytes);
                self.phase = Phase::Head;
                // The proxy's header came first: nothing rewinds across it, and the
                // stream start is known.
                self.clear_boundary();
                self.unsynced = false;
                if bad {
                    ctx.stats.preambles_invalid += 1;
                    self.conn_flags.set(HeadFlags::PREAMBLE_INVALID);
                    if v1 && !line_ended {
                        // A v1 line without a line end: where it ends is unknown.
                        self.start_resync(ctx, false);
                    }
                }
                len.saturating_sub(old)
            }
        }
    }

    fn step_head(&mut self, d: &[u8], at: StreamAt, pos: SegPos, ctx: &mut Ctx<'_>) -> usize {
        let cap = ctx.max_head_bytes.max(1);
        if self.buf.is_empty() {
            if let Some(n) = self.repeated_preamble(d, ctx) {
                return n;
            }
            // Message boundary: tolerate empty lines before the request line.
            let skip = d
                .iter()
                .position(|&c| c != b'\r' && c != b'\n')
                .unwrap_or(d.len());
            if skip > 0 {
                ctx.stats.empty_line_bytes_skipped += skip as u64;
                return skip;
            }
            self.mark_head_start(at, pos);
            self.line1_done = false;
            // Fast path: scan the payload in place; copy only if the head continues.
            let view = &d[..d.len().min(cap)];
            match scan_head(view, 0, &mut self.line1_done) {
                HeadScan::Complete(n) => {
                    ctx.stats.heads_complete += 1;
                    self.emit(&view[..n], HeadFlags::default(), ctx);
                    let f = framing(&view[..n]);
                    self.after_head(f, ctx);
                    n
                }
                HeadScan::NotHttp => self.not_http(ctx),
                HeadScan::Incomplete if view.len() >= cap => self.capped(view, ctx),
                HeadScan::Incomplete => {
                    self.buf.extend_from_slice(view);
                    self.scan_from = resume_from(view.len(), self.line1_done);
                    view.len()
                }
            }
        } else {
            let old = self.buf.len();
            let take = d.len().min(cap.saturating_sub(old));
            self.buf.extend_from_slice(&d[..take]);
            match scan_head(&self.buf, self.scan_from, &mut self.line1_done) {
                HeadScan::Complete(n) => {
                    ctx.stats.heads_complete += 1;
                    let head = std::mem::take(&mut self.buf);
                    self.emit(&head[..n], HeadFlags::default(), ctx);
                    let f = framing(&head[..n]);
                    // Keep the allocation for the next split head of this flow.
                    self.buf = head;
                    self.buf.clear();
                    self.scan_from = 0;
                    self.after_head(f, ctx);
                    n.saturating_sub(old)
                }
                HeadScan::NotHttp => {
                    // Bytes already in `buf` were consumed earlier; none of `d` is.
                    self.buf.clear();
                    self.not_http(ctx);
                    0
                }
                HeadScan::Incomplete if self.buf.len() >= cap => {
                    let head = std::mem::take(&mut self.buf);
                    self.capped(&head, ctx);
                    take
                }
                HeadScan::Incomplete => {
                    self.scan_from = resume_from(self.buf.len(), self.line1_done);
                    take
                }
            }
        }
    }

    /// A PROXY header at a message boundary after the stream start is never a request:
    /// a proxy writes one, first, so a later one was sent by someone else (a client
    /// through a proxy that passes bytes). It is skipped (the first one keeps naming the
    /// client) and the connection's rows are flagged. Only a header whole in `d` is
    /// recognised; one split across segments ends the flow as not HTTP.
    fn repeated_preamble(&mut self, d: &[u8], ctx: &mut Ctx<'_>) -> Option<usize> {
        if !(d.starts_with(b"PROXY ") || d.starts_with(PP2_SIG)) {
            return None;
        }
        let PreambleCheck::Complete(len, _) = check_preamble(d) else {
            return None;
        };
        if valid_request_line(&d[..len.saturating_sub(1)], false) {
            // `PROXY /x HTTP/1.1`: a request with a generic method.
            return None;
        }
        ctx.stats.preambles_invalid += 1;
        ctx.stats.preambles_repeated += 1;
        self.conn_flags.set(HeadFlags::PREAMBLE_INVALID);
        Some(len)
    }

    fn not_http(&mut self, ctx: &mut Ctx<'_>) -> usize {
        if self.unsynced || !self.candidates.is_empty() {
            // A wrong guess: the held heads' framing led here, to no request. Search on;
            // a disagreeing copy of these bytes may still restore them (stray bytes).
            let keep = self.boundary;
            let n = self.candidates.len();
            ctx.stats.resync_candidates_rejected += n as u64;
            self.ordinal = self.ordinal.saturating_sub(n as u32);
            let stash = std::mem::take(&mut self.candidates);
            self.buf.clear();
            self.start_resync(ctx, false);
            self.boundary = keep;
            self.stashed = stash;
            return 0;
        }
        ctx.stats.not_http_flows += 1;
        self.buf.clear();
        self.phase = Phase::Dead(Dead::NotHttp);
        0
    }

    /// The head reached the cap: emit what we have; framing is lost, so resync.
    /// Returns the number of bytes of `h` consumed (all of it).
    fn capped(&mut self, h: &[u8], ctx: &mut Ctx<'_>) -> usize {
        ctx.stats.heads_capped += 1;
        ctx.stats.heads_partial += 1;
        let extra = HeadFlags(HeadFlags::PARTIAL | HeadFlags::CAPPED);
        self.emit(h, extra, ctx);
        self.start_resync(ctx, false);
        h.len()
    }

    /// Inside a chunked body: decode, and on a broken framing resynchronise.
    fn step_chunked(&mut self, c: Chunk, d: &[u8], ctx: &mut Ctx<'_>) -> usize {
        let (used, skipped, next) = c.step(d);
        ctx.stats.body_bytes_skipped += skipped;
        match next {
            ChunkNext::More(c) => self.phase = Phase::Chunked(c),
            ChunkNext::End => self.phase = Phase::Head,
            ChunkNext::Invalid => {
                ctx.stats.chunked_framing_errors += 1;
                self.start_resync(ctx, false);
            }
        }
        used
    }

    /// `n` bytes at `next_seq` are missing. Keep framing when the gap falls inside a
    /// body of known length; otherwise flush what we have and resynchronise.
    fn gap(&mut self, n: u32, ctx: &mut Ctx<'_>) {
        self.clear_boundary();
        let n64 = u64::from(n);
        let in_body = match self.phase {
            Phase::Body(rem) | Phase::Chunked(Chunk::Data(rem)) => n64 <= rem,
            _ => false,
        };
        if !in_body {
            // The hole cuts what would say what the held heads were.
            self.candidates.flush_uncertain(ctx.stats, ctx.out);
        }
        match self.phase {
            Phase::Body(rem) if n64 <= rem => {
                ctx.stats.gaps_inside_body += 1;
                self.phase = if n64 == rem {
                    Phase::Head
                } else {
                    Phase::Body(rem - n64)
                };
            }
            Phase::Chunked(Chunk::Data(rem)) if n64 <= rem => {
                ctx.stats.gaps_inside_body += 1;
                self.phase = Phase::Chunked(if n64 == rem {
                    Chunk::DataCr
                } else {
                    Chunk::Data(rem - n64)
                });
            }
            Phase::Dead(_) => {}
            Phase::Resync { .. } => {
                self.buf.clear();
                self.phase = Phase::Resync {
                    at_line_start: true,
                }
            }
            Phase::Preamble => {
                if !self.buf.is_empty() {
                    // A preamble cut by the gap.
                    ctx.stats.preambles_invalid += 1;
                    self.conn_flags.set(HeadFlags::PREAMBLE_INVALID);
                    self.preamble = Some(std::mem::take(&mut self.buf));
                }
                self.start_resync(ctx, true);
            }
            Phase::Head if !self.buf.is_empty() => {
                self.flush_partial(ctx);
                self.start_resync(ctx, true);
            }
            // The first byte after a hole is a plausible message start (segments often
            // begin at one); the resync check needs a whole valid request line there.
            _ => self.start_resync(ctx, true),
        }
        // After the flush: the partial head above came before the hole.
        self.pending.set(HeadFlags::GAP_BEFORE);
    }

    /// Emits the unfinished head (if any) as partial.
    fn flush_partial(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Head && !self.buf.is_empty() {
            ctx.stats.heads_partial += 1;
            let head = std::mem::take(&mut self.buf);
            let extra = HeadFlags(HeadFlags::PARTIAL);
            self.emit(&head, extra, ctx);
        } else if self.phase == Phase::Preamble && !self.buf.is_empty() {
            ctx.stats.preambles_invalid += 1;
            self.buf.clear();
        } else if matches!(self.phase, Phase::Resync { .. }) {
            // A candidate request line that never got its LF.
            ctx.stats.resync_bytes_skipped += self.buf.len() as u64;
            self.buf.clear();
        }
    }

    /// Stray bytes (on a pure ACK, say) taken at a message start must not cost the real
    /// request sent at the same sequence number: if a copy starting exactly at the last
    /// message start (no head emitted since) begins a request, and what was taken there
    /// made none (not HTTP, only line ends, or no plausible request line), the stream is
    /// taken again from the new copy. Otherwise the first copy stands. Returns where the
    /// stream restarts, after resetting the conversation to that message start.
    fn rewind(
        &mut self,
        seq: Seq,
        new: &[u8],
        dead: bool,
        ctx: &mut Ctx<'_>,
        tcp: &mut TcpStats,
    ) -> Option<StreamAt> {
        let b = self.boundary?;
        if seq != b.at.seq || !plausible_stream_start(new) {
            return None;
        }
        // Line ends alone (empty lines, or a "\r\n" the preamble check waits on) are no
        // request.
        let taken = self.buf.as_slice();
        let taken = &taken[taken
            .iter()
            .position(|&c| c != b'\r' && c != b'\n')
            .unwrap_or(taken.len())..];
        let first_made_a_request = !dead
            && !taken.is_empty()
            && (plausible_stream_start(taken)
                || (memchr(b'\n', taken).is_none() && plausible_line_prefix(taken)));
        if first_made_a_request {
            return None;
        }
        if dead {
            // Not compared by the stream (the bytes may not have been taken).
            tcp.overlap_conflicts += 1;
            self.pending.set(HeadFlags::OVERLAP_CONFLICT);
            if ctx.stats.not_http_flows > 0 {
                ctx.stats.not_http_flows -= 1;
            }
        }
        ctx.stats.overlap_rewinds += 1;
        if !self.stashed.is_empty() {
            // The heads rejected at this message start were rejected on stray bytes.
            let n = self.stashed.len();
            ctx.stats.resync_candidates_rejected = ctx
                .stats
                .resync_candidates_rejected
                .saturating_sub(n as u64);
            self.ordinal = self.ordinal.saturating_add(n as u32);
            self.candidates = std::mem::take(&mut self.stashed);
        }
        self.phase = if b.preamble {
            Phase::Preamble
        } else {
            Phase::Head
        };
        self.buf.clear();
        self.line1_done = false;
        self.scan_from = 0;
        Some(b.at)
    }

    /// End of the stream (after its out-of-order data was salvaged): flush the
    /// unfinished head.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        self.candidates.flush_uncertain(ctx.stats, ctx.out);
        self.clear_boundary();
        if !self.is_dead() {
            self.flush_partial(ctx);
        }
        self.buf = Vec::new();
    }
}
