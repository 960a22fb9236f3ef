//! [`SynScanner`] runs both stages over a run's files (the engine's workers classify, the
//! calling thread tracks); [`SynStage`] is it as a pipeline [`Stage`], one [`SynRow`] per
//! SYN and SYN+ACK whose client passes the filter.

use super::classify::ClassifyJob;
use super::{PacketEvent, Segment, SynEntry, SynRow, SynTracker, SynTrackerStats};
use crate::capture::{Capture, CaptureError, FileFormat, TimeResolution, WalkStats};
use crate::decode::Outcomes;
use crate::engine::Engine;
use crate::fingerprint::Database;
use crate::identity::ClientFilter;
use crate::pipeline::{Counter, CounterKind, Counters, Report, RowEmitter, Stage};
use crate::timefmt::Precision;
use std::ops::ControlFlow;

/// Time precision of a capture's timestamps: the file's resolution for pcap; for pcapng 9
/// digits, since its interfaces (each with a resolution) are only known while reading.
pub fn capture_precision(cap: &Capture) -> Precision {
    match cap.format {
        FileFormat::Pcap {
            resolution: TimeResolution::Micro,
            ..
        } => Precision::MICRO,
        _ => Precision::NANO,
    }
}

/// A scanned file's name and time precision, by the `file` index of entries.
#[derive(Debug, Clone)]
pub struct FileMeta {
    /// The file as named (`-` for standard input).
    pub name: String,
    /// Precision of its timestamps.
    pub precision: Precision,
}

/// What [`SynScanner::scan_with_ends`] passes on.
#[derive(Debug, Clone, Copy)]
pub enum ScanEvent<'a, 'db> {
    /// A finished entry and the metadata of its file.
    Entry(&'a SynEntry<'db>, &'a FileMeta),
    /// A FIN or RST segment (either direction).
    End(&'a Segment),
}

/// Runs both stages over files in order, keeping the tracker across files.
pub struct SynScanner<'db> {
    /// The sequential stage, across files.
    pub tracker: SynTracker<'db>,
    /// The files scanned, by the `file` index of entries.
    pub files: Vec<FileMeta>,
    /// Walk counters of all files scanned.
    pub stats: WalkStats,
    /// What the records of all files scanned decoded to.
    pub packets: Outcomes,
}

impl<'db> SynScanner<'db> {
    /// A scanner matching against `db`.
    pub fn new(db: &'db Database) -> SynScanner<'db> {
        SynScanner {
            tracker: SynTracker::new(db),
            files: Vec::new(),
            stats: WalkStats::default(),
            packets: Outcomes::default(),
        }
    }

    /// Scan one capture; entries finished so far (also of earlier files) go to `out` with
    /// the metadata of their file. `out` returning Break stops the scan.
    pub fn scan<F>(
        &mut self,
        engine: &Engine,
        cap: Capture,
        out: &mut F,
    ) -> Result<ControlFlow<()>, CaptureError>
    where
        F: FnMut(&SynEntry<'db>, &FileMeta) -> ControlFlow<()>,
    {
        self.scan_with_ends(engine, cap, &mut |ev| match ev {
            ScanEvent::Entry(e, meta) => out(e, meta),
            ScanEvent::End(_) => ControlFlow::Continue(()),
        })
    }

    /// [`scan`](Self::scan), also passing every FIN or RST segment to `out`, in capture
    /// order (the join bounds connections' lives with them).
    pub fn scan_with_ends<F>(
        &mut self,
        engine: &Engine,
        mut cap: Capture,
        out: &mut F,
    ) -> Result<ControlFlow<()>, CaptureError>
    where
        F: FnMut(ScanEvent<'_, 'db>) -> ControlFlow<()>,
    {
        let file = self.files.len() as u32;
        self.files.push(FileMeta {
            name: cap.path.display().to_string(),
            precision: capture_precision(&cap),
        });
        let mut stopped = ControlFlow::Continue(());
        let (tracker, files, packets) = (&mut self.tracker, &self.files, &mut self.packets);
        let run = engine.run(&mut cap, &ClassifyJob { file }, |chunk, _| {
            packets.merge(&chunk.outcomes);
            for ev in &chunk.events {
                let mut emit = |e: &SynEntry<'db>| match files.get(e.file as usize) {
                    Some(meta) => out(ScanEvent::Entry(e, meta)),
                    None => ControlFlow::Continue(()),
                };
                if tracker.push(ev, &mut emit).is_break() {
                    stopped = ControlFlow::Break(());
                    break;
                }
                if let PacketEvent::Segment(seg) = ev {
                    if (seg.flags.fin() || seg.flags.rst()) && out(ScanEvent::End(seg)).is_break() {
                        stopped = ControlFlow::Break(());
                        break;
                    }
                }
            }
            stopped
        })?;
        self.stats.merge(&run.stats);
        Ok(stopped)
    }

    /// Release the entries still held, at the end of all input.
    pub fn finish<F>(&mut self, out: &mut F) -> ControlFlow<()>
    where
        F: FnMut(&SynEntry<'db>, &FileMeta) -> ControlFlow<()>,
    {
        let files = &self.files;
        self.tracker
            .finish(&mut |e: &SynEntry<'db>| match files.get(e.file as usize) {
                Some(meta) => out(e, meta),
                None => ControlFlow::Continue(()),
            })
    }
}

/// Fingerprints every handshake of a run's captures; state carries across files.
pub struct SynStage<'db> {
    scanner: SynScanner<'db>,
    db: &'db Database,
    clients: ClientFilter,
}

impl<'db> SynStage<'db> {
    /// Match against `db`; keep rows whose client (the SYN's sender) passes `clients`.
    pub fn new(db: &'db Database, clients: ClientFilter) -> SynStage<'db> {
        SynStage {
            scanner: SynScanner::new(db),
            db,
            clients,
        }
    }
}

impl Stage for SynStage<'_> {
    type Row = SynRow;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, SynRow>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let (db, clients) = (self.db, &self.clients);
        self.scanner.scan(engine, capture, &mut |e, meta| {
            if !clients.matches(e.client().ip()) {
                return ControlFlow::Continue(());
            }
            emit(SynRow::new(e, meta, db))
        })
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, SynRow>) -> ControlFlow<()> {
        let (db, clients) = (self.db, &self.clients);
        self.scanner.finish(&mut |e, meta| {
            if !clients.matches(e.client().ip()) {
                return ControlFlow::Continue(());
            }
            emit(SynRow::new(e, meta, db))
        })
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.scanner.stats);
        report.packets.merge(&self.scanner.packets);
        report.section("handshakes", self.scanner.tracker.stats());
    }
}

/// Every counter of the tracker is a cap or an age-out: rows released early, uptime
/// samples dropped.
impl Counters for SynTrackerStats {
    fn counters(&self) -> Vec<Counter> {
        vec![
            Counter::new(
                "rows_released_pending_cap",
                self.rows_released_pending_cap,
                CounterKind::Cap,
            ),
            Counter::new(
                "uptime_samples_aged_out",
                self.uptime_samples_aged_out,
                CounterKind::Cap,
            ),
            Counter::new(
                "uptime_samples_evicted_host_cap",
                self.uptime_samples_evicted_host_cap,
                CounterKind::Cap,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_serialized_counter_is_listed() {
        crate::vocab::counters::assert_counters_cover(&SynTrackerStats::default());
    }
}
