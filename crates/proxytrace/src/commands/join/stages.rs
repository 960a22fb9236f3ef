//! The join's reads as [`pipeline::Stage`]s, and the sink every phase but the last reads
//! into. A join reads the back side up to three times and the front side twice: each
//! read is one [`pipeline::run`], and [`Phase`] makes sure an unreadable file is shown to
//! the caller's sink once, however many reads meet it.

use crate::capture::{Capture, CaptureError};
use crate::collections::hashing::HashSet;
use crate::engine::Engine;
use crate::extract::handshakes::{ScanEvent, Segment, SynEntry, SynScanner};
use crate::fingerprint::Database;
use crate::pipeline::{self, Report, RowEmitter, Sink, Stage};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Request rows of the back side: the shared request stage of `requests`.
pub(super) use crate::extract::requests::RequestStage;

/// What the front side's SYN read yields.
// Nearly every event is a SYN entry, passed by value straight into the index: boxing it
// to shrink the rare end event would allocate once per SYN.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub(super) enum FrontEvent<'db> {
    /// A finished handshake entry (SYN or SYN+ACK).
    Syn(SynEntry<'db>),
    /// A FIN or RST segment: a connection ends.
    End(Segment),
}

/// Finished client-side handshakes (SYN and SYN+ACK entries) and connection ends of the
/// front side.
pub(super) struct SynStage<'db> {
    pub(super) scanner: SynScanner<'db>,
}

impl<'db> SynStage<'db> {
    /// A fresh handshake tracker matching against `db`.
    pub(super) fn new(db: &'db Database) -> Self {
        SynStage {
            scanner: SynScanner::new(db),
        }
    }
}

impl<'db> Stage for SynStage<'db> {
    type Row = FrontEvent<'db>;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, FrontEvent<'db>>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        self.scanner
            .scan_with_ends(engine, capture, &mut |ev| match ev {
                ScanEvent::Entry(e, _) => emit(FrontEvent::Syn(*e)),
                ScanEvent::End(s) => emit(FrontEvent::End(*s)),
            })
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, FrontEvent<'db>>) -> ControlFlow<()> {
        self.scanner.finish(&mut |e, _| emit(FrontEvent::Syn(*e)))
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.scanner.stats);
        report.section("handshakes", self.scanner.tracker.stats());
    }
}

/// Files already shown to the caller's sink as unreadable, and whether the caller asked to
/// stop: shared by every read of one join.
#[derive(Default)]
pub(super) struct Shown {
    files: HashSet<PathBuf>,
    /// The caller's sink answered `Break` to a file error: no further read starts.
    pub(super) stopped: bool,
}

impl Shown {
    /// Pass `error` to `sink` unless an earlier read showed the same file's failure.
    pub(super) fn file_error<R, K: Sink<R>>(
        &mut self,
        sink: &mut K,
        error: &CaptureError,
    ) -> Result<ControlFlow<()>, K::Error> {
        if !self.files.insert(failed_path(error).to_path_buf()) {
            return Ok(ControlFlow::Continue(()));
        }
        let flow = sink.file_error(error)?;
        self.stopped |= flow.is_break();
        Ok(flow)
    }
}

/// The file a capture error is about (every variant names it).
fn failed_path(e: &CaptureError) -> &std::path::Path {
    match e {
        CaptureError::Open { path, .. }
        | CaptureError::Read { path, .. }
        | CaptureError::Empty { path }
        | CaptureError::UnknownFormat { path, .. }
        | CaptureError::TruncatedHeader { path, .. }
        | CaptureError::BadHeader { path, .. } => path,
    }
}

/// The sink of a read whose rows stay inside the join (two-pass clients, the front index,
/// the offset estimate): rows go to `take`, file errors to the caller's sink once.
pub(super) struct Phase<'a, K, F> {
    sink: &'a mut K,
    shown: &'a mut Shown,
    take: F,
}

impl<'a, K, F> Phase<'a, K, F> {
    /// Rows to `take`; file errors to `sink`, unless `shown` has them.
    pub(super) fn new(sink: &'a mut K, shown: &'a mut Shown, take: F) -> Self {
        Phase { sink, shown, take }
    }
}

impl<R, K, F> Sink<R> for Phase<'_, K, F>
where
    K: Sink<super::JoinRow>,
    F: FnMut(R) -> ControlFlow<()>,
{
    type Error = K::Error;

    fn row(&mut self, row: R) -> Result<ControlFlow<()>, K::Error> {
        Ok((self.take)(row))
    }

    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, K::Error> {
        self.shown.file_error(&mut *self.sink, error)
    }
}

/// Read `inputs` through `stage` into a [`Phase`]: the report of the read, or the
/// caller's sink's error.
pub(super) fn read<S, K, F>(
    engine: &Engine,
    inputs: &pipeline::Inputs,
    stage: &mut S,
    sink: &mut K,
    shown: &mut Shown,
    take: F,
) -> Result<Report, K::Error>
where
    S: Stage,
    K: Sink<super::JoinRow>,
    F: FnMut(S::Row) -> ControlFlow<()>,
{
    pipeline::run(engine, inputs, stage, &mut Phase::new(sink, shown, take))
}
