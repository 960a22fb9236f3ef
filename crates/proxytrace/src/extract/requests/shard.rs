//! One flow shard of `requests`: the reassembly of the connections routed to it
//! (engine::shard_of) and the rows or tallies of their heads, run on the worker pool
//! between two chunk deliveries.

use super::build::{BuildCounts, Builder, Tally};
use super::reorder::OrderKey;
use super::segments::Seg;
use super::stage::tag_index;
use super::RequestRow;
use crate::capture::prefetch;
use crate::http1::{HeadAssembler, HeadEvent, ReassemblyConfig, ResponseMissing, SegmentMeta};

/// How many segments ahead a shard prefetches payload bytes.
const PREFETCH_SEGMENTS: usize = 8;

/// What a shard does with the heads it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShardMode {
    /// Build rows (profiles known, configured, or not used).
    Rows,
    /// Only tally the heads into the shard's profile table (the first pass).
    Learn,
    /// Tally them, and hand them back to be kept for the row pass (the first pass of
    /// files, [`super::replay`]).
    LearnAndKeep,
    /// Hand the heads back to the stage (a stream's warm-up decides on them in order).
    Events,
}

/// Where a head was completed in the run: the tagged packet index of the segment that
/// completed it and its rank among that segment's heads. Sorting a chunk's heads from
/// every shard by it gives the order one sequential assembler completes them in.
pub(crate) type Made = (u64, u64);

/// What a shard produced for the stage.
pub(crate) enum Produced {
    /// A finished row and its place in the output order.
    Row(OrderKey, Box<RequestRow>),
    /// A head for the stage to decide on.
    Event(Box<HeadEvent>),
    /// A head's share of the profile tallies (the first pass).
    Tally(Box<Tally>),
}

/// One shard's state.
pub(crate) struct Shard {
    assembler: HeadAssembler,
    pub(crate) counts: BuildCounts,
    /// Produced since the stage last collected, with where each was made.
    pub(crate) out: Vec<(Made, Produced)>,
    /// The earliest first-byte time a head still pending here can have (set when asked).
    pub(crate) oldest_pending: Option<i64>,
    events: Vec<HeadEvent>,
}

/// What a shard needs to run over its share of one chunk.
pub(crate) struct ChunkWork<'s> {
    pub(crate) segs: &'s [Seg],
    /// The chunk's bytes (payloads are offsets into them).
    pub(crate) source: &'s [u8],
    /// The run's ordinal of the file.
    pub(crate) file_ord: u32,
    /// The run's latest segment timestamp before this chunk.
    pub(crate) clock: i64,
    /// Compute [`Shard::oldest_pending`] afterwards.
    pub(crate) pending_due: bool,
}

impl Shard {
    pub(crate) fn new(cfg: &ReassemblyConfig, shards: usize) -> Shard {
        Shard {
            assembler: HeadAssembler::new(ReassemblyConfig {
                pair_responses: true,
                ..cfg.shard_share(shards)
            }),
            counts: BuildCounts::default(),
            out: Vec::new(),
            oldest_pending: None,
            events: Vec::new(),
        }
    }

    pub(crate) fn assembler(&self) -> &HeadAssembler {
        &self.assembler
    }

    /// Reassemble this shard's segments of a chunk (in packet order) and deal with the
    /// heads they complete.
    pub(crate) fn run(&mut self, work: ChunkWork<'_>, mode: ShardMode, builder: &Builder<'_>) {
        let mut events = std::mem::take(&mut self.events);
        for (i, seg) in work.segs.iter().enumerate() {
            // The payload was last read by a worker long ago: ask for the first bytes of a
            // later segment now, so reading them (a response start, a head) does not wait
            // on memory.
            if let Some(ahead) = work.segs.get(i + PREFETCH_SEGMENTS) {
                prefetch(work.source, ahead.payload_at as usize);
            }
            let at = seg.payload_at as usize;
            // Always in range: the offsets came from records of this source.
            let payload = work
                .source
                .get(at..at + seg.payload_len as usize)
                .unwrap_or_default();
            let meta = SegmentMeta {
                ts_ns: seg.ts_ns,
                packet_index: tag_index(work.file_ord, seg.index),
                flow: seg.flow,
                seq: seg.seq,
                flags: seg.flags,
                payload,
            };
            let now = work.clock.max(seg.now_ns);
            self.assembler.push_at(meta, now, &mut |ev| events.push(ev));
            for (rank, ev) in events.drain(..).enumerate() {
                self.take((meta.packet_index, rank as u64), ev, mode, builder);
            }
        }
        self.events = events;
        if work.pending_due {
            self.oldest_pending = self.assembler.oldest_pending_ts();
        }
    }

    /// End of input: flush unfinished heads. `shard` ranks them after every head of the
    /// run, shard by shard.
    pub(crate) fn finish(&mut self, shard: usize, mode: ShardMode, builder: &Builder<'_>) {
        let mut events = Vec::new();
        self.assembler.finish(&mut |ev| events.push(ev));
        let base = (shard as u64) << 32;
        for (rank, ev) in events.into_iter().enumerate() {
            self.take((u64::MAX, base + rank as u64), ev, mode, builder);
        }
    }

    /// A live input paused: every head waiting for its response leaves now (`shard`
    /// ranks them after the chunk's heads, shard by shard).
    pub(crate) fn let_go_waiting(&mut self, shard: usize, mode: ShardMode, builder: &Builder<'_>) {
        let mut events = std::mem::take(&mut self.events);
        self.assembler
            .let_go_waiting(ResponseMissing::CaptureEnd, &mut |ev| events.push(ev));
        let base = (shard as u64) << 32;
        for (rank, ev) in events.drain(..).enumerate() {
            self.take((u64::MAX - 1, base + rank as u64), ev, mode, builder);
        }
        self.events = events;
        self.oldest_pending = self.assembler.oldest_pending_ts();
    }

    fn take(&mut self, made: Made, ev: HeadEvent, mode: ShardMode, builder: &Builder<'_>) {
        match mode {
            ShardMode::Rows => {
                if let Some((key, row)) = builder.build(ev, &mut self.counts) {
                    self.out.push((made, Produced::Row(key, Box::new(row))));
                }
            }
            ShardMode::Learn | ShardMode::LearnAndKeep => {
                self.counts.heads += 1;
                if let Some(t) = builder.tally(&ev) {
                    self.out.push((made, Produced::Tally(Box::new(t))));
                }
                if mode == ShardMode::LearnAndKeep {
                    self.out.push((made, Produced::Event(Box::new(ev))));
                }
            }
            ShardMode::Events => self.out.push((made, Produced::Event(Box::new(ev)))),
        }
    }
}
