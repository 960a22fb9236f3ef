//! `proxytrace syns`: the SYN stage over a run's FRONT captures, one row per client SYN
//! and server SYN+ACK ([`summary`] folds them into one row per client).

pub mod summary;

use crate::engine::Engine;
use crate::extract::handshakes::{SynRow, SynStage};
use crate::fingerprint::Database;
use crate::identity::ClientFilter;
use crate::pipeline::{self, Inputs, Report, Sink};

pub use summary::{ClientSummary, ClientSummaryRow};

/// What `syns` matches against and keeps.
#[derive(Debug, Clone)]
pub struct SynsConfig<'a> {
    /// The p0f database to match signatures against.
    pub db: &'a Database,
    /// Keep rows whose client (the SYN's sender) passes this filter.
    pub clients: ClientFilter,
}

/// Every handshake packet of `inputs` (in their run order) to `sink`, in packet order.
pub fn run<S: Sink<SynRow> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    config: &SynsConfig<'_>,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let mut stage = SynStage::new(config.db, config.clients.clone());
    engine.phase(crate::engine::Phase::Rows, inputs.total_bytes());
    pipeline::run(engine, inputs, &mut stage, sink)
}
