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

/// The engine, built once: `--threads`, the hidden `--chunk-size`, and a progress bar
/// when standard error is a terminal.
fn engine(cli: &Cli, bar: Option<&Arc<ui::Bar>>) -> anyhow::Result<Engine> {
    let mut opts = EngineOptions::default();
    if let Some(t) = cli.threads {
        opts.threads = usize::from(t);
    }
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
            let bar = (!cli.quiet).then(|| ui::Bar::new(&inputs)).flatten();
            let engine = engine(&cli, bar.as_ref())?;
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
            if !cli.quiet {
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
            for (k, v) in &f.packets.undecodable {
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
