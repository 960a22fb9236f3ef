//! Mapped captures: split, resync, hand off, verify, redo.

use super::{empty_out, send_result, ChunkInfo, Engine, FileRun, Job, Sent};
use crate::capture::{
    walk_buffer, Capture, Parser, Record, Resync, Visit, WalkEnd, WalkStats, WindowClock,
};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// One chunk's walk.
struct Walked<O> {
    end: WalkEnd,
    /// Parser state after the walk (pcapng: interfaces met on the way).
    fin: Parser,
    stats: WalkStats,
    records: u64,
    out: O,
    /// The clock after the walk (the time window's view of what it saw).
    clock: WindowClock,
}

/// A worker's result: where it started and with which parser state, so the merge can
/// check both against the sequential walk.
struct Piece<O> {
    start: Option<usize>,
    init: Parser,
    walked: Option<Walked<O>>,
}

/// Walk `buf` from the record start `start` to the first record boundary at or after
/// `stop_at` (or the end of the file, or a record past `--until`: `clock`).
fn walk_from<J: Job>(
    job: &J,
    buf: &[u8],
    mut parser: Parser,
    start: usize,
    stop_at: usize,
    mut clock: WindowClock,
) -> Walked<J::Out> {
    let mut chunk = job.start();
    let mut stats = WalkStats::default();
    let mut records = 0u64;
    let (end, _) = walk_buffer(
        &mut parser,
        buf,
        0,
        start,
        true,
        stop_at,
        &mut records,
        None,
        &mut stats,
        &mut clock,
        &mut JobVisit {
            job,
            chunk: &mut chunk,
        },
    );
    let out = job.finish(chunk, &stats);
    Walked {
        end,
        fin: parser,
        stats,
        records,
        out,
        clock,
    }
}

/// Hands a chunk's records and blocks to its job.
struct JobVisit<'j, J: Job> {
    job: &'j J,
    chunk: &'j mut J::Chunk,
}

impl<J: Job> Visit for JobVisit<'_, J> {
    fn record(&mut self, rec: &Record<'_>) -> ControlFlow<()> {
        self.job.record(self.chunk, rec);
        ControlFlow::Continue(())
    }
    fn block(&mut self, offset: u64, raw: &[u8]) {
        self.job.block(self.chunk, offset, raw);
    }
}

/// The first plausible record start in `[from, end)`, judged with `parser`'s resync rule.
/// The scan looks only a bounded distance past `end` (doubling while a candidate's chain
/// needs more bytes), so a chunk whose guessed state is wrong (a pcapng section of the
/// other byte order) cannot scan the rest of the file.
fn find_start(parser: &Parser, buf: &[u8], mut from: usize, end: usize) -> Option<usize> {
    let mut margin = 1usize << 20;
    loop {
        let hi = end.saturating_add(margin).min(buf.len());
        let eof = hi == buf.len();
        match parser.resync(&buf[..hi], from, eof) {
            Resync::Found(p) => return (p < end).then_some(p),
            Resync::NotFound => return None,
            Resync::NeedMore(p) => {
                if p >= end || eof {
                    return None;
                }
                from = p;
                margin = margin.saturating_mul(2);
            }
        }
    }
}

/// The parser state once the first packet record is read: the state every worker of a
/// file guesses it starts with (legacy: the resync window anchored on the first record's
/// time, as in the sequential walk; pcapng: the interface table of the first section).
fn state_after_first_record(parser: &Parser, buf: &[u8], start: usize) -> Parser {
    let mut p = parser.clone();
    let mut index = 0;
    let mut stats = WalkStats::default();
    walk_buffer(
        &mut p,
        buf,
        0,
        start,
        true,
        usize::MAX,
        &mut index,
        None,
        &mut stats,
        // Unbounded: the state after the file's first record, whatever its time.
        &mut WindowClock::default(),
        &mut |_: &Record<'_>| ControlFlow::Break(()),
    );
    p
}

/// Where the sequential walk is when the merge reaches a chunk.
enum Expect {
    /// At a record boundary, with this parser state.
    At(usize, Parser),
    /// Past the end of the file, with the parser state at the end.
    Eof(Parser),
}

const PAGE: usize = 4096;

pub(super) fn run<J, C>(eng: &Engine, cap: &mut Capture, job: &J, mut consumer: C) -> FileRun
where
    J: Job,
    C: FnMut(J::Out, &ChunkInfo<'_>) -> ControlFlow<()>,
{
    let Some(buf) = cap.mapped_bytes() else {
        return FileRun::default();
    };
    let len = buf.len();
    let start = cap.parser.data_start().min(len);
    let cs = eng.opts.chunk_size;
    let n = (len - start).div_ceil(cs).max(1) as u64;
    let bounds = |k: u64| -> (usize, usize) {
        let b = start
            .saturating_add((k as usize).saturating_mul(cs))
            .min(len);
        let e = if k + 1 == n {
            len
        } else {
            b.saturating_add(cs).min(len)
        };
        (b, e)
    };
    // The last chunk walks to the end of the file; the others hand off at their end.
    let stop_at = |k: u64, e: usize| if k + 1 == n { usize::MAX } else { e };

    let initial = cap.parser.clone();
    let mut guess = if n > 1 {
        state_after_first_record(&initial, buf, start)
    } else {
        initial.clone()
    };
    let mut expect = Expect::At(start, initial.clone());
    let mut run = FileRun::default();
    let mut index_base = 0u64;
    let mut released = 0usize;
    // End of the last delivered chunk: the bytes walked, if the run is interrupted.
    let mut walked_to = 0u64;
    let cancel = AtomicBool::new(false);
    let window = eng.window() as u64;
    // The time window's clock as the sequential walk has it at the next chunk. Workers
    // start theirs fresh (they cannot know the chunks before); the merge combines them
    // (`WindowClock::then`) and redoes a chunk whose worker stopped past `--until` where
    // the sequential walk would not have (an earlier chunk went back in time).
    let fresh = WindowClock::new(cap.window);
    let mut clock = fresh;
    // Set once the file went back in time: no worker may stop past `--until` any more.
    let out_of_order = AtomicBool::new(false);
    let capref: &Capture = cap;
    let pages = cap.pages();

    eng.pool.in_place_scope(|s| {
        let (tx, rx) = mpsc::channel::<Sent<Piece<J::Out>>>();
        let mut pending: BTreeMap<u64, Piece<J::Out>> = BTreeMap::new();
        let mut dispatched = 0u64;
        for k in 0..n {
            if eng.interrupted() {
                // The file ends here for the run: what was delivered stays, the chunks
                // in flight are dropped.
                run.interrupted = true;
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            while dispatched < n && dispatched < k + window {
                let d = dispatched;
                let (b, e) = bounds(d);
                capref.advise_range(memmap2::Advice::WillNeed, b, e - b);
                let init = if d == 0 {
                    initial.clone()
                } else {
                    guess.clone()
                };
                let tx = tx.clone();
                let cancel = &cancel;
                let out_of_order = &out_of_order;
                s.spawn(move |_| {
                    send_result(&tx, d, || {
                        if cancel.load(Ordering::Relaxed) {
                            return Piece {
                                start: None,
                                init,
                                walked: None,
                            };
                        }
                        // Chunk 0 starts at the true first record; the others search.
                        let first = if d == 0 {
                            Some(b)
                        } else {
                            find_start(&init, buf, b, e)
                        };
                        let clock = WindowClock {
                            may_stop: fresh.may_stop && !out_of_order.load(Ordering::Relaxed),
                            ..fresh
                        };
                        let walked = first
                            .map(|p| walk_from(job, buf, init.clone(), p, stop_at(d, e), clock));
                        Piece {
                            start: first,
                            init,
                            walked,
                        }
                    })
                });
                dispatched += 1;
            }
            let piece = loop {
                if let Some(p) = pending.remove(&k) {
                    break p;
                }
                match rx.recv() {
                    Ok((i, Some(p))) => {
                        pending.insert(i, p);
                    }
                    // A worker panicked: stop; the scope re-raises its panic.
                    Ok((_, None)) | Err(_) => {
                        cancel.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            };
            let (b, e) = bounds(k);
            let mut redone = false;
            let walked = match &expect {
                // Nothing starts after the end of the file, whatever the worker believed.
                Expect::Eof(_) => None,
                // The previous chunk's last record runs past this whole chunk.
                Expect::At(pos, _) if *pos >= e && k + 1 < n => None,
                Expect::At(pos, state) => {
                    let ok = piece.start == Some(*pos) && piece.init == *state;
                    match piece.walked {
                        // A stop past `--until` stands only if no record before it went
                        // back in time, in this chunk or below the chunks before.
                        Some(w)
                            if ok
                                && !(matches!(w.end, WalkEnd::PastUntil(_))
                                    && clock.then(&w.clock).stepped_back) =>
                        {
                            clock = clock.then(&w.clock);
                            Some(w)
                        }
                        _ => {
                            redone = true;
                            let w = walk_from(job, buf, state.clone(), *pos, stop_at(k, e), clock);
                            clock = w.clock;
                            Some(w)
                        }
                    }
                }
            };
            if clock.stepped_back {
                out_of_order.store(true, Ordering::Relaxed);
            }
            let mut past_until = None;
            let (mut out, records) = match walked {
                Some(w) => {
                    expect = match w.end {
                        WalkEnd::Handoff(p) => Expect::At(p, w.fin),
                        WalkEnd::PastUntil(p) => {
                            past_until = Some(p as u64);
                            Expect::Eof(w.fin)
                        }
                        // Exhausted (Stopped and NeedMore do not happen on a whole map).
                        _ => Expect::Eof(w.fin),
                    };
                    run.stats.merge(&w.stats);
                    (w.out, w.records)
                }
                None => (empty_out(job), 0),
            };
            // Later chunks guess the state the walk has now (a mid-file SHB or IDB).
            if let Expect::At(_, st) = &expect {
                if *st != guess {
                    guess = st.clone();
                }
            }
            run.chunks += 1;
            run.redone += u64::from(redone);
            job.rebase(&mut out, index_base);
            let info = ChunkInfo {
                chunk: k,
                offset: if k == 0 { 0 } else { b as u64 },
                end: e as u64,
                records,
                index_base,
                redone,
                idle: false,
                source: buf,
            };
            index_base += records;
            walked_to = info.end;
            eng.advance(info.end - info.offset);
            if consumer(out, &info).is_break() {
                run.stopped = true;
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            if let Some(at) = past_until {
                // The rest of the file is past `--until`: not read, chunks in flight dropped.
                run.stats.stopped_at_until = Some(at);
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            // Nothing before this chunk's end is read again (workers only read forward
            // from their own start, and the consumer, which may read this chunk's bytes
            // through `source`, is done with it): let its pages go.
            let upto = e / PAGE * PAGE;
            if upto > released {
                // On the pool: the kernel's unmapping (a fifth of this thread's time) would
                // otherwise hold up the next chunk's delivery.
                let (at, len) = (released, upto - released);
                s.spawn(move |_| pages.release(at, len));
                released = upto;
            }
        }
    });
    cap.parser = match expect {
        Expect::At(_, st) | Expect::Eof(st) => st,
    };
    run.stats.bytes = if run.interrupted {
        walked_to
    } else {
        run.stats.stopped_at_until.unwrap_or(len as u64)
    };
    run
}
