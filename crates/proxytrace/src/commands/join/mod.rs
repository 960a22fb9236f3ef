//! `proxytrace join`: pair every BACK-side request with the FRONT-side connection it came
//! in on, and so with the client's SYN fingerprint.
//!
//! Order of work: (with `--two-pass`, a first read of the back side collects the client
//! addresses) -> one read of the front side builds a [`FrontIndex`] (client SYNs and, when
//! the front carries plaintext HTTP, front request heads) -> without `--clock-offset`, a
//! prefix of the back side is read to estimate the clock offset ([`estimate_offset`]) ->
//! the back side is read once more and every request leaves as a [`JoinRow`] as soon as it
//! is extracted: back-side rows are never held.
//!
//! Rules, strongest first (the row's `join_method`):
//! 1. `exact_port`: the back side names the client's port (PROXY, `Forwarded: for="ip:port"`,
//!    an XFF `ip:port`): the latest front SYN from that (ip, port) before the request.
//! 2. `request_match`: a front request from the client's IP with the same method, target,
//!    host and user agent within `--match-window` before the request (clock-corrected),
//!    all such requests on one front connection: that connection's SYN.
//! 3. `transparent`: the back-side source is the client (`--transparent`): rule 2, else the
//!    latest front SYN from (source ip, source port); this assumes the proxy keeps the
//!    client's port (HAProxy `usesrc client`, TPROXY).
//! 4. `ip_time`: the latest SYN from the client IP within `--window` before the request;
//!    `probable` when the SYNs from that IP in the window carry one fingerprint,
//!    `ambiguous` when several (NAT).
//!
//! Otherwise `none` (the client never sent a SYN in the window) or `no_identity`.
//!
//! Memory: per indexed client SYN, a 32-byte [`FrontSyn`] in the index (sorted by client
//! and time), a 4-byte entry of the (client, port, time) order and a 64-byte record of
//! the values that differ between SYNs of one stack (IP id, TCP timestamps, handshake
//! timings, retransmissions, uptime, packet number): 100 bytes per SYN. The rest of a
//! [`SynRow`] (signature, OS match, ...) is shared by all SYNs of one stack profile and
//! stored once per profile; the row of a matched SYN is rebuilt from both (a test checks
//! the rebuilt rows equal `syns` rows). Re-reading the front side for matched SYNs instead
//! would mean running the handshake tracker again over the whole front side; 100 M SYNs,
//! an extreme 100 GB front capture, take 10 GB. With `--two-pass` only the SYNs of
//! clients seen on the back side are kept. Front requests take 24 bytes each.

mod clock;
mod index;
mod row;
mod rules;
mod summary;
#[cfg(test)]
mod tests;

pub use clock::{
    estimate_offset, parse_duration_ns, OffsetEstimate, ESTIMATE_MAX_REQUESTS, ESTIMATE_PAIRS,
    ESTIMATE_WINDOW_NS,
};
pub use index::{FrontIndex, FrontSyn, IndexStats};
pub use row::JoinRow;
pub use rules::{Confidence, JoinMethod, JoinOutcome, Joiner, CLOCK_SLACK_NS, MAX_CANDIDATE_SCAN};
pub use summary::{ClientJoinRow, ClientJoinSummary};

use crate::capture::{CaptureError, Input, OpenOptions};
use crate::collections::hashing::HashSet;
use crate::engine::Engine;
use crate::extract::requests::{self, RequestsConfig, RequestsSummary};
use crate::fingerprint::Database;
use index::canon;
use serde::Serialize;
use std::ops::ControlFlow;

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("--front cannot read standard input: the front side is read twice at once")]
    FrontStdin,
    #[error("--back reads standard input only with --clock-offset and without --two-pass (it is read more than once)")]
    BackStdin,
    /// Without a front side every row would say `join_method=none` and look like a result.
    #[error("no front capture could be read ({files}): nothing to join the back side with")]
    NoFrontCapture { files: String },
}

/// What to join and how.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// Request extraction, back and front (on the front, `clients` and
    /// `identified_only` are not applied: the front request's client is its source).
    pub requests: RequestsConfig,
    /// `ip_time` (and the age limit of any SYN): default 30 min, like p0f's host cache.
    pub window_ns: i64,
    /// `request_match`: how long before the back-side request the front one may be.
    pub match_window_ns: i64,
    /// back time = front time + offset; None: estimate it.
    pub clock_offset_ns: Option<i64>,
    /// Read the back side first and index only its clients' SYNs.
    pub two_pass: bool,
}

impl Default for JoinConfig {
    fn default() -> Self {
        JoinConfig {
            requests: RequestsConfig::default(),
            window_ns: 30 * 60 * 1_000_000_000,
            match_window_ns: 5_000_000_000,
            clock_offset_ns: None,
            two_pass: false,
        }
    }
}

/// Counters of a whole join run, for the end-of-run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JoinSummary {
    /// The last read of the back side (the one that produced the rows).
    pub back: RequestsSummary,
    pub index: IndexStats,
    /// Client addresses the first pass found (`--two-pass`).
    pub two_pass_clients: Option<u64>,
    /// The offset used, ns (back = front + offset).
    pub offset_ns: i64,
    /// The estimate, when it was estimated (None: given, or no pairs found).
    pub estimate: Option<OffsetEstimate>,
    pub offset_given: bool,
    /// Rows by method and by confidence.
    pub by_method: std::collections::BTreeMap<&'static str, u64>,
    pub by_confidence: std::collections::BTreeMap<&'static str, u64>,
}

/// Run the join: front index, clock offset, then every back-side request to `emit`.
/// Unreadable files are reported through `on_error` and the run goes on.
/// The captures of a join: FRONT (clients -> proxy) and BACK (proxy -> backends) files.
#[derive(Debug, Clone)]
pub struct JoinInputs {
    pub front: Vec<Input>,
    pub back: Vec<Input>,
    pub open: OpenOptions,
}

pub fn run(
    engine: &Engine,
    inputs: JoinInputs,
    cfg: &JoinConfig,
    db: &Database,
    emit: &mut dyn FnMut(JoinRow) -> ControlFlow<()>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> Result<JoinSummary, JoinError> {
    let JoinInputs {
        front,
        back,
        open: opts,
    } = inputs;
    if front.contains(&Input::Stdin) {
        return Err(JoinError::FrontStdin);
    }
    if back.contains(&Input::Stdin) && (cfg.two_pass || cfg.clock_offset_ns.is_none()) {
        return Err(JoinError::BackStdin);
    }
    let front_names: Vec<String> = front
        .iter()
        .map(|i| i.display().display().to_string())
        .collect();
    let mut summary = JoinSummary::default();
    let only = if cfg.two_pass {
        let mut set = HashSet::default();
        let _ = requests::run(
            engine,
            back.clone(),
            opts,
            &cfg.requests,
            &mut |r| {
                if let Some(c) = r.client_ip {
                    set.insert(canon(c));
                }
                ControlFlow::Continue(())
            },
            &mut |_| {},
        );
        summary.two_pass_clients = Some(set.len() as u64);
        Some(set)
    } else {
        None
    };
    let index = FrontIndex::build(
        engine,
        front,
        opts,
        &cfg.requests,
        db,
        only.as_ref(),
        on_error,
    );
    drop(only);
    if index.stats.front_files == 0 {
        return Err(JoinError::NoFrontCapture {
            files: front_names.join(", "),
        });
    }
    summary.index = index.stats.clone();
    let offset = match cfg.clock_offset_ns {
        Some(o) => {
            summary.offset_given = true;
            o
        }
        None => {
            summary.estimate = estimate_offset(
                engine,
                back.clone(),
                opts,
                &cfg.requests,
                &index,
                &mut |_| {},
            );
            summary.estimate.as_ref().map_or(0, |e| e.offset_ns)
        }
    };
    summary.offset_ns = offset;
    let joiner = Joiner {
        index: &index,
        offset_ns: offset,
        window_ns: cfg.window_ns,
        match_window_ns: cfg.match_window_ns,
    };
    let (mut by_method, mut by_conf) = (
        std::collections::BTreeMap::new(),
        std::collections::BTreeMap::new(),
    );
    summary.back = requests::run(
        engine,
        back,
        opts,
        &cfg.requests,
        &mut |r| {
            let o = joiner.join(&r);
            *by_method.entry(o.method.name()).or_insert(0) += 1;
            *by_conf.entry(o.confidence.name()).or_insert(0) += 1;
            emit(joiner.row(r, &o))
        },
        on_error,
    );
    summary.by_method = by_method;
    summary.by_confidence = by_conf;
    Ok(summary)
}
