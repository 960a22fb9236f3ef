//! `proxytrace requests` and `proxytrace flows`: the request stage over a run's BACK
//! captures, rows to the caller's sink ([`flows`] folds them into conversations).

pub mod flows;

use crate::engine::{Engine, Phase};
use crate::extract::requests::{learn_profiles, RequestRow, RequestStage, RequestsConfig};
use crate::pipeline::{self, Inputs, Report, Sink};

pub use flows::{FlowAggregator, FlowRow};

/// Every request head of `inputs` (read in their run order) to `sink`, in time order.
/// Unreadable captures are in the report (and shown to the sink); only the sink fails
/// the run. The per-proxy identity profiles are learned first ([`learn_profiles`]); the
/// report's notes say how.
pub fn run<S: Sink<RequestRow> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    config: &RequestsConfig,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let (config, learning) = learn_profiles(engine, inputs, config);
    engine.phase(Phase::Rows, inputs.total_bytes());
    let mut report = pipeline::run(engine, inputs, &mut RequestStage::new(&config), sink)?;
    report.notes.push(learning.note());
    Ok(report)
}
