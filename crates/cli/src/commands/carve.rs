//! `proxytrace carve`: the selection (tuples, a CSV, or the rows of `requests`/`join` for
//! `--client`), then the library's carve into one output or one per input.

use crate::args::{self, Reading, Stages};
use crate::flags::{CarveArgs, Cli};
use crate::output_file::{self, Output};
use crate::progress::{self, Bar};
use anyhow::{bail, Context as _};
use proxytrace::capture::CaptureError;
use proxytrace::commands::carve::{self, CarvePiece, CarvedFile, Selection, SelectionError};
use proxytrace::commands::join::{self, JoinConfig, JoinError, JoinInputs, JoinRow};
use proxytrace::commands::requests;
use proxytrace::extract::requests::{RequestRow, RequestsConfig};
use proxytrace::pipeline::{self, Inputs, Sink};
use std::collections::HashSet;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Carve the selected connections out of the inputs.
pub fn run(cli: &Cli, a: &CarveArgs) -> anyhow::Result<ExitCode> {
    // The window applies to the back captures (the packets written and the requests that
    // select them); the front connections `join` pairs are written whole.
    let back = args::windowed(cli, args::command_inputs(&a.input, Reading::Rows)?)?;
    let front = match a.front.is_empty() {
        true => None,
        false => Some(args::inputs(
            &a.front,
            a.input.no_mmap,
            a.input.follow,
            Reading::Rows,
        )?),
    };
    if a.from_csv.as_deref() == Some("-") && back.has_stdin() {
        bail!("--from-csv - and a capture on standard input cannot both read it");
    }
    let ins: Vec<&Inputs> = front.iter().chain([&back]).collect();
    if !a.clients.is_empty()
        && ins
            .iter()
            .any(|i| i.files().iter().any(|f| f.is_read_once()))
    {
        bail!(
            "--client reads the captures twice (the requests, then the packets): give files, \
             not standard input or a FIFO"
        );
    }
    let named = args::named_files(&ins, None);
    let mut target = Target::new(a.output.as_deref(), named)?;

    let (selection, notes) = select(cli, a, &back, front.as_ref())?;
    if selection.is_empty() {
        eprintln!("proxytrace: no connection selected: the output holds no packet");
    }
    let all: Vec<_> = ins.iter().flat_map(|i| i.files().iter().cloned()).collect();
    let bar = progress::Bar::new(&all);
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let mut sink = CarveSink {
        target: &mut target,
        bar: bar.as_ref(),
    };
    // The front captures first: their connections came first.
    let mut report = pipeline::Report::default();
    for inputs in &ins {
        let r = carve::run(&engine, inputs, &selection, &mut sink)?;
        report = merge(report, r);
        if engine.interrupted() {
            break;
        }
    }
    report.notes.extend(notes);
    let file = target.file_target();
    target.commit()?;
    if let Some(b) = &bar {
        b.finish();
    }
    crate::summary::print(&report, args::stats(&a.summary, false));
    if let Some(code) = super::interrupted(file.as_deref()) {
        return Ok(code);
    }
    let failed = ins.iter().any(|i| i.incomplete()) || !report.failed_files.is_empty();
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Two carve runs (front, back) as one report: totals add up, the `carve` sections too.
fn merge(mut a: pipeline::Report, b: pipeline::Report) -> pipeline::Report {
    if a.sections.is_empty() {
        return b;
    }
    let (rows, seconds, sections) = (b.rows, b.seconds, b.sections.clone());
    a.absorb(
        "",
        pipeline::Report {
            sections: Vec::new(),
            ..b
        },
    );
    a.rows += rows;
    a.seconds += seconds;
    for s in sections {
        match a.sections.iter_mut().find(|x| x.name == s.name) {
            Some(x) => {
                for (c, d) in x.counters.iter_mut().zip(&s.counters) {
                    // Selected connections are the same in both runs; found ones may be
                    // on either side.
                    if c.name != "connections_selected" {
                        c.value += d.value;
                    }
                }
            }
            None => a.sections.push(s),
        }
    }
    a
}

/// The connections to carve, and notes on how the query chose them.
fn select(
    cli: &Cli,
    a: &CarveArgs,
    back: &Inputs,
    front: Option<&Inputs>,
) -> anyhow::Result<(Selection, Vec<String>)> {
    let mut sel = Selection::default();
    let mut notes = Vec::new();
    for (x, y) in &a.tuples {
        sel.add(*x, *y)?;
    }
    if let Some(csv) = &a.from_csv {
        let before = sel.len();
        let got = if csv == "-" {
            sel.add_csv(io::stdin().lock())
        } else {
            let f = std::fs::File::open(csv).with_context(|| format!("cannot open {csv}"))?;
            sel.add_csv(io::BufReader::new(f))
        }
        .with_context(|| format!("--from-csv {csv}"))?;
        let mut note = format!(
            "--from-csv {csv}: {} rows named {} connections, {} of them new to the selection",
            got.rows,
            got.tuples,
            sel.len() - before
        );
        if got.rows_without_front > 0 {
            note += &format!(" ({} rows had no front connection)", got.rows_without_front);
        }
        notes.push(note);
    }
    if a.clients.is_empty() {
        return Ok((sel, notes));
    }
    // Its own engine, without the bar: the bar measures the carve's read.
    let engine = args::engine(cli, None, Stages::WorkersOnly)?;
    let config = requests_config(a)?;
    let mut failed: Option<SelectionError> = None;
    let mut rows = 0u64;
    let mut add =
        |x: SocketAddr, y: SocketAddr, failed: &mut Option<SelectionError>| match sel.add(x, y) {
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => {
                *failed = Some(e);
                ControlFlow::Break(())
            }
        };
    let back_tuple = |r: &RequestRow| {
        (
            SocketAddr::new(r.src_ip, r.src_port),
            SocketAddr::new(r.dst_ip, r.dst_port),
        )
    };
    match front {
        None => {
            let mut sink = pipeline::from_fn(|r: RequestRow| {
                rows += 1;
                let (x, y) = back_tuple(&r);
                Ok::<_, std::convert::Infallible>(add(x, y, &mut failed))
            });
            let _ = requests::run(&engine, back, &config, &mut sink);
            drop(sink);
            notes.push(format!(
                "--client: {rows} requests of the clients, on {} back-side connections",
                sel.len()
            ));
        }
        Some(front) => {
            let inputs = JoinInputs {
                front: front.clone(),
                back: back.clone(),
            };
            let cfg = JoinConfig {
                requests: config,
                clock_offset_ns: a.clock_offset,
                ..JoinConfig::default()
            };
            let db = args::database(None)?;
            let mut unpaired = 0u64;
            let mut sink = pipeline::from_fn(|r: JoinRow| {
                rows += 1;
                let (x, y) = back_tuple(&r.request);
                if add(x, y, &mut failed).is_break() {
                    return Ok::<_, std::convert::Infallible>(ControlFlow::Break(()));
                }
                let f = &r.front;
                match (
                    f.front_src_ip,
                    f.front_src_port,
                    f.front_dst_ip,
                    f.front_dst_port,
                ) {
                    (Some(si), Some(sp), Some(di), Some(dp)) => Ok(add(
                        SocketAddr::new(si, sp),
                        SocketAddr::new(di, dp),
                        &mut failed,
                    )),
                    _ => {
                        unpaired += 1;
                        Ok(ControlFlow::Continue(()))
                    }
                }
            });
            match join::run(&engine, &inputs, &cfg, db.get(), &mut sink) {
                Ok(_) | Err(JoinError::Sink(_)) => {}
                Err(e) => return Err(e.into()),
            }
            drop(sink);
            notes.push(format!(
                "--client with --front: {rows} join rows of the clients ({unpaired} without a \
                 front connection), {} connections on both sides",
                sel.len()
            ));
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok((sel, notes))
}

/// `requests`' identity settings, with --client as its filter.
fn requests_config(a: &CarveArgs) -> anyhow::Result<RequestsConfig> {
    let id = &a.identity;
    let mut cfg = RequestsConfig {
        trusted: id.trusted.clone(),
        extra_headers: id.headers.iter().map(|h| h.as_bytes().to_vec()).collect(),
        transparent: id.transparent,
        clients: a.clients.iter().copied().collect(),
        ..Default::default()
    };
    for h in &id.identity_headers {
        cfg.add_identity_header(h.as_bytes())
            .context("--identity-header")?;
    }
    Ok(cfg)
}

/// Where carved bytes go.
enum Target {
    /// Every input into one capture (a file, or standard output).
    One {
        out: Output,
        /// The capture the output began with.
        first: Option<CarvedFile>,
    },
    /// One capture per input in a directory.
    PerInput {
        dir: PathBuf,
        /// The inputs, never to be written.
        named: Vec<PathBuf>,
        current: Option<Output>,
        used: HashSet<PathBuf>,
    },
}

impl Target {
    fn new(path: Option<&Path>, named: Vec<PathBuf>) -> anyhow::Result<Target> {
        match path {
            Some(dir) if dir.is_dir() => Ok(Target::PerInput {
                dir: dir.to_path_buf(),
                named,
                current: None,
                used: HashSet::new(),
            }),
            None if io::stdout().is_terminal() => bail!(
                "refusing to write a capture to a terminal: give -o FILE (or -o DIR), or pipe \
                 it (e.g. into tshark -r -)"
            ),
            _ => Ok(Target::One {
                out: args::output(path, &named)?,
                first: None,
            }),
        }
    }

    fn file_target(&self) -> Option<String> {
        match self {
            Target::One { out, .. } => out.file_target(),
            Target::PerInput { dir, .. } => Some(dir.display().to_string()),
        }
    }

    fn begin(&mut self, f: &CarvedFile) -> anyhow::Result<()> {
        match self {
            Target::One { out, first } => match first {
                None => {
                    out.write_all(&f.header)?;
                    *first = Some(f.clone());
                }
                Some(first) => f.can_follow(first).with_context(|| {
                    format!(
                        "cannot carve {} into the same output as {}: give -o DIR for one \
                         capture per input",
                        f.input.display(),
                        first.input.display()
                    )
                })?,
            },
            Target::PerInput {
                dir,
                named,
                current,
                used,
            } => {
                if let Some(done) = current.take() {
                    done.commit()?;
                }
                let path = dir.join(output_name(f));
                if !used.insert(path.clone()) {
                    bail!(
                        "two inputs would be carved into {}: carve them one at a time",
                        path.display()
                    );
                }
                output_file::refuse_input_as_output(Some(&path), named)?;
                let mut out = Output::create(&path)?;
                out.write_all(&f.header)?;
                *current = Some(out);
            }
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Target::One { out, .. } => out.write_all(bytes),
            Target::PerInput {
                current: Some(out), ..
            } => out.write_all(bytes),
            Target::PerInput { current: None, .. } => Ok(()),
        }
    }

    fn commit(self) -> anyhow::Result<()> {
        match self {
            Target::One { out, .. } => out.commit(),
            Target::PerInput { current, .. } => current.map_or(Ok(()), Output::commit),
        }
    }
}

/// The name of an input's carved capture: its own, without a .gz/.zst suffix (it is
/// written uncompressed); standard input's `stdin.pcap` or `stdin.pcapng`.
fn output_name(f: &CarvedFile) -> String {
    let name = f
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| f.input != Path::new("-") && !n.is_empty());
    let ext = match f.format {
        proxytrace::capture::FileFormat::PcapNg => "pcapng",
        _ => "pcap",
    };
    match name {
        None => format!("stdin.{ext}"),
        Some(n) => {
            let lower = n.to_ascii_lowercase();
            for suffix in [".gz", ".zst", ".zstd"] {
                if lower.ends_with(suffix) && n.len() > suffix.len() {
                    return n[..n.len() - suffix.len()].to_string();
                }
            }
            n
        }
    }
}

/// Writes each piece to the target; shows unreadable captures as the run meets them.
struct CarveSink<'t> {
    target: &'t mut Target,
    bar: Option<&'t Arc<Bar>>,
}

impl Sink<CarvePiece> for CarveSink<'_> {
    type Error = io::Error;
    fn row(&mut self, piece: CarvePiece) -> io::Result<ControlFlow<()>> {
        match piece {
            CarvePiece::Begin(f) => self
                .target
                .begin(&f)
                .map_err(|e| io::Error::other(format!("{e:#}")))?,
            CarvePiece::Bytes(b) => self.target.write(&b)?,
        }
        Ok(ControlFlow::Continue(()))
    }
    fn file_error(&mut self, error: &CaptureError) -> io::Result<ControlFlow<()>> {
        progress::suspend(self.bar, || eprintln!("proxytrace: {error}"));
        Ok(ControlFlow::Continue(()))
    }
}
