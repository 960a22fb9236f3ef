//! `proxytrace proxies`: the per-proxy identity profiles of the BACK captures
//! (identity/profile.rs), one row per proxy/backend pair, as evidence an investigator can
//! cite: which sources each proxy writes, on what share of its requests, which one the
//! rows take the client from and why.
//!
//! With FRONT captures it also runs `join` and, on the requests joined `certain` (the
//! front connection is known), counts for each source how often the address it names is
//! the one that really opened the front connection. `request_match` finds its candidates
//! among the chosen client's front connections, so the chosen source agrees on such rows by
//! construction; the other sources' agreement, and every source's on `exact_port` rows
//! (PROXY), are independent evidence.

mod row;

pub use row::ProxyRow;

use crate::collections::hashing::HashMap;
use crate::commands::join::{self, Confidence, JoinConfig, JoinError, JoinInputs, JoinRow};
use crate::engine::Engine;
use crate::extract::requests::{RequestRow, RequestStage, RequestsConfig};
use crate::fingerprint::Database;
use crate::identity::{IdentitySource, ProfileTable, ProxyPair};
use crate::pipeline::{self, Inputs, Report, Sink};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Learn the profiles of `inputs` and hand one row per pair to `sink`, by pair. The
/// report is the learning read's.
pub fn run<S: Sink<ProxyRow> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    config: &RequestsConfig,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let (table, mut report) = learn(engine, inputs, config, sink)?;
    let mut rows = 0;
    for (pair, p) in table.profiles() {
        rows += 1;
        if sink.row(ProxyRow::new(pair, p))?.is_break() {
            break;
        }
    }
    report.rows = rows;
    Ok(report)
}

/// As [`run`], plus the agreement of each source with the front connection on the
/// requests `join` pairs `certain`. The report is the join's.
pub fn run_with_front<S: Sink<ProxyRow>>(
    engine: &Engine,
    inputs: &JoinInputs,
    config: &JoinConfig,
    db: &Database,
    sink: &mut S,
) -> Result<Report, JoinError<S::Error>> {
    let (table, _) =
        learn(engine, &inputs.back, &config.requests, sink).map_err(JoinError::Sink)?;
    let table = Arc::new(table);
    let mut cfg = config.clone();
    cfg.requests.profiles = Some(Arc::clone(&table));
    cfg.requests.source_addresses = true;
    let mut agreement: HashMap<ProxyPair, Agreement> = HashMap::default();
    // Unreadable files were shown to the sink by the learning read already.
    let mut tally = pipeline::from_fn(|r: JoinRow| {
        if let Some(front) = r
            .front
            .front_src_ip
            .filter(|_| r.join.join_confidence == Confidence::Certain)
        {
            agreement
                .entry(pair_of(&r.request))
                .or_default()
                .add(&r.request, front);
        }
        Ok::<_, std::convert::Infallible>(ControlFlow::Continue(()))
    });
    let mut report = match join::run(engine, inputs, &cfg, db, &mut tally) {
        Ok(r) => r,
        Err(JoinError::Sink(never)) => match never {},
        Err(JoinError::FrontStdin) => return Err(JoinError::FrontStdin),
        Err(JoinError::BackStdin) => return Err(JoinError::BackStdin),
        Err(JoinError::NoFrontCapture { files }) => {
            return Err(JoinError::NoFrontCapture { files })
        }
    };
    drop(tally);
    let mut rows = 0;
    for (pair, p) in table.profiles() {
        let mut row = ProxyRow::new(pair, p);
        let a = agreement.remove(&pair).unwrap_or_default();
        row.front_certain = Some(a.certain);
        row.front_agreement = a.text();
        rows += 1;
        if sink.row(row).map_err(JoinError::Sink)?.is_break() {
            break;
        }
    }
    report.rows = rows;
    Ok(report)
}

/// The learning read: the request stage's first pass over `inputs`.
fn learn<S: Sink<ProxyRow> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    config: &RequestsConfig,
    sink: &mut S,
) -> Result<(ProfileTable, Report), S::Error> {
    let mut stage = RequestStage::learner(config);
    // The learner builds no row; file errors go to the caller's sink.
    let mut errors = ErrorsOnly(sink);
    engine.phase(crate::engine::Phase::LearningProfiles, inputs.total_bytes());
    let mut report = pipeline::run(engine, inputs, &mut stage, &mut errors)?;
    let table = stage.into_profiles();
    if table.pairs_over_cap > 0 {
        report.notes.push(format!(
            "{} requests of pairs beyond the table's cap ({}) are not in any profile",
            table.pairs_over_cap,
            crate::identity::profile::MAX_PAIRS
        ));
    }
    Ok((table, report))
}

/// Passes a run's file errors to a `ProxyRow` sink (the learning read has no rows).
struct ErrorsOnly<'s, S: ?Sized>(&'s mut S);

impl<S: Sink<ProxyRow> + ?Sized> Sink<RequestRow> for ErrorsOnly<'_, S> {
    type Error = S::Error;
    fn row(&mut self, _: RequestRow) -> Result<ControlFlow<()>, S::Error> {
        Ok(ControlFlow::Continue(()))
    }
    fn file_error(
        &mut self,
        error: &crate::capture::CaptureError,
    ) -> Result<ControlFlow<()>, S::Error> {
        self.0.file_error(error)
    }
}

/// Per source: certain requests carrying it, and how many of them name the front client.
#[derive(Default)]
struct Agreement {
    certain: u64,
    by_source: Vec<(IdentitySource, u64, u64)>,
}

impl Agreement {
    fn add(&mut self, r: &RequestRow, front: std::net::IpAddr) {
        self.certain += 1;
        let front = front.to_canonical();
        for &(source, addr) in &r.source_addrs {
            let i = match self.by_source.binary_search_by(|x| x.0.cmp(&source)) {
                Ok(i) => i,
                Err(i) => {
                    self.by_source.insert(i, (source, 0, 0));
                    i
                }
            };
            self.by_source[i].1 += 1;
            self.by_source[i].2 += u64::from(addr == front);
        }
    }

    fn text(&self) -> String {
        let parts: Vec<String> = self
            .by_source
            .iter()
            .map(|(s, carried, agree)| format!("{s}={agree}/{carried}"))
            .collect();
        parts.join("|")
    }
}

fn pair_of(r: &RequestRow) -> ProxyPair {
    ProxyPair {
        proxy: r.src_ip,
        backend: r.dst_ip,
        backend_port: r.dst_port,
    }
}
