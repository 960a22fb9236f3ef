//! [`SynStage`]: the SYN scanner as a pipeline [`Stage`], one [`SynRow`] per SYN and
//! SYN+ACK whose client passes the filter.

use super::{client_matches, SynRow, SynScanner, SynTrackerStats};
use crate::capture::{Capture, CaptureError};
use crate::engine::Engine;
use crate::fingerprint::Database;
use crate::pipeline::{Counter, CounterKind, Counters, Report, RowEmitter, Stage};
use ipnet::IpNet;
use std::ops::ControlFlow;

/// Fingerprints every handshake of a run's captures; state carries across files.
pub struct SynStage<'db> {
    scanner: SynScanner<'db>,
    db: &'db Database,
    clients: Vec<IpNet>,
}

impl<'db> SynStage<'db> {
    /// Match against `db`; keep rows whose client (the SYN's sender) is in `clients`
    /// (all when empty; IPv4-mapped IPv6 matches its IPv4 network).
    pub fn new(db: &'db Database, clients: &[IpNet]) -> SynStage<'db> {
        SynStage {
            scanner: SynScanner::new(db),
            db,
            clients: clients.to_vec(),
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
            if !client_matches(clients, e.client().ip()) {
                return ControlFlow::Continue(());
            }
            emit(SynRow::new(e, meta, db))
        })
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, SynRow>) -> ControlFlow<()> {
        let (db, clients) = (self.db, &self.clients);
        self.scanner.finish(&mut |e, meta| {
            if !client_matches(clients, e.client().ip()) {
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
        crate::pipeline::report::assert_counters_cover(&SynTrackerStats::default());
    }
}
