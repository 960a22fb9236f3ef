//! `proxytrace join`. Until the join runs on the pipeline itself, its summary is turned
//! into a [`Report`] here so it prints like every other command's.

use super::{finish_listing, list};
use crate::args::{self, Reading, Stages};
use crate::flags::{Cli, JoinArgs};
use crate::progress;
use proxytrace::commands::join::{
    self, ClientJoinRow, ClientJoinSummary, JoinConfig, JoinRow, JoinSummary,
};
use proxytrace::extract::requests::RequestStats;
use proxytrace::pipeline::{Aggregate, FailedFile, Report};
use proxytrace::printers;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::process::ExitCode;

/// Every BACK request with the FRONT connection and SYN it came in on.
pub fn run(cli: &Cli, a: &JoinArgs) -> anyhow::Result<ExitCode> {
    let db = args::database(a.db.as_deref())?;
    let config = JoinConfig {
        requests: args::requests_config(&a.identity, &a.out),
        window_ns: a.window,
        match_window_ns: a.match_window,
        clock_offset_ns: a.clock_offset,
        two_pass: a.two_pass,
    };
    // Each side on its own: one capture may hold both sides (taken on the proxy host), so
    // the same file as --front and --back is not a duplicate.
    let front = args::inputs(&a.front, a.no_mmap, a.follow, Reading::Rows)?;
    let back = args::inputs(&a.back, a.no_mmap, a.follow, Reading::Rows)?;
    let named = args::named_files(&[&front, &back], a.db.as_deref());
    let mut out = args::output(a.out.output.as_deref(), &named)?;
    let all: Vec<_> = front.files().iter().chain(back.files()).cloned().collect();
    let bar = (!a.out.quiet).then(|| progress::Bar::new(&all)).flatten();
    let engine = args::engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = args::row_format(&a.out);
    let header = !a.out.no_header;
    let failed = Cell::new(false);
    let mut join_error = None;
    let started = std::time::Instant::now();
    let (mut report, matches) = list(
        &mut out,
        &a.out,
        args::listing(&a.out, a.summary),
        Clients::default(),
        bar.as_ref(),
        &|w| printers::printer::<JoinRow>(format, w, header),
        |sink| {
            let mut write_error = None;
            let mut rows = 0u64;
            let mut emit = |row| match sink.row(row) {
                Ok(flow) => {
                    rows += 1;
                    flow
                }
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            };
            let inputs = join::JoinInputs {
                front: front.files().to_vec(),
                back: back.files().to_vec(),
                open: back.open_options(),
            };
            let summary = join::run(&engine, inputs, &config, db.get(), &mut emit, &mut |e| {
                progress::suspend(bar.as_ref(), || eprintln!("proxytrace: {e}"));
                failed.set(true);
            });
            if let Some(e) = write_error {
                return Err(e);
            }
            Ok(match summary {
                Ok(s) => report_of(&s, rows),
                Err(e) => {
                    join_error = Some(e);
                    Report::default()
                }
            })
        },
    )?;
    if let Some(e) = join_error {
        return Err(e.into());
    }
    report.seconds = started.elapsed().as_secs_f64();
    let incomplete = failed.get() || front.incomplete() || back.incomplete();
    finish_listing(out, &a.out, bar.as_ref(), &report, matches, incomplete)
}

/// `--summary`: one row per client.
#[derive(Default)]
struct Clients(ClientJoinSummary);

impl Aggregate<JoinRow> for Clients {
    type Out = ClientJoinRow;
    fn add(&mut self, row: &JoinRow) {
        self.0.add(row);
    }
    fn rows(self) -> Vec<ClientJoinRow> {
        self.0.rows()
    }
}

/// The join's summary as a run report: the back pass's reading totals and counters, the
/// front index, the clock offset and the rows by method and confidence as notes.
fn report_of(s: &JoinSummary, rows: u64) -> Report {
    let b = &s.back;
    let mut r = Report {
        files: b.files,
        packets: b.packets.clone(),
        rows,
        failed_files: b
            .failed_files
            .iter()
            .map(|f| FailedFile {
                file: f.clone(),
                error: String::new(),
            })
            .collect(),
        ..Report::default()
    };
    r.add_walk(&b.walk);
    r.section(
        "requests",
        &RequestStats {
            heads: b.heads,
            preambles_unparsed: b.preambles_unparsed,
            rows_filtered: b.rows_filtered,
            rows_released_reorder_cap: b.rows_released_reorder_cap,
        },
    );
    r.section("reassembly", &b.reassembly);
    let ix = &s.index;
    r.notes.push(format!(
        "front: {} files, {} records, {} bytes; {} client SYNs indexed ({} skipped), {} addresses, {} stack profiles, {} front requests, index {} bytes",
        ix.front_files, ix.front_records, ix.front_bytes, ix.syns, ix.syns_skipped, ix.client_ips, ix.profiles, ix.front_requests, ix.index_bytes
    ));
    if let Some(c) = s.two_pass_clients {
        r.notes
            .push(format!("two-pass: {c} client addresses on the back side"));
    }
    r.notes.push(match (&s.estimate, s.offset_given) {
        (_, true) => format!("clock offset {} ns (given)", s.offset_ns),
        (Some(e), false) => format!(
            "clock offset estimated {} ns (median of {} {} pairs, interquartile range {} ns)",
            e.offset_ns, e.pairs, e.source, e.iqr_ns
        ),
        (None, false) => {
            "clock offset: no unambiguous pairs to estimate it; assumed 0 (use --clock-offset)"
                .to_string()
        }
    });
    let list = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    r.notes
        .push(format!("join methods: {}", list(&s.by_method)));
    r.notes
        .push(format!("join confidence: {}", list(&s.by_confidence)));
    r
}
