//! JSON Lines: one JSON object per row, one row per line.

use super::project::Projection;
use super::Printer;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Writes rows as JSON Lines.
pub struct JsonlPrinter<W: Write> {
    w: W,
    projection: Option<Arc<Projection>>,
}

impl<W: Write> JsonlPrinter<W> {
    /// JSON Lines over `out`.
    pub fn new(out: W) -> Self {
        JsonlPrinter {
            w: out,
            projection: None,
        }
    }

    /// Only `projection`'s keys, in its order (`None`: the whole row).
    pub fn with_projection(mut self, projection: Option<Arc<Projection>>) -> Self {
        self.projection = projection;
        self
    }
}

impl<R: Serialize, W: Write> Sink<R> for JsonlPrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        match &self.projection {
            Some(p) => serde_json::to_writer(&mut self.w, &p.project(&row))?,
            None => serde_json::to_writer(&mut self.w, &row)?,
        }
        self.w.write_all(b"\n")?;
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for JsonlPrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
