//! The parallel engine: the only module that runs things in parallel (rayon).
//!
//! A mapped capture is cut into chunks of `chunk_size` bytes. Worker `k` finds its first
//! record with the format's resync rule (chain validation), walks records until the first
//! record boundary at or after its chunk end (the handoff) and hands its job state back.
//! The merge, in file order, checks that each chunk started where the previous one handed
//! off and with the parser state the previous one ended with; a chunk that did not is
//! walked again from the right place. The heuristic therefore only affects speed: the
//! records, their numbering and the counters equal a sequential walk's.
//!
//! Streams (stdin, .gz, .zst, `--no-mmap`) cannot be split: the calling thread reads and
//! walks them in order, and batches of whole records, copied into owned buffers, go to the
//! same workers. A batch goes when it is full, or when the input has been quiet with
//! records waiting for [`BATCH_LATENCY`] (a live pipeline: a pipe is polled before each
//! read, a reader that cannot be polled is read by a thread of its own).
//!
//! An interrupt flag ([`Engine::with_interrupt`]) ends a run as if the input ended where
//! it was: a stream's batches already read are still delivered, a mapped file's chunks in
//! flight are dropped, no further one is read ([`Engine::open`] does not wait for a quiet
//! writer's first bytes either).
//!
//! Either way at most `2 x threads` chunks are in flight, and their outputs reach the
//! consumer strictly in file order on the calling thread.

mod feed;
mod mapped;
mod progress;
mod shards;
mod stream;

pub use progress::{Phase, Progress};
pub use shards::{shard_of, SHARDS};

use crate::capture::{Capture, CaptureError, Input, OpenOptions, Record, SourceKind, WalkStats};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Work done on the records of one chunk. Workers run `start`, `record` for each record of
/// their chunk in order, then `finish`; outputs reach the consumer in file order.
///
/// `Record::index` as seen by `record` is chunk-local (1-based within the chunk): the
/// file-wide index is `ChunkInfo::index_base + index`. The engine calls [`Job::rebase`] on
/// each output before delivering it, so a job whose output carries indexes can fix them
/// there. Offsets and timestamps are file-wide already.
pub trait Job: Sync {
    /// Per-chunk working state.
    type Chunk: Send;
    /// What a chunk produces: owned, since the chunk's bytes may be unmapped or reused
    /// once it is delivered.
    type Out: Send + 'static;
    /// A fresh working state for a chunk.
    fn start(&self) -> Self::Chunk;
    /// Take one record of the chunk (chunk-local index, file-wide offset and time).
    fn record(&self, chunk: &mut Self::Chunk, rec: &Record<'_>);
    /// Take one non-packet pcapng block of the chunk, in file order among the records
    /// (see [`Visit::block`](crate::capture::Visit::block)); `offset` is file-wide. The
    /// default ignores it.
    fn block(&self, chunk: &mut Self::Chunk, offset: u64, raw: &[u8]) {
        let _ = (chunk, offset, raw);
    }
    /// `stats` are the chunk's walk counters (records, skips and damage in the chunk).
    fn finish(&self, chunk: Self::Chunk, stats: &WalkStats) -> Self::Out;
    /// Turn chunk-local record indexes in `out` into file-wide ones.
    fn rebase(&self, _out: &mut Self::Out, _index_base: u64) {}
}

/// Where a delivered chunk sits in its file.
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkInfo<'a> {
    /// 0-based ordinal of the chunk in the file.
    pub chunk: u64,
    /// Byte range of the file the chunk covers (mapped: its split range; streams: the
    /// bytes consumed for the batch).
    pub offset: u64,
    /// End of that byte range (exclusive).
    pub end: u64,
    /// Packet records (emitted or skipped) in the chunk.
    pub records: u64,
    /// Records of the file before this chunk: add to chunk-local indexes.
    pub index_base: u64,
    /// The chunk was walked again because its worker started at the wrong place or with
    /// the wrong interface table.
    pub redone: bool,
    /// A stream batch that went unfilled because the input was quiet (a live pipeline):
    /// whoever watches the output is waiting for what it holds.
    pub idle: bool,
    /// The bytes the chunk's records were read from, valid while the consumer runs:
    /// the whole mapped file, or a stream batch. `Record::data_offset` indexes into it, so
    /// a job can hand over offsets and the consumer read payloads without a copy.
    pub source: &'a [u8],
}

impl std::fmt::Debug for ChunkInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkInfo")
            .field("chunk", &self.chunk)
            .field("offset", &self.offset)
            .field("end", &self.end)
            .field("records", &self.records)
            .field("index_base", &self.index_base)
            .field("redone", &self.redone)
            .field("idle", &self.idle)
            .field("source_len", &self.source.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// How the engine divides the work.
pub struct EngineOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Bytes per chunk of a mapped file.
    pub chunk_size: usize,
    /// Target bytes per batch of a stream.
    pub batch_size: usize,
}

/// 8 MiB: a few ms of work per chunk, small next to a 100 GB file's page cache, large
/// next to the resync scan at a chunk's start.
pub const DEFAULT_CHUNK_SIZE: usize = 8 << 20;
/// 4 MiB: target batch of a stream, copied into owned buffers for the workers.
pub const DEFAULT_BATCH_SIZE: usize = 4 << 20;
/// 100 ms: how long a stream batch that holds records waits for more input before it goes
/// to the workers unfilled. A live pipeline (`tcpdump -w - | proxytrace requests -`)
/// may take minutes to fill a batch; this is the delay a person watching its rows
/// notices least, while a steady stream is still cut into batches of a useful size
/// (1 MB at 10 MB/s). A stream faster than a batch per 100 ms fills its batches first.
pub const BATCH_LATENCY: Duration = Duration::from_millis(100);

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Why the engine could not start.
pub enum EngineError {
    #[error("cannot start {threads} worker threads: {source}")]
    /// The worker pool could not be built.
    ThreadPool {
        /// Workers asked for.
        threads: usize,
        #[source]
        /// rayon's reason.
        source: rayon::ThreadPoolBuildError,
    },
}

/// What a run over one capture did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRun {
    /// The walk counters of the delivered chunks, equal to a sequential walk's.
    pub stats: WalkStats,
    /// Chunks delivered.
    pub chunks: u64,
    /// Chunks walked a second time (wrong start or interface table).
    pub redone: u64,
    /// The consumer stopped the run.
    pub stopped: bool,
    /// The interrupt flag ended the run before the end of the file.
    pub interrupted: bool,
}

/// A thread pool and the options, built once per process.
pub struct Engine {
    pool: rayon::ThreadPool,
    opts: EngineOptions,
    progress: Option<Arc<dyn Progress>>,
    interrupt: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("threads", &self.threads())
            .field("opts", &self.opts)
            .finish()
    }
}

impl Engine {
    /// An engine with its own worker pool (`threads` 0: one worker per core).
    pub fn new(opts: EngineOptions) -> Result<Engine, EngineError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .thread_name(|i| format!("proxytrace-worker-{i}"))
            .build()
            .map_err(|source| EngineError::ThreadPool {
                threads: opts.threads,
                source,
            })?;
        Ok(Engine {
            pool,
            opts: EngineOptions {
                chunk_size: opts.chunk_size.max(1),
                batch_size: opts.batch_size.max(1),
                ..opts
            },
            progress: None,
            interrupt: None,
        })
    }

    /// A process-wide engine with default options, for library callers that do not
    /// build their own.
    pub fn shared() -> Result<&'static Engine, EngineError> {
        static SHARED: OnceLock<Engine> = OnceLock::new();
        if let Some(e) = SHARED.get() {
            return Ok(e);
        }
        let e = Engine::new(EngineOptions::default())?;
        Ok(SHARED.get_or_init(|| e))
    }

    /// Report progress to `p`: the phases commands announce ([`Engine::phase`]), each
    /// file opened ([`Engine::open`]) and the bytes consumed after each delivered chunk.
    pub fn with_progress(mut self, p: Arc<dyn Progress>) -> Engine {
        self.progress = Some(p);
        self
    }

    /// End runs early once `flag` is set (a signal handler sets it on Ctrl-C): each run
    /// stops as if its input ended there, after delivering what was already read (a
    /// mapped file's chunks in flight are dropped). [`pipeline::run`](crate::pipeline::run)
    /// then reads no further file and still releases the stage's held rows.
    pub fn with_interrupt(mut self, flag: Arc<AtomicBool>) -> Engine {
        self.interrupt = Some(flag);
        self
    }

    /// The interrupt flag is set.
    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Open `input` as [`capture::open`](crate::capture::open) does. With an interrupt
    /// flag, an input whose opening waits for a writer (standard input, a FIFO, a device)
    /// is opened on a thread of its own, so that Ctrl-C does not wait for its first
    /// bytes: `Ok(None)` when the flag was set first.
    ///
    /// The progress display hears of the file before it is opened (a FIFO may wait long).
    pub fn open(&self, input: &Input, opts: OpenOptions) -> Result<Option<Capture>, CaptureError> {
        let size = match input {
            Input::Stdin => None,
            Input::Path(p) => std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        };
        if let Some(p) = &self.progress {
            p.file(&input.display(), size);
        }
        let may_wait = size.is_none();
        match &self.interrupt {
            Some(flag) if may_wait => feed::open_watched(input, opts, flag),
            _ if self.interrupted() => Ok(None),
            _ => crate::capture::open(input, opts).map(Some),
        }
    }

    /// Worker threads in the pool.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Run `f` on the worker pool (its parallel iterators use the pool's workers) and
    /// wait for it.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// The options it was built with.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Chunks in flight at once: enough to keep every worker busy while the merge waits
    /// on the oldest one, few enough that memory does not grow with the file.
    fn window(&self) -> usize {
        2 * self.threads().max(1)
    }

    /// Tell the progress display that `bytes` more of the input were consumed (the
    /// engine does so after each delivered chunk; a stage that makes a file's rows
    /// without walking it, from the first read's log, does it for the whole file).
    pub(crate) fn advance(&self, bytes: u64) {
        if let Some(p) = &self.progress {
            p.advance(bytes);
        }
    }

    /// Tell the progress display that a new read of the inputs begins ([`Phase`]), over
    /// `total` bytes on disk (`None`: a stream of unknown length is among them; see
    /// [`Inputs::total_bytes`](crate::pipeline::Inputs::total_bytes)).
    pub fn phase(&self, phase: Phase, total: Option<u64>) {
        if let Some(p) = &self.progress {
            p.phase(phase, total);
        }
    }

    /// Run `job` over every record of `cap` and hand each chunk's output to `consumer`,
    /// in file order, on the calling thread. `consumer` returning `Break` ends the run
    /// after the chunks already in flight (their outputs are dropped); so does the
    /// interrupt flag ([`Engine::with_interrupt`], `FileRun::interrupted`). Afterwards
    /// `cap.parser` holds the parser state at the end of the walk (pcapng: every section
    /// and interface seen). Only I/O failures of a stream are errors.
    pub fn run<J, C>(
        &self,
        cap: &mut Capture,
        job: &J,
        consumer: C,
    ) -> Result<FileRun, CaptureError>
    where
        J: Job,
        C: FnMut(J::Out, &ChunkInfo<'_>) -> ControlFlow<()>,
    {
        match cap.kind() {
            SourceKind::Mapped => Ok(mapped::run(self, cap, job, consumer)),
            SourceKind::Stream => stream::run(self, cap, job, consumer),
        }
    }
}

/// An empty chunk's output.
fn empty_out<J: Job>(job: &J) -> J::Out {
    job.finish(job.start(), &WalkStats::default())
}

/// What a worker sends back: `None` when it panicked (the scope re-raises the panic).
type Sent<T> = (u64, Option<T>);

/// Run `f` and send its result tagged with `k`; a panic sends `None` first so the
/// merge never waits forever on a chunk that will not come, then propagates.
fn send_result<T>(tx: &std::sync::mpsc::Sender<Sent<T>>, k: u64, f: impl FnOnce() -> T) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => {
            let _ = tx.send((k, Some(v)));
        }
        Err(p) => {
            let _ = tx.send((k, None));
            std::panic::resume_unwind(p);
        }
    }
}
