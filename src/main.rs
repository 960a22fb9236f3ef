//! proxytrace: parse arguments, run, map errors to exit statuses.
//!
//! Exit statuses: 0 success (for `-q`/`-c`: something matched), 1 nothing matched
//! (`-q`/`-c` only), 2 an error (a file could not be read, bad arguments).

mod cli;

use clap::Parser as _;
use cli::{Cli, Command};
use proxytrace::capture::{self, OpenOptions};
use proxytrace::info;
use proxytrace::output::Format;
use std::io::{self, IsTerminal, Write};
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
