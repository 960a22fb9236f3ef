//! The request extraction's former entry points, for `join` until it runs on the
//! pipeline with [`RequestStage`] itself; then this file goes.

use super::{RequestRow, RequestStage, RequestsConfig};
use crate::capture::{CaptureError, Input, OpenOptions, WalkStats};
use crate::decode::Outcomes;
use crate::engine::Engine;
use crate::http1::ReassemblyStats;
use crate::pipeline::{self, Inputs, Sink};
use serde::Serialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::ControlFlow;

/// Counters of a whole run, in the former shape.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestsSummary {
    /// Files read.
    pub files: u64,
    /// Walk counters.
    pub walk: WalkStats,
    /// Packet outcomes.
    pub packets: Outcomes,
    /// Reassembly counters.
    pub reassembly: ReassemblyStats,
    /// Request heads delivered.
    pub heads: u64,
    /// Heads whose request line could not be parsed, by reason.
    pub heads_unparsed: BTreeMap<String, u64>,
    /// PROXY preambles that did not parse.
    pub preambles_unparsed: u64,
    /// Rows emitted.
    pub rows: u64,
    /// Rows left out by the filters.
    pub rows_filtered: u64,
    /// Rows released early by the reorder buffer's cap.
    pub rows_released_reorder_cap: u64,
    /// Files that could not be read (their errors were reported).
    pub failed_files: Vec<String>,
}

/// Order inputs as capture times go (see [`pipeline::InputOptions::time_order`]).
pub fn order_inputs(inputs: Vec<Input>, opts: OpenOptions) -> Vec<Input> {
    pipeline::inputs::in_time_order(inputs, opts)
}

/// Run the request extraction over `inputs` (in capture-time order). Errors opening or
/// reading a file are reported through `on_error` and the run goes on.
pub fn run(
    engine: &Engine,
    inputs: Vec<Input>,
    opts: OpenOptions,
    cfg: &RequestsConfig,
    emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> RequestsSummary {
    struct Forward<'a> {
        emit: &'a mut dyn FnMut(RequestRow) -> ControlFlow<()>,
        on_error: &'a mut dyn FnMut(&CaptureError),
    }
    impl Sink<RequestRow> for Forward<'_> {
        type Error = Infallible;
        fn row(&mut self, row: RequestRow) -> Result<ControlFlow<()>, Infallible> {
            Ok((self.emit)(row))
        }
        fn file_error(&mut self, e: &CaptureError) -> Result<ControlFlow<()>, Infallible> {
            (self.on_error)(e);
            Ok(ControlFlow::Continue(()))
        }
    }
    let inputs = Inputs::from_files(order_inputs(inputs, opts), opts);
    let mut stage = RequestStage::new(cfg);
    let report = match pipeline::run(engine, &inputs, &mut stage, &mut Forward { emit, on_error }) {
        Ok(r) => r,
        Err(never) => match never {},
    };
    RequestsSummary {
        files: stage.files_read,
        walk: stage.walk.clone(),
        packets: stage.packets.clone(),
        reassembly: stage.reassembly().clone(),
        heads: stage.stats.heads,
        heads_unparsed: stage
            .unparsed
            .by_reason()
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
        preambles_unparsed: stage.stats.preambles_unparsed,
        rows: report.rows,
        rows_filtered: stage.stats.rows_filtered,
        rows_released_reorder_cap: stage.stats.rows_released_reorder_cap,
        failed_files: report.failed_files.into_iter().map(|f| f.file).collect(),
    }
}
