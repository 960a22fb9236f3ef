//! The first read's heads, kept so the row pass need not read the capture again.
//!
//! The first read (the identity profiles' learner) runs the very reassembly the row pass
//! would run. When every input is a file, it also keeps what that reassembly made: each
//! head in the order one sequential reassembly completes it, the release bounds the row
//! pass would compute at the same points, and each file's walk counters. The row pass then
//! builds rows from the log (on the worker pool) and releases them at the logged bounds,
//! which gives the rows, their order and the report of a second read, at the cost of
//! building rows only. The log is bounded ([`MAX_LOG_BYTES`]): a run whose heads do not fit
//! reads its captures twice, as before, and the note says so.

use crate::capture::WalkStats;
use crate::decode::Outcomes;
use crate::http1::{HeadEvent, ReassemblyStats};

/// Most head bytes (heads, preambles and per-head bookkeeping) the log keeps: about
/// 400,000 ordinary requests.
pub const MAX_LOG_BYTES: usize = 256 << 20;

/// Per-head bookkeeping charged to the log besides its bytes.
const HEAD_OVERHEAD: usize = std::mem::size_of::<HeadEvent>() + 32;

/// One step of the row pass, in the order it happens.
#[derive(Debug, Clone)]
pub(crate) enum Logged {
    /// A head, completed here.
    Head(HeadEvent),
    /// Release the rows older than this bound.
    Release(i64),
}

/// One file's steps and what its walk counted.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileLog {
    /// The file as named: a row pass replays a file only under the same name.
    pub(crate) name: String,
    pub(crate) steps: Vec<Logged>,
    pub(crate) walk: WalkStats,
    pub(crate) packets: Outcomes,
}

/// Everything the row pass replays.
#[derive(Debug, Clone, Default)]
pub struct HeadLog {
    pub(crate) files: Vec<FileLog>,
    /// The end of input: the heads flushed then, and the final release.
    pub(crate) finish: Vec<Logged>,
    pub(crate) reassembly: ReassemblyStats,
}

/// The log being written by the first read; `None` once it outgrew [`MAX_LOG_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct LogWriter {
    log: Option<HeadLog>,
    bytes: usize,
    /// Steps of the file being read.
    current: Vec<Logged>,
    /// The input has ended (steps go to `finish`).
    finishing: bool,
}

impl LogWriter {
    pub(crate) fn new() -> LogWriter {
        LogWriter {
            log: Some(HeadLog::default()),
            ..LogWriter::default()
        }
    }

    pub(crate) fn head(&mut self, ev: HeadEvent) {
        if self.log.is_none() {
            return;
        }
        self.bytes += ev.head.len() + ev.proxy_preamble.as_ref().map_or(0, Vec::len);
        self.bytes += HEAD_OVERHEAD;
        if self.bytes > MAX_LOG_BYTES {
            self.log = None;
            self.current = Vec::new();
            return;
        }
        self.push(Logged::Head(ev));
    }

    pub(crate) fn release(&mut self, bound: i64) {
        if self.log.is_some() {
            self.push(Logged::Release(bound));
        }
    }

    fn push(&mut self, step: Logged) {
        match (&mut self.log, self.finishing) {
            (Some(log), true) => log.finish.push(step),
            (Some(_), false) => self.current.push(step),
            (None, _) => {}
        }
    }

    /// The file being read ended (to its end: a file that failed is not replayable).
    pub(crate) fn file_done(&mut self, name: String, walk: WalkStats, packets: Outcomes) {
        let steps = std::mem::take(&mut self.current);
        if let Some(log) = &mut self.log {
            log.files.push(FileLog {
                name,
                steps,
                walk,
                packets,
            });
        }
    }

    /// A file could not be read to its end: the row pass must read the captures itself.
    pub(crate) fn give_up(&mut self) {
        self.log = None;
        self.current = Vec::new();
    }

    pub(crate) fn finishing(&mut self) {
        self.finishing = true;
    }

    /// The finished log (`None` if it outgrew its bound or a file failed).
    pub(crate) fn finish(self, reassembly: ReassemblyStats) -> Option<HeadLog> {
        self.log.map(|mut l| {
            l.reassembly = reassembly;
            l
        })
    }
}
