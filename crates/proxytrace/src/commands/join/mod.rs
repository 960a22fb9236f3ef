//! `proxytrace join`: pair every BACK-side request with the FRONT-side connection it came
//! in on, and so with the client's SYN fingerprint.
//!
//! Order of work, each read one [`pipeline::run`]: (with `--two-pass`, a first read of the
//! back side collects the client addresses) -> the front side is read for client SYNs and,
//! when it carries plaintext HTTP, front request heads, into a [`FrontIndex`] (`index`) ->
//! without `--clock-offset`, a prefix of the back side is read to estimate the clock
//! offset (`clock`) -> the back side is read once more and every request leaves as a
//! [`JoinRow`] (`row`) through the rules (`rules`) as soon as it is extracted: back-side
//! rows are never held -> when that read met streams that are not HTTP, the back side is
//! read once more by the `connections` stage, and every back connection that names its
//! client but carried no HTTP request (TLS passthrough behind a PROXY header) leaves as a
//! row of its own (`back`, `back_protocol` says what it carried), after the request rows.
//! An unreadable file of any read is in the [`Report`] and shown to the sink once.
//!
//! Rules, strongest first (the row's `join_method`):
//! 1. `exact_port`: the back side names the client's port (PROXY, `Forwarded: for="ip:port"`,
//!    an XFF `ip:port`): the latest front SYN from that (ip, port) before the request.
//! 2. `request_match`: a front request from the client's IP with the same method, target,
//!    host and user agent within `--match-window` before the request (clock-corrected),
//!    all such requests on one front connection: that connection's SYN. `certain` only
//!    when the client opened no other front connection in the window whose requests the
//!    front side cannot see (TLS, unparsed bytes): such a connection could have carried
//!    the request; then `probable` or `ambiguous` by fingerprints, noted
//!    `invisible_alternatives`.
//! 3. `transparent`: the back-side source is the client (`--transparent`): rule 2, else the
//!    latest front SYN from (source ip, source port); this assumes the proxy keeps the
//!    client's port (HAProxy `usesrc client`, TPROXY).
//! 4. `ip_time`: the latest SYN from the client IP within `--window` before the
//!    clock-corrected request, or after it by at most the slack (the estimate's early
//!    spread, [`clock_slack_ns`]; such a pick is noted `syn_after_request`).
//!    `probable` when the SYNs from that IP in the window carry one fingerprint,
//!    `ambiguous` when several (NAT).
//!
//! Otherwise `none` (the client never sent a SYN in the window) or `no_identity`.
//!
//! Memory: per indexed client SYN, a 32-byte [`FrontSyn`] in the index (sorted by client
//! and time), a 4-byte entry of the (client, port, time) order and a 64-byte record of
//! the values that differ between SYNs of one stack (IP id, TCP timestamps, handshake
//! timings, retransmissions, uptime, packet number): 100 bytes per SYN. The rest of a
//! [`SynRow`](crate::extract::handshakes::SynRow) (signature, OS match, ...) is shared by all SYNs of one stack profile and
//! stored once per profile; the row of a matched SYN is rebuilt from both (a test checks
//! the rebuilt rows equal `syns` rows). Re-reading the front side for matched SYNs instead
//! would mean running the handshake tracker again over the whole front side; 100 M SYNs,
//! an extreme 100 GB front capture, take 10 GB. With `--two-pass` only the SYNs of
//! clients seen on the back side are kept. Front requests take 24 bytes each. The build
//! watches connections for their first FIN or RST (the end bounds which invisible
//! connections could have carried a `request_match`) in a map of at most
//! [`MAX_OPEN_WATCHED`] open connections.

mod back;
mod clock;
mod columns;
mod index;
mod row;
mod rules;
mod stages;
mod summary;
#[cfg(test)]
mod tests;

pub use clock::{
    parse_duration_ns, DurationError, OffsetEstimate, ESTIMATE_MAX_REQUESTS, ESTIMATE_PAIRS,
    ESTIMATE_WINDOW_NS,
};
pub use index::{FrontIndex, FrontSyn, IndexStats, MAX_OPEN_WATCHED, MAX_PROFILES};
pub use row::{FrontColumns, JoinColumns, JoinRow};
pub use rules::{
    clock_slack_ns, Confidence, JoinMethod, JoinNote, JoinOutcome, Joiner, CLOCK_SLACK_CEILING_NS,
    CLOCK_SLACK_FLOOR_NS, MAX_CANDIDATE_SCAN,
};
pub use summary::{ClientJoinRow, ClientJoinSummary};

use crate::capture::CaptureError;
use crate::capture::TimeWindow;
use crate::collections::hashing::HashSet;
use crate::engine::{Engine, Phase};
use crate::extract::connections::{ConnectionRow, ConnectionStage};
use crate::extract::requests::{learn_profiles, RequestRow, RequestsConfig};
use crate::fingerprint::Database;
use crate::pipeline::{self, Counter, CounterKind, FailedFile, Inputs, Report, Section, Sink};
use index::canon;
use stages::{RequestStage, Shown};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Instant;

/// Why a join could not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError<E> {
    /// The front side is read twice (SYNs, then request heads).
    #[error("--front cannot read standard input: the front side is read twice at once")]
    FrontStdin,
    /// Without a given offset, or with `--two-pass`, the back side is read more than once.
    #[error("--back reads standard input only with --clock-offset and without --two-pass (it is read more than once)")]
    BackStdin,
    /// Without a front side every row would say `join_method=none` and look like a result.
    #[error("no front capture could be read ({files}): nothing to join the back side with")]
    NoFrontCapture {
        /// The front inputs, comma-separated.
        files: String,
    },
    /// The sink failed (the rows could not be written).
    #[error(transparent)]
    Sink(E),
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

/// The captures of a join: FRONT (clients -> proxy) and BACK (proxy -> backends). Each
/// side is gathered on its own: one capture taken on the proxy host may be both.
#[derive(Debug, Clone)]
pub struct JoinInputs {
    /// Clients -> proxy: the SYNs (and plaintext request heads) to join to.
    pub front: Inputs,
    /// Proxy -> backends: the requests, one row each.
    pub back: Inputs,
}

/// How much front time the front side is read for beyond a back-side window moved to
/// front time, when the clock offset is estimated (it is estimated from what is read):
/// 10 min, far more than the clocks of a proxy's two sides disagree by in practice. With
/// a larger offset, give it (`clock_offset_ns`) and the window moves by it.
pub const FRONT_WINDOW_SLACK_NS: i64 = 600_000_000_000;

/// The front side's window for a back side read within `back` (back time), unless the
/// front side has its own: the back window in front time (moved by the given clock offset),
/// opened `window_ns` (the SYN a request may be joined to is that old) plus the clock's
/// slack before, and the slack after.
pub fn front_window(back: TimeWindow, front: TimeWindow, cfg: &JoinConfig) -> Option<TimeWindow> {
    if !back.is_bounded() || front.is_bounded() {
        return None;
    }
    let (shift, slack) = match cfg.clock_offset_ns {
        Some(o) => (o.saturating_neg(), 1_000_000_000),
        None => (0, FRONT_WINDOW_SLACK_NS),
    };
    let before = cfg.window_ns.max(cfg.match_window_ns).saturating_add(slack);
    Some(back.shifted(shift).widened(before, slack))
}

fn front_window_note(w: TimeWindow) -> String {
    let side = |t: Option<i64>, open: &str| {
        t.map_or_else(
            || open.to_owned(),
            |t| {
                let mut s = String::new();
                crate::timefmt::write_rfc3339(&mut s, t, crate::timefmt::Precision::NANO);
                s
            },
        )
    };
    format!(
        "front side read from {} until {} (the back window in front time, opened by the join window and the clock slack)",
        side(w.since, "the start"),
        side(w.until, "the end")
    )
}

/// Run the join into `sink`: one [`JoinRow`] per back-side request, in the order the
/// `requests` command gives them, then one per back connection that names its client but
/// carried no HTTP request, in the order `connections` gives them.
///
/// The [`Report`] counts the back side's last read and the front side's SYN read (files,
/// records, bytes), lists every unreadable file of any read once (each also shown to the
/// sink's `file_error` once), and carries the sections `front index`, `front handshakes`,
/// `requests`, `join methods` and `join confidence`, and notes on the clock offset used
/// and, with `--two-pass`, the client addresses the first read found.
pub fn run<K: Sink<JoinRow>>(
    engine: &Engine,
    inputs: &JoinInputs,
    cfg: &JoinConfig,
    db: &Database,
    sink: &mut K,
) -> Result<Report, JoinError<K::Error>> {
    let started = Instant::now();
    let JoinInputs { front, back } = inputs;
    if front.has_stdin() {
        return Err(JoinError::FrontStdin);
    }
    if back.has_stdin() && (cfg.two_pass || cfg.clock_offset_ns.is_none()) {
        return Err(JoinError::BackStdin);
    }
    let mut shown = Shown::default();
    let mut failed: Vec<FailedFile> = Vec::new();
    let (back_cfg, learning) = learn_profiles(engine, back, &cfg.requests);
    let mut notes: Vec<String> = vec![learning.note()];
    let front_windowed;
    let front = match front_window(back.window(), front.window(), cfg) {
        Some(w) => {
            notes.push(front_window_note(w));
            front_windowed = front.clone().with_window(w);
            &front_windowed
        }
        None => front,
    };
    let only = if cfg.two_pass {
        let mut clients = HashSet::default();
        engine.phase(Phase::ClientAddresses, back.total_bytes());
        let first = stages::read(
            engine,
            back,
            &mut RequestStage::new(&back_cfg),
            sink,
            &mut shown,
            |r: RequestRow| {
                if let Some(c) = r.client_ip {
                    clients.insert(canon(c));
                }
                ControlFlow::Continue(())
            },
        )
        .map_err(JoinError::Sink)?;
        add_failures(&mut failed, first.failed_files);
        notes.push(format!(
            "two-pass: {} client addresses on the back side; only their SYNs were indexed",
            clients.len()
        ));
        Some(clients)
    } else {
        None
    };
    if shown.stopped {
        return Ok(stopped_early(failed, notes, started));
    }
    let (index, mut front_report) = FrontIndex::build(
        engine,
        front,
        &cfg.requests,
        db,
        only.as_ref(),
        sink,
        &mut shown,
    )
    .map_err(JoinError::Sink)?;
    drop(only);
    add_failures(&mut failed, std::mem::take(&mut front_report.failed_files));
    if shown.stopped {
        return Ok(stopped_early(failed, notes, started));
    }
    // Interrupted before the front side was read: not an error, an interrupted run.
    if front_report.files == 0 && !engine.interrupted() {
        let names: Vec<String> = front
            .files()
            .iter()
            .map(|i| i.display().display().to_string())
            .collect();
        return Err(JoinError::NoFrontCapture {
            files: names.join(", "),
        });
    }
    let (offset_ns, slack_ns) = match cfg.clock_offset_ns {
        Some(o) => {
            let slack = clock_slack_ns(None);
            notes.push(format!(
                "clock offset {o} ns (given), ip_time slack {slack} ns"
            ));
            (o, slack)
        }
        None => {
            engine.phase(Phase::OffsetEstimate, back.total_bytes());
            // The clock is estimated on every request, not only those the fields or
            // `--client` keep: a join narrowed to one client gives that client's rows of
            // the whole join, not a join with an offset from its few pairs.
            let est_cfg = RequestsConfig {
                fields: Default::default(),
                clients: Default::default(),
                ..back_cfg.clone()
            };
            let (estimate, read) =
                clock::estimate_offset(engine, back, &est_cfg, &index, sink, &mut shown)
                    .map_err(JoinError::Sink)?;
            add_failures(&mut failed, read.failed_files);
            notes.push(clock::offset_note(estimate.as_ref()));
            // Without pairs the offset is a guess: the widest slack.
            estimate.map_or((0, CLOCK_SLACK_CEILING_NS), |e| {
                (e.offset_ns, clock_slack_ns(Some(e.early_spread_ns)))
            })
        }
    };
    if shown.stopped {
        return Ok(stopped_early(failed, notes, started));
    }
    let joiner = Joiner {
        index: &index,
        offset_ns,
        window_ns: cfg.window_ns,
        match_window_ns: cfg.match_window_ns,
        slack_ns,
    };
    let mut rows = JoinSink {
        joiner: &joiner,
        sink,
        shown: &mut shown,
        by_method: BTreeMap::new(),
        by_confidence: BTreeMap::new(),
        by_note: BTreeMap::new(),
        connection_rows: 0,
    };
    let mut requests = RequestStage::new(&back_cfg);
    engine.phase(Phase::BackPass, back.total_bytes());
    let mut report =
        pipeline::run(engine, back, &mut requests, &mut rows).map_err(JoinError::Sink)?;
    add_failures(&mut failed, std::mem::take(&mut report.failed_files));
    // Connections that name their client but carried no request get their own rows. Only
    // a stream that is not HTTP can be one (TLS behind a PROXY header): without any, the
    // back side is not read again.
    // A request field filter leaves out every connection without a request.
    let not_http = requests.reassembly().http.not_http_flows > 0 && back_cfg.fields.is_empty();
    drop(requests);
    if not_http && !rows.shown.stopped {
        let conn_cfg = back::connections_config(&back_cfg);
        engine.phase(Phase::BackConnections, back.total_bytes());
        let conns = pipeline::run(
            engine,
            back,
            &mut ConnectionStage::new(&conn_cfg),
            &mut rows,
        )
        .map_err(JoinError::Sink)?;
        add_failures(&mut failed, conns.failed_files);
        report.rows += rows.connection_rows;
        for mut s in conns.sections {
            s.name = format!("back connections {}", s.name);
            report.sections.push(s);
        }
    }
    report.failed_files = failed;
    let JoinSink {
        by_method,
        by_confidence,
        by_note,
        ..
    } = rows;
    let front_inputs = front.report();
    report.inputs.duplicates += front_inputs.duplicates;
    for (why, n) in &front_inputs.skipped_paths {
        *report.inputs.skipped_paths.entry(why).or_default() += n;
    }
    report.inputs.unlisted_directories += front_inputs.unlisted_directories;
    report.absorb("front", front_report);
    report.section("front index", &index.stats);
    report.sections.push(tally(
        "join methods",
        JoinMethod::ALL,
        &by_method,
        JoinMethod::name,
    ));
    report.sections.push(tally(
        "join confidence",
        Confidence::ALL,
        &by_confidence,
        Confidence::name,
    ));
    report
        .sections
        .push(tally("join notes", JoinNote::ALL, &by_note, JoinNote::name));
    report.notes.extend(notes);
    // How sure the rows are is the first thing a reader of a join asks: one line each,
    // even though the counts are volume (the sections carry them for --stats json too).
    report
        .notes
        .push(format!("join methods: {}", tally_line(&by_method)));
    report
        .notes
        .push(format!("join confidence: {}", tally_line(&by_confidence)));
    if !by_note.is_empty() {
        report
            .notes
            .push(format!("join notes: {}", tally_line(&by_note)));
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Takes the back side's request rows (then its connections without a request), joins
/// each and hands the row to the caller.
struct JoinSink<'j, 'i, 'db, 'k, K> {
    joiner: &'j Joiner<'i, 'db>,
    sink: &'k mut K,
    shown: &'k mut Shown,
    by_method: BTreeMap<JoinMethod, u64>,
    by_confidence: BTreeMap<Confidence, u64>,
    by_note: BTreeMap<JoinNote, u64>,
    /// Rows of back connections without a request.
    connection_rows: u64,
}

impl<K: Sink<JoinRow>> Sink<RequestRow> for JoinSink<'_, '_, '_, '_, K> {
    type Error = K::Error;

    fn row(&mut self, request: RequestRow) -> Result<ControlFlow<()>, K::Error> {
        let outcome = self.joiner.join(&request);
        *self.by_method.entry(outcome.method).or_default() += 1;
        *self.by_confidence.entry(outcome.confidence).or_default() += 1;
        if let Some(n) = outcome.note {
            *self.by_note.entry(n).or_default() += 1;
        }
        self.sink
            .row(JoinRow::new(self.joiner.index, request, &outcome))
    }

    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, K::Error> {
        self.shown.file_error(&mut *self.sink, error)
    }
}

impl<K: Sink<JoinRow>> Sink<ConnectionRow> for JoinSink<'_, '_, '_, '_, K> {
    type Error = K::Error;

    fn row(&mut self, conn: ConnectionRow) -> Result<ControlFlow<()>, K::Error> {
        if !back::joins_alone(&conn) {
            return Ok(ControlFlow::Continue(()));
        }
        self.connection_rows += 1;
        let protocol = conn.protocol;
        let request = back::as_request(conn);
        let outcome = self.joiner.join(&request);
        *self.by_method.entry(outcome.method).or_default() += 1;
        *self.by_confidence.entry(outcome.confidence).or_default() += 1;
        let row = JoinRow::new(self.joiner.index, request, &outcome);
        self.sink.row(back::with_protocol(row, protocol))
    }

    fn file_error(&mut self, error: &CaptureError) -> Result<ControlFlow<()>, K::Error> {
        self.shown.file_error(&mut *self.sink, error)
    }
}

/// A section counting rows by a named value (every value listed, zeros included).
fn tally<T: Copy + Ord>(
    name: &str,
    all: &[T],
    counts: &BTreeMap<T, u64>,
    label: fn(T) -> &'static str,
) -> Section {
    Section {
        name: name.to_owned(),
        counters: all
            .iter()
            .map(|&v| {
                Counter::new(
                    label(v),
                    counts.get(&v).copied().unwrap_or(0),
                    CounterKind::Volume,
                )
            })
            .collect(),
    }
}

/// Add a read's unreadable files, each file once (the first error met is kept).
fn add_failures(all: &mut Vec<FailedFile>, more: Vec<FailedFile>) {
    for f in more {
        if !all.iter().any(|a| a.file == f.file) {
            all.push(f);
        }
    }
}

/// The report of a join the sink stopped before the back side's last read.
fn stopped_early(failed: Vec<FailedFile>, notes: Vec<String>, started: Instant) -> Report {
    Report {
        failed_files: failed,
        notes,
        seconds: started.elapsed().as_secs_f64(),
        ..Report::default()
    }
}

/// `name count` pairs of the values that occurred, in their table order.
fn tally_line<T: Copy + Ord + std::fmt::Display>(counts: &BTreeMap<T, u64>) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
