//! The parallel half of `requests`: workers decode every record of a chunk and keep its
//! TCP segments as offsets into the chunk (no payload copies), plus the packet outcomes.

use crate::capture::{Record, WalkStats};
use crate::decode::{self, Decoded, FiveTuple, Outcomes, TcpFlags};
use crate::engine::Job;
use crate::http1::SegmentMeta;

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
}

/// A chunk's TCP segments and packet outcomes.
#[derive(Default)]
pub(crate) struct SegmentChunk {
    pub(crate) segs: Vec<Seg>,
    pub(crate) outcomes: Outcomes,
}

/// Decode every record, keep TCP segments that move stream bytes or open or close a flow.
pub(crate) struct SegmentJob;

/// Decode every record, keep every TCP segment (pure ACKs too: `connections` counts the
/// packets of each direction).
pub(crate) struct AllSegmentsJob;

impl Job for SegmentJob {
    type Chunk = SegmentChunk;
    type Out = SegmentChunk;

    fn start(&self) -> SegmentChunk {
        SegmentChunk::default()
    }

    fn record(&self, c: &mut SegmentChunk, rec: &Record<'_>) {
        record(c, rec, false);
    }

    fn finish(&self, c: SegmentChunk, _stats: &WalkStats) -> SegmentChunk {
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
        SegmentChunk::default()
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
    c.segs.push(Seg {
        ts_ns: seg.ts_ns,
        index: seg.packet_index,
        flow: seg.flow,
        seq: seg.seq,
        flags: seg.flags,
        payload_at: rec.data_offset + within as u64,
        // A record holds at most 16 MiB (capture::MAX_RECORD_LEN).
        payload_len: seg.payload.len() as u32,
    });
}
