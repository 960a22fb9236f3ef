//! Printers: the sinks that write rows as CSV ([`csv`]), JSON Lines ([`jsonl`]), one JSON
//! array ([`json`]) or an aligned table for a terminal ([`table`]); [`batch`] formats CSV
//! and JSON Lines on every core, for inputs read to their end.
//!
//! Commands produce flat, serializable rows; a [`Printer`] writes them in the chosen
//! format. Column order is the rows' field order, which is the stable schema documented
//! in the README. Printers live in the library (not the binary) so rows can be formatted
//! where they are produced.

pub mod batch;
pub mod csv;
pub mod json;
pub mod jsonl;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod table;

use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;

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

/// A printer for `format` over `out`. `header` controls the CSV header line.
pub fn printer<'w, R: Serialize + 'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    header: bool,
) -> Box<dyn Printer<R> + 'w> {
    match format {
        Format::Csv => Box::new(csv::CsvPrinter::new(out, header)),
        Format::Jsonl => Box::new(jsonl::JsonlPrinter::new(out)),
        Format::Json => Box::new(json::JsonPrinter::new(out)),
        Format::Table => Box::new(table::TablePrinter::new(out)),
    }
}

/// Write a finished list of rows (aggregates such as `flows` or a `--summary`).
pub fn write_rows<R: Serialize>(
    format: Format,
    out: &mut dyn Write,
    header: bool,
    rows: Vec<R>,
) -> io::Result<()> {
    let mut p = printer::<R>(format, Box::new(out), header);
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

    #[test]
    fn format_names() {
        assert_eq!(Format::parse("ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("xml"), None);
    }
}
