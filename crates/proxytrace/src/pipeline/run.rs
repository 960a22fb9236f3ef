//! [`run`]: the one per-file loop.

use super::{Inputs, Report, Sink};
use crate::capture::{Capture, CaptureError};
use crate::engine::Engine;
use std::ops::ControlFlow;
use std::time::Instant;

/// How a stage hands over a finished row: `Break` means the sink wants no more.
pub type RowEmitter<'a, R> = dyn FnMut(R) -> ControlFlow<()> + 'a;

/// A command's work on a run's captures, one after the other. State lives across files:
/// rotated captures continue each other's connections and handshakes.
pub trait Stage {
    /// The rows it produces.
    type Row;

    /// Read one capture, the next of the run, handing finished rows to `emit`. Returns
    /// `Break` when `emit` did.
    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, Self::Row>,
    ) -> Result<ControlFlow<()>, CaptureError>;

    /// End of the input: hand over what is still held (unfinished requests, handshakes
    /// waiting for their answer).
    fn finish(&mut self, emit: &mut RowEmitter<'_, Self::Row>) -> ControlFlow<()>;

    /// Add this stage's counters (sections of loss, caps and volume) to the report.
    fn report(&self, report: &mut Report);
}

/// Run `stage` over `inputs` (in their run order) into `sink`.
///
/// A capture that cannot be opened or read to its end is recorded in the report (and
/// shown to the sink) and the run goes on; it ends early when the sink says `Break`, and
/// fails only when the sink fails. The stage's remaining rows are released at the end
/// unless the sink stopped the run. When the engine's interrupt flag is set
/// ([`Engine::with_interrupt`]) the current capture ends where it was, no further one is
/// read, the held rows are still released, and the report says `interrupted`.
pub fn run<S, K>(
    engine: &Engine,
    inputs: &Inputs,
    stage: &mut S,
    sink: &mut K,
) -> Result<Report, K::Error>
where
    S: Stage,
    K: Sink<S::Row> + ?Sized,
{
    let started = Instant::now();
    let mut report = Report::default();
    let mut failure: Option<K::Error> = None;
    let mut rows = 0u64;
    let mut stopped = false;
    // The only place a sink's error waits: the engine's callbacks can only say Break.
    let mut emit = |row: S::Row, sink: &mut K, failure: &mut Option<K::Error>| match sink.row(row) {
        Ok(flow) => {
            rows += 1;
            flow
        }
        Err(e) => {
            *failure = Some(e);
            ControlFlow::Break(())
        }
    };
    for input in inputs.files() {
        if engine.interrupted() {
            break;
        }
        let name = input.display().display().to_string();
        let result = match engine.open(input, inputs.open_options()) {
            // Interrupted while waiting for the input's first bytes.
            Ok(None) => break,
            Ok(Some(mut cap)) => {
                cap.window = inputs.window();
                stage.file(engine, cap, &mut |row| emit(row, sink, &mut failure))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(ControlFlow::Continue(())) => report.files += 1,
            Ok(ControlFlow::Break(())) => {
                report.files += 1;
                stopped = true;
                break;
            }
            Err(e) => {
                report.file_failed(&name, &e);
                if sink.file_error(&e)?.is_break() {
                    stopped = true;
                    break;
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if !stopped {
        let _ = stage.finish(&mut |row| emit(row, sink, &mut failure));
        if let Some(e) = failure {
            return Err(e);
        }
    }
    stage.report(&mut report);
    report.interrupted = engine.interrupted();
    report.rows = rows;
    report.inputs = inputs.report().clone();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
