//! `proxytrace report`.

use crate::args::{self, Reading, Stages};
use crate::flags::{Cli, ReportArgs};
use crate::progress;
use anyhow::bail;
use proxytrace::commands::join::{JoinConfig, JoinInputs};
use proxytrace::commands::report::{self, ReportConfig, ReportInputs};
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

/// One client on one self-contained HTML page.
pub fn run(cli: &Cli, a: &ReportArgs) -> anyhow::Result<ExitCode> {
    if a.output.is_none() && io::stdout().is_terminal() {
        bail!("report writes an HTML page: give -o FILE.html, or redirect standard output");
    }
    if a.front.is_empty() && (a.clock_offset.is_some() || a.db.is_some()) {
        bail!("--clock-offset and --db apply to the join: give --front too");
    }
    let db = args::database(a.db.as_deref())?;
    // The window applies to the back side; the join reads the front around it.
    let back = args::windowed(
        cli,
        args::inputs(&a.back, a.no_mmap, a.follow, Reading::Rows)?,
    )?;
    let front = if a.front.is_empty() {
        None
    } else {
        Some(args::inputs(&a.front, a.no_mmap, a.follow, Reading::Rows)?)
    };
    let ins: Vec<_> = std::iter::once(&back).chain(front.as_ref()).collect();
    let mut out = args::output(
        a.output.as_deref(),
        &args::named_files(&ins, a.db.as_deref()),
    )?;
    let all: Vec<_> = ins.iter().flat_map(|i| i.files().iter().cloned()).collect();
    let incomplete = ins.iter().any(|i| i.incomplete());
    let bar = (!a.quiet).then(|| progress::Bar::new(&all)).flatten();
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let config = ReportConfig {
        client: a.client,
        join: JoinConfig {
            requests: args::identity_config(&a.identity)?,
            window_ns: a.window,
            match_window_ns: a.match_window,
            clock_offset_ns: a.clock_offset,
            two_pass: false,
        },
        max_rows: usize::try_from(a.max_rows).unwrap_or(usize::MAX),
    };
    let inputs = match front {
        None => ReportInputs::Back(back),
        Some(front) => ReportInputs::Both(JoinInputs { front, back }),
    };
    let (view, report) = report::run(&engine, &inputs, &config, db.get())?;
    for f in &report.failed_files {
        progress::suspend(bar.as_ref(), || {
            eprintln!("proxytrace: {}", f.error);
        });
    }
    view.write_html(&mut out)?;
    out.flush()?;
    let file = out.file_target();
    out.commit()?;
    if let Some(b) = &bar {
        b.finish();
    }
    crate::summary::print(&report, args::stats(&a.summary, a.quiet));
    if let Some(code) = crate::interrupt::status() {
        if let Some(f) = file {
            eprintln!("proxytrace: interrupted: {f} shows the input read until then");
        }
        return Ok(code);
    }
    let failed = incomplete || !report.failed_files.is_empty();
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
