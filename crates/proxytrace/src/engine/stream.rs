//! Streams: read ([`Source`]: in place, a pipe polled first so that the wait has a
//! deadline, or by a reader thread) and walked in order on the calling thread, which hands
//! batches of whole records (copied into owned buffers) to the workers; their outputs are
//! delivered in order. A batch goes when it holds `batch_size` bytes, or when records have
//! waited [`BATCH_LATENCY`] and no input is waiting: then the outputs in flight are
//! delivered too, so a live pipeline's rows do not wait for a full batch or the end.
//! Batch boundaries never change the output (a batch ends at a record boundary, as a
//! full one does).

use super::feed::{Fill, Source};
use super::{send_result, ChunkInfo, Engine, FileRun, Job, Sent, BATCH_LATENCY};
use crate::capture::{
    walk_buffer, Capture, CaptureError, Record, SkipReason, StreamWindow, Visit, WalkEnd,
    WalkStats, WindowClock,
};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Instant;

/// A record of a batch: the whole record is `Batch::data[at..at + len]`, its captured
/// bytes `data_len` bytes from `at + data_at`.
struct Meta {
    index: u64,
    offset: u64,
    ts_ns: i64,
    interface: u32,
    link_type: u16,
    caplen: u32,
    orig_len: u32,
    at: usize,
    len: usize,
    data_at: usize,
    data_len: usize,
}

/// What a batch holds, in file order: records, and the non-packet blocks between them
/// (`Batch::data[at..at + len]`, file offset `offset`).
enum Item {
    Record(Meta),
    Block { offset: u64, at: usize, len: usize },
}

struct Batch {
    offset: u64,
    end: u64,
    data: Vec<u8>,
    meta: Vec<Item>,
    stats: WalkStats,
    records: u64,
    /// When its first record was walked: it goes by [`BATCH_LATENCY`] after that.
    first_at: Option<Instant>,
    /// It went unfilled: the input was quiet.
    idle: bool,
}

impl Batch {
    fn new(offset: u64, capacity: usize) -> Batch {
        Batch {
            offset,
            end: offset,
            data: Vec::with_capacity(capacity),
            meta: Vec::new(),
            stats: WalkStats::default(),
            records: 0,
            first_at: None,
            idle: false,
        }
    }
}

struct Done<O> {
    out: O,
    /// The batch's bytes, kept for the consumer (`ChunkInfo::source`).
    data: Vec<u8>,
    stats: WalkStats,
    offset: u64,
    end: u64,
    records: u64,
    idle: bool,
}

fn work<J: Job>(job: &J, b: Batch) -> Done<J::Out> {
    let mut c = job.start();
    for item in &b.meta {
        let m = match item {
            Item::Record(m) => m,
            Item::Block { offset, at, len } => {
                job.block(
                    &mut c,
                    *offset,
                    b.data.get(*at..at + len).unwrap_or_default(),
                );
                continue;
            }
        };
        // Always in range: the positions were recorded when the bytes were appended.
        let raw = b.data.get(m.at..m.at + m.len).unwrap_or_default();
        let data = raw
            .get(m.data_at..m.data_at + m.data_len)
            .unwrap_or_default();
        job.record(
            &mut c,
            &Record {
                index: m.index,
                offset: m.offset,
                ts_ns: m.ts_ns,
                interface: m.interface,
                link_type: m.link_type,
                caplen: m.caplen,
                orig_len: m.orig_len,
                data,
                raw,
                data_offset: (m.at + m.data_at) as u64,
            },
        );
    }
    let out = job.finish(c, &b.stats);
    Done {
        out,
        data: b.data,
        stats: b.stats,
        offset: b.offset,
        end: b.end,
        records: b.records,
        idle: b.idle,
    }
}

/// Copies each record walked (whole, header and options included, so a job may copy it
/// byte for byte) and each non-packet block into the batch being filled.
struct Batcher<'b> {
    data: &'b mut Vec<u8>,
    meta: &'b mut Vec<Item>,
    first_at: &'b mut Option<Instant>,
}

impl Visit for Batcher<'_> {
    fn record(&mut self, r: &Record<'_>) -> ControlFlow<()> {
        if self.first_at.is_none() {
            *self.first_at = Some(Instant::now());
        }
        // `data_offset` and `offset` are both file offsets of the walk: their difference
        // is where the captured bytes start inside the record.
        let data_at = usize::try_from(r.data_offset.saturating_sub(r.offset)).unwrap_or(0);
        self.meta.push(Item::Record(Meta {
            index: r.index,
            offset: r.offset,
            ts_ns: r.ts_ns,
            interface: r.interface,
            link_type: r.link_type,
            caplen: r.caplen,
            orig_len: r.orig_len,
            at: self.data.len(),
            len: r.raw.len(),
            data_at,
            data_len: r.data.len(),
        }));
        self.data.extend_from_slice(r.raw);
        ControlFlow::Continue(())
    }

    fn block(&mut self, offset: u64, raw: &[u8]) {
        self.meta.push(Item::Block {
            offset,
            at: self.data.len(),
            len: raw.len(),
        });
        self.data.extend_from_slice(raw);
    }
}

pub(super) fn run<J, C>(
    eng: &Engine,
    cap: &mut Capture,
    job: &J,
    mut consumer: C,
) -> Result<FileRun, CaptureError>
where
    J: Job,
    C: FnMut(J::Out, &ChunkInfo<'_>) -> ControlFlow<()>,
{
    let waiting = cap.waiting();
    // Progress goes by the bytes read from the file or pipe itself: a compressed file's
    // compressed bytes, which its size on disk (the display's total) measures.
    let counter = cap.read_counter().unwrap_or_default();
    let mut reported = 0u64;
    let mut report_read = || {
        let now = counter.get();
        eng.advance(now.saturating_sub(reported));
        reported = reported.max(now);
    };
    let Some((reader, prefix)) = cap.take_stream() else {
        return Ok(FileRun::default());
    };
    let path = cap.path.clone();
    if eng.interrupted() {
        return Ok(FileRun {
            interrupted: true,
            ..FileRun::default()
        });
    }
    let mut source = Source::new(reader, waiting, eng.interrupt.clone()).map_err(|source| {
        CaptureError::Read {
            path: path.clone(),
            offset: 0,
            source,
        }
    })?;
    let mut parser = cap.parser.clone();
    let start = parser.data_start();
    // The window is filled from the feed, not through its own reader.
    let mut win = StreamWindow::new(Box::new(std::io::empty()), prefix);
    let mut pos = start.min(win.data().len());
    let mut resync: Option<(u64, SkipReason)> = None;
    let mut error: Option<CaptureError> = None;
    let mut run = FileRun::default();
    let bs = eng.opts.batch_size;
    let window = eng.window() as u64;
    // One clock for the whole stream: it is walked in order on this thread.
    let mut clock = WindowClock::new(cap.window);
    let mut past_until: Option<u64> = None;

    eng.pool.in_place_scope(|s| {
        let (tx, rx) = mpsc::channel::<Sent<Done<J::Out>>>();
        let mut pending: BTreeMap<u64, Done<J::Out>> = BTreeMap::new();
        let mut delivered = 0u64;
        let mut dispatched = 0u64;
        let mut index_base = 0u64;
        // Receive results until the next one in order is delivered (`block`) or none is
        // ready; Break when the consumer stops or a worker panicked.
        let mut pump = |block: bool, delivered: &mut u64, run: &mut FileRun| -> ControlFlow<()> {
            loop {
                if let Some(d) = pending.remove(delivered) {
                    let mut out = d.out;
                    job.rebase(&mut out, index_base);
                    let info = ChunkInfo {
                        chunk: *delivered,
                        offset: d.offset,
                        end: d.end,
                        records: d.records,
                        index_base,
                        redone: false,
                        idle: d.idle,
                        source: &d.data,
                    };
                    index_base += d.records;
                    run.stats.merge(&d.stats);
                    run.chunks += 1;
                    *delivered += 1;
                    report_read();
                    if consumer(out, &info).is_break() {
                        run.stopped = true;
                        return ControlFlow::Break(());
                    }
                    if block {
                        return ControlFlow::Continue(());
                    }
                    continue;
                }
                let got = if block {
                    rx.recv().ok()
                } else {
                    match rx.try_recv() {
                        Ok(v) => Some(v),
                        Err(mpsc::TryRecvError::Empty) => return ControlFlow::Continue(()),
                        Err(mpsc::TryRecvError::Disconnected) => None,
                    }
                };
                match got {
                    Some((k, Some(d))) => {
                        pending.insert(k, d);
                    }
                    _ => return ControlFlow::Break(()),
                }
            }
        };

        let mut cur = Batch::new(0, bs + bs / 8);
        let mut local_index = 0u64;
        loop {
            let stop_at = usize::try_from((cur.offset + bs as u64).saturating_sub(win.base))
                .unwrap_or(usize::MAX);
            let data = &mut cur.data;
            let meta = &mut cur.meta;
            let first_at = &mut cur.first_at;
            let (walked, rs) = walk_buffer(
                &mut parser,
                win.data(),
                win.base,
                pos,
                win.eof,
                stop_at,
                &mut local_index,
                resync,
                &mut cur.stats,
                &mut clock,
                &mut Batcher {
                    data,
                    meta,
                    first_at,
                },
            );
            resync = rs;
            // `idle`: the batch goes before it is full, and what is in flight is delivered.
            let (last, idle) = match walked {
                WalkEnd::Handoff(p) => {
                    pos = p;
                    cur.end = win.base + p as u64;
                    (false, false)
                }
                WalkEnd::NeedMore { pos: p } => {
                    let deadline = cur.first_at.map(|t| t + BATCH_LATENCY);
                    // The kept bytes (a record's start) move to the front: the walk goes
                    // on from 0, whatever the fill gives.
                    let room = win.room(p);
                    pos = 0;
                    match source.fill(room, deadline, eng.interrupt.as_deref()) {
                        Fill::Data(n) => {
                            win.filled(n);
                            continue;
                        }
                        Fill::End { cut } => {
                            win.cut |= cut;
                            win.filled(0);
                            continue;
                        }
                        Fill::Idle => {
                            cur.end = win.base;
                            (false, true)
                        }
                        // As if the stream ended at the last whole record walked.
                        Fill::Interrupted => {
                            run.interrupted = true;
                            cur.end = win.base;
                            (true, false)
                        }
                        // Deliver what was read before the error, as the sequential walk.
                        Fill::Failed(source) => {
                            error = Some(CaptureError::Read {
                                path: path.clone(),
                                offset: win.end_offset(),
                                source,
                            });
                            cur.end = win.end_offset();
                            (true, false)
                        }
                    }
                }
                WalkEnd::Exhausted | WalkEnd::Stopped => {
                    cur.end = win.end_offset();
                    (true, false)
                }
                // Nothing from here on is read: the stream ends here for the run.
                WalkEnd::PastUntil(p) => {
                    cur.end = win.base + p as u64;
                    past_until = Some(cur.end);
                    (true, false)
                }
            };
            let next = Batch::new(cur.end, bs + bs / 8);
            let mut batch = std::mem::replace(&mut cur, next);
            batch.records = std::mem::take(&mut local_index);
            batch.idle = idle;
            while dispatched - delivered >= window {
                if pump(true, &mut delivered, &mut run).is_break() {
                    return;
                }
            }
            let tx = tx.clone();
            let k = dispatched;
            s.spawn(move |_| send_result(&tx, k, || work(job, batch)));
            dispatched += 1;
            if pump(false, &mut delivered, &mut run).is_break() {
                return;
            }
            if last {
                break;
            }
            // The input is quiet: nothing is gained by holding outputs back.
            while idle && delivered < dispatched {
                if pump(true, &mut delivered, &mut run).is_break() {
                    return;
                }
            }
        }
        while delivered < dispatched {
            if pump(true, &mut delivered, &mut run).is_break() {
                return;
            }
        }
    });
    report_read();
    cap.parser = parser;
    if let Some(e) = error {
        return Err(e);
    }
    run.stats.stream_cut |= win.cut;
    run.stats.bytes = if run.interrupted {
        win.base
    } else {
        win.end_offset()
    };
    if let Some(at) = past_until {
        run.stats.bytes = at;
        run.stats.stopped_at_until = Some(at);
    }
    Ok(run)
}
