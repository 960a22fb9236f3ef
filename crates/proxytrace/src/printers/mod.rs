//! Printers: the sinks that write rows as CSV ([`csv`]), JSON Lines ([`jsonl`]), one JSON
//! array ([`json`]) or an aligned table for a terminal ([`table`]); [`batch`] formats CSV
//! and JSON Lines on every core, for inputs read to their end; [`project`] selects and
//! orders columns (`--columns`) for every format; [`parquet`] writes typed Parquet files
//! (feature `parquet`).
//!
//! Commands produce flat, serializable rows; a [`Printer`] writes them in the chosen
//! format. Column order is the rows' field order, which is the stable schema documented
//! in the README, unless [`Options::projection`] chooses others. Printers live in the
//! library (not the binary) so rows can be formatted where they are produced.

pub mod batch;
pub mod csv;
pub mod json;
pub mod jsonl;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod project;
pub mod table;

use crate::pipeline::Sink;
use crate::vocab::schema::Columns;
use project::Projection;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;
use table::TableOptions;

crate::named_enum! {
    /// An output format.
    pub enum Format {
        /// Comma-separated values, one header line (unless left out).
        Csv => "csv",
        /// One JSON object per line.
        Jsonl => "jsonl",
        /// One JSON array, one row per line.
        Json => "json",
        /// Aligned columns for a person at a terminal.
        Table => "table",
        /// One Parquet file, typed by the rows' column list (feature `parquet`).
        Parquet => "parquet",
    }
}

impl Format {
    /// A format by name (`ndjson` is JSON Lines too).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "ndjson" => Some(Format::Jsonl),
            _ => s.parse().ok(),
        }
    }
}

/// A [`Sink`] that writes rows; [`Printer::finish`] writes what must come last (the JSON
/// array's end, a whole table) and flushes. Errors are I/O errors of the writer (a closed
/// pipe included).
pub trait Printer<R>: Sink<R, Error = io::Error> {
    /// End the output.
    fn finish(&mut self) -> io::Result<()>;
    /// Write out every row taken so far (a live pipeline's reader waits for them); a
    /// format that needs every row first (a table) writes nothing before `finish`.
    fn flush(&mut self) -> io::Result<()>;
}

impl<R, P: Printer<R> + ?Sized> Printer<R> for Box<P> {
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// A printer whose every row is written out at once: for a live input, whose reader wants
/// each row as it is found rather than a buffer's worth later.
pub struct RowByRow<P>(pub P);

impl<R, P: Printer<R>> Sink<R> for RowByRow<P> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        let flow = self.0.row(row)?;
        self.0.flush()?;
        Ok(flow)
    }
    fn file_error(&mut self, error: &crate::capture::CaptureError) -> io::Result<ControlFlow<()>> {
        self.0.file_error(error)
    }
}

impl<R, P: Printer<R>> Printer<R> for RowByRow<P> {
    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A printer for `format` over `out`. `header` controls the CSV header line. Rows without
/// a column list: Parquet fails ([`text_printer_with`]).
pub fn printer<'w, R: Serialize + 'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    header: bool,
) -> Box<dyn Printer<R> + 'w> {
    text_printer_with(format, out, &Options::new(header))
}

/// What a printer needs besides its format and output.
#[derive(Clone, Default)]
pub struct Options {
    /// The CSV header line.
    pub header: bool,
    /// The rows' column names in order (`vocab::schema::Columns`): the CSV header of an
    /// output without rows when there is no projection.
    pub columns: Vec<String>,
    /// The columns to write, in order (`--columns`); `None`: every field of the row.
    pub projection: Option<Arc<Projection>>,
    /// The table's layout.
    pub table: TableOptions,
}

impl Options {
    /// Every column, the CSV header as `header` says, a table without width limit.
    pub fn new(header: bool) -> Options {
        Options {
            header,
            ..Options::default()
        }
    }

    /// The CSV header's names: the projection's, else the row's columns.
    pub fn header_names(&self) -> &[String] {
        match &self.projection {
            Some(p) => p.names(),
            None => &self.columns,
        }
    }
}

/// A printer for `format` over `out` as `opts` says; Parquet takes its column types from
/// `R`'s column list.
pub fn printer_with<'w, R: Serialize + Columns + 'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    opts: &Options,
) -> Box<dyn Printer<R> + 'w> {
    match format {
        Format::Parquet => parquet_printer(out, opts),
        _ => text_printer_with(format, out, opts),
    }
}

#[cfg(feature = "parquet")]
fn parquet_printer<'w, R: Serialize + Columns + 'w>(
    out: Box<dyn Write + 'w>,
    opts: &Options,
) -> Box<dyn Printer<R> + 'w> {
    match parquet::ParquetPrinter::with_projection(out, opts.projection.clone()) {
        Ok(p) => Box::new(p),
        Err(e) => Box::new(Failed(Some(e))),
    }
}

#[cfg(not(feature = "parquet"))]
fn parquet_printer<'w, R: 'w>(_: Box<dyn Write + 'w>, _: &Options) -> Box<dyn Printer<R> + 'w> {
    Box::new(Failed(Some(io::Error::new(
        io::ErrorKind::Unsupported,
        NO_PARQUET,
    ))))
}

/// The error of Parquet output from a library built without the feature `parquet`.
pub const NO_PARQUET: &str = "this build has no Parquet output (cargo feature `parquet`)";

/// A printer for `format` over `out` as `opts` says, for rows without a column list: every
/// text format; Parquet, which needs the column types, fails at the first row or the end.
pub fn text_printer_with<'w, R: Serialize + 'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    opts: &Options,
) -> Box<dyn Printer<R> + 'w> {
    let projection = opts.projection.clone();
    match format {
        Format::Csv => Box::new(
            csv::CsvPrinter::new(out, opts.header)
                .with_projection(projection)
                .with_empty_header(opts.header_names().to_vec()),
        ),
        Format::Jsonl => Box::new(jsonl::JsonlPrinter::new(out).with_projection(projection)),
        Format::Json => Box::new(json::JsonPrinter::new(out).with_projection(projection)),
        Format::Table => Box::new(table::TablePrinter::with_options(
            out,
            projection,
            opts.table.clone(),
        )),
        Format::Parquet => Box::new(Failed(Some(io::Error::new(
            io::ErrorKind::Unsupported,
            "Parquet needs the rows' column list (printer_with)",
        )))),
    }
}

/// A printer that could not be made: its error comes at the first row (or the end).
struct Failed(Option<io::Error>);

impl Failed {
    fn error(&mut self) -> io::Error {
        self.0
            .take()
            .unwrap_or_else(|| io::Error::other("the printer failed"))
    }
}

impl<R> Sink<R> for Failed {
    type Error = io::Error;
    fn row(&mut self, _: R) -> io::Result<ControlFlow<()>> {
        Err(self.error())
    }
}

impl<R> Printer<R> for Failed {
    fn finish(&mut self) -> io::Result<()> {
        Err(self.error())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Write a finished list of rows (aggregates such as `flows` or a `--summary`).
pub fn write_rows<R: Serialize + Columns>(
    format: Format,
    out: &mut dyn Write,
    header: bool,
    rows: Vec<R>,
) -> io::Result<()> {
    write_rows_with(format, out, &Options::new(header), rows)
}

/// [`write_rows`] as `opts` says.
pub fn write_rows_with<R: Serialize + Columns>(
    format: Format,
    out: &mut dyn Write,
    opts: &Options,
    rows: Vec<R>,
) -> io::Result<()> {
    let mut p = printer_with::<R>(format, Box::new(out), opts);
    for r in rows {
        if p.row(r)?.is_break() {
            break;
        }
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    pub(super) struct Row {
        pub(super) a: u32,
        pub(super) b: Option<String>,
    }

    impl Columns for Row {
        fn columns() -> Vec<crate::vocab::schema::Column> {
            use crate::vocab::schema::{Column, ColumnType};
            vec![
                Column::req("a", ColumnType::UInt32, "a"),
                Column::opt("b", ColumnType::Text, "b"),
            ]
        }
    }

    pub(super) fn render(format: Format, rows: Vec<Row>) -> String {
        let mut out = Vec::new();
        write_rows(format, &mut out, true, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                a: 1,
                b: Some("x,y".into()),
            },
            Row { a: 22, b: None },
        ]
    }

    #[test]
    fn formats() {
        assert_eq!(render(Format::Csv, rows()), "a,b\n1,\"x,y\"\n22,\n");
        assert_eq!(
            render(Format::Jsonl, rows()),
            "{\"a\":1,\"b\":\"x,y\"}\n{\"a\":22,\"b\":null}\n"
        );
        assert_eq!(
            render(Format::Json, rows()),
            "[\n{\"a\":1,\"b\":\"x,y\"},\n{\"a\":22,\"b\":null}\n]\n"
        );
        assert_eq!(render(Format::Json, vec![]), "[]\n");
        assert_eq!(render(Format::Table, rows()), "a   b\n1   x,y\n22  \n");
    }

    /// No row: CSV still writes its header line (the projection's names, else the row's
    /// columns), unless left out; the other formats are unchanged.
    #[test]
    fn an_empty_csv_has_its_header_line() {
        let render = |opts: &Options, format| {
            let mut out = Vec::new();
            write_rows_with::<Row>(format, &mut out, opts, vec![]).unwrap();
            String::from_utf8(out).unwrap()
        };
        let opts = Options {
            columns: vec!["a".into(), "b".into()],
            ..Options::new(true)
        };
        assert_eq!(render(&opts, Format::Csv), "a,b\n");
        let projected = Options {
            projection: Some(Arc::new(Projection::of(["b", "a"]))),
            ..opts.clone()
        };
        assert_eq!(render(&projected, Format::Csv), "b,a\n");
        let no_header = Options {
            header: false,
            ..opts.clone()
        };
        assert_eq!(render(&no_header, Format::Csv), "");
        assert_eq!(render(&opts, Format::Jsonl), "");
        assert_eq!(render(&opts, Format::Json), "[]\n");
        assert_eq!(render(&opts, Format::Table), "");
        // With rows, the header comes once, from the rows.
        let mut out = Vec::new();
        write_rows_with(Format::Csv, &mut out, &projected, rows()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "b,a\n\"x,y\",1\n,22\n");
    }

    /// `--columns` in every format: the bytes checked by hand.
    #[test]
    fn projected_formats() {
        let opts = Options {
            projection: Some(Arc::new(Projection::of(["b"]))),
            ..Options::new(true)
        };
        let render = |format| {
            let mut out = Vec::new();
            write_rows_with(format, &mut out, &opts, rows()).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(render(Format::Csv), "b\n\"x,y\"\n\"\"\n");
        assert_eq!(render(Format::Jsonl), "{\"b\":\"x,y\"}\n{\"b\":null}\n");
        assert_eq!(
            render(Format::Json),
            "[\n{\"b\":\"x,y\"},\n{\"b\":null}\n]\n"
        );
        assert_eq!(render(Format::Table), "b\nx,y\n\n");
    }

    #[test]
    fn format_names() {
        assert_eq!(Format::parse("ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("xml"), None);
    }
}
