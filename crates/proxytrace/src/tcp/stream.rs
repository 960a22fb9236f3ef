//! One direction's byte stream: the next expected sequence number, out-of-order segments
//! put back in order, retransmitted and overlapping bytes dropped (and compared: first
//! copy wins), holes given up on as counted gaps. Contiguous bytes go to the protocol
//! above through [`StreamApp`], which knows nothing of sequence numbers.

use super::assembler::{OooLimits, OutOfOrder, Recent};
use super::flow_table::heap_block;
use super::segment::SegPos;
use super::seq::Seq;
use super::stats::TcpStats;

/// Where the next byte delivered sits in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAt {
    /// Its TCP sequence number.
    pub seq: Seq,
    /// Its offset from the stream start (gaps count).
    pub offset: u64,
}

/// Something the stream noticed that the protocol above may report with its next
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Bytes already taken arrived again.
    Retransmission,
    /// A copy of bytes already taken or buffered disagrees with the first copy.
    OverlapConflict,
    /// A buffered out-of-order segment was put back in order.
    OutOfOrderRepaired,
}

/// The protocol above a byte stream: it takes contiguous bytes and is told about holes.
pub trait StreamApp {
    /// The protocol gave up on this stream: no more bytes are delivered (unless a
    /// [`StreamApp::rewind`] revives it).
    fn is_dead(&self) -> bool;
    /// Takes in-order bytes `d` (never empty) starting at `at`, carried by the packet at
    /// `from`. Returns how many it used; 0 is allowed when it changed state, and it is
    /// called again with the rest.
    fn take(&mut self, d: &[u8], at: StreamAt, from: SegPos) -> usize;
    /// `n` bytes at the next expected position are missing for good.
    fn gap(&mut self, n: u32);
    /// Something worth flagging happened (see [`Note`]).
    fn note(&mut self, what: Note);
    /// A copy starting at `seq` with bytes `new` disagrees with what was taken (or the
    /// stream is dead). If the protocol prefers to take the stream again from an earlier
    /// point, it resets itself and returns that point. It counts a conflict it was not
    /// told about through `note` (`dead`) in `stats`.
    fn rewind(
        &mut self,
        seq: Seq,
        new: &[u8],
        dead: bool,
        stats: &mut TcpStats,
    ) -> Option<StreamAt>;
    /// A dead stream was not revived: the protocol forgets its rewind point.
    fn forget_rewind_point(&mut self);
}

/// What a stream needs from its flow table: the counters and the out-of-order caps.
pub struct StreamCtx<'a> {
    /// TCP counters.
    pub stats: &'a mut TcpStats,
    /// Out-of-order caps.
    pub limits: &'a OooLimits,
}

/// One direction of a TCP connection, as a byte stream.
pub struct Stream {
    /// Sequence number of the next expected byte (meaningless until `seq_known`).
    next_seq: Seq,
    seq_known: bool,
    /// Offset of the next expected byte from the stream start.
    offset: u64,
    /// ISN of the SYN that opened the connection, if seen.
    syn_seq: Option<u32>,
    /// Sequence number just past the FIN, once seen.
    fin_at: Option<Seq>,
    ooo: OutOfOrder,
    recent: Recent,
}

impl Stream {
    /// A stream whose next byte is `next_seq` (if `seq_known`; else the first segment
    /// seen fixes it).
    pub fn new(next_seq: u32, seq_known: bool, syn_seq: Option<u32>) -> Stream {
        Stream {
            next_seq: Seq(next_seq),
            seq_known,
            offset: 0,
            syn_seq,
            fin_at: None,
            ooo: OutOfOrder::default(),
            recent: Recent::default(),
        }
    }

    /// Where the next byte delivered sits.
    pub fn at(&self) -> StreamAt {
        StreamAt {
            seq: self.next_seq,
            offset: self.offset,
        }
    }

    /// ISN of the opening SYN, if seen.
    pub fn syn_seq(&self) -> Option<u32> {
        self.syn_seq
    }

    /// Is the stream start known?
    pub fn seq_known(&self) -> bool {
        self.seq_known
    }

    /// Fixes the stream start at `seq` (after a SYN+ACK, the client's first segment,
    /// usually the handshake's ACK at ISN + 1, gives it).
    pub fn start_at(&mut self, seq: u32) {
        self.seq_known = true;
        self.next_seq = Seq(seq);
    }

    /// Records a FIN on a segment of `len` bytes at `seq`.
    pub fn fin(&mut self, seq: u32, len: usize) {
        self.fin_at = Some(Seq(seq) + len);
    }

    /// Every byte up to the FIN has been delivered (or given up on).
    pub fn fin_done(&self) -> bool {
        self.fin_at.is_some_and(|f| f.since(self.next_seq) <= 0)
    }

    /// The segments buffered out of order.
    pub fn out_of_order(&self) -> &OutOfOrder {
        &self.ooo
    }

    /// Heap bytes of the stream's buffers (allocated capacities).
    pub fn held(&self) -> usize {
        self.ooo.held() + heap_block(self.recent.held())
    }

    fn advance(&mut self, n: usize) {
        self.next_seq = self.next_seq + n;
        self.offset += n as u64;
    }

    /// Feeds `payload` at `seq` (in order, old, or ahead of a hole).
    pub fn receive(
        &mut self,
        mut seq: Seq,
        mut payload: &[u8],
        pos: SegPos,
        app: &mut impl StreamApp,
        ctx: &mut StreamCtx<'_>,
    ) {
        // The bytes behind `next_seq` were compared already (against buffered segments).
        let mut compared = false;
        loop {
            if payload.is_empty() {
                return;
            }
            if app.is_dead() {
                // A stream the protocol gave up on at a message start may be stray bytes
                // taken first: a better copy at the same place revives it.
                if !self.rewind(seq, payload, true, app, ctx) {
                    app.forget_rewind_point();
                    return;
                }
            }
            let rel = seq.since(self.next_seq);
            if rel > 0 {
                self.insert_ooo(seq, payload, pos, app, ctx);
                return;
            }
            let behind = rel.unsigned_abs() as usize;
            if behind > 0 {
                let overlap = behind.min(payload.len());
                let conflict =
                    !compared && self.check_overlap(behind, &payload[..overlap], app, ctx);
                if conflict && self.rewind(seq, payload, false, app, ctx) {
                    continue;
                }
                if behind >= payload.len() {
                    ctx.stats.retransmitted_segments += 1;
                    ctx.stats.retransmitted_bytes += payload.len() as u64;
                    app.note(Note::Retransmission);
                    return;
                }
                ctx.stats.retransmitted_bytes += behind as u64;
                app.note(Note::Retransmission);
            }
            let fresh = &payload[behind..];
            // Bytes buffered out of order arrived before this copy of them: they win.
            let split = self
                .ooo
                .first()
                .map(|o| o.seq.since(self.next_seq))
                .filter(|&k| k > 0 && (k as usize) < fresh.len())
                .map(|k| k as usize);
            let Some(k) = split else {
                self.deliver(fresh, pos, app);
                self.drain_ooo(app, ctx);
                return;
            };
            // Compared before any of it is taken, so a disagreement is flagged on the
            // message these bytes complete.
            self.compare_with_buffered(fresh, app, ctx);
            compared = true;
            self.deliver(&fresh[..k], pos, app);
            self.drain_ooo(app, ctx);
            // The rest is now behind `next_seq`: compared and trimmed on the next turn.
            seq = seq + (behind + k);
            payload = &fresh[k..];
            if app.is_dead() {
                return;
            }
        }
    }

    /// Hands in-order bytes `d` (starting at `next_seq`) to the protocol.
    fn deliver(&mut self, mut d: &[u8], pos: SegPos, app: &mut impl StreamApp) {
        while !d.is_empty() {
            if app.is_dead() {
                return;
            }
            let used = app.take(d, self.at(), pos);
            self.recent.push(&d[..used]);
            self.advance(used);
            d = &d[used..];
        }
    }

    /// Asks the protocol whether to take the stream again from an earlier point.
    fn rewind(
        &mut self,
        seq: Seq,
        new: &[u8],
        dead: bool,
        app: &mut impl StreamApp,
        ctx: &mut StreamCtx<'_>,
    ) -> bool {
        let Some(to) = app.rewind(seq, new, dead, ctx.stats) else {
            return false;
        };
        self.next_seq = to.seq;
        self.offset = to.offset;
        self.recent.clear();
        true
    }

    /// Compares `fresh` (starting at `next_seq`) with the buffered out-of-order segments
    /// it overlaps; flags and counts a disagreement.
    fn compare_with_buffered(
        &mut self,
        fresh: &[u8],
        app: &mut impl StreamApp,
        ctx: &mut StreamCtx<'_>,
    ) {
        let mut differ = 0u64;
        for o in self.ooo.iter() {
            let off = o.seq.since(self.next_seq);
            if off <= 0 || off as usize >= fresh.len() {
                continue;
            }
            let off = off as usize;
            let n = (fresh.len() - off).min(o.data.len());
            differ += fresh[off..off + n]
                .iter()
                .zip(&o.data[..n])
                .filter(|(a, b)| a != b)
                .count() as u64;
        }
        app.note(Note::Retransmission);
        if differ > 0 {
            ctx.stats.overlap_conflicts += 1;
            ctx.stats.overlap_conflict_bytes += differ;
            app.note(Note::OverlapConflict);
        }
    }

    /// Compares a later copy of the `copy.len()` bytes that start `behind` bytes before
    /// `next_seq` with the kept ones; flags and counts a disagreement. True on conflict.
    fn check_overlap(
        &mut self,
        behind: usize,
        copy: &[u8],
        app: &mut impl StreamApp,
        ctx: &mut StreamCtx<'_>,
    ) -> bool {
        let mut differ = 0u64;
        let mut unchecked = 0u64;
        for (i, &b) in copy.iter().enumerate() {
            match self.recent.back(behind - i) {
                Some(kept) if kept != b => differ += 1,
                Some(_) => {}
                None => unchecked += 1,
            }
        }
        ctx.stats.overlap_unchecked_bytes += unchecked;
        if differ == 0 {
            return false;
        }
        ctx.stats.overlap_conflicts += 1;
        ctx.stats.overlap_conflict_bytes += differ;
        app.note(Note::OverlapConflict);
        true
    }

    /// Delivers the buffered segments the stream has caught up with.
    fn drain_ooo(&mut self, app: &mut impl StreamApp, ctx: &mut StreamCtx<'_>) {
        while let Some(first) = self.ooo.first() {
            let rel = first.seq.since(self.next_seq);
            if rel > 0 {
                break;
            }
            let Some(seg) = self.ooo.pop_first() else {
                break;
            };
            let behind = rel.unsigned_abs() as usize;
            if behind > 0 {
                let overlap = behind.min(seg.data.len());
                self.check_overlap(behind, &seg.data[..overlap], app, ctx);
            }
            if behind >= seg.data.len() {
                ctx.stats.retransmitted_segments += 1;
                ctx.stats.retransmitted_bytes += seg.data.len() as u64;
                app.note(Note::Retransmission);
                continue;
            }
            if behind > 0 {
                ctx.stats.retransmitted_bytes += behind as u64;
                app.note(Note::Retransmission);
            }
            ctx.stats.ooo_segments_repaired += 1;
            app.note(Note::OutOfOrderRepaired);
            self.deliver(&seg.data[behind..], seg.pos, app);
            if app.is_dead() {
                self.clear_ooo(ctx);
                return;
            }
        }
    }

    /// Drops buffered out-of-order data that can no longer be used.
    fn clear_ooo(&mut self, ctx: &mut StreamCtx<'_>) {
        ctx.stats.ooo_bytes_discarded += self.ooo.clear() as u64;
    }

    fn insert_ooo(
        &mut self,
        seq: Seq,
        payload: &[u8],
        pos: SegPos,
        app: &mut impl StreamApp,
        ctx: &mut StreamCtx<'_>,
    ) {
        // A segment already buffered with the same start and at least this length: duplicate.
        if let Some(o) = self.ooo.covering(seq, payload.len()) {
            // The buffered copy came first and stays.
            let differ = o.data.iter().zip(payload).filter(|(a, b)| a != b).count();
            if differ > 0 {
                ctx.stats.overlap_conflicts += 1;
                ctx.stats.overlap_conflict_bytes += differ as u64;
                app.note(Note::OverlapConflict);
            }
            ctx.stats.retransmitted_segments += 1;
            ctx.stats.retransmitted_bytes += payload.len() as u64;
            app.note(Note::Retransmission);
            return;
        }
        if self.ooo.is_full(ctx.limits, payload.len()) {
            // Over the caps: the hole in front is declared lost, buffered data is
            // used, and this segment is retried (it may now be in order).
            ctx.stats.ooo_cap_gaps += 1;
            let k = seq.ahead_of(self.next_seq);
            let target = match self.ooo.first() {
                Some(o) if o.seq.ahead_of(self.next_seq) < k => o.seq,
                _ => seq,
            };
            self.gap(target.ahead_of(self.next_seq), app, ctx);
            self.drain_ooo(app, ctx);
            if !app.is_dead() {
                self.receive(seq, payload, pos, app, ctx);
            }
            return;
        }
        ctx.stats.ooo_segments_buffered += 1;
        self.ooo.insert(self.next_seq, seq, pos, payload);
    }

    /// `n` bytes at `next_seq` are missing: counted, told to the protocol, skipped.
    fn gap(&mut self, n: u32, app: &mut impl StreamApp, ctx: &mut StreamCtx<'_>) {
        // The kept bytes end where the hole starts.
        self.recent.clear();
        ctx.stats.gaps += 1;
        ctx.stats.gap_bytes += u64::from(n);
        app.gap(n);
        self.advance(n as usize);
    }

    /// End of the connection: salvage buffered out-of-order data across the holes, then
    /// drop what could not be delivered.
    pub fn close(&mut self, app: &mut impl StreamApp, ctx: &mut StreamCtx<'_>) {
        while !self.ooo.is_empty() && !app.is_dead() && self.seq_known {
            let Some(target) = self.ooo.first().map(|o| o.seq) else {
                break;
            };
            let n = target.ahead_of(self.next_seq);
            if (n as i32) > 0 {
                self.gap(n, app, ctx);
            }
            self.drain_ooo(app, ctx);
        }
        self.clear_ooo(ctx);
    }
}

/// The stream alone, under a protocol that keeps every byte: no HTTP involved.
#[cfg(test)]
mod tests {
    use super::*;

    /// Collects bytes, holes and notes.
    #[derive(Default)]
    struct Bytes {
        got: Vec<u8>,
        gaps: Vec<u32>,
        notes: Vec<Note>,
    }

    impl StreamApp for Bytes {
        fn is_dead(&self) -> bool {
            false
        }
        fn take(&mut self, d: &[u8], _at: StreamAt, _from: SegPos) -> usize {
            self.got.extend_from_slice(d);
            d.len()
        }
        fn gap(&mut self, n: u32) {
            self.gaps.push(n);
        }
        fn note(&mut self, what: Note) {
            self.notes.push(what);
        }
        fn rewind(&mut self, _: Seq, _: &[u8], _: bool, _: &mut TcpStats) -> Option<StreamAt> {
            None
        }
        fn forget_rewind_point(&mut self) {}
    }

    const POS: SegPos = SegPos {
        ts_ns: 0,
        packet_index: 0,
    };
    const LIMITS: OooLimits = OooLimits {
        max_segments: 2,
        max_bytes: 1 << 10,
    };

    #[test]
    fn reorders_drops_copies_and_gives_up_on_holes() {
        let (mut stats, mut app) = (TcpStats::default(), Bytes::default());
        let mut ctx = StreamCtx {
            stats: &mut stats,
            limits: &LIMITS,
        };
        // Starts just before the sequence space wraps.
        let isn = u32::MAX - 2;
        let mut s = Stream::new(isn, true, None);
        let at = |k: usize| Seq(isn) + k;
        s.receive(at(3), b"def", POS, &mut app, &mut ctx);
        s.receive(at(0), b"abc", POS, &mut app, &mut ctx);
        assert_eq!(app.got, b"abcdef");
        assert_eq!(app.notes, [Note::OutOfOrderRepaired]);
        // A retransmission that disagrees: the first copy stays.
        s.receive(at(1), b"Xc", POS, &mut app, &mut ctx);
        assert_eq!(app.got, b"abcdef");
        assert_eq!(ctx.stats.overlap_conflicts, 1);
        // Two segments beyond a hole fill the buffer; a third declares the hole a gap.
        s.receive(at(10), b"k", POS, &mut app, &mut ctx);
        s.receive(at(12), b"m", POS, &mut app, &mut ctx);
        s.receive(at(14), b"o", POS, &mut app, &mut ctx);
        assert_eq!(app.gaps, [4]);
        assert_eq!(app.got, b"abcdefk");
        // At close, the remaining holes are crossed to salvage what was buffered.
        s.close(&mut app, &mut ctx);
        assert_eq!(app.got, b"abcdefkmo");
        assert_eq!(app.gaps, [4, 1, 1]);
        assert_eq!(s.at().offset, 15);
        assert_eq!(ctx.stats.ooo_bytes_discarded, 0);
    }
}
