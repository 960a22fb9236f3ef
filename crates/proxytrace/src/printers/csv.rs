//! CSV: a header line from the row's field names (unless left out), one line per row; the
//! header alone when there is no row (from the column list it was given).

use super::project::Projection;
use super::Printer;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Writes rows as CSV.
pub struct CsvPrinter<W: Write> {
    w: csv::Writer<W>,
    projection: Option<Arc<Projection>>,
    /// The header line to write at the end if no row came (empty: none).
    empty_header: Vec<String>,
    header: bool,
    /// Records written (rows, or the header line alone).
    rows: u64,
}

impl<W: Write> CsvPrinter<W> {
    /// CSV over `out`, with a header line when `header`.
    pub fn new(out: W, header: bool) -> Self {
        CsvPrinter {
            w: csv::WriterBuilder::new()
                .has_headers(header)
                .from_writer(out),
            projection: None,
            empty_header: Vec::new(),
            header,
            rows: 0,
        }
    }

    /// Only `projection`'s columns, in its order (`None`: every column).
    pub fn with_projection(mut self, projection: Option<Arc<Projection>>) -> Self {
        self.projection = projection;
        self
    }

    /// The header line written when no row comes (with a header): these names (the row's
    /// columns; a projection's own names come first).
    pub fn with_empty_header(mut self, names: Vec<String>) -> Self {
        self.empty_header = names;
        self
    }
}

/// The header line alone, as the csv writer writes it above a row's fields.
pub(crate) fn header_line<W: Write>(w: W, names: &[String]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    w.write_record(names).map_err(csv_err)?;
    w.flush()
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
        match &self.projection {
            Some(p) => self.w.serialize(p.project(&row)),
            None => self.w.serialize(&row),
        }
        .map_err(csv_err)?;
        self.rows += 1;
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for CsvPrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        if self.rows == 0 && self.header && !self.empty_header.is_empty() {
            // A record written as is: the same bytes the header of a first row would be.
            let names = match &self.projection {
                Some(p) => p.names(),
                None => &self.empty_header,
            };
            self.w.write_record(names).map_err(csv_err)?;
            self.rows = 1;
        }
        self.w.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
