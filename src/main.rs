//! proxytrace: parse arguments, run, map errors to exit statuses.
//!
//! Exit statuses: 0 success (for `-q`/`-c`: something matched), 1 nothing matched
//! (`-q`/`-c` only), 2 an error (a file could not be read, bad arguments).

mod cli;

use clap::Parser as _;
use cli::{Cli, Command, OutFormat, SynsArgs};
use proxytrace::capture::{self, OpenOptions};
use proxytrace::fingerprint::{builtin, Database};
use proxytrace::info;
use proxytrace::output::{self as out_fmt, Format};
use proxytrace::syns::{self, ClientSummary, FileMeta, SynEntry, SynRow, SynScanner};
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Syns(args) => run_syns(args),
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
            for input in capture::expand_inputs(&args.input.files)? {
                match capture::open(&input, opts).and_then(info::describe) {
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
                        eprintln!("proxytrace: {e}");
                        failed = true;
                    }
                }
            }
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &infos)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            Ok(if failed {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// `--client IP|CIDR`: a bare address is a /32 (or /128) network. Shared by the commands
/// that filter on the client side of a connection.
pub(crate) fn parse_client_net(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR network"))
}

/// Row output format: as asked, else a table for a person at a terminal, CSV otherwise.
fn row_format(asked: Option<OutFormat>, output: &Option<std::path::PathBuf>) -> Format {
    match asked {
        Some(f) => Format::from(f),
        None if output.is_none() && io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
    }
}

/// grep's statuses for `-q` / `-c`: 0 something matched, 1 nothing, 2 an error (but `-q`
/// with a match is 0 even after an error, as grep does). Plain listings: 0 or 2.
fn match_status(matched: bool, failed: bool, quiet: bool, counting: bool) -> ExitCode {
    if quiet && matched {
        ExitCode::SUCCESS
    } else if failed {
        ExitCode::from(2)
    } else if (quiet || counting) && !matched {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_syns(args: SynsArgs) -> anyhow::Result<ExitCode> {
    let loaded;
    let db: &Database = match &args.db {
        Some(p) => {
            loaded = Database::load(p)?;
            &loaded
        }
        None => builtin::database(),
    };
    let format = row_format(args.format, &args.output);
    let opts = OpenOptions {
        mmap: !args.input.no_mmap,
    };
    let inputs = capture::expand_inputs(&args.input.files)?;
    let listing = !args.count && !args.quiet;
    let mut rows = if listing && !args.summary {
        Some(out_fmt::sink::<SynRow>(
            format,
            output(&args.output)?,
            !args.no_header,
        ))
    } else {
        None
    };
    let mut scanner = SynScanner::new(db);
    let mut summary = ClientSummary::default();
    let mut matched = 0u64;
    let mut failed = false;
    let mut write_err: Option<io::Error> = None;
    {
        let mut on_entry = |e: &SynEntry<'_>, meta: &FileMeta| -> ControlFlow<()> {
            if !syns::client_matches(&args.clients, e.client().ip()) {
                return ControlFlow::Continue(());
            }
            if args.summary {
                summary.add(e, meta);
                return ControlFlow::Continue(());
            }
            matched += 1;
            if args.quiet {
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
            match capture::open(&input, opts).and_then(|cap| scanner.scan(cap, &mut on_entry)) {
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
    }
    if let Some(err) = write_err {
        return Err(err.into());
    }
    if let Some(mut sink) = rows {
        sink.finish()?;
    }
    if args.summary {
        let summary_rows = summary.rows();
        matched = summary_rows.len() as u64;
        if listing {
            let mut sink = out_fmt::sink::<syns::ClientSummaryRow>(
                format,
                output(&args.output)?,
                !args.no_header,
            );
            for r in &summary_rows {
                sink.write_row(r)?;
            }
            sink.finish()?;
        }
    }
    if args.count {
        let mut w = output(&args.output)?;
        writeln!(w, "{matched}")?;
        w.flush()?;
    }
    Ok(match_status(matched > 0, failed, args.quiet, args.count))
}
