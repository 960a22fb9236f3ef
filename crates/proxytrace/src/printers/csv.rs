//! CSV: a header line from the row's field names (unless left out), one line per row.

use super::Printer;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;

/// Writes rows as CSV.
pub struct CsvPrinter<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> CsvPrinter<W> {
    /// CSV over `out`, with a header line when `header`.
    pub fn new(out: W, header: bool) -> Self {
        CsvPrinter {
            w: csv::WriterBuilder::new()
                .has_headers(header)
                .from_writer(out),
        }
    }
}

pub(crate) fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<R: Serialize, W: Write> Sink<R> for CsvPrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        self.w.serialize(&row).map_err(csv_err)?;
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for CsvPrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
