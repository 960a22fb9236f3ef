//! `proxytrace info`.

use crate::args::{self, Reading, Stages};
use crate::flags::{Cli, InfoArgs};
use crate::output_file::Output;
use crate::progress::{self, Bar};
use proxytrace::capture::CaptureError;
use proxytrace::commands::info::{self, FileInfo};
use proxytrace::pipeline::Sink;
use proxytrace::printers::Format;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;

/// Describe every capture; exit status 2 when one could not be read.
pub fn run(cli: &Cli, a: &InfoArgs) -> anyhow::Result<ExitCode> {
    let format = args::info_format(a.format, a.output.as_deref())?;
    let inputs = args::windowed(cli, args::command_inputs(&a.input, Reading::Files)?)?;
    let mut out = args::output(a.output.as_deref(), &args::named_files(&[&inputs], None))?;
    let bar = args::bar(&inputs, a.quiet);
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let report = {
        let mut sink = InfoPrinter {
            out: &mut out,
            format,
            all: Vec::new(),
            bar: bar.as_ref(),
        };
        let report = info::run(&engine, &inputs, &mut sink)?;
        sink.finish()?;
        report
    };
    let file = out.file_target();
    out.commit()?;
    if let Some(b) = &bar {
        b.finish();
    }
    crate::summary::print(&report, args::stats(&a.summary, a.quiet));
    if let Some(code) = super::interrupted(file.as_deref()) {
        return Ok(code);
    }
    let failed = inputs.incomplete() || !report.failed_files.is_empty();
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `info`'s own forms: text blocks (the table format), JSON Lines, or one pretty JSON
/// array written at the end.
struct InfoPrinter<'o, 'b> {
    out: &'o mut Output,
    format: Format,
    all: Vec<FileInfo>,
    bar: Option<&'b Arc<Bar>>,
}

impl InfoPrinter<'_, '_> {
    fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            serde_json::to_writer_pretty(&mut *self.out, &self.all)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}

impl Sink<FileInfo> for InfoPrinter<'_, '_> {
    type Error = io::Error;

    fn row(&mut self, fi: FileInfo) -> io::Result<ControlFlow<()>> {
        match self.format {
            Format::Table => info::write_text(&mut *self.out, &fi)?,
            Format::Jsonl => {
                serde_json::to_writer(&mut *self.out, &fi)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json | Format::Csv | Format::Parquet => self.all.push(fi),
        }
        Ok(ControlFlow::Continue(()))
    }

    fn file_error(&mut self, e: &CaptureError) -> io::Result<ControlFlow<()>> {
        // What was described so far comes first, so the error follows its file.
        self.out.flush()?;
        progress::suspend(self.bar, || eprintln!("proxytrace: {e}"));
        Ok(ControlFlow::Continue(()))
    }
}
