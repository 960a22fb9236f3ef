//! JSON: one array, one row per line, so it streams and still parses as a whole.

use super::project::Projection;
use super::Printer;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Writes rows as one JSON array.
pub struct JsonPrinter<W: Write> {
    w: W,
    projection: Option<Arc<Projection>>,
    rows: u64,
}

impl<W: Write> JsonPrinter<W> {
    /// A JSON array over `out`.
    pub fn new(out: W) -> Self {
        JsonPrinter {
            w: out,
            projection: None,
            rows: 0,
        }
    }

    /// Only `projection`'s keys, in its order (`None`: the whole row).
    pub fn with_projection(mut self, projection: Option<Arc<Projection>>) -> Self {
        self.projection = projection;
        self
    }
}

impl<R: Serialize, W: Write> Sink<R> for JsonPrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        self.w
            .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        self.rows += 1;
        match &self.projection {
            Some(p) => serde_json::to_writer(&mut self.w, &p.project(&row))?,
            None => serde_json::to_writer(&mut self.w, &row)?,
        }
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for JsonPrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        self.w
            .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.w.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
