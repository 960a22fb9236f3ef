//! One file per command: each turns its validated flags into the library's inputs, config
//! and sink, runs the library command, prints the summary and returns the exit status.
//! The listing policy and the exit statuses are shared here.

mod carve;
mod connections;
mod info;
mod join;
mod proxies;
mod report;
mod requests;
mod syns;

use crate::args;
use crate::flags::{Cli, Command, RowOutputArgs};
use crate::output_file::Output;
use crate::progress::{self, Bar};
use proxytrace::capture::CaptureError;
use proxytrace::engine::Engine;
use proxytrace::pipeline::Inputs;
use proxytrace::pipeline::{Aggregate, Listing, ListingSink, Report, Sink};
use proxytrace::printers::batch::{BatchFormat, BatchPrinter};
use proxytrace::printers::{self, Printer};
use proxytrace::vocab::schema::Columns;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;

/// Run the command the flags name.
pub fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Info(a) => info::run(cli, a),
        Command::Requests(a) => requests::run(cli, a, false),
        Command::Flows(a) => requests::run(cli, a, true),
        Command::Connections(a) => connections::run(cli, a),
        Command::Syns(a) => syns::run(cli, a),
        Command::Join(a) => join::run(cli, a),
        Command::Proxies(a) => proxies::run(cli, a),
        Command::Report(a) => report::run(cli, a),
        Command::Help(a) => crate::help::run(a),
        Command::Carve(a) => carve::run(cli, a),
        Command::Generate(a) => crate::generate::run(a),
    }
}

/// grep's statuses for `-q` / `-c`: 0 something matched, 1 nothing, 2 an error (but `-q`
/// with a match is 0 even after an error, as grep does). Plain listings: 0 or 2.
fn match_status(args: &RowOutputArgs, n: u64, failed: bool) -> ExitCode {
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

/// Is one of the inputs a live stream (standard input, a FIFO), whose rows must show at
/// once?
fn live(inputs: &[&Inputs]) -> bool {
    inputs
        .iter()
        .any(|i| i.files().iter().any(|f| f.is_read_once()))
}

/// The engine to format rows on (printers::batch), for a command whose calling thread only
/// merges (`requests`, `join`), when no input is live. A command whose calling thread is
/// busy with an ordered stage (`syns`, `connections`) formats there: waiting for the pool
/// would stop that stage meanwhile (measured: `syns` 0.78 s -> 0.91 s on 1.5 GB).
fn batch_formatting<'e>(engine: &'e Engine, inputs: &[&Inputs]) -> Option<&'e Engine> {
    (!live(inputs)).then_some(engine)
}

/// A printer of flat rows (CSV, table, JSON of the same fields), batched when `batch`.
fn flat<'w, R: Serialize + Columns + Send + 'w>(
    format: printers::Format,
    w: Box<dyn Write + 'w>,
    opts: &printers::Options,
    batch: Option<&'w Engine>,
) -> Box<dyn Printer<R> + 'w> {
    match (batch, BatchFormat::of(format)) {
        (Some(e), Some(f)) => Box::new(batched::<R, R>(e, f, w, opts)),
        _ => printers::printer_with::<R>(format, w, opts),
    }
}

/// A batch printer as `opts` says (its projection, its header over no row).
fn batched<'e, 'w, R: Send, J: From<R> + Serialize>(
    engine: &'e Engine,
    format: BatchFormat,
    w: Box<dyn Write + 'w>,
    opts: &printers::Options,
) -> BatchPrinter<'e, 'w, R, J> {
    BatchPrinter::new(engine, format, w, opts.header)
        .with_projection(opts.projection.clone())
        .with_empty_header(opts.columns.clone())
}

/// Makes the printer of a listing over the output: `make` gets the output, `batch`, the
/// engine to format on when the printer may batch rows ([`batch_formatting`]), and the
/// printer options (`options`, with the table's notes going to standard error); with
/// `live`, rows are written out one by one.
struct MakePrinter<'m, R> {
    batch: Option<&'m Engine>,
    /// An input is a live stream: every row is written out at once.
    live: bool,
    /// The printer options of the rows, or of an aggregate's rows.
    options: printers::Options,
    make: &'m MakeFn<'m, R>,
}

/// What makes a printer: the output, the engine to batch on, the options.
type MakeFn<'m, R> =
    dyn for<'w> Fn(OutputBox<'w>, Option<&'w Engine>, &printers::Options) -> PrinterBox<'w, R> + 'm;

/// The output a printer writes to, living for `'w`.
type OutputBox<'w> = Box<dyn Write + 'w>;
/// A printer over an output that lives for `'w`.
type PrinterBox<'w, R> = Box<dyn Printer<R> + 'w>;

/// A row command's listing: rows through the printer `make` builds, a count (`-c`), the
/// first match (`-q`) or an aggregate's rows. Returns the report with `rows` set to the
/// rows printed (an aggregate's rows, the folded ones in `aggregated`) and the number of
/// matches for the exit status.
fn list<R, A>(
    out: &mut Output,
    args: &RowOutputArgs,
    listing: Listing,
    aggregate: A,
    bar: Option<&Arc<Bar>>,
    make: MakePrinter<'_, R>,
    run: impl FnOnce(&mut dyn Sink<R, Error = io::Error>) -> io::Result<Report>,
) -> anyhow::Result<(Report, u64)>
where
    A: Aggregate<R>,
    A::Out: Serialize + Columns,
{
    let mut options = make.options;
    let note_bar = bar.cloned();
    options.table.note = Some(Arc::new(move |note: &str| {
        progress::suspend(note_bar.as_ref(), || eprintln!("proxytrace: {note}"));
    }));
    let (mut report, aggregate) = {
        let printer: Box<dyn Printer<R> + '_> = match listing {
            Listing::Rows if make.live => Box::new(printers::RowByRow((make.make)(
                Box::new(&mut *out),
                None,
                &options,
            ))),
            Listing::Rows => (make.make)(Box::new(&mut *out), make.batch, &options),
            _ => Box::new(Discard),
        };
        let shown = ShowErrors { printer, bar };
        let mut sink = ListingSink::new(listing, shown, aggregate);
        let report = run(&mut sink)?;
        let (mut shown, aggregate) = sink.into_parts();
        shown.printer.finish()?;
        (report, aggregate)
    };
    let mut n = report.rows;
    if listing == Listing::Aggregate {
        let format = args::row_format(args);
        let rows = aggregate.rows();
        n = rows.len() as u64;
        report.aggregated = Some(report.rows);
        report.rows = n;
        if !args.count {
            printers::write_rows_with(format, out, &options, rows)?;
        }
    }
    if args.count {
        writeln!(out, "{n}")?;
    }
    out.flush()?;
    Ok((report, n))
}

/// The end of a row command: put the output in place, clear the bar, print the summary,
/// and the exit status (an interrupted run's first: 128 + the signal).
fn finish_listing(
    out: Output,
    args: &RowOutputArgs,
    bar: Option<&Arc<Bar>>,
    report: &Report,
    matches: u64,
    incomplete: bool,
) -> anyhow::Result<ExitCode> {
    let file = out.file_target();
    out.commit()?;
    if let Some(b) = bar {
        b.finish();
    }
    crate::summary::print(report, args::stats(&args.summary, args.quiet));
    if let Some(code) = interrupted(file.as_deref()) {
        return Ok(code);
    }
    let failed = incomplete || !report.failed_files.is_empty();
    Ok(match_status(args, matches, failed))
}

/// After Ctrl-C: the exit status, once stderr said that an output file holds only the
/// rows of the input read until then (it is put in place all the same: its rows are
/// whole, and they are what the run found).
fn interrupted(file: Option<&str>) -> Option<ExitCode> {
    let code = crate::interrupt::status()?;
    if let Some(f) = file {
        eprintln!("proxytrace: interrupted: {f} holds the rows of the input read until then");
    }
    Some(code)
}

/// Prints each unreadable capture as the run meets it, then lets the printer see it.
struct ShowErrors<'b, P> {
    printer: P,
    bar: Option<&'b Arc<Bar>>,
}

impl<R, P: Sink<R, Error = io::Error>> Sink<R> for ShowErrors<'_, P> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        self.printer.row(row)
    }
    fn file_error(&mut self, error: &CaptureError) -> io::Result<ControlFlow<()>> {
        progress::suspend(self.bar, || eprintln!("proxytrace: {error}"));
        self.printer.file_error(error)
    }
}

/// The printer of a listing that prints no rows (`-c`, `-q`, aggregates).
struct Discard;

impl<R> Sink<R> for Discard {
    type Error = io::Error;
    fn row(&mut self, _: R) -> io::Result<ControlFlow<()>> {
        Ok(ControlFlow::Continue(()))
    }
}

impl<R> Printer<R> for Discard {
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A printer of rows whose JSON form is another type: CSV, tables and Parquet take the flat
/// row, JSON and JSON Lines `J` (the flat row plus the parsed PROXY header with its TLVs).
fn flat_or_json<'w, R, J>(
    format: printers::Format,
    w: Box<dyn Write + 'w>,
    opts: &printers::Options,
    batch: Option<&'w Engine>,
) -> Box<dyn Printer<R> + 'w>
where
    R: Serialize + Columns + Send + 'w,
    J: From<R> + Serialize + 'w,
{
    match (batch, BatchFormat::of(format)) {
        (Some(e), Some(f @ BatchFormat::Jsonl)) => {
            return Box::new(batched::<R, J>(e, f, w, opts));
        }
        (Some(e), Some(f @ BatchFormat::Csv)) => {
            return Box::new(batched::<R, R>(e, f, w, opts));
        }
        _ => {}
    }
    match format {
        printers::Format::Json | printers::Format::Jsonl => Box::new(AsJson::<R, J>(
            printers::text_printer_with::<J>(format, w, opts),
            std::marker::PhantomData,
        )),
        printers::Format::Csv | printers::Format::Table | printers::Format::Parquet => {
            printers::printer_with::<R>(format, w, opts)
        }
    }
}

/// Prints rows in their JSON form `J`.
struct AsJson<'w, R, J>(Box<dyn Printer<J> + 'w>, std::marker::PhantomData<fn(R)>);

impl<R, J: From<R>> Sink<R> for AsJson<'_, R, J> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        self.0.row(J::from(row))
    }
}

impl<R, J: From<R>> Printer<R> for AsJson<'_, R, J> {
    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
