//! `proxytrace connections`: the connection stage over a run's BACK captures, one row per
//! back-side TCP connection to the caller's sink.

use crate::engine::Engine;
use crate::extract::connections::{ConnectionRow, ConnectionStage, ConnectionsConfig};
use crate::pipeline::{self, Inputs, Report, Sink};

/// Every back-side TCP connection of `inputs` (read in their run order) to `sink`, in the
/// order of their first packet (ties: file, then packet order). Unreadable captures are in
/// the report (and shown to the sink); only the sink fails the run.
pub fn run<S: Sink<ConnectionRow> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    config: &ConnectionsConfig,
    sink: &mut S,
) -> Result<Report, S::Error> {
    engine.phase(crate::engine::Phase::Rows, inputs.total_bytes());
    pipeline::run(engine, inputs, &mut ConnectionStage::new(config), sink)
}
