//! The one place flags become library configs: validation, and factories for the engine,
//! the inputs, the database, the output and the listing.

use crate::flags::{
    Cli, IdentityArgs, InputArgs, OutFormat, RequestFilterArgs, RowOutputArgs, StatsFormat,
    SummaryArgs,
};
use crate::output_file::{self, Output};
use crate::progress::Bar;
use anyhow::Context as _;
use proxytrace::capture::{OpenOptions, TimeWindow};
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::extract::requests::{FieldFilter, RequestsConfig};
use proxytrace::fingerprint::{builtin, db::Database, db::DbError};
use proxytrace::pipeline::{InputOptions, Inputs, Listing};
use proxytrace::printers::Format;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl From<OutFormat> for Format {
    fn from(f: OutFormat) -> Format {
        match f {
            OutFormat::Csv => Format::Csv,
            OutFormat::Jsonl => Format::Jsonl,
            OutFormat::Json => Format::Json,
            OutFormat::Table => Format::Table,
            OutFormat::Parquet => Format::Parquet,
        }
    }
}

/// How a command divides the cores: `info` only walks and decodes in its workers;
/// `syns` and `connections` also run an ordered sequential stage (handshakes, connection
/// accounting) on the calling thread, which needs a core of its own. `requests` (and the
/// back side of `join` and `proxies`) runs its reassembly in flow shards on the workers:
/// the calling thread only merges, and waits meanwhile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stages {
    /// Workers only (`info`, `requests`, `join`, `proxies`).
    WorkersOnly,
    /// Workers plus a sequential stage on the calling thread.
    WithSequentialStage,
}

/// The engine, built once: `--threads` (default: one worker per core, less one for a
/// sequential stage; measured on 2 cores, 2 workers plus the stage ran `requests` at 1.0 s
/// where 1 worker plus the stage took 0.64 s), the hidden `--chunk-size`, and a progress
/// bar when standard error is a terminal, and Ctrl-C's interrupt flag.
pub fn engine(cli: &Cli, bar: Option<&Arc<Bar>>, stages: Stages) -> anyhow::Result<Engine> {
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
    if let Some(flag) = crate::interrupt::flag() {
        e = e.with_interrupt(flag);
    }
    Ok(e)
}

/// What a command reads its inputs for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Describing files one by one (`info`): every file, in the given order.
    Files,
    /// Rows per record (`requests`, `flows`, `syns`, `join`): the same capture twice would
    /// double every row, and rotated files are read in capture-time order.
    Rows,
}

/// Expand, de-duplicate and order `files`; the warnings (duplicates, unlisted
/// directories) are printed here, once each.
pub fn inputs(
    files: &[String],
    no_mmap: bool,
    follow: bool,
    reading: Reading,
) -> anyhow::Result<Inputs> {
    let rows = reading == Reading::Rows;
    let inputs = Inputs::gather(
        files,
        InputOptions {
            open: OpenOptions { mmap: !no_mmap },
            follow_dir_symlinks: follow,
            drop_same_records: rows,
            time_order: rows,
        },
    )?;
    for w in inputs.warnings() {
        eprintln!("proxytrace: {w}");
    }
    Ok(inputs)
}

/// The inputs of a command that takes [`InputArgs`].
pub fn command_inputs(input: &InputArgs, reading: Reading) -> anyhow::Result<Inputs> {
    inputs(&input.files, input.no_mmap, input.follow, reading)
}

/// The p0f database: the built-in one, or `--db FILE` loaded once.
pub enum Db {
    /// Compiled in.
    Builtin(&'static Database),
    /// Loaded from a file.
    Loaded(Database),
}

impl Db {
    /// The database.
    pub fn get(&self) -> &Database {
        match self {
            Db::Builtin(d) => d,
            Db::Loaded(d) => d,
        }
    }
}

/// Load `--db` (the built-in database without it). The error names the file once: a
/// read error already does, a parse error gets it in front of its line number.
pub fn database(path: Option<&Path>) -> anyhow::Result<Db> {
    let Some(p) = path else {
        return Ok(Db::Builtin(builtin::database()));
    };
    Database::load(p).map(Db::Loaded).map_err(|e| match e {
        DbError::Io { .. } => anyhow::anyhow!("{e}"),
        other => anyhow::anyhow!("{}: {other}", p.display()),
    })
}

/// Refuse an output that is one of the inputs (or the database), then open it.
pub fn output(path: Option<&Path>, named: &[PathBuf]) -> anyhow::Result<Output> {
    output_file::refuse_input_as_output(path, named)?;
    Ok(match path {
        Some(p) => Output::create(p)?,
        None => Output::stdout(),
    })
}

/// The format of a row listing: explicit, else a table for a person at a terminal, else
/// CSV.
pub fn row_format(args: &RowOutputArgs) -> Format {
    match args.format {
        Some(f) => Format::from(f),
        None if args.output.is_none() && io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    }
}

/// The format of `info`: explicit (not CSV), else the text blocks at a terminal, else
/// JSON.
pub fn info_format(format: Option<OutFormat>, output: Option<&Path>) -> anyhow::Result<Format> {
    let format = match format {
        Some(f) => Format::from(f),
        None if output.is_none() && io::stdout().is_terminal() => Format::Table,
        None => Format::Json,
    };
    if matches!(format, Format::Csv | Format::Parquet) {
        anyhow::bail!("info writes table, json or jsonl, not {}", format.name());
    }
    Ok(format)
}

/// Refuse what `format` cannot do here: Parquet from a binary built without it, or binary
/// Parquet to a terminal (`-o FILE` or a pipe; a count `-c` or `-q` writes no rows).
pub fn check_format(format: Format, args: &RowOutputArgs) -> anyhow::Result<()> {
    if format != Format::Parquet || args.count || args.quiet {
        return Ok(());
    }
    if !cfg!(feature = "parquet") {
        anyhow::bail!(
            "--format parquet: this proxytrace was built without Parquet (cargo feature \
             `parquet`, on by default)"
        );
    }
    if args.output.is_none() && io::stdout().is_terminal() {
        anyhow::bail!(
            "--format parquet writes a binary file: not to a terminal; give -o FILE or a pipe"
        );
    }
    Ok(())
}

/// The listing policy of a row command: `-q` the first match, an aggregate (`flows`,
/// `--summary`; `-c` then counts its rows), `-c` a count, else every row.
pub fn listing(out: &RowOutputArgs, aggregate: bool) -> Listing {
    if out.quiet {
        Listing::Quiet
    } else if aggregate {
        Listing::Aggregate
    } else if out.count {
        Listing::Count
    } else {
        Listing::Rows
    }
}

/// The end-of-run summary's format; `quiet` (`-q`) prints none.
pub fn stats(summary: &SummaryArgs, quiet: bool) -> StatsFormat {
    if quiet || summary.no_summary {
        StatsFormat::None
    } else {
        summary.stats.unwrap_or(StatsFormat::Text)
    }
}

/// A progress bar over `inputs`, unless `-q`.
pub fn bar(inputs: &Inputs, quiet: bool) -> Option<Arc<Bar>> {
    (!quiet).then(|| Bar::new(inputs.files())).flatten()
}

/// Request extraction settings from the identity and filter options.
pub fn requests_config(id: &IdentityArgs, out: &RowOutputArgs) -> anyhow::Result<RequestsConfig> {
    let mut cfg = RequestsConfig {
        trusted: id.trusted.clone(),
        extra_headers: id.headers.iter().map(|h| h.as_bytes().to_vec()).collect(),
        transparent: id.transparent,
        clients: out.clients.iter().copied().collect(),
        ..Default::default()
    };
    for h in &id.identity_headers {
        cfg.add_identity_header(h.as_bytes())
            .context("--identity-header")?;
    }
    Ok(cfg)
}

/// Every file a command names (inputs, duplicates, the database): `-o` must be none.
pub fn named_files(inputs: &[&Inputs], db: Option<&Path>) -> Vec<PathBuf> {
    let mut named: Vec<PathBuf> = inputs
        .iter()
        .flat_map(|i| i.named_files().iter().cloned())
        .collect();
    named.extend(db.map(Path::to_path_buf));
    named
}

/// `inputs` read only within `--since`/`--until`: relative times (`+15m`) count from the
/// first packet of the earliest input, `now` from the wall clock at the start.
pub fn windowed(cli: &Cli, inputs: Inputs) -> anyhow::Result<Inputs> {
    if cli.since.is_none() && cli.until.is_none() {
        return Ok(inputs);
    }
    let relative = [cli.since, cli.until]
        .iter()
        .flatten()
        .any(|t| t.needs_first_packet());
    let first = if relative {
        inputs.first_packet_ns()
    } else {
        None
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let since = cli
        .since
        .map(|t| t.resolve(first, now))
        .transpose()
        .context("--since")?;
    let until = cli
        .until
        .map(|t| t.resolve(first, now))
        .transpose()
        .context("--until")?;
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            anyhow::bail!("--since must be before --until (the window is since <= time < until)");
        }
    }
    Ok(inputs.with_window(TimeWindow { since, until }))
}

/// The request field filters (`--method`, `--host`, `--target`, `--user-agent`).
pub fn field_filter(a: &RequestFilterArgs) -> anyhow::Result<FieldFilter> {
    let mut f = FieldFilter::default();
    for m in &a.methods {
        f.method(m).with_context(|| format!("--method {m:?}"))?;
    }
    for h in &a.hosts {
        f.host(h).with_context(|| format!("--host {h:?}"))?;
    }
    for t in &a.targets {
        f.target(t).with_context(|| format!("--target {t:?}"))?;
    }
    for u in &a.user_agents {
        f.user_agent(u)
            .with_context(|| format!("--user-agent {u:?}"))?;
    }
    Ok(f)
}

/// Request extraction settings from the identity options alone (`report`, whose client
/// is its own flag): every client kept.
pub fn identity_config(id: &IdentityArgs) -> anyhow::Result<RequestsConfig> {
    let mut cfg = RequestsConfig {
        trusted: id.trusted.clone(),
        extra_headers: id.headers.iter().map(|h| h.as_bytes().to_vec()).collect(),
        transparent: id.transparent,
        ..Default::default()
    };
    for h in &id.identity_headers {
        cfg.add_identity_header(h.as_bytes())
            .context("--identity-header")?;
    }
    Ok(cfg)
}
