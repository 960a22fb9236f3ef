//! JSON Lines: one JSON object per row, one row per line.

use super::Printer;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;

/// Writes rows as JSON Lines.
pub struct JsonlPrinter<W: Write> {
    w: W,
}

impl<W: Write> JsonlPrinter<W> {
    /// JSON Lines over `out`.
    pub fn new(out: W) -> Self {
        JsonlPrinter { w: out }
    }
}

impl<R: Serialize, W: Write> Sink<R> for JsonlPrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        serde_json::to_writer(&mut self.w, &row)?;
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
