//! proxytrace: parse arguments, run, map errors to exit statuses.
//!
//! Exit statuses: 0 success (for `-q`/`-c`: something matched), 1 nothing matched
//! (`-q`/`-c` only), 2 an error (a file could not be read, bad arguments).

mod cli;

use clap::Parser as _;
use cli::{Cli, Command};
use proxytrace::capture::{self, OpenOptions};
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::info;
use proxytrace::output::Format;
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

fn output(path: &Option<std::path::PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(io::BufWriter::with_capacity(
            1 << 16,
            std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        )),
        None => Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    })
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
            let opts = OpenOptions {
                mmap: !args.input.no_mmap,
            };
            let mut out = output(&args.output)?;
            let mut failed = false;
            let mut infos = Vec::new();
            let inputs = capture::expand_inputs(&args.input.files)?;
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
            out.flush()?;
            if let Some(b) = &bar {
                b.finish();
            }
            if !args.quiet {
                eprintln!("{}", summary.line(started.elapsed()));
            }
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
) -> proxytrace::requests::RequestsConfig {
    proxytrace::requests::RequestsConfig {
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
            proxytrace::output::write_rows(format, out, !args.no_header, &rows)?;
        }
    }
    if args.count {
        writeln!(out, "{n}")?;
    }
    out.flush()?;
    Ok(n)
}

fn run_requests(cli: &Cli, args: &cli::RequestsArgs, flows: bool) -> anyhow::Result<ExitCode> {
    use proxytrace::requests::{self, FlowAggregator, RequestJson, RequestRow, RequestsConfig};
    let cfg = RequestsConfig {
        identified_only: args.identified_only,
        ..requests_config(&args.identity, &args.out)
    };
    let opts = OpenOptions {
        mmap: !args.input.no_mmap,
    };
    let inputs = capture::expand_inputs(&args.input.files)?;
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&inputs)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = row_format(&args.out);
    let started = std::time::Instant::now();
    let mut out = output(&args.out.output)?;
    let quiet = args.out.quiet;
    let header = !args.out.no_header;
    let mut matched = 0u64;
    let mut agg = FlowAggregator::default();
    let mut failed = false;
    let mut write_error: Option<io::Error> = None;
    let summary = {
        let writes_rows = !(args.out.count || quiet || flows);
        let json = matches!(format, Format::Json | Format::Jsonl);
        // CSV and tables take the flat row; JSON adds the parsed PROXY header.
        enum Rows<'w> {
            None,
            Flat(Box<dyn proxytrace::output::RowSink<RequestRow> + 'w>),
            Nested(Box<dyn proxytrace::output::RowSink<RequestJson> + 'w>),
        }
        let mut rows = match (writes_rows, json) {
            (false, _) => Rows::None,
            (true, false) => {
                Rows::Flat(proxytrace::output::sink(format, Box::new(&mut out), header))
            }
            (true, true) => {
                Rows::Nested(proxytrace::output::sink(format, Box::new(&mut out), header))
            }
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
    if !quiet {
        if let Some(b) = &bar {
            b.finish();
        }
        print_summary(&summary, started.elapsed());
    }
    Ok(match_status(
        &args.out,
        n,
        failed || !summary.failed_files.is_empty(),
    ))
}

/// The end-of-run summary on stderr: totals, then every skip and cap that is not zero.
fn print_summary(s: &proxytrace::requests::RequestsSummary, elapsed: std::time::Duration) {
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
                        "preambles_invalid",
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
    use proxytrace::fingerprint::{builtin, db::Database};
    use proxytrace::syns::{self, ClientSummary, FileMeta, SynEntry, SynRow, SynScanner};
    let loaded;
    let db: &Database = match &args.db {
        Some(p) => {
            loaded = Database::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            &loaded
        }
        None => builtin::database(),
    };
    let format = row_format(&args.out);
    let opts = OpenOptions {
        mmap: !args.input.no_mmap,
    };
    let inputs = capture::expand_inputs(&args.input.files)?;
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&inputs)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let quiet = args.out.quiet;
    let listing = !args.out.count && !quiet;
    let header = !args.out.no_header;
    let mut out = output(&args.out.output)?;
    let mut scanner = SynScanner::new(db);
    let mut summary = ClientSummary::default();
    let mut matched = 0u64;
    let mut failed = false;
    let mut write_err: Option<io::Error> = None;
    {
        let mut rows = (listing && !args.summary)
            .then(|| proxytrace::output::sink::<SynRow>(format, Box::new(&mut out), header));
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
    if let Some(b) = &bar {
        b.finish();
    }
    Ok(match_status(&args.out, matched, failed))
}

fn run_join(cli: &Cli, args: &cli::JoinArgs) -> anyhow::Result<ExitCode> {
    use proxytrace::fingerprint::{builtin, db::Database};
    use proxytrace::join::{self, ClientJoinSummary, JoinConfig, JoinRow};
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
    let opts = OpenOptions {
        mmap: !args.no_mmap,
    };
    let front = capture::expand_inputs(&args.front)?;
    let back = capture::expand_inputs(&args.back)?;
    let all: Vec<_> = front.iter().chain(back.iter()).cloned().collect();
    let bar = (!args.out.quiet).then(|| ui::Bar::new(&all)).flatten();
    let engine = engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = row_format(&args.out);
    let started = std::time::Instant::now();
    let mut out = output(&args.out.output)?;
    let quiet = args.out.quiet;
    let header = !args.out.no_header;
    let writes_rows = !(args.out.count || quiet || args.summary);
    let mut matched = 0u64;
    let mut failed = false;
    let mut write_error: Option<io::Error> = None;
    let mut clients = ClientJoinSummary::default();
    let summary = {
        let mut rows = writes_rows
            .then(|| proxytrace::output::sink::<JoinRow>(format, Box::new(&mut out), header));
        let mut emit = |row: JoinRow| -> ControlFlow<()> {
            matched += 1;
            if quiet {
                return ControlFlow::Break(());
            }
            if args.summary {
                clients.add(&row);
                return ControlFlow::Continue(());
            }
            if let Some(sink) = rows.as_mut() {
                if let Err(e) = sink.write_row(&row) {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        };
        let summary = join::run(
            &engine,
            join::JoinInputs {
                front,
                back,
                open: opts,
            },
            &cfg,
            db,
            &mut emit,
            &mut |e| {
                eprintln!("proxytrace: {e}");
                failed = true;
            },
        )?;
        if let Some(mut sink) = rows {
            sink.finish()?;
        }
        summary
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let aggregate = (args.summary && !quiet).then(|| clients.rows());
    let n = finish_listing(&mut out, &args.out, format, aggregate, matched)?;
    if !quiet {
        if let Some(b) = &bar {
            b.finish();
        }
        print_summary(&summary.back, started.elapsed());
        let ix = &summary.index;
        eprintln!(
            "proxytrace: front: {} files, {} records, {} bytes; {} client SYNs indexed ({} skipped), {} addresses, {} stack profiles, {} front requests, index {} bytes",
            ix.front_files, ix.front_records, ix.front_bytes, ix.syns, ix.syns_skipped, ix.client_ips, ix.profiles, ix.front_requests, ix.index_bytes
        );
        if let Some(c) = summary.two_pass_clients {
            eprintln!("proxytrace: two-pass: {c} client addresses on the back side");
        }
        match (&summary.estimate, summary.offset_given) {
            (_, true) => eprintln!("proxytrace: clock offset {} ns (given)", summary.offset_ns),
            (Some(e), false) => eprintln!(
                "proxytrace: clock offset estimated {} ns (median of {} {} pairs, interquartile range {} ns)",
                e.offset_ns, e.pairs, e.source, e.iqr_ns
            ),
            (None, false) => eprintln!(
                "proxytrace: clock offset: no unambiguous pairs to estimate it; assumed 0 (use --clock-offset)"
            ),
        }
        let list = |m: &std::collections::BTreeMap<&str, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!("proxytrace: join methods: {}", list(&summary.by_method));
        eprintln!(
            "proxytrace: join confidence: {}",
            list(&summary.by_confidence)
        );
    }
    Ok(match_status(
        &args.out,
        n,
        failed || !summary.back.failed_files.is_empty(),
    ))
}

/// Terminal feedback on standard error: the progress bar and the end-of-run summary.
/// indicatif stays here, in the binary; the library reports progress through
/// `engine::Progress`.
mod ui {
    use proxytrace::capture::Input;
    use proxytrace::engine::Progress;
    use proxytrace::info::FileInfo;
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
