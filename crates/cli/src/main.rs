//! proxytrace: parse arguments, run, map errors to exit statuses.
//!
//! Exit statuses: 0 success (for `-q`/`-c`: something matched), 1 nothing matched
//! (`-q`/`-c` only), 2 an error (a file could not be read, bad arguments).

mod cli;

use clap::Parser as _;
use cli::{Cli, Command};
use proxytrace::capture::{self, OpenOptions};
use proxytrace::commands::info;
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::printers::Format;
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proxytrace: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `proxytrace ... | head` closes the pipe early; that is a normal end, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Open the output: standard output, or `-o FILE` through a temporary file that
/// [`outfile::Output::commit`] renames into place.
fn output(path: &Option<std::path::PathBuf>) -> anyhow::Result<outfile::Output> {
    Ok(match path {
        Some(p) => outfile::Output::create(p)?,
        None => outfile::Output::stdout(),
    })
}

/// What expanding and de-duplicating the inputs left out, for the end-of-run summary.
#[derive(Default)]
struct InputReport {
    /// Paths met in directory walks that are not inputs, by reason.
    skipped: std::collections::BTreeMap<capture::ExpandSkip, u64>,
    /// Inputs left out as duplicates of earlier ones (each one warned about).
    duplicates: u64,
    /// A directory could not be listed (the error is printed): the run ends with 2.
    failed: bool,
    /// Every file the inputs name, duplicates included: `-o` must be none of them.
    paths: Vec<std::path::PathBuf>,
}

impl InputReport {
    /// One summary line, when anything was left out.
    fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.duplicates > 0 {
            parts.push(format!("duplicate inputs skipped: {}", self.duplicates));
        }
        if !self.skipped.is_empty() {
            let by: Vec<String> = self
                .skipped
                .iter()
                .map(|(why, n)| format!("{} {n}", why.name()))
                .collect();
            parts.push(format!("paths skipped in directories: {}", by.join(", ")));
        }
        (!parts.is_empty()).then(|| format!("proxytrace: inputs: {}", parts.join("; ")))
    }

    fn print(&self, quiet: bool) {
        if let Some(l) = self.line().filter(|_| !quiet) {
            eprintln!("{l}");
        }
    }
}

/// Expand `args` into inputs (directories walked once per real file, non-captures in
/// them skipped and counted), leave out the same file met twice and, for commands that
/// emit rows per record (`requests`, `flows`, `syns`, `join`), a capture whose first
/// records equal an earlier input's. Duplicates are warned about here, once each. An
/// argument list that yields no input at all is an error.
fn gather_inputs(
    args: &[String],
    follow: bool,
    open: OpenOptions,
    drop_same_records: bool,
    report: &mut InputReport,
) -> anyhow::Result<Vec<capture::Input>> {
    let expansion = capture::expand_inputs_with(
        args,
        capture::ExpandOptions {
            follow_dir_symlinks: follow,
        },
    );
    for e in &expansion.errors {
        eprintln!("proxytrace: {e}");
        report.failed = true;
    }
    for (why, n) in &expansion.skipped {
        *report.skipped.entry(*why).or_default() += n;
    }
    report
        .paths
        .extend(expansion.inputs.iter().filter_map(|i| match i {
            capture::Input::Path(p) => Some(p.clone()),
            capture::Input::Stdin => None,
        }));
    let mut duplicates = expansion.same_file;
    let inputs = if drop_same_records {
        let (kept, dropped) = capture::drop_duplicate_captures(expansion.inputs, open);
        duplicates.extend(dropped);
        kept
    } else {
        expansion.inputs
    };
    for d in &duplicates {
        eprintln!("proxytrace: warning: {d}");
        report.paths.push(d.skipped.clone());
    }
    report.duplicates += duplicates.len() as u64;
    if inputs.is_empty() {
        let mut msg = format!("no capture to read in {}", args.join(" "));
        if let Some(l) = report.line() {
            msg.push_str(&format!(" ({})", l.trim_start_matches("proxytrace: ")));
        }
        anyhow::bail!(msg);
    }
    Ok(inputs)
}

/// The inputs of a command that takes [`cli::InputArgs`]: how to open them, and the
/// captures to read (see [`gather_inputs`]).
fn command_inputs(
    input: &cli::InputArgs,
    drop_same_records: bool,
    report: &mut InputReport,
) -> anyhow::Result<(OpenOptions, Vec<capture::Input>)> {
    let opts = OpenOptions {
        mmap: !input.no_mmap,
    };
    let inputs = gather_inputs(&input.files, input.follow, opts, drop_same_records, report)?;
    Ok((opts, inputs))
}

/// How a command divides the cores: `info` only walks and decodes in its workers;
/// `requests`, `syns` and `join` also run an ordered sequential stage (reassembly,
/// handshakes) on the calling thread, which needs a core of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stages {
    WorkersOnly,
    WithSequentialStage,
}

/// The engine, built once: `--threads` (default: one worker per core, less one for a
/// sequential stage; measured on 2 cores, 2 workers plus the stage ran `requests` at 1.0 s
/// where 1 worker plus the stage took 0.64 s), the hidden `--chunk-size`, and a progress
/// bar when standard error is a terminal.
fn engine(cli: &Cli, bar: Option<&Arc<ui::Bar>>, stages: Stages) -> anyhow::Result<Engine> {
    let threads = match (cli.threads, stages) {
        (Some(t), _) => usize::from(t),
        (None, Stages::WorkersOnly) => 0,
        (None, Stages::WithSequentialStage) => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cores.saturating_sub(1).max(1)
        }
    };
    let mut opts = EngineOptions {
        threads,
        ..EngineOptions::default()
    };
    if let Some(c) = cli.chunk_size {
        let c = usize::try_from(c).unwrap_or(usize::MAX);
        opts.chunk_size = c;
        opts.batch_size = c;
    }
    let mut e = Engine::new(opts)?;
    if let Some(b) = bar {
        e = e.with_progress(b.clone());
    }
    Ok(e)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    match &cli.command {
        Command::Requests(args) => run_requests(&cli, args, false),
        Command::Flows(args) => run_requests(&cli, args, true),
        Command::Syns(args) => run_syns(&cli, args),
        Command::Join(args) => run_join(&cli, args),
        Command::Info(args) => {
            let format = match args.format {
                Some(f) => Format::from(f),
                None if args.output.is_none() && io::stdout().is_terminal() => Format::Table,
                None => Format::Json,
            };
            if format == Format::Csv {
                anyhow::bail!("info writes table, json or jsonl, not csv");
            }
            let mut report = InputReport::default();
            let (opts, inputs) = command_inputs(&args.input, false, &mut report)?;
            outfile::refuse_input_as_output(args.output.as_deref(), &report.paths)?;
            let mut out = output(&args.output)?;
            let mut failed = report.failed;
            let mut infos = Vec::new();
            let bar = (!args.quiet).then(|| ui::Bar::new(&inputs)).flatten();
            let engine = engine(&cli, bar.as_ref(), Stages::WorkersOnly)?;
            let mut summary = ui::Summary::default();
            for input in inputs {
                if let Some(b) = &bar {
                    b.file(&input);
                }
                let described =
                    capture::open(&input, opts).and_then(|c| info::describe_with(&engine, c));
                if let Ok(fi) = &described {
                    summary.add(fi);
                }
                match described {
                    Ok(fi) => match format {
                        Format::Table => info::write_text(&mut out, &fi)?,
                        Format::Jsonl => {
                            serde_json::to_writer(&mut out, &fi)?;
                            out.write_all(b"\n")?;
                        }
                        _ => infos.push(fi),
                    },
                    Err(e) => {
                        out.flush()?;
                        ui::suspend(bar.as_ref(), || eprintln!("proxytrace: {e}"));
                        failed = true;
                    }
                }
            }
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &infos)?;
                out.write_all(b"\n")?;
            }
            out.commit()?;
            if let Some(b) = &bar {
                b.finish();
            }
            if !args.quiet {
                eprintln!("{}", summary.line(started.elapsed()));
            }
            report.print(args.quiet);
            Ok(if failed {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Pick the output format: explicit, else a table for a person at a terminal, else CSV.
fn row_format(args: &cli::RowOutputArgs) -> Format {
    match args.format {
        Some(f) => Format::from(f),
        None if args.output.is_none() && io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    }
}

/// grep's statuses for `-q` / `-c`: 0 something matched, 1 nothing, 2 an error (but `-q`
/// with a match is 0 even after an error, as grep does). Plain listings: 0 or 2.
fn match_status(args: &cli::RowOutputArgs, n: u64, failed: bool) -> ExitCode {
    if args.quiet && n > 0 {
        ExitCode::SUCCESS
    } else if failed {
        ExitCode::from(2)
    } else if (args.quiet || args.count) && n == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Request extraction settings from the identity and filter options.
fn requests_config(
    id: &cli::IdentityArgs,
    out: &cli::RowOutputArgs,
) -> proxytrace::extract::requests::RequestsConfig {
    proxytrace::extract::requests::RequestsConfig {
        trusted: id.trusted.clone(),
        extra_headers: id.headers.iter().map(|h| h.as_bytes().to_vec()).collect(),
        transparent: id.transparent,
        clients: out.clients.clone(),
        ..Default::default()
    }
}

/// The end of a listing: write an aggregate (`flows`, `--summary`) unless counting or
/// quiet, print the count for `-c`, and return the number of matches (the aggregate's
/// rows when there is one, else the rows streamed so far).
fn finish_listing<R: serde::Serialize>(
    out: &mut dyn Write,
    args: &cli::RowOutputArgs,
    format: Format,
    aggregate: Option<Vec<R>>,
    streamed: u64,
) -> io::Result<u64> {
    let mut n = streamed;
    if let Some(rows) = aggregate {
        n = rows.len() as u64;
        if !args.count && !args.quiet {
            proxytrace::printers::write_rows(format, out, !args.no_header, &rows)?;
        }
    }
    if args.count {
        writeln!(out, "{n}")?;
    }
    out.flush()?;
    Ok(n)
}

fn run_requests(cli: &Cli, args: &cli::RequestsArgs, flows: bool) -> anyhow::Result<ExitCode> {
    use proxytrace::extract::requests::{
        self, FlowAggregator, RequestJson, RequestRow, RequestsConfig,
    };
    let cfg = RequestsConfig {
        identified_only: args.identified_only,
        ..requests_config(&args.identity, &args.out)
    };
    let mut report = InputReport::default();
    let (opts, inputs) = command_inputs(&args.input, true, &mut report)?;
    outfile::refuse_input_as_output(args.out.output.as_deref(), &report.paths)?;
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&inputs)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = row_format(&args.out);
    let started = std::time::Instant::now();
    let mut out = output(&args.out.output)?;
    let quiet = args.out.quiet;
    let header = !args.out.no_header;
    let mut matched = 0u64;
    let mut agg = FlowAggregator::default();
    let mut failed = report.failed;
    let mut write_error: Option<io::Error> = None;
    let summary = {
        let writes_rows = !(args.out.count || quiet || flows);
        let json = matches!(format, Format::Json | Format::Jsonl);
        // CSV and tables take the flat row; JSON adds the parsed PROXY header.
        enum Rows<'w> {
            None,
            Flat(Box<dyn proxytrace::printers::RowSink<RequestRow> + 'w>),
            Nested(Box<dyn proxytrace::printers::RowSink<RequestJson> + 'w>),
        }
        let mut rows = match (writes_rows, json) {
            (false, _) => Rows::None,
            (true, false) => Rows::Flat(proxytrace::printers::sink(
                format,
                Box::new(&mut out),
                header,
            )),
            (true, true) => Rows::Nested(proxytrace::printers::sink(
                format,
                Box::new(&mut out),
                header,
            )),
        };
        let mut emit = |mut row: RequestRow| -> ControlFlow<()> {
            matched += 1;
            if quiet {
                return ControlFlow::Break(());
            }
            if flows {
                agg.add(&row);
                return ControlFlow::Continue(());
            }
            let written = match &mut rows {
                Rows::Flat(s) => s.write_row(&row),
                Rows::Nested(s) => s.write_row(&RequestJson {
                    proxy: row.proxy.take(),
                    row,
                }),
                Rows::None => Ok(()),
            };
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        };
        let summary = requests::run(&engine, inputs, opts, &cfg, &mut emit, &mut |e| {
            eprintln!("proxytrace: {e}");
            failed = true;
        });
        match &mut rows {
            Rows::Flat(s) => s.finish()?,
            Rows::Nested(s) => s.finish()?,
            Rows::None => {}
        }
        summary
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let aggregate = (flows && !quiet).then(|| agg.rows());
    let n = finish_listing(&mut out, &args.out, format, aggregate, matched)?;
    out.commit()?;
    if !quiet {
        if let Some(b) = &bar {
            b.finish();
        }
        print_summary(&summary, started.elapsed());
    }
    report.print(quiet);
    Ok(match_status(
        &args.out,
        n,
        failed || !summary.failed_files.is_empty(),
    ))
}

/// The end-of-run summary on stderr: totals, then every skip and cap that is not zero.
fn print_summary(s: &proxytrace::extract::requests::RequestsSummary, elapsed: std::time::Duration) {
    let secs = elapsed.as_secs_f64();
    let gbps = if secs > 0.0 {
        s.walk.bytes as f64 / secs / 1e9
    } else {
        0.0
    };
    let mut lines = vec![format!(
        "proxytrace: {} files, {} records, {} bytes, {:.2} s, {:.2} GB/s; {} request heads, {} rows",
        s.files, s.walk.records, s.walk.bytes, secs, gbps, s.heads, s.rows
    )];
    let mut nonzero = |what: &str, v: &serde_json::Value| {
        if let Some(m) = v.as_object() {
            for (k, n) in m {
                if n.as_u64().is_some_and(|n| n > 0) {
                    lines.push(format!("  {what} {k}: {n}"));
                }
            }
        }
    };
    let skipped: std::collections::BTreeMap<&str, u64> =
        s.walk.skipped.iter().map(|(r, n)| (r.name(), *n)).collect();
    nonzero("skipped", &serde_json::json!(skipped));
    nonzero(
        "undecodable",
        &serde_json::json!(s.packets.undecodable_names()),
    );
    nonzero("unparsed head", &serde_json::json!(s.heads_unparsed));
    let r = serde_json::to_value(&s.reassembly).unwrap_or_default();
    let caps: serde_json::Map<String, serde_json::Value> = r
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    // Counters of loss or limits; the volume counters are not news.
                    [
                        "heads_partial",
                        "heads_capped",
                        "gaps",
                        "gap_bytes",
                        "ooo_cap_gaps",
                        "not_http_flows",
                        "framing_errors",
                        "chunked_framing_errors",
                        "conflicting_content_lengths",
                        "preambles_invalid",
                        "preambles_repeated",
                        "overlap_conflicts",
                        "overlap_rewinds",
                        "overlap_unchecked_bytes",
                        "flows_evicted_flow_cap",
                        "flows_evicted_byte_cap",
                        "ooo_bytes_discarded",
                        "unsynced_bytes",
                        "resyncs",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    nonzero("reassembly", &serde_json::Value::Object(caps));
    if s.rows_released_reorder_cap > 0 {
        lines.push(format!(
            "  rows released early (reorder buffer cap): {}",
            s.rows_released_reorder_cap
        ));
    }
    if s.preambles_unparsed > 0 {
        lines.push(format!(
            "  unparsed PROXY preambles: {}",
            s.preambles_unparsed
        ));
    }
    if s.walk.damaged_bytes > 0 {
        lines.push(format!("  damaged bytes: {}", s.walk.damaged_bytes));
    }
    for line in lines {
        eprintln!("{line}");
    }
}

fn run_syns(cli: &Cli, args: &cli::SynsArgs) -> anyhow::Result<ExitCode> {
    use proxytrace::extract::handshakes::{
        self as syns, ClientSummary, FileMeta, SynEntry, SynRow, SynScanner,
    };
    use proxytrace::fingerprint::{builtin, db::Database};
    let loaded;
    let db: &Database = match &args.db {
        Some(p) => {
            loaded = Database::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            &loaded
        }
        None => builtin::database(),
    };
    let format = row_format(&args.out);
    let mut report = InputReport::default();
    let (opts, inputs) = command_inputs(&args.input, true, &mut report)?;
    let mut named = report.paths.clone();
    named.extend(args.db.clone());
    outfile::refuse_input_as_output(args.out.output.as_deref(), &named)?;
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&inputs)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let quiet = args.out.quiet;
    let listing = !args.out.count && !quiet;
    let header = !args.out.no_header;
    let mut out = output(&args.out.output)?;
    let mut scanner = SynScanner::new(db);
    let mut summary = ClientSummary::default();
    let mut matched = 0u64;
    let mut failed = report.failed;
    let mut write_err: Option<io::Error> = None;
    {
        let mut rows = (listing && !args.summary)
            .then(|| proxytrace::printers::sink::<SynRow>(format, Box::new(&mut out), header));
        let mut on_entry = |e: &SynEntry<'_>, meta: &FileMeta| -> ControlFlow<()> {
            if !syns::client_matches(&args.out.clients, e.client().ip()) {
                return ControlFlow::Continue(());
            }
            if args.summary {
                summary.add(e, meta);
                return ControlFlow::Continue(());
            }
            matched += 1;
            if quiet {
                return ControlFlow::Break(());
            }
            if let Some(sink) = rows.as_mut() {
                if let Err(err) = sink.write_row(&SynRow::new(e, meta, db)) {
                    write_err = Some(err);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        };
        let mut stopped = false;
        for input in inputs {
            match capture::open(&input, opts)
                .and_then(|cap| scanner.scan(&engine, cap, &mut on_entry))
            {
                Ok(ControlFlow::Break(())) => {
                    stopped = true;
                    break;
                }
                Ok(ControlFlow::Continue(())) => {}
                Err(e) => {
                    eprintln!("proxytrace: {e}");
                    failed = true;
                }
            }
        }
        if !stopped {
            let _ = scanner.finish(&mut on_entry);
        }
        if let Some(mut sink) = rows {
            sink.finish()?;
        }
    }
    if let Some(err) = write_err {
        return Err(err.into());
    }
    if !quiet {
        // Caps of the handshake tracker that were hit (memory bounds), by name.
        let caps = serde_json::to_value(scanner.tracker.stats()).unwrap_or_default();
        for (k, n) in caps.as_object().into_iter().flatten() {
            if n.as_u64().is_some_and(|n| n > 0) {
                eprintln!("proxytrace: syns {k}: {n}");
            }
        }
    }
    let aggregate = args.summary.then(|| summary.rows());
    let matched = finish_listing(&mut out, &args.out, format, aggregate, matched)?;
    out.commit()?;
    if let Some(b) = &bar {
        b.finish();
    }
    report.print(quiet);
    Ok(match_status(&args.out, matched, failed))
}

fn run_join(cli: &Cli, args: &cli::JoinArgs) -> anyhow::Result<ExitCode> {
    use proxytrace::commands::join::{self, ClientJoinSummary, JoinConfig, JoinRow};
    use proxytrace::fingerprint::{builtin, db::Database};
    use proxytrace::pipeline::{InputOptions, Inputs, Listing, ListingSink};
    let loaded;
    let db: &Database = match &args.db {
        Some(p) => {
            loaded = Database::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            &loaded
        }
        None => builtin::database(),
    };
    let cfg = JoinConfig {
        requests: requests_config(&args.identity, &args.out),
        window_ns: args.window,
        match_window_ns: args.match_window,
        clock_offset_ns: args.clock_offset,
        two_pass: args.two_pass,
    };
    let input_opts = InputOptions {
        open: OpenOptions {
            mmap: !args.no_mmap,
        },
        follow_dir_symlinks: args.follow,
        drop_same_records: true,
        time_order: true,
    };
    // Each side on its own: one capture may hold both sides (taken on the proxy host), so
    // the same file as --front and --back is not a duplicate.
    let gather = |files: &[String]| -> anyhow::Result<Inputs> {
        let inputs = Inputs::gather(files, input_opts)?;
        for w in inputs.warnings() {
            eprintln!("proxytrace: {w}");
        }
        Ok(inputs)
    };
    let inputs = join::JoinInputs {
        front: gather(&args.front)?,
        back: gather(&args.back)?,
    };
    let mut named: Vec<_> = inputs.front.named_files().to_vec();
    named.extend_from_slice(inputs.back.named_files());
    named.extend(args.db.clone());
    outfile::refuse_input_as_output(args.out.output.as_deref(), &named)?;
    let all: Vec<_> = inputs
        .front
        .files()
        .iter()
        .chain(inputs.back.files())
        .cloned()
        .collect();
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&all)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = row_format(&args.out);
    let mut out = output(&args.out.output)?;
    let quiet = args.out.quiet;
    let listing = if quiet {
        Listing::Quiet
    } else if args.summary {
        Listing::Aggregate
    } else if args.out.count {
        Listing::Count
    } else {
        Listing::Rows
    };
    /// Rows to the printer; unreadable files to standard error.
    struct Printer<'w>(Option<Box<dyn proxytrace::printers::RowSink<JoinRow> + 'w>>);
    impl proxytrace::pipeline::Sink<JoinRow> for Printer<'_> {
        type Error = io::Error;
        fn row(&mut self, row: JoinRow) -> io::Result<ControlFlow<()>> {
            if let Some(p) = self.0.as_mut() {
                p.write_row(&row)?;
            }
            Ok(ControlFlow::Continue(()))
        }
        fn file_error(
            &mut self,
            e: &proxytrace::capture::CaptureError,
        ) -> io::Result<ControlFlow<()>> {
            eprintln!("proxytrace: {e}");
            Ok(ControlFlow::Continue(()))
        }
    }
    let (report, matched, clients) = {
        let printer = Printer((listing == Listing::Rows).then(|| {
            proxytrace::printers::sink::<JoinRow>(format, Box::new(&mut out), !args.out.no_header)
        }));
        let mut sink = ListingSink::new(listing, printer, ClientJoinSummary::default());
        let report = join::run(&engine, &inputs, &cfg, db, &mut sink)?;
        let matched = sink.matched();
        let (printer, clients) = sink.into_parts();
        if let Some(mut p) = printer.0 {
            p.finish()?;
        }
        (report, matched, clients)
    };
    let aggregate = (args.summary && !quiet).then(|| {
        use proxytrace::pipeline::Aggregate as _;
        clients.rows()
    });
    let n = finish_listing(&mut out, &args.out, format, aggregate, matched)?;
    out.commit()?;
    if !quiet {
        if let Some(b) = &bar {
            b.finish();
        }
        print_report(&report);
        if let Some(l) = report.inputs.line() {
            eprintln!("proxytrace: inputs: {l}");
        }
    }
    let failed =
        !report.failed_files.is_empty() || inputs.front.incomplete() || inputs.back.incomplete();
    Ok(match_status(&args.out, n, failed))
}

/// The end-of-run account of a run report: totals, what was skipped or undecodable,
/// every section's non-zero counters, then the notes.
fn print_report(r: &proxytrace::pipeline::Report) {
    eprintln!(
        "proxytrace: {} files, {} records, {} bytes, {:.2} s, {:.2} GB/s; {} rows",
        r.files,
        r.records,
        r.bytes,
        r.seconds,
        r.gigabytes_per_second(),
        r.rows
    );
    for (why, n) in &r.skipped {
        eprintln!("  skipped {why}: {n}");
    }
    for (why, n) in r.packets.undecodable_names() {
        if n > 0 {
            eprintln!("  undecodable {why}: {n}");
        }
    }
    for s in &r.sections {
        let nonzero: Vec<String> = s
            .counters
            .iter()
            .filter(|c| c.value > 0)
            .map(|c| format!("{} {}", c.name, c.value))
            .collect();
        if !nonzero.is_empty() {
            eprintln!("proxytrace: {}: {}", s.name, nonzero.join(", "));
        }
    }
    for note in &r.notes {
        eprintln!("proxytrace: {note}");
    }
}

/// Terminal feedback on standard error: the progress bar and the end-of-run summary.
/// indicatif stays here, in the binary; the library reports progress through
/// `engine::Progress`.
mod ui {
    use proxytrace::capture::Input;
    use proxytrace::commands::info::FileInfo;
    use proxytrace::engine::Progress;
    use std::collections::BTreeMap;
    use std::io::IsTerminal;
    use std::sync::Arc;
    use std::time::Duration;

    pub struct Bar(indicatif::ProgressBar);

    impl Progress for Bar {
        fn advance(&self, bytes: u64) {
            // Compressed inputs advance by decompressed bytes: grow the total rather
            // than show more than 100 %.
            let b = &self.0;
            let pos = b.position().saturating_add(bytes);
            if b.length().is_some_and(|l| pos > l) {
                b.set_length(pos);
            }
            b.inc(bytes);
        }
    }

    impl Bar {
        /// A bar over the inputs' total size, or `None` when standard error is not a
        /// terminal or we run in CI.
        pub fn new(inputs: &[Input]) -> Option<Arc<Bar>> {
            if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
                return None;
            }
            let total: u64 = inputs
                .iter()
                .filter_map(|i| match i {
                    Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                    Input::Stdin => None,
                })
                .sum();
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{wide_msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            Some(Arc::new(Bar(bar)))
        }

        pub fn file(&self, input: &Input) {
            self.0.set_message(input.display().display().to_string());
        }

        pub fn finish(&self) {
            self.0.finish_and_clear();
        }
    }

    /// Print without tearing the bar.
    pub fn suspend(bar: Option<&Arc<Bar>>, f: impl FnOnce()) {
        match bar {
            Some(b) => b.0.suspend(f),
            None => f(),
        }
    }

    /// Totals over the files of a run.
    #[derive(Default)]
    pub struct Summary {
        files: u64,
        records: u64,
        bytes: u64,
        damaged_bytes: u64,
        skipped: BTreeMap<&'static str, u64>,
        undecodable: BTreeMap<String, u64>,
        cut_streams: u64,
    }

    impl Summary {
        pub fn add(&mut self, f: &FileInfo) {
            self.files += 1;
            self.records += f.records;
            self.bytes += f.bytes;
            self.damaged_bytes += f.damaged_bytes;
            for (k, v) in &f.skipped {
                *self.skipped.entry(k).or_default() += v;
            }
            for (k, v) in &f.packets.undecodable_names() {
                *self.undecodable.entry(k.clone()).or_default() += v;
            }
            self.cut_streams += u64::from(f.compressed_stream_cut);
        }

        pub fn line(&self, took: Duration) -> String {
            use std::fmt::Write as _;
            let secs = took.as_secs_f64();
            let gbs = if secs > 0.0 {
                self.bytes as f64 / secs / 1e9
            } else {
                0.0
            };
            let mut s = format!(
                "proxytrace: {} file{}, {} records, {} bytes in {secs:.2} s ({gbs:.2} GB/s)",
                self.files,
                if self.files == 1 { "" } else { "s" },
                self.records,
                self.bytes
            );
            for (k, v) in &self.skipped {
                let _ = write!(s, "; skipped {k}: {v}");
            }
            if self.damaged_bytes > 0 {
                let _ = write!(s, "; damaged bytes: {}", self.damaged_bytes);
            }
            for (k, v) in &self.undecodable {
                let _ = write!(s, "; undecodable {k}: {v}");
            }
            if self.cut_streams > 0 {
                let _ = write!(s, "; cut compressed streams: {}", self.cut_streams);
            }
            s
        }
    }
}

/// Output files that never destroy what they replace: `-o FILE` is written to a
/// temporary file in the same directory and renamed over FILE only when the run ends
/// without a fatal error, so an interrupted or failed run leaves FILE as it was. Every
/// write error names the output.
mod outfile {
    use anyhow::Context as _;
    use proxytrace::capture::FileId;
    use std::fs::File;
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};

    /// A write error with the output it happened on; the I/O error stays the cause and
    /// its kind is kept (a broken pipe is still recognised as one).
    #[derive(Debug, thiserror::Error)]
    #[error("cannot write {target}")]
    struct WriteError {
        target: String,
        #[source]
        source: io::Error,
    }

    enum Sink {
        File(File),
        Stdout(io::StdoutLock<'static>),
    }

    /// The bottom writer: every error it returns names the output.
    struct Named {
        sink: Sink,
        target: String,
    }

    impl Named {
        fn name_error(&self, e: io::Error) -> io::Error {
            io::Error::new(
                e.kind(),
                WriteError {
                    target: self.target.clone(),
                    source: e,
                },
            )
        }
    }

    impl Write for Named {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let r = match &mut self.sink {
                Sink::File(f) => f.write(buf),
                Sink::Stdout(s) => s.write(buf),
            };
            r.map_err(|e| self.name_error(e))
        }

        fn flush(&mut self) -> io::Result<()> {
            let r = match &mut self.sink {
                Sink::File(f) => f.flush(),
                Sink::Stdout(s) => s.flush(),
            };
            r.map_err(|e| self.name_error(e))
        }
    }

    /// A temporary file to rename over `dest` at the end.
    struct Pending {
        tmp: PathBuf,
        dest: PathBuf,
    }

    pub struct Output {
        w: io::BufWriter<Named>,
        /// `None` for standard output and for outputs that are not regular files
        /// (`/dev/null`, `/dev/full`, a FIFO), which are written directly.
        pending: Option<Pending>,
    }

    const BUF: usize = 1 << 16;

    impl Output {
        pub fn stdout() -> Output {
            Output {
                w: io::BufWriter::with_capacity(
                    BUF,
                    Named {
                        sink: Sink::Stdout(io::stdout().lock()),
                        target: "stdout".into(),
                    },
                ),
                pending: None,
            }
        }

        pub fn create(path: &Path) -> anyhow::Result<Output> {
            let named = |file| Named {
                sink: Sink::File(file),
                target: path.display().to_string(),
            };
            let existing = std::fs::metadata(path).ok();
            if existing.as_ref().is_some_and(|m| !m.is_file()) {
                // A device or FIFO cannot be replaced by renaming (and must not be).
                let file = File::create(path)
                    .with_context(|| format!("cannot open output {}", path.display()))?;
                return Ok(Output {
                    w: io::BufWriter::with_capacity(BUF, named(file)),
                    pending: None,
                });
            }
            // Through a symlink: replace the file it names, not the link.
            let dest = match existing {
                Some(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
                None => path.to_path_buf(),
            };
            let (tmp, file) = create_temp(&dest)
                .with_context(|| format!("cannot create output {}", path.display()))?;
            if let Some(m) = &existing {
                // The replacement keeps the replaced file's permissions.
                let _ = file.set_permissions(m.permissions());
            }
            Ok(Output {
                w: io::BufWriter::with_capacity(BUF, named(file)),
                pending: Some(Pending { tmp, dest }),
            })
        }

        /// Flush, and put a file output in place under its real name.
        pub fn commit(mut self) -> anyhow::Result<()> {
            self.w.flush()?;
            let Some(p) = self.pending.take() else {
                return Ok(());
            };
            let target = self.w.get_ref().target.clone();
            if let Sink::File(f) = &self.w.get_ref().sink {
                // On disk before the rename: a crash then leaves the old file, not an
                // empty new one.
                f.sync_all().map_err(|e| self.w.get_ref().name_error(e))?;
            }
            if let Err(e) = std::fs::rename(&p.tmp, &p.dest) {
                let _ = std::fs::remove_file(&p.tmp);
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot rename the finished output into {target}")));
            }
            Ok(())
        }
    }

    impl Drop for Output {
        /// Not committed: an error ended the run; the real name keeps what it held.
        fn drop(&mut self) {
            if let Some(p) = self.pending.take() {
                let _ = std::fs::remove_file(&p.tmp);
            }
        }
    }

    impl Write for Output {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.w.write(buf)
        }
        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.w.write_all(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.w.flush()
        }
    }

    /// A new file beside `dest`: `.NAME.proxytrace-PID-N.tmp`, created exclusively.
    fn create_temp(dest: &Path) -> io::Result<(PathBuf, File)> {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut n = 0u32;
        loop {
            let tmp = dir.join(format!(".{name}.proxytrace-{}-{n}.tmp", std::process::id()));
            match File::options().write(true).create_new(true).open(&tmp) {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Refuse an output that is one of the inputs (or the same file under another
    /// name, through a hard link or a symlink): writing it would destroy the evidence.
    pub fn refuse_input_as_output(output: Option<&Path>, inputs: &[PathBuf]) -> anyhow::Result<()> {
        let Some(out) = output else { return Ok(()) };
        let Ok(out_id) = FileId::of(out) else {
            // Does not exist yet: it cannot be an input.
            return Ok(());
        };
        for input in inputs {
            if FileId::of(input).is_ok_and(|id| id == out_id) {
                anyhow::bail!(
                    "refusing to write output {}: it is the input {} (same file); choose another -o",
                    out.display(),
                    input.display()
                );
            }
        }
        Ok(())
    }
}
