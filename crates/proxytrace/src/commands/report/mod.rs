//! `proxytrace report --client IP`: one client's activity as one self-contained HTML page.
//!
//! Reads, each one [`pipeline::run`]: with a front side, the join
//! (`commands::join` over every client, so that the clock offset is estimated from all
//! pairs, as a plain `join` does) gives the client's back-side requests with their front
//! connection and SYN, the rows of `join` whose client is this one; the SYN stage over the front
//! side gives the client's own SYNs (its front connections, the stacks behind its address);
//! a second SYN read lists the other addresses that sent a SYN with one of the client's
//! signatures (skipped when the client sent none). Without a front side, the `requests`
//! rows of the client are all there is.
//!
//! The page ([`ClientView::write_html`], `html.rs`, `axis.rs`) is bounded: at most
//! [`ReportConfig::max_rows`] requests and as many front connections are drawn (the
//! totals and every tally count them all), at most [`MAX_CLIENT_SIGNATURES`] signatures
//! of the client and [`MAX_SHARED_ADDRESSES`] other addresses per signature are kept,
//! and every tally keeps [`MAX_TALLY_VALUES`] distinct values; the page says what each
//! cap left out. Every captured string is written escaped for HTML, the page loads
//! nothing (a Content-Security-Policy allows no source but its inline style, and it has no
//! script, font or image), and its bytes depend only on the rows (no generation time).
//!
//! This command runs `commands::join`, as `proxies` does: the page is a view of the join's
//! rows, not a copy of its rules.

mod axis;
mod html;
#[cfg(test)]
mod tests;
mod view;

pub use view::ClientView;

use crate::commands::join::{self, JoinConfig, JoinError, JoinInputs, JoinRow};
use crate::commands::requests;
use crate::commands::syns::{self, SynsConfig};
use crate::engine::Engine;
use crate::extract::handshakes::SynRow;
use crate::extract::requests::RequestRow;
use crate::fingerprint::Database;
use crate::identity::ClientFilter;
use crate::pipeline::{self, CounterKind, FailedFile, Inputs, Report};
use std::convert::Infallible;
use std::net::IpAddr;
use std::ops::ControlFlow;
use view::Offset;

/// Requests (and front connections) drawn by default; the page says how many it left out.
pub const DEFAULT_MAX_ROWS: usize = 10_000;
/// Distinct SYN signatures of the client kept; SYNs with later new ones are counted.
pub const MAX_CLIENT_SIGNATURES: usize = 64;
/// Other addresses kept per signature of the client; SYNs of later ones are counted.
pub const MAX_SHARED_ADDRESSES: usize = 256;
/// Distinct values each tally (identity sources, hosts, user agents, ...) keeps.
pub const MAX_TALLY_VALUES: usize = 256;

/// What the page is about and how its rows are made.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    /// The client.
    pub client: IpAddr,
    /// How requests are read and joined; its `requests.clients` is replaced by the client
    /// (back side only) or by every client (the join, whose rows are then filtered).
    pub join: JoinConfig,
    /// Requests and front connections drawn at most (each table, and the time axis).
    pub max_rows: usize,
}

/// The captures of a report.
#[derive(Debug, Clone)]
pub enum ReportInputs {
    /// A BACK side only (proxy -> backends): the client's requests.
    Back(Inputs),
    /// FRONT and BACK: the join, the client's SYNs, the addresses sharing its signatures.
    Both(JoinInputs),
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The join could not run (standard input read twice, no front capture).
    #[error(transparent)]
    Join(#[from] JoinError<Infallible>),
}

/// Read the captures and collect what the page shows about `config.client`. The
/// [`Report`] is the join's (back only: the `requests` run's) with the SYN reads'
/// sections (`client syns ...`, `shared syns ...`), their unreadable files and notes;
/// its reading totals are the join's. Write the page with [`ClientView::write_html`].
pub fn run(
    engine: &Engine,
    inputs: &ReportInputs,
    config: &ReportConfig,
    db: &Database,
) -> Result<(ClientView, Report), ReportError> {
    let client = config.client.to_canonical();
    let only_client = ClientFilter::new([ipnet::IpNet::from(client)]);
    let mut view = ClientView::new(client, config.max_rows);
    let mut report = match inputs {
        ReportInputs::Back(back) => {
            let mut requests_cfg = config.join.requests.clone();
            requests_cfg.clients = only_client.clone();
            view.back_files = names(back);
            let mut sink = pipeline::from_fn(|r: RequestRow| {
                view.add_request(r);
                Ok::<_, Infallible>(ControlFlow::Continue(()))
            });
            let Ok(report) = requests::run(engine, back, &requests_cfg, &mut sink);
            report
        }
        ReportInputs::Both(both) => {
            view.back_files = names(&both.back);
            view.front_files = Some(names(&both.front));
            if let Some(o) = config.join.clock_offset_ns {
                view.offset = Offset::Given(o);
            }
            // The join runs over every client and the sink keeps this one's rows: the
            // clock offset is estimated from every client's pairs, as a plain `join`
            // does (`join --client` estimates it from that client's requests alone).
            let mut join_cfg = config.join.clone();
            join_cfg.requests.clients = ClientFilter::default();
            let mut report = {
                let mut sink = pipeline::from_fn(|r: JoinRow| {
                    if only_client.matches_opt(r.request.client_ip) {
                        view.add_join_row(r);
                    }
                    Ok::<_, Infallible>(ControlFlow::Continue(()))
                });
                join::run(engine, both, &join_cfg, db, &mut sink)?
            };
            if !engine.interrupted() {
                let cfg = SynsConfig {
                    db,
                    clients: only_client.clone(),
                };
                let mut sink = pipeline::from_fn(|s: SynRow| {
                    view.add_client_syn(s);
                    Ok::<_, Infallible>(ControlFlow::Continue(()))
                });
                let Ok(syns) = syns::run(engine, &both.front, &cfg, &mut sink);
                merge(&mut report, "client syns", syns);
            }
            if !engine.interrupted() && !view.stacks.is_empty() {
                let cfg = SynsConfig {
                    db,
                    clients: ClientFilter::default(),
                };
                let mut sink = pipeline::from_fn(|s: SynRow| {
                    view.add_other_syn(&s);
                    Ok::<_, Infallible>(ControlFlow::Continue(()))
                });
                let Ok(shared) = syns::run(engine, &both.front, &cfg, &mut sink);
                merge(&mut report, "shared syns", shared);
            }
            report
        }
    };
    report.interrupted |= engine.interrupted();
    report.rows = view.requests_total;
    report.notes.push(format!(
        "report on {client}: {} requests, {} front SYNs (at most {} of each drawn)",
        view.requests_total, view.syns_total, config.max_rows
    ));
    view.notes.clone_from(&report.notes);
    view.losses = losses(&report);
    view.failed_files = report
        .failed_files
        .iter()
        .map(|f| (f.file.clone(), f.error.clone()))
        .collect();
    view.interrupted = report.interrupted;
    Ok((view, report))
}

/// Fold in a SYN read of the front side: its sections (under `prefix`), unreadable files
/// (each file once) and notes. Its reading totals are left out: the front side was
/// counted once already, by the join.
fn merge(report: &mut Report, prefix: &str, other: Report) {
    for mut s in other.sections {
        s.name = format!("{prefix} {}", s.name);
        report.sections.push(s);
    }
    for f in other.failed_files {
        if !report
            .failed_files
            .iter()
            .any(|a: &FailedFile| a.file == f.file)
        {
            report.failed_files.push(f);
        }
    }
    report.notes.extend(other.notes);
    report.interrupted |= other.interrupted;
}

/// What the run lost or capped, one `what: count` line each (as the text summary lists
/// them): skipped and damaged input, undecodable packets, every loss and cap counter that
/// is not zero.
fn losses(r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r
        .skipped
        .iter()
        .map(|(why, n)| format!("skipped {why}: {n}"))
        .collect();
    if r.damaged_bytes > 0 {
        out.push(format!("damaged bytes: {}", r.damaged_bytes));
    }
    if r.compressed_streams_cut > 0 {
        out.push(format!(
            "cut compressed streams: {}",
            r.compressed_streams_cut
        ));
    }
    for (why, n) in r.packets.undecodable_names() {
        if n > 0 {
            out.push(format!("undecodable {why}: {n}"));
        }
    }
    for s in &r.sections {
        for c in &s.counters {
            if c.value > 0 && c.kind != CounterKind::Volume {
                out.push(format!("{} {}: {}", s.name, c.name, c.value));
            }
        }
    }
    out
}

/// The inputs' names as the rows write them.
fn names(inputs: &Inputs) -> Vec<String> {
    inputs
        .files()
        .iter()
        .map(|i| i.display().display().to_string())
        .collect()
}
