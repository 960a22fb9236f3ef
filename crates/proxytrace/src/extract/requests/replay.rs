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

/// Most bytes (heads, preambles and per-head bookkeeping, as allocated) the log keeps:
/// about 100,000 ordinary requests, a couple of GB of capture. It comes on top of the
/// reassembly's own bound (`ReassemblyConfig::max_total_bytes`).
pub const MAX_LOG_BYTES: usize = 64 << 20;

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

/// The log being written by the first read; `None` once it outgrew its bound.
#[derive(Debug, Default)]
pub(crate) struct LogWriter {
    log: Option<HeadLog>,
    bytes: usize,
    max_bytes: usize,
    /// Steps of the file being read.
    current: Vec<Logged>,
    /// The input has ended (steps go to `finish`).
    finishing: bool,
}

impl LogWriter {
    pub(crate) fn new() -> LogWriter {
        LogWriter::with_bound(MAX_LOG_BYTES)
    }

    pub(crate) fn with_bound(max_bytes: usize) -> LogWriter {
        LogWriter {
            log: Some(HeadLog::default()),
            max_bytes,
            ..LogWriter::default()
        }
    }

    pub(crate) fn head(&mut self, ev: HeadEvent) {
        if self.log.is_none() {
            return;
        }
        self.bytes += ev.head.capacity() + ev.proxy_preamble.as_ref().map_or(0, Vec::capacity);
        self.bytes += ev.response.content_type.as_ref().map_or(0, Vec::capacity);
        self.bytes += HEAD_OVERHEAD;
        if self.bytes > self.max_bytes {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Input, OpenOptions};
    use crate::engine::{Engine, EngineOptions};
    use crate::extract::requests::{learn_profiles, RequestRow, RequestStage, RequestsConfig};
    use crate::pipeline::{self, Inputs, Report};
    use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};

    fn rows_and_report(
        engine: &Engine,
        inputs: &Inputs,
        cfg: &RequestsConfig,
    ) -> (Vec<RequestRow>, Report) {
        let mut rows = Vec::new();
        let report = match pipeline::run(engine, inputs, &mut RequestStage::new(cfg), &mut rows) {
            Ok(r) => r,
            Err(never) => match never {},
        };
        (rows, report)
    }

    /// The row pass that replays the first read's heads gives the rows, their order and
    /// the report of a row pass that reads the captures again, over two files, with small
    /// chunks (releases between many chunks) and the default ones.
    #[test]
    fn replay_equals_a_second_read() {
        let dir = std::env::temp_dir().join(format!("proxytrace-replay-{}", std::process::id()));
        let mut paths = Vec::new();
        for (k, seed) in [3u64, 4].into_iter().enumerate() {
            let cfg = ScenarioConfig {
                seed,
                back_bytes: 3 << 20,
                start_ns: 1_767_225_600_000_000_000 + k as i64 * 2_000_000_000,
                ..ScenarioConfig::default()
            };
            let (_, files) = generate_to_dir(&cfg, &dir.join(k.to_string())).unwrap();
            paths.push(files.back);
        }
        let inputs = Inputs::from_files(
            paths.iter().map(|p| Input::Path(p.clone())).collect(),
            OpenOptions { mmap: true },
        );
        for chunk_size in [64 << 10, 8 << 20] {
            let engine = Engine::new(EngineOptions {
                chunk_size,
                ..EngineOptions::default()
            })
            .unwrap();
            let (cfg, _) = learn_profiles(&engine, &inputs, &RequestsConfig::default());
            assert!(cfg.head_log.is_some());
            let reread = RequestsConfig {
                head_log: None,
                ..cfg.clone()
            };
            let (a, ra) = rows_and_report(&engine, &inputs, &cfg);
            let (b, rb) = rows_and_report(&engine, &inputs, &reread);
            assert!(a.len() > 100, "{}", a.len());
            assert!(a == b, "rows differ (chunk size {chunk_size})");
            assert_eq!(ra.sections, rb.sections);
            assert_eq!(
                (ra.records, ra.bytes, ra.files),
                (rb.records, rb.bytes, rb.files)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_log_over_its_bound_is_dropped() {
        let ev = |n: usize| HeadEvent {
            flow: crate::decode::FiveTuple {
                src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
                src_port: 1,
                dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
                dst_port: 2,
                proto: crate::decode::IpProto::TCP,
            },
            ts_ns: 0,
            packet_index: 0,
            seq: 0,
            stream_offset: 0,
            head: vec![b'x'; n],
            proxy_preamble: None,
            ordinal: 1,
            flags: Default::default(),
            response: Default::default(),
        };
        let mut w = LogWriter::with_bound(10_000);
        w.head(ev(1000));
        w.release(5);
        w.file_done("a".into(), WalkStats::default(), Outcomes::default());
        assert!(w.finish(ReassemblyStats::default()).is_some());
        let mut w = LogWriter::with_bound(10_000);
        for _ in 0..20 {
            w.head(ev(1000));
        }
        w.file_done("a".into(), WalkStats::default(), Outcomes::default());
        assert!(w.finish(ReassemblyStats::default()).is_none());
        let mut w = LogWriter::with_bound(10_000);
        w.head(ev(10));
        w.give_up();
        assert!(w.finish(ReassemblyStats::default()).is_none());
    }
}
