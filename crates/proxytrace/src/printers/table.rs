//! Aligned columns for a person at a terminal. Buffers all rows: tables are for small
//! results; machines should ask for CSV or JSON Lines.

use super::Printer;
use crate::pipeline::Sink;
use crate::vocab::escape::{is_hidden_format, push_escaped_char};
use serde::Serialize;
use std::io::{self, Write};
use std::ops::ControlFlow;

/// Aligned columns for a person at a terminal. Buffers all rows: tables are for small
/// results; machines should ask for CSV or JSON Lines.
pub struct TablePrinter<W: Write> {
    w: W,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => neutralise(s),
        other => other.to_string(),
    }
}

/// A table goes to a terminal: a control or hidden format character left in a cell (a
/// capture's interface name, a file name) would move the cursor, run an escape sequence or
/// reorder what is shown. Fields escaped already contain none, so they pass unchanged.
fn neutralise(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() || is_hidden_format(c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped_char(&mut out, c, false);
    }
    out
}

impl<W: Write> TablePrinter<W> {
    /// A table over `out`, written at the end.
    pub fn new(out: W) -> Self {
        TablePrinter {
            w: out,
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl<R: Serialize, W: Write> Sink<R> for TablePrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        let serde_json::Value::Object(map) = serde_json::to_value(&row)? else {
            return Err(io::Error::other("table rows must be structs"));
        };
        if self.columns.is_empty() {
            self.columns = map.keys().cloned().collect();
        }
        self.rows.push(map.values().map(cell).collect());
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for TablePrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        write_table(&mut self.w, &self.columns, &self.rows)?;
        self.w.flush()
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Print `rows` under `columns`, each column as wide as its widest cell.
pub fn write_table<W: Write + ?Sized>(
    w: &mut W,
    columns: &[String],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(wd) = widths.get_mut(i) {
                *wd = (*wd).max(c.chars().count());
            }
        }
    }
    let line = |w: &mut W, cells: &[String]| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(c.chars().count());
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.push('\n');
        w.write_all(s.as_bytes())
    };
    if !columns.is_empty() {
        line(w, columns)?;
    }
    for r in rows {
        line(w, r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render, Row};
    use super::super::Format;

    /// A raw escape sequence or bidi override left in a cell (a pcapng interface name, a
    /// file name) must not reach the terminal; escaped text (`\x1b`) passes unchanged.
    #[test]
    fn table_cells_neutralise_control_and_format_characters() {
        let rows = vec![Row {
            a: 1,
            b: Some("eth0\x1b[2J\u{202e}x\\x1b".into()),
        }];
        assert_eq!(
            render(Format::Table, rows),
            "a  b\n1  eth0\\x1b[2J\\u{202e}x\\x1b\n"
        );
    }
}
