//! Sinks and writers: CSV, JSON Lines, JSON and terminal tables.
//!
//! Commands produce flat, serializable rows; a [`RowSink`] writes them in the chosen format.
//! Column order is the rows' field order, which is the stable schema documented in the README.

use crate::vocab::escape::{is_hidden_format, push_escaped_char};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Json,
    Table,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            "table" => Some(Format::Table),
            _ => None,
        }
    }
}

/// Where rows go. Errors are I/O errors of the underlying writer (a closed pipe included).
pub trait RowSink<R: Serialize> {
    fn write_row(&mut self, row: &R) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
}

/// Build a sink for `format` over `out`. `header` controls the CSV header line.
pub fn sink<'w, R: Serialize + 'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    header: bool,
) -> Box<dyn RowSink<R> + 'w> {
    match format {
        Format::Csv => Box::new(CsvSink {
            w: csv::WriterBuilder::new()
                .has_headers(header)
                .from_writer(out),
        }),
        Format::Jsonl => Box::new(JsonlSink { w: out }),
        Format::Json => Box::new(JsonSink { w: out, rows: 0 }),
        Format::Table => Box::new(TableSink {
            w: out,
            columns: Vec::new(),
            rows: Vec::new(),
        }),
    }
}

/// Write a finished list of rows (aggregates such as `flows` or a `--summary`).
pub fn write_rows<R: Serialize>(
    format: Format,
    out: &mut dyn Write,
    header: bool,
    rows: &[R],
) -> io::Result<()> {
    let mut s = sink::<R>(format, Box::new(out), header);
    for r in rows {
        s.write_row(r)?;
    }
    s.finish()
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

pub struct CsvSink<W: Write> {
    w: csv::Writer<W>,
}

impl<R: Serialize, W: Write> RowSink<R> for CsvSink<W> {
    fn write_row(&mut self, row: &R) -> io::Result<()> {
        self.w.serialize(row).map_err(csv_err)
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

pub struct JsonlSink<W: Write> {
    w: W,
}

impl<R: Serialize, W: Write> RowSink<R> for JsonlSink<W> {
    fn write_row(&mut self, row: &R) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, row)?;
        self.w.write_all(b"\n")
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// One JSON array, one row per line, so it streams and still parses as a whole.
pub struct JsonSink<W: Write> {
    w: W,
    rows: u64,
}

impl<R: Serialize, W: Write> RowSink<R> for JsonSink<W> {
    fn write_row(&mut self, row: &R) -> io::Result<()> {
        self.w
            .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        self.rows += 1;
        serde_json::to_writer(&mut self.w, row)?;
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w
            .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.w.flush()
    }
}

/// Aligned columns for a person at a terminal. Buffers all rows: tables are for small
/// results; machines should ask for CSV or JSON Lines.
pub struct TableSink<W: Write> {
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

impl<R: Serialize, W: Write> RowSink<R> for TableSink<W> {
    fn write_row(&mut self, row: &R) -> io::Result<()> {
        let serde_json::Value::Object(map) = serde_json::to_value(row)? else {
            return Err(io::Error::other("table rows must be structs"));
        };
        if self.columns.is_empty() {
            self.columns = map.keys().cloned().collect();
        }
        self.rows.push(map.values().map(cell).collect());
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        write_table(&mut self.w, &self.columns, &self.rows)?;
        self.w.flush()
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
    use super::*;

    #[derive(Serialize)]
    struct Row {
        a: u32,
        b: Option<String>,
    }

    fn render(format: Format, rows: &[Row]) -> String {
        let mut out = Vec::new();
        {
            let mut s = sink::<Row>(format, Box::new(&mut out), true);
            for r in rows {
                s.write_row(r).unwrap();
            }
            s.finish().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        let rows = [
            Row {
                a: 1,
                b: Some("x,y".into()),
            },
            Row { a: 22, b: None },
        ];
        assert_eq!(render(Format::Csv, &rows), "a,b\n1,\"x,y\"\n22,\n");
        assert_eq!(
            render(Format::Jsonl, &rows),
            "{\"a\":1,\"b\":\"x,y\"}\n{\"a\":22,\"b\":null}\n"
        );
        assert_eq!(
            render(Format::Json, &rows),
            "[\n{\"a\":1,\"b\":\"x,y\"},\n{\"a\":22,\"b\":null}\n]\n"
        );
        assert_eq!(render(Format::Json, &[]), "[]\n");
        assert_eq!(render(Format::Table, &rows), "a   b\n1   x,y\n22  \n");
    }

    /// A raw escape sequence or bidi override left in a cell (a pcapng interface name, a
    /// file name) must not reach the terminal; escaped text (`\x1b`) passes unchanged.
    #[test]
    fn table_cells_neutralise_control_and_format_characters() {
        let rows = [Row {
            a: 1,
            b: Some("eth0\x1b[2J\u{202e}x\\x1b".into()),
        }];
        assert_eq!(
            render(Format::Table, &rows),
            "a  b\n1  eth0\\x1b[2J\\u{202e}x\\x1b\n"
        );
    }
}
