//! [`RequestStage`]: `requests` as a pipeline [`Stage`].
//!
//! Per packet: decode -> TCP segment routed to its connection's flow shard (workers,
//! [`super::segments`]) -> per shard, on the worker pool: bounded reassembly and body
//! skipping ([`HeadAssembler`]), head parsing, identity extraction, row ([`super::shard`])
//! -> on the delivering thread: the rows of each chunk merged into the reorder buffer in
//! the order one sequential reassembly would have made them, then released in time order.
//! One stage serves every file of a run: rotated captures continue each other's
//! connections.

use super::build::{BuildCounts, Builder, FileCtx};
use super::reorder::{ReorderBuffer, LIVE_REORDER_SLACK_NS, REORDER_SLACK_NS};
use super::replay::{FileLog, HeadLog, LogWriter, Logged};
use super::segments::{SegmentChunk, SegmentJob, RELEASE_EVERY};
use super::shard::{ChunkWork, Produced, Shard, ShardMode};
use super::{RequestRow, RequestsConfig};
use crate::capture::{self, Capture, CaptureError, WalkStats};
use crate::decode::Outcomes;
use crate::engine::{Engine, SHARDS};
use crate::http1::head::HeadError;
use crate::http1::{HeadEvent, ReassemblyStats};
use crate::identity::ProfileTable;
use crate::pipeline::{Counter, CounterKind, Counters, Report, RowEmitter, Stage};
use crate::timefmt::Precision;
use rayon::prelude::*;
use serde::Serialize;
use std::ops::ControlFlow;
use std::sync::Arc;

/// What the stage made of the request heads it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestStats {
    /// Request heads the reassembly delivered.
    pub heads: u64,
    /// PROXY preambles that did not parse (their addresses are not believed).
    pub preambles_unparsed: u64,
    /// Rows left out by `--client` or `--identified-only`.
    pub rows_filtered: u64,
    /// Rows released from the reorder buffer because it held
    /// [`MAX_REORDER_ROWS`](super::MAX_REORDER_ROWS): an older row completed later can
    /// follow them (output then not sorted by time).
    pub rows_released_reorder_cap: u64,
    /// Rows of a live input released when it paused, before the reorder slack passed: a
    /// later packet whose time steps back could put an older row after them.
    pub rows_released_input_quiet: u64,
}

impl Counters for RequestStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        vec![
            Counter::new("heads", self.heads, Volume),
            Counter::new("preambles_unparsed", self.preambles_unparsed, Loss),
            Counter::new("rows_filtered", self.rows_filtered, Volume),
            Counter::new(
                "rows_released_reorder_cap",
                self.rows_released_reorder_cap,
                Cap,
            ),
            Counter::new(
                "rows_released_input_quiet",
                self.rows_released_input_quiet,
                Volume,
            ),
        ]
    }
}

/// Heads whose request line could not be parsed, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnparsedHeads([u64; HeadError::ALL.len()]);

impl UnparsedHeads {
    pub(crate) fn add(&mut self, e: HeadError) {
        if let Some(i) = HeadError::ALL.iter().position(|x| *x == e) {
            if let Some(n) = self.0.get_mut(i) {
                *n += 1;
            }
        }
    }

    pub(crate) fn merge(&mut self, o: &UnparsedHeads) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }

    /// Unparsed heads by reason name, the zero ones left out.
    pub fn by_reason(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        HeadError::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(e, n)| (e.name(), n))
    }
}

impl Counters for UnparsedHeads {
    fn counters(&self) -> Vec<Counter> {
        HeadError::ALL
            .iter()
            .zip(self.0)
            .map(|(e, n)| Counter::new(e.name(), n, CounterKind::Loss))
            .collect()
    }
}

/// Most request heads a stream's warm-up holds before deciding the profiles.
pub const WARM_UP_HEADS: usize = 4096;
/// Most head bytes a stream's warm-up holds.
pub const WARM_UP_BYTES: usize = 16 << 20;
/// Longest stretch of capture time a stream's warm-up holds (from its first head), so a
/// live pipeline's rows are not held back for long.
pub const WARM_UP_NS: i64 = 5_000_000_000;

/// What the stage does with per-proxy identity profiles.
enum Profiling {
    /// Build rows with the profiles of the config (if any).
    Use,
    /// Only tally every head; build no row (the first pass).
    Learn,
    /// A stream: tally and hold the first heads, then decide and build their rows.
    WarmUp {
        held: Vec<HeadEvent>,
        bytes: usize,
        first_ts: Option<i64>,
    },
}

/// Turns the packets of one run (all files, in order) into request rows.
pub struct RequestStage<'c> {
    cfg: &'c RequestsConfig,
    profiling: Profiling,
    /// The run's tallies: the first pass's (worked out in the shards, counted here in the
    /// order the heads were completed) or a stream's warm-up.
    learned: ProfileTable,
    /// The profiles rows are built with: the config's, or the warm-up's once decided.
    profiles: Option<Arc<ProfileTable>>,
    extra: Vec<&'c [u8]>,
    shards: Vec<Shard>,
    /// The first read of files keeps its heads here for the row pass.
    log: Option<LogWriter>,
    /// The row pass replays the first read's heads instead of reading the captures.
    replay: Option<Arc<HeadLog>>,
    /// An interrupt ended the replay before the end of its log.
    replay_interrupted: bool,
    /// Heads built or tallied on the delivering thread (a stream's warm-up).
    counts: BuildCounts,
    reorder: ReorderBuffer<RequestRow>,
    rows_released_reorder_cap: u64,
    rows_released_input_quiet: u64,
    files: Vec<FileCtx>,
    /// The latest segment timestamp of the run so far.
    max_ts: i64,
    /// Walk counters of every file read (to its end or to a stop).
    pub walk: WalkStats,
    /// What the records decoded to.
    pub packets: Outcomes,
    /// Files read.
    pub files_read: u64,
}

/// One assembler serves all files (rotated captures continue each other's connections),
/// so the packet index it carries also says which file the packet came from.
const FILE_SHIFT: u32 = 40;

pub(crate) fn tag_index(file_ord: u32, index: u64) -> u64 {
    (u64::from(file_ord) << FILE_SHIFT) | (index & ((1 << FILE_SHIFT) - 1))
}

pub(crate) fn untag_index(tagged: u64) -> (u32, u64) {
    (
        (tagged >> FILE_SHIFT) as u32,
        tagged & ((1 << FILE_SHIFT) - 1),
    )
}

impl<'c> RequestStage<'c> {
    /// A stage extracting what `cfg` asks for.
    pub fn new(cfg: &'c RequestsConfig) -> Self {
        let profiling = if cfg.warm_up && cfg.profiles.is_none() && cfg.identity_sources.is_empty()
        {
            Profiling::WarmUp {
                held: Vec::new(),
                bytes: 0,
                first_ts: None,
            }
        } else {
            Profiling::Use
        };
        RequestStage {
            cfg,
            profiling,
            learned: ProfileTable::default(),
            profiles: cfg.profiles.clone(),
            extra: cfg.extra_headers.iter().map(Vec::as_slice).collect(),
            shards: (0..SHARDS)
                .map(|_| Shard::new(&cfg.reassembly, SHARDS))
                .collect(),
            counts: BuildCounts::default(),
            reorder: ReorderBuffer::default(),
            rows_released_reorder_cap: 0,
            rows_released_input_quiet: 0,
            files: Vec::new(),
            max_ts: i64::MIN,
            log: None,
            replay: cfg.head_log.clone(),
            replay_interrupted: false,
            walk: WalkStats::default(),
            packets: Outcomes::default(),
            files_read: 0,
        }
    }

    /// A stage that only learns the per-proxy profiles of `cfg`'s run (the first pass):
    /// it builds no row; [`RequestStage::into_profiles`] gives the decided table.
    pub fn learner(cfg: &'c RequestsConfig) -> Self {
        let mut stage = RequestStage::new(cfg);
        stage.profiling = Profiling::Learn;
        stage.profiles = None;
        stage.replay = None;
        stage
    }

    /// A learner that also keeps its heads for the row pass ([`super::replay`]).
    pub(crate) fn recording_learner(cfg: &'c RequestsConfig) -> Self {
        let mut stage = RequestStage::learner(cfg);
        stage.log = Some(LogWriter::new());
        stage
    }

    /// The decided profiles and, if it was kept and fits, the log of heads.
    pub(crate) fn into_profiles_and_log(mut self) -> (ProfileTable, Option<HeadLog>) {
        let reassembly = self.reassembly();
        let log = self.log.take().and_then(|l| l.finish(reassembly));
        (self.into_profiles(), log)
    }

    /// The profiles learned by a [`RequestStage::learner`], decided.
    pub fn into_profiles(mut self) -> ProfileTable {
        self.learned.decide();
        self.learned
    }

    /// The profiles rows were built with (the config's, or those a stream's warm-up
    /// decided).
    pub fn profiles(&self) -> Option<&ProfileTable> {
        self.profiles.as_deref()
    }

    /// Counters of the heads and rows so far.
    pub fn stats(&self) -> RequestStats {
        let c = self.all_counts();
        RequestStats {
            heads: c.heads,
            preambles_unparsed: c.preambles_unparsed,
            rows_filtered: c.rows_filtered,
            rows_released_reorder_cap: self.rows_released_reorder_cap,
            rows_released_input_quiet: self.rows_released_input_quiet,
        }
    }

    /// Unparsed heads by reason so far.
    pub fn unparsed(&self) -> UnparsedHeads {
        self.all_counts().unparsed
    }

    fn all_counts(&self) -> BuildCounts {
        let mut c = self.counts.clone();
        for s in &self.shards {
            c.merge(&s.counts);
        }
        c
    }

    /// The reassembly's counters so far, over every shard (a replay: the first read's).
    pub fn reassembly(&self) -> ReassemblyStats {
        if let Some(log) = &self.replay {
            return log.reassembly.clone();
        }
        let mut r = ReassemblyStats::default();
        for s in &self.shards {
            r.merge(s.assembler().stats());
        }
        r
    }

    fn shard_mode(&self) -> ShardMode {
        match self.profiling {
            Profiling::Use => ShardMode::Rows,
            Profiling::Learn if self.log.is_some() => ShardMode::LearnAndKeep,
            Profiling::Learn => ShardMode::Learn,
            Profiling::WarmUp { .. } => ShardMode::Events,
        }
    }

    /// Run every shard over its share of one delivered chunk, then merge what they made.
    fn take_chunk(
        &mut self,
        engine: &Engine,
        chunk: SegmentChunk,
        source: &[u8],
        file_ord: u32,
        pending_due: bool,
    ) {
        self.packets.merge(&chunk.outcomes);
        let mode = self.shard_mode();
        let builder = Builder {
            cfg: self.cfg,
            extra: &self.extra,
            profiles: self.profiles.as_deref(),
            files: &self.files,
        };
        let clock = self.max_ts;
        let work: Vec<ChunkWork<'_>> = chunk
            .shard_slices()
            .into_iter()
            .map(|segs| ChunkWork {
                segs,
                source,
                file_ord,
                clock,
                pending_due,
            })
            .collect();
        engine.each_shard(&mut self.shards, work, |shard, w| {
            shard.run(w, mode, &builder)
        });
        self.max_ts = self.max_ts.max(chunk.max_ts);
        self.collect();
    }

    /// Take what the shards made, in the order one sequential reassembly makes it.
    fn collect(&mut self) {
        let mut made: Vec<_> = self
            .shards
            .iter_mut()
            .flat_map(|s| s.out.drain(..))
            .collect();
        made.sort_unstable_by_key(|(m, _)| *m);
        for (_, p) in made {
            match (p, &mut self.log) {
                (Produced::Row(key, row), _) => self.reorder.push(key, *row),
                (Produced::Tally(t), _) => t.add_to(&mut self.learned),
                // Tallied in the shard already: kept for the row pass.
                (Produced::Event(ev), Some(log)) => log.head(*ev),
                (Produced::Event(ev), None) => self.on_event(*ev),
            }
        }
    }

    /// A head handed back by the shards: a stream's warm-up tallies and holds it (and
    /// once decided, builds it here).
    fn on_event(&mut self, ev: HeadEvent) {
        let builder = Builder {
            cfg: self.cfg,
            extra: &self.extra,
            profiles: self.profiles.as_deref(),
            files: &self.files,
        };
        let full = match &mut self.profiling {
            Profiling::Use => {
                if let Some((key, row)) = builder.build(ev, &mut self.counts) {
                    self.reorder.push(key, row);
                }
                return;
            }
            Profiling::Learn => {
                self.counts.heads += 1;
                if let Some(t) = builder.tally(&ev) {
                    t.add_to(&mut self.learned);
                }
                return;
            }
            Profiling::WarmUp {
                held,
                bytes,
                first_ts,
            } => {
                *bytes += ev.head.len() + ev.proxy_preamble.as_ref().map_or(0, Vec::len);
                let first = *first_ts.get_or_insert(ev.ts_ns);
                let full = held.len() + 1 >= WARM_UP_HEADS
                    || *bytes >= WARM_UP_BYTES
                    || ev.ts_ns.saturating_sub(first) >= WARM_UP_NS;
                if let Some(t) = builder.tally(&ev) {
                    t.add_to(&mut self.learned);
                }
                held.push(ev);
                full
            }
        };
        if full {
            self.end_warm_up();
        }
    }

    /// A live input paused: the heads waiting for their responses leave the shards now
    /// (`capture_end`: the input so far ended first), so their rows show while the pipe stays open.
    fn let_go_waiting(&mut self) {
        let mode = self.shard_mode();
        let builder = Builder {
            cfg: self.cfg,
            extra: &self.extra,
            profiles: self.profiles.as_deref(),
            files: &self.files,
        };
        for (k, s) in self.shards.iter_mut().enumerate() {
            s.let_go_waiting(k, mode, &builder);
        }
        self.collect();
    }

    /// Decide the profiles from the held heads and build their rows.
    fn end_warm_up(&mut self) {
        let Profiling::WarmUp { held, .. } = std::mem::replace(&mut self.profiling, Profiling::Use)
        else {
            return;
        };
        let mut table = std::mem::take(&mut self.learned);
        table.decide();
        self.profiles = Some(Arc::new(table));
        for ev in held {
            self.on_event(ev);
        }
    }

    /// Hand rows that can no longer be preceded by another to `emit`, in order. The
    /// shards' pending heads must have been looked at since the last chunk
    /// (`oldest_pending`).
    fn release(
        &mut self,
        all: bool,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let bound = self.release_bound(all);
        if let Some(log) = &mut self.log {
            log.release(bound);
        }
        if !matches!(self.profiling, Profiling::Use) {
            // Held heads have no row yet; rows built from them later may be older than
            // any released now.
            return ControlFlow::Continue(());
        }
        self.reorder
            .release(bound, &mut self.rows_released_reorder_cap, emit)
    }

    /// A live input paused: release every row older than the oldest pending head, without
    /// the reorder slack (those the slack would have held are counted). The shards'
    /// pending heads were looked at after this chunk (a live input's chunks are all due).
    fn release_quiet(
        &mut self,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // First what the slack lets go anyway.
        if self.release(false, emit).is_break() {
            return ControlFlow::Break(());
        }
        if !matches!(self.profiling, Profiling::Use) {
            return ControlFlow::Continue(());
        }
        let bound = self
            .shards
            .iter()
            .filter_map(|s| s.oldest_pending)
            .fold(i64::MAX, i64::min);
        let before = self.reorder.len();
        let flow = self
            .reorder
            .release(bound, &mut self.rows_released_reorder_cap, emit);
        self.rows_released_input_quiet += (before - self.reorder.len()) as u64;
        flow
    }

    /// Rows older than this can no longer be preceded by another.
    fn release_bound(&self, all: bool) -> i64 {
        if all {
            i64::MAX
        } else {
            let slack = self.max_ts.saturating_sub(if self.cfg.live {
                LIVE_REORDER_SLACK_NS
            } else {
                REORDER_SLACK_NS
            });
            self.shards
                .iter()
                .filter_map(|s| s.oldest_pending)
                .fold(slack, i64::min)
        }
    }

    /// Walk one capture (the next file of the run) on `engine`: workers decode packets
    /// into compact TCP segments routed to flow shards; the shards reassemble and build
    /// rows on the worker pool, chunk after chunk; rows leave here in order. Returns
    /// `Break` when `emit` asked to stop.
    pub fn walk_capture(
        &mut self,
        engine: &Engine,
        mut cap: Capture,
        name: String,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let ord = self.files.len() as u32;
        if let Some(log) = self.replay.clone() {
            match log.files.get(ord as usize).filter(|f| f.name == name) {
                Some(file) => {
                    self.files.push(FileCtx {
                        name,
                        precision: capture_precision(&cap),
                    });
                    let flow = self.replay_file(engine, file, emit);
                    // Its rows come from the first read's log: the file is done.
                    engine.advance(cap.file_len.unwrap_or(0));
                    return Ok(flow);
                }
                // Not the run the first read kept (a file that opened then and not now):
                // read the captures, from here on.
                None => self.replay = None,
            }
        }
        self.files.push(FileCtx {
            name: name.clone(),
            precision: capture_precision(&cap),
        });
        let mut stopped = ControlFlow::Continue(());
        let mut since_release = 0u64;
        let live = self.cfg.live;
        let mut file_packets = Outcomes::default();
        let run = engine.run(&mut cap, &SegmentJob, |chunk: SegmentChunk, info| {
            if self.log.is_some() {
                file_packets.merge(&chunk.outcomes);
            }
            since_release += chunk.len() as u64;
            // A live input's rows leave after every batch (batches are small there).
            let due = since_release >= RELEASE_EVERY || live;
            self.take_chunk(engine, chunk, info.source, ord, due);
            if live && info.idle {
                // The input paused and its reader is waiting: decide a warm-up now, and
                // let every row go that no pending head can precede (only a packet that
                // steps back in time could still come before them); heads waiting for
                // their responses go too.
                self.let_go_waiting();
                self.end_warm_up();
                stopped = self.release_quiet(emit);
            } else if due {
                since_release = 0;
                stopped = self.release(false, emit);
            }
            stopped
        });
        let run = match run {
            Ok(run) if run.interrupted => {
                if let Some(log) = &mut self.log {
                    log.give_up();
                }
                run
            }
            Ok(run) => run,
            Err(e) => {
                if let Some(log) = &mut self.log {
                    log.give_up();
                }
                return Err(e);
            }
        };
        if stopped.is_continue() {
            for s in &mut self.shards {
                s.oldest_pending = s.assembler().oldest_pending_ts();
            }
            stopped = self.release(false, emit);
        }
        if let Some(log) = &mut self.log {
            if stopped.is_break() {
                log.give_up();
            }
            log.file_done(name, run.stats.clone(), file_packets);
        }
        self.files_read += 1;
        self.walk.merge(&run.stats);
        Ok(stopped)
    }

    /// The row pass of a file the first read kept: its heads become rows (built on the
    /// worker pool) and leave at the bounds the reassembly had there.
    fn replay_file(
        &mut self,
        engine: &Engine,
        file: &FileLog,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.walk.merge(&file.walk);
        self.packets.merge(&file.packets);
        self.files_read += 1;
        self.replay_steps(Some(engine), &file.steps, emit)
    }

    fn replay_steps(
        &mut self,
        engine: Option<&Engine>,
        steps: &[Logged],
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut heads: Vec<&HeadEvent> = Vec::new();
        for step in steps {
            match step {
                Logged::Head(ev) => heads.push(ev),
                Logged::Release(bound) => {
                    self.build_logged(engine, &heads);
                    heads.clear();
                    if engine.is_some_and(Engine::interrupted) {
                        // As if the input ended here (engine::Engine::with_interrupt):
                        // the rows so far, without the heads still open at this point.
                        self.replay_interrupted = true;
                        return ControlFlow::Continue(());
                    }
                    let flow =
                        self.reorder
                            .release(*bound, &mut self.rows_released_reorder_cap, emit);
                    if flow.is_break() {
                        return flow;
                    }
                }
            }
        }
        self.build_logged(engine, &heads);
        ControlFlow::Continue(())
    }

    /// Build the rows of logged heads (in parallel on `engine`'s pool when given) and
    /// take them in order, as the shards' rows are.
    fn build_logged(&mut self, engine: Option<&Engine>, heads: &[&HeadEvent]) {
        if heads.is_empty() {
            return;
        }
        let builder = Builder {
            cfg: self.cfg,
            extra: &self.extra,
            profiles: self.profiles.as_deref(),
            files: &self.files,
        };
        let build = |ev: &&HeadEvent| {
            let mut counts = BuildCounts::default();
            let row = builder.build((*ev).clone(), &mut counts);
            (row, counts)
        };
        let built: Vec<_> = match engine {
            Some(e) => e.install(|| heads.par_iter().map(build).collect()),
            None => heads.iter().map(build).collect(),
        };
        for (row, counts) in built {
            self.counts.merge(&counts);
            if let Some((key, row)) = row {
                self.reorder.push(key, row);
            }
        }
    }

    /// End of all input: flush unfinished heads and every held row.
    pub fn finish(
        &mut self,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if let Some(log) = self.replay.clone() {
            if self.replay_interrupted {
                return self
                    .reorder
                    .release(i64::MAX, &mut self.rows_released_reorder_cap, emit);
            }
            return self.replay_steps(None, &log.finish, emit);
        }
        if let Some(log) = &mut self.log {
            log.finishing();
        }
        let mode = self.shard_mode();
        // One shard at a time, its flushed heads taken before the next shard's: a flood of
        // unfinished heads is never held whole, and the rows no remaining shard's pending
        // head can precede leave (under the reorder buffer's cap).
        for k in 0..self.shards.len() {
            let builder = Builder {
                cfg: self.cfg,
                extra: &self.extra,
                profiles: self.profiles.as_deref(),
                files: &self.files,
            };
            if let Some(s) = self.shards.get_mut(k) {
                s.finish(k, mode, &builder);
                s.oldest_pending = None;
            }
            self.collect();
            if self.release(false, emit).is_break() {
                return ControlFlow::Break(());
            }
        }
        self.end_warm_up();
        self.release(true, emit)
    }
}

pub(crate) fn capture_precision(cap: &Capture) -> Precision {
    match &cap.parser {
        capture::Parser::Legacy(p) => match p.resolution {
            capture::TimeResolution::Micro => Precision::MICRO,
            capture::TimeResolution::Nano => Precision::NANO,
        },
        capture::Parser::Ng(_) => Precision::NANO,
    }
}

impl Stage for RequestStage<'_> {
    type Row = RequestRow;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, RequestRow>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let name = capture.path.display().to_string();
        self.walk_capture(engine, capture, name, emit)
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, RequestRow>) -> ControlFlow<()> {
        RequestStage::finish(self, emit)
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.walk);
        report.packets.merge(&self.packets);
        report.section("requests", &self.stats());
        report.section("unparsed_heads", &self.unparsed());
        report.section("reassembly", &self.reassembly());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Input, OpenOptions};
    use crate::extract::requests::MAX_REORDER_ROWS;
    use std::net::IpAddr;

    /// Many complete heads within the reorder slack (10 s of capture time): the reorder
    /// buffer releases the oldest beyond its cap instead of holding every row, and every
    /// row still comes out once, in time order here (nothing older arrives later).
    #[test]
    fn reorder_buffer_is_capped() {
        use proxytrace_synth::packet::{TcpFlags, TcpPacket};
        use proxytrace_synth::writer::{PcapConfig, PcapWriter};
        let n = MAX_REORDER_ROWS as u32 + 5_000;
        let path = std::env::temp_dir().join(format!(
            "proxytrace-reorder-cap-{}.pcap",
            std::process::id()
        ));
        {
            let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            let mut w = PcapWriter::new(f, PcapConfig::default()).unwrap();
            let mut frame = Vec::new();
            for i in 0..n {
                // A SYN first: a head found without one waits for corroboration in the
                // assembler, not in the reorder buffer.
                frame.clear();
                TcpPacket {
                    src: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    seq: 0,
                    flags: TcpFlags::SYN,
                    ..TcpPacket::default()
                }
                .build(&mut frame);
                w.packet(1_000_000_000 + i64::from(i) * 10_000, &frame)
                    .unwrap();
                frame.clear();
                TcpPacket {
                    src: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    flags: TcpFlags::ACK | TcpFlags::PSH,
                    payload: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                    ..TcpPacket::default()
                }
                .build(&mut frame);
                w.packet(1_000_000_000 + i64::from(i) * 10_000, &frame)
                    .unwrap();
                // Its response: the row leaves the reassembly (for the reorder buffer).
                frame.clear();
                let d = TcpPacket::default();
                TcpPacket {
                    src: d.dst,
                    dst: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    src_port: d.dst_port,
                    dst_port: d.src_port,
                    flags: TcpFlags::ACK | TcpFlags::PSH,
                    payload: b"HTTP/1.1 204 No Content\r\n\r\n",
                    ..TcpPacket::default()
                }
                .build(&mut frame);
                w.packet(1_000_000_000 + i64::from(i) * 10_000, &frame)
                    .unwrap();
            }
            w.finish().unwrap();
        }
        let engine = Engine::new(crate::engine::EngineOptions::default()).unwrap();
        let cfg = RequestsConfig::default();
        let mut ex = RequestStage::new(&cfg);
        let cap = capture::open(&Input::Path(path.clone()), OpenOptions { mmap: true }).unwrap();
        let mut times = Vec::new();
        let mut emit = |r: RequestRow| {
            times.push(r.ts_ns);
            ControlFlow::Continue(())
        };
        let _ = ex
            .walk_capture(&engine, cap, "x".into(), &mut emit)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            ex.reorder.len() <= MAX_REORDER_ROWS,
            "{} rows held",
            ex.reorder.len()
        );
        assert!(ex.stats().rows_released_reorder_cap > 0);
        let _ = ex.finish(&mut emit);
        assert_eq!(times.len(), n as usize);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn every_serialized_counter_is_listed() {
        crate::vocab::counters::assert_counters_cover(&RequestStats::default());
        crate::vocab::counters::assert_counters_cover(&ReassemblyStats::default());
    }

    #[test]
    fn file_tags_round_trip() {
        assert_eq!(untag_index(tag_index(3, 12345)), (3, 12345));
        assert_eq!(untag_index(tag_index(0, (1 << 40) - 1)), (0, (1 << 40) - 1));
    }
}
