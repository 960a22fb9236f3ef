//! Formatting on every core: rows are gathered into batches, each batch is cut into
//! pieces formatted on the engine's worker pool, and the pieces are written in order. The
//! bytes are those of the one-row-at-a-time printers ([`super::csv`], [`super::jsonl`]):
//! a CSV record or a JSON line does not depend on the rows around it.
//!
//! Rows wait in a batch until it is full or the run ends, so this printer is for inputs
//! read to their end (files), not for a live pipeline that wants each row at once.

use super::project::Projection;
use super::{Format, Printer};
use crate::engine::Engine;
use crate::pipeline::Sink;
use rayon::prelude::*;
use serde::Serialize;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Rows formatted together: a few MiB of text, enough to keep every worker busy.
pub const BATCH_ROWS: usize = 4096;
/// Rows per piece a worker formats.
const PIECE_ROWS: usize = 256;

/// Writes rows `R` as CSV or JSON Lines of their form `J`, formatted in parallel.
pub struct BatchPrinter<'e, 'w, R, J = R> {
    engine: &'e Engine,
    format: BatchFormat,
    /// The CSV header line is still to be written (with the first row).
    header: bool,
    out: Box<dyn Write + 'w>,
    batch: Vec<R>,
    form: PhantomData<fn() -> J>,
    /// Only these columns, in this order (`None`: the whole row).
    projection: Option<Arc<Projection>>,
    /// The CSV header line when no row comes (empty: none).
    empty_header: Vec<String>,
}

/// The formats written batch by batch: those whose rows do not depend on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// CSV.
    Csv,
    /// JSON Lines.
    Jsonl,
}

impl BatchFormat {
    /// `format` if it can be written batch by batch (not a JSON array or a table, which
    /// need every row before they write).
    pub fn of(format: Format) -> Option<BatchFormat> {
        match format {
            Format::Csv => Some(BatchFormat::Csv),
            Format::Jsonl => Some(BatchFormat::Jsonl),
            Format::Json | Format::Table | Format::Parquet => None,
        }
    }
}

impl<'e, 'w, R, J> BatchPrinter<'e, 'w, R, J>
where
    R: Send,
    J: From<R> + Serialize,
{
    /// A printer of `format` over `out` (CSV header line when `header`).
    pub fn new(
        engine: &'e Engine,
        format: BatchFormat,
        out: Box<dyn Write + 'w>,
        header: bool,
    ) -> Self {
        BatchPrinter {
            engine,
            format,
            header: header && format == BatchFormat::Csv,
            out,
            batch: Vec::with_capacity(BATCH_ROWS),
            form: PhantomData,
            projection: None,
            empty_header: Vec::new(),
        }
    }

    /// Only `projection`'s columns, in its order (`None`: every column).
    pub fn with_projection(mut self, projection: Option<Arc<Projection>>) -> Self {
        self.projection = projection;
        self
    }

    /// The CSV header line written when no row comes: these names (the row's columns; a
    /// projection's own names come first).
    pub fn with_empty_header(mut self, names: Vec<String>) -> Self {
        self.empty_header = names;
        self
    }

    fn write_batch(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        let header = std::mem::replace(&mut self.header, false);
        let format = self.format;
        let projection = self.projection.as_deref();
        let pieces: Vec<io::Result<Vec<u8>>> = self.engine.install(|| {
            rows.into_par_iter()
                .chunks(PIECE_ROWS)
                .enumerate()
                .map(|(i, piece)| format_piece::<R, J>(format, header && i == 0, projection, piece))
                .collect()
        });
        for p in pieces {
            self.out.write_all(&p?)?;
        }
        Ok(())
    }
}

/// One piece of a batch as text.
fn format_piece<R, J>(
    format: BatchFormat,
    header: bool,
    projection: Option<&Projection>,
    rows: Vec<R>,
) -> io::Result<Vec<u8>>
where
    J: From<R> + Serialize,
{
    let mut buf = Vec::with_capacity(rows.len() * 512);
    if format == BatchFormat::Csv {
        let mut w = csv::WriterBuilder::new()
            .has_headers(header)
            .from_writer(&mut buf);
        for r in rows {
            let j = J::from(r);
            match projection {
                Some(p) => w.serialize(p.project(&j)),
                None => w.serialize(&j),
            }
            .map_err(super::csv::csv_err)?;
        }
        w.flush()?;
    } else {
        for r in rows {
            let j = J::from(r);
            match projection {
                Some(p) => serde_json::to_writer(&mut buf, &p.project(&j))?,
                None => serde_json::to_writer(&mut buf, &j)?,
            }
            buf.push(b'\n');
        }
    }
    Ok(buf)
}

impl<R, J> Sink<R> for BatchPrinter<'_, '_, R, J>
where
    R: Send,
    J: From<R> + Serialize,
{
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        self.batch.push(row);
        if self.batch.len() >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(ControlFlow::Continue(()))
    }
}

impl<R, J> Printer<R> for BatchPrinter<'_, '_, R, J>
where
    R: Send,
    J: From<R> + Serialize,
{
    fn finish(&mut self) -> io::Result<()> {
        self.write_batch()?;
        if self.header && !self.empty_header.is_empty() {
            // No row came: the header line alone.
            self.header = false;
            let names = match &self.projection {
                Some(p) => p.names(),
                None => &self.empty_header,
            };
            super::csv::header_line(&mut self.out, names)?;
        }
        self.out.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.write_batch()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::printers::printer;

    #[derive(Serialize, Clone)]
    struct Row {
        n: u32,
        text: String,
        flag: Option<bool>,
    }

    impl crate::vocab::schema::Columns for Row {
        fn columns() -> Vec<crate::vocab::schema::Column> {
            use crate::vocab::schema::{Column, ColumnType};
            vec![
                Column::req("n", ColumnType::UInt32, "n"),
                Column::req("text", ColumnType::Text, "text"),
                Column::opt("flag", ColumnType::Bool, "flag"),
            ]
        }
    }

    fn rows(n: u32) -> Vec<Row> {
        (0..n)
            .map(|n| Row {
                n,
                // Quoting, commas, newlines and non-ASCII: what CSV escaping must get right.
                text: format!("a,\"{n}\"\nü"),
                flag: (n % 3 != 0).then_some(n % 2 == 0),
            })
            .collect()
    }

    fn plain(format: Format, rows: Vec<Row>) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut p = printer::<Row>(format, Box::new(&mut out), true);
            for r in rows {
                let _ = p.row(r).unwrap();
            }
            p.finish().unwrap();
        }
        out
    }

    /// Batched output equals the one-row-at-a-time printers' byte for byte, across batch
    /// and piece boundaries, on 1 and 3 workers, and with no row at all.
    #[test]
    fn batched_bytes_equal_the_plain_printers() {
        for threads in [1, 3] {
            let engine = Engine::new(EngineOptions {
                threads,
                ..EngineOptions::default()
            })
            .unwrap();
            for n in [0, 1, PIECE_ROWS as u32 + 1, BATCH_ROWS as u32 * 2 + 17] {
                for format in [Format::Csv, Format::Jsonl] {
                    let mut out = Vec::new();
                    {
                        let bf = BatchFormat::of(format).unwrap();
                        let mut p: BatchPrinter<'_, '_, Row> =
                            BatchPrinter::new(&engine, bf, Box::new(&mut out), true);
                        for r in rows(n) {
                            let _ = p.row(r).unwrap();
                        }
                        p.finish().unwrap();
                    }
                    assert!(
                        out == plain(format, rows(n)),
                        "{format:?} n={n} threads={threads}"
                    );
                }
            }
        }
    }

    /// Projected and empty outputs equal the plain printers' too (the CSV header line
    /// alone when no row comes).
    #[test]
    fn batched_projection_and_empty_header() {
        let engine = Engine::new(EngineOptions {
            threads: 2,
            ..EngineOptions::default()
        })
        .unwrap();
        let names = vec!["n".to_owned(), "text".to_owned(), "flag".to_owned()];
        let projection = Some(Arc::new(Projection::of(["flag", "n"])));
        for (n, projection) in [(0, None), (0, projection.clone()), (300, projection)] {
            for format in [Format::Csv, Format::Jsonl] {
                let mut out = Vec::new();
                {
                    let bf = BatchFormat::of(format).unwrap();
                    let mut p: BatchPrinter<'_, '_, Row> =
                        BatchPrinter::new(&engine, bf, Box::new(&mut out), true)
                            .with_projection(projection.clone())
                            .with_empty_header(names.clone());
                    for r in rows(n) {
                        let _ = p.row(r).unwrap();
                    }
                    p.finish().unwrap();
                }
                let opts = crate::printers::Options {
                    columns: names.clone(),
                    projection: projection.clone(),
                    ..crate::printers::Options::new(true)
                };
                let mut want = Vec::new();
                crate::printers::write_rows_with(format, &mut want, &opts, rows(n)).unwrap();
                assert!(out == want, "{format:?} n={n}");
            }
        }
    }

    #[test]
    fn formats_that_need_every_row_are_not_batched() {
        assert_eq!(BatchFormat::of(Format::Json), None);
        assert_eq!(BatchFormat::of(Format::Table), None);
    }
}
