//! The parallel half of `requests` and `connections`: workers decode every record of a
//! chunk and keep its TCP segments as offsets into the chunk (no payload copies), plus the
//! packet outcomes. `requests` gets them routed to flow shards (engine::shard_of), each
//! shard's in packet order; [`walk_segments`] hands them, in packet order, to a sequential
//! stage (`connections`).

use super::stage::tag_index;
use crate::capture::{Capture, CaptureError, Record, WalkStats};
use crate::decode::{self, Decoded, FiveTuple, Outcomes, TcpFlags};
use crate::engine::{shard_of, Engine, Job, SHARDS};
use crate::http1::SegmentMeta;
use std::ops::ControlFlow;

/// One TCP segment as a worker saw it, with its payload in the chunk's arena.
pub(crate) struct Seg {
    pub(crate) ts_ns: i64,
    pub(crate) index: u64,
    pub(crate) flow: FiveTuple,
    pub(crate) seq: u32,
    pub(crate) flags: TcpFlags,
    /// Where the payload is in the chunk's source bytes (`ChunkInfo::source`): workers
    /// hand over offsets, not copies (copying every payload cost a fifth of the run).
    pub(crate) payload_at: u64,
    pub(crate) payload_len: u32,
    /// The latest timestamp of the chunk's kept segments up to this one: a shard's clock
    /// is the run's, not only its own flows'.
    pub(crate) now_ns: i64,
}

/// A chunk's TCP segments and packet outcomes.
pub(crate) struct SegmentChunk {
    /// In packet order ([`AllSegmentsJob`]); grouped by flow shard, each group in packet
    /// order, once a [`SegmentJob`] chunk is finished.
    pub(crate) segs: Vec<Seg>,
    /// [`SegmentJob`]: the shard of each segment while walking; then empty.
    shard_of_seg: Vec<u8>,
    /// [`SegmentJob`]: where each shard's group starts in `segs` (and where the last ends).
    shard_starts: Vec<usize>,
    sharded: bool,
    pub(crate) outcomes: Outcomes,
    /// The latest timestamp of the kept segments (`i64::MIN` if none).
    pub(crate) max_ts: i64,
}

impl SegmentChunk {
    fn new(sharded: bool) -> SegmentChunk {
        SegmentChunk {
            segs: Vec::new(),
            shard_of_seg: Vec::new(),
            shard_starts: Vec::new(),
            sharded,
            outcomes: Outcomes::default(),
            max_ts: i64::MIN,
        }
    }

    /// Segments kept.
    pub(crate) fn len(&self) -> usize {
        self.segs.len()
    }

    /// Group the segments by shard (a stable counting sort: one allocation, packet order
    /// kept within each shard).
    fn group_by_shard(&mut self) {
        let mut starts = vec![0usize; SHARDS + 1];
        for &k in &self.shard_of_seg {
            starts[usize::from(k) + 1] += 1;
        }
        for k in 0..SHARDS {
            starts[k + 1] += starts[k];
        }
        let mut next = starts.clone();
        let mut slots: Vec<Option<Seg>> = Vec::with_capacity(self.segs.len());
        slots.resize_with(self.segs.len(), || None);
        for (seg, &k) in self.segs.drain(..).zip(&self.shard_of_seg) {
            let at = &mut next[usize::from(k)];
            slots[*at] = Some(seg);
            *at += 1;
        }
        self.segs = slots.into_iter().flatten().collect();
        self.shard_of_seg = Vec::new();
        self.shard_starts = starts;
    }

    /// Each shard's segments, in shard order (a [`SegmentJob`] chunk).
    pub(crate) fn shard_slices(&self) -> Vec<&[Seg]> {
        (0..SHARDS)
            .map(
                |k| match (self.shard_starts.get(k), self.shard_starts.get(k + 1)) {
                    (Some(&a), Some(&b)) => self.segs.get(a..b).unwrap_or_default(),
                    _ => &[],
                },
            )
            .collect()
    }
}

/// Decode every record, keep TCP segments that move stream bytes or open or close a flow,
/// routed to the shard of their connection.
pub(crate) struct SegmentJob;

/// Decode every record, keep every TCP segment (pure ACKs too: `connections` counts the
/// packets of each direction).
pub(crate) struct AllSegmentsJob;

impl Job for SegmentJob {
    type Chunk = SegmentChunk;
    type Out = SegmentChunk;

    fn start(&self) -> SegmentChunk {
        SegmentChunk::new(true)
    }

    fn record(&self, c: &mut SegmentChunk, rec: &Record<'_>) {
        record(c, rec, false);
    }

    fn finish(&self, mut c: SegmentChunk, _stats: &WalkStats) -> SegmentChunk {
        c.group_by_shard();
        c
    }

    fn rebase(&self, out: &mut SegmentChunk, index_base: u64) {
        rebase(out, index_base);
    }
}

impl Job for AllSegmentsJob {
    type Chunk = SegmentChunk;
    type Out = SegmentChunk;

    fn start(&self) -> SegmentChunk {
        SegmentChunk::new(false)
    }

    fn record(&self, c: &mut SegmentChunk, rec: &Record<'_>) {
        record(c, rec, true);
    }

    fn finish(&self, c: SegmentChunk, _stats: &WalkStats) -> SegmentChunk {
        c
    }

    fn rebase(&self, out: &mut SegmentChunk, index_base: u64) {
        rebase(out, index_base);
    }
}

fn rebase(out: &mut SegmentChunk, index_base: u64) {
    for s in &mut out.segs {
        s.index += index_base;
    }
}

/// Decodes one record into `c`; pure ACKs are kept only when asked.
fn record(c: &mut SegmentChunk, rec: &Record<'_>, pure_acks: bool) {
    let decoded = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns);
    c.outcomes.count(&decoded);
    let Ok(Decoded::Ip(pkt)) = &decoded else {
        return;
    };
    let Some(seg) = SegmentMeta::from_packet(pkt, rec.index) else {
        return;
    };
    // A pure ACK moves no stream byte and opens or closes nothing: the assembler has
    // nothing to do with it, so it is not handed over (a third of a capture's packets).
    if !pure_acks
        && seg.payload.is_empty()
        && seg.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) == 0
    {
        return;
    }
    // The payload is a sub-slice of the record's data.
    let within = seg.payload.as_ptr() as usize - rec.data.as_ptr() as usize;
    c.max_ts = c.max_ts.max(seg.ts_ns);
    if c.sharded {
        // SHARDS fits a byte.
        c.shard_of_seg.push(shard_of(&seg.flow) as u8);
    }
    c.segs.push(Seg {
        ts_ns: seg.ts_ns,
        index: seg.packet_index,
        flow: seg.flow,
        seq: seg.seq,
        flags: seg.flags,
        payload_at: rec.data_offset + within as u64,
        // A record holds at most 16 MiB (capture::MAX_RECORD_LEN).
        payload_len: seg.payload.len() as u32,
        now_ns: c.max_ts,
    });
}

/// How often (segments) a walk asks its stage to release the rows that can no longer be
/// preceded by another.
pub(crate) const RELEASE_EVERY: u64 = 8192;

/// The sequential half of a segment stage (`requests`, `connections`): it takes the
/// segments of a run in packet order and releases rows now and then.
pub(crate) trait SegmentStage {
    /// The stage's row.
    type Row;
    /// One segment, in packet order (its packet index tagged with the file's ordinal).
    fn segment(&mut self, seg: SegmentMeta<'_>);
    /// Hand the rows nothing can precede any more to `emit`; `Break` when it asked to stop.
    fn release(&mut self, emit: &mut dyn FnMut(Self::Row) -> ControlFlow<()>) -> ControlFlow<()>;
    /// Where the walk counts what the records decoded to.
    fn outcomes(&mut self) -> &mut Outcomes;
}

/// Walk one capture (file `ord` of the run) on `engine` with `job`: workers decode, and
/// `stage` takes every segment in packet order with its payload resolved in the chunk,
/// releasing rows every [`RELEASE_EVERY`] segments and once at the file's end. Returns
/// `Break` when `emit` asked to stop, and the walk's counters.
pub(crate) fn walk_segments<J, S>(
    engine: &Engine,
    cap: &mut Capture,
    job: &J,
    ord: u32,
    stage: &mut S,
    emit: &mut dyn FnMut(S::Row) -> ControlFlow<()>,
) -> Result<(ControlFlow<()>, WalkStats), CaptureError>
where
    J: Job<Out = SegmentChunk>,
    S: SegmentStage,
{
    let mut stopped = ControlFlow::Continue(());
    let mut since_release = 0u64;
    let run = engine.run(cap, job, |chunk: SegmentChunk, info| {
        stage.outcomes().merge(&chunk.outcomes);
        for seg in &chunk.segs {
            // Always in range: the offsets came from records of this source.
            let at = seg.payload_at as usize;
            let payload = info
                .source
                .get(at..at + seg.payload_len as usize)
                .unwrap_or_default();
            stage.segment(SegmentMeta {
                ts_ns: seg.ts_ns,
                packet_index: tag_index(ord, seg.index),
                flow: seg.flow,
                seq: seg.seq,
                flags: seg.flags,
                payload,
            });
        }
        since_release += chunk.segs.len() as u64;
        if since_release >= RELEASE_EVERY {
            since_release = 0;
            if stage.release(emit).is_break() {
                stopped = ControlFlow::Break(());
            }
        }
        stopped
    })?;
    if stopped.is_continue() {
        stopped = stage.release(emit);
    }
    Ok((stopped, run.stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::IpProto;
    use std::net::{IpAddr, Ipv4Addr};

    fn seg(index: u64, port: u16) -> Seg {
        Seg {
            ts_ns: index as i64,
            index,
            flow: FiveTuple {
                src_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                src_port: port,
                dst_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
                dst_port: 80,
                proto: IpProto::TCP,
            },
            seq: 0,
            flags: TcpFlags(0),
            payload_at: 0,
            payload_len: 0,
            now_ns: index as i64,
        }
    }

    /// Every segment lands in its connection's shard, once, and each shard keeps packet
    /// order: what makes a shard's reassembly the sequential one.
    #[test]
    fn grouping_keeps_packet_order_within_each_shard() {
        let mut c = SegmentChunk::new(true);
        for i in 0..2000u64 {
            let s = seg(i, 40000 + (i * 7919 % 97) as u16);
            c.shard_of_seg.push(shard_of(&s.flow) as u8);
            c.segs.push(s);
        }
        c.group_by_shard();
        let slices = c.shard_slices();
        assert_eq!(slices.len(), SHARDS);
        let mut seen = 0;
        for (k, slice) in slices.iter().enumerate() {
            assert!(slice.iter().all(|s| shard_of(&s.flow) == k));
            assert!(slice.windows(2).all(|w| w[0].index < w[1].index));
            seen += slice.len();
        }
        assert_eq!(seen, 2000);
        assert!(slices.iter().filter(|s| !s.is_empty()).count() > SHARDS / 2);
    }
}
