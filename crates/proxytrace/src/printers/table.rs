//! Aligned columns for a person at a terminal, streamed in pages.
//!
//! The first page (up to [`PAGE_ROWS`] rows; on a terminal also whatever came within
//! [`TableOptions::page_wait`], and for a live input whatever came before a flush) sets
//! the column widths, fitted to the terminal: free-text columns (hosts, targets, flags)
//! shrink first (not below `MIN_TEXT`), their cells cut with `…`; then the headers of
//! exact columns (times, addresses, numbers) shrink to their widest value; if that is still
//! too wide, columns are left out ([`TableOptions::drop_first`], then from the right) and
//! [`TableOptions::note`] is told which (the compact default set only: a list the user
//! chose is kept whole, and its lines may be wider). Later rows
//! are written at once, their text cut to the page's widths; a later exact value wider than
//! its column (an IPv6 client after IPv4 ones) is never cut: the widths are worked out
//! again and the header is written again above that row. So memory is one page of rows,
//! whatever the output's length, and rows show as they come.
//!
//! Cells: no control or hidden format character reaches the terminal (see `neutralise`);
//! a text cell is shown at most [`MAX_CELL`] columns wide (CSV and JSON carry whole values).
//! Widths are display columns (East Asian wide characters count two). With
//! [`TableOptions::color`], the header is bold, a spoof suspicion red (and the client of
//! its row), non-empty flags and NAT hints yellow; without it no escape code is written.

use super::project::{cells, Projection};
use super::Printer;
use crate::pipeline::Sink;
use crate::vocab::escape::{is_hidden_format, push_escaped_char};
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Rows of the first page, which sets the column widths.
pub const PAGE_ROWS: usize = 100;
/// The widest a cell is shown, in display columns.
pub const MAX_CELL: usize = 120;
/// The narrowest a free-text column is cut to before columns are left out: narrower, a
/// host or a target says too little to be worth its place.
const MIN_TEXT: usize = 10;
/// The narrowest an exact column's header is cut to.
const MIN_HEADER: usize = 4;
/// Spaces between columns.
const GAP: usize = 2;

/// Where a note about the table goes (the binary prints it on standard error).
pub type NoteFn = Arc<dyn Fn(&str) + Send + Sync>;

/// How a table is laid out (the default: no width limit, no colour, every column).
#[derive(Clone, Default)]
pub struct TableOptions {
    /// The terminal's width in columns; `None`: no limit (a file).
    pub width: Option<usize>,
    /// ANSI colours (header bold, spoof suspicions red, flags yellow).
    pub color: bool,
    /// Leave out columns when even cut cells do not fit `width` (the default column
    /// set): those of `drop_first` in its order, then from the right; otherwise lines may
    /// be wider (a list the user chose).
    pub drop_to_fit: bool,
    /// The columns to leave out first, in this order.
    pub drop_first: Vec<String>,
    /// Also end the first page when a row comes this long after its first row (on a
    /// terminal, where rows that trickle in should not wait for a whole page). `None` keeps
    /// the output independent of timing (a file).
    pub page_wait: Option<Duration>,
    /// Columns never cut besides numbers and booleans: times, addresses.
    pub exact: Vec<String>,
    /// Told which columns were left out to fit, when they are.
    pub note: Option<NoteFn>,
}

/// A column as the table has seen it.
struct Col {
    name: String,
    /// Display width of the name.
    header: usize,
    /// Display width of the widest cell so far (capped at [`MAX_CELL`]).
    widest: usize,
    /// Never cut (times, addresses, numbers, booleans).
    exact: bool,
}

impl Col {
    fn natural(&self) -> usize {
        self.header.max(self.widest)
    }
}

/// The columns shown and their widths.
struct Layout {
    shown: Vec<usize>,
    widths: Vec<usize>,
}

/// Aligned columns for a person at a terminal, streamed in pages (see the module docs).
pub struct TablePrinter<W: Write> {
    w: W,
    opts: TableOptions,
    projection: Option<Arc<Projection>>,
    cols: Vec<Col>,
    /// Each shown column's position among the row's fields.
    pick: Vec<usize>,
    /// The first page's rows, until the widths are set.
    page: Vec<Vec<Cell>>,
    page_start: Option<Instant>,
    layout: Option<Layout>,
    /// Columns left out so far (each named once in a note).
    left_out: Vec<usize>,
}

/// One cell: its text (neutralised) and how it is styled.
struct Cell {
    text: String,
    width: usize,
    style: Option<&'static str>,
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// What a cell is highlighted with: spoof suspicions red, flags and NAT hints yellow.
fn style_of(column: &str, v: &Value) -> Option<&'static str> {
    let set = match v {
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        _ => false,
    };
    if !set {
        return None;
    }
    match column {
        "spoof_suspect" | "spoof_reasons" => Some(RED),
        "flags" | "nat_hint" => Some(YELLOW),
        c if c.ends_with("_flags") => Some(YELLOW),
        _ => None,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => neutralise(s),
        other => neutralise(&other.to_string()),
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

/// `s` cut to `width` display columns, ending in `…` when cut.
fn cut(s: &str, width: usize) -> (std::borrow::Cow<'_, str>, usize) {
    let full = s.width();
    if full <= width {
        return (s.into(), full);
    }
    if width == 0 {
        return ("".into(), 0);
    }
    let mut out = String::with_capacity(width + 3);
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > width - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    (out.into(), used + 1)
}

impl<W: Write> TablePrinter<W> {
    /// A table over `out` of every column of the rows, no width limit, no colour.
    pub fn new(out: W) -> Self {
        Self::with_options(out, None, TableOptions::default())
    }

    /// A table over `out` of `projection`'s columns (every column without one).
    pub fn with_options(out: W, projection: Option<Arc<Projection>>, opts: TableOptions) -> Self {
        TablePrinter {
            w: out,
            opts,
            projection,
            cols: Vec::new(),
            pick: Vec::new(),
            page: Vec::new(),
            page_start: None,
            layout: None,
            left_out: Vec::new(),
        }
    }

    /// The row's cells; the first row names the columns. Every field is read, shown or
    /// not: a spoof suspicion colours the client of a row that does not show it.
    fn cells_of<R: Serialize>(&mut self, row: &R) -> io::Result<Vec<Cell>> {
        let all = cells(row, None).map_err(io::Error::other)?;
        if self.cols.is_empty() {
            self.pick = match &self.projection {
                None => (0..all.len()).collect(),
                Some(p) => p
                    .names()
                    .iter()
                    .map(|n| {
                        all.iter()
                            .position(|(k, _)| k.as_str() == n)
                            .ok_or_else(|| {
                                io::Error::other(format!("no column {n:?} in the table's rows"))
                            })
                    })
                    .collect::<io::Result<_>>()?,
            };
            self.cols = self
                .pick
                .iter()
                .filter_map(|&i| all.get(i))
                .map(|(k, _)| Col {
                    name: k.as_str().to_owned(),
                    header: k.as_str().width(),
                    widest: 0,
                    exact: self.opts.exact.iter().any(|e| e == k.as_str()),
                })
                .collect();
        }
        let spoof = all
            .iter()
            .any(|(k, v)| k.as_str() == "spoof_suspect" && *v == Value::Bool(true));
        let mut out = Vec::with_capacity(self.pick.len());
        for (c, &i) in self.cols.iter_mut().zip(&self.pick) {
            let (k, v) = all
                .get(i)
                .filter(|(k, _)| k.as_str() == c.name)
                .ok_or_else(|| io::Error::other(format!("column {:?} moved", c.name)))?;
            // A column that holds a number or a boolean (in any row) is exact.
            c.exact |= matches!(v, Value::Number(_) | Value::Bool(_));
            let text = text_of(v);
            let style = match k.as_str() {
                "client_ip" if spoof => Some(RED),
                name => style_of(name, v),
            };
            out.push(Cell {
                width: text.width(),
                style,
                text,
            });
        }
        Ok(out)
    }

    /// Widen the columns' widest cells to this row's.
    fn measure(&mut self, row: &[Cell]) {
        for (c, cell) in self.cols.iter_mut().zip(row) {
            c.widest = c.widest.max(cell.width.min(MAX_CELL));
        }
    }

    /// Fit the columns to the width: see the module docs.
    fn fit(&self) -> Layout {
        let mut shown: Vec<usize> = (0..self.cols.len()).collect();
        loop {
            let mut widths: Vec<usize> = shown.iter().map(|&i| self.cols[i].natural()).collect();
            let Some(limit) = self.opts.width else {
                return Layout { shown, widths };
            };
            let cols: Vec<&Col> = shown.iter().map(|&i| &self.cols[i]).collect();
            let text_floor = |c: &Col| c.natural().min(MIN_TEXT);
            let exact_floor = |c: &Col| c.widest.max(c.header.min(MIN_HEADER)).min(c.natural());
            shrink(&mut widths, &cols, limit, |c| {
                (!c.exact).then(|| text_floor(c))
            });
            shrink(&mut widths, &cols, limit, |c| {
                c.exact.then(|| exact_floor(c))
            });
            if total(&widths) <= limit || !self.opts.drop_to_fit || shown.len() <= 1 {
                return Layout { shown, widths };
            }
            let first = self.opts.drop_first.iter().find_map(|name| {
                shown
                    .iter()
                    .position(|&i| self.cols.get(i).is_some_and(|c| &c.name == name))
            });
            match first {
                Some(j) => {
                    shown.remove(j);
                }
                None => {
                    shown.pop();
                }
            }
        }
    }

    /// Work out the widths again from what was seen, and write the header.
    fn relayout(&mut self) -> io::Result<()> {
        let layout = self.fit();
        let newly: Vec<usize> = (0..self.cols.len())
            .filter(|i| !layout.shown.contains(i) && !self.left_out.contains(i))
            .collect();
        if !newly.is_empty() {
            self.left_out.extend(&newly);
            if let (Some(note), Some(width)) = (&self.opts.note, self.opts.width) {
                let names: Vec<&str> = newly.iter().map(|&i| self.cols[i].name.as_str()).collect();
                note(&format!(
                    "table: {} left out to fit {width} columns (choose columns with -f/--columns)",
                    names.join(", ")
                ));
            }
        }
        self.layout = Some(layout);
        let header: Vec<Cell> = self
            .cols
            .iter()
            .map(|c| Cell {
                text: c.name.clone(),
                width: c.header,
                style: Some(BOLD),
            })
            .collect();
        self.line(&header)
    }

    /// Write the first page's rows under their widths.
    fn end_page(&mut self) -> io::Result<()> {
        if self.layout.is_some() || self.page.is_empty() {
            return Ok(());
        }
        self.relayout()?;
        for row in std::mem::take(&mut self.page) {
            self.line(&row)?;
        }
        Ok(())
    }

    /// One line of `cells` (the header or a row) under the layout.
    fn line(&mut self, cells: &[Cell]) -> io::Result<()> {
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        let mut s = String::new();
        let last = layout.shown.len().saturating_sub(1);
        for (j, (&i, &width)) in layout.shown.iter().zip(&layout.widths).enumerate() {
            let Some(cell) = cells.get(i) else { continue };
            if j > 0 {
                s.extend(std::iter::repeat_n(' ', GAP));
            }
            let (text, used) = cut(&cell.text, width);
            match cell.style {
                Some(style) if self.opts.color && !text.is_empty() => {
                    s.push_str(style);
                    s.push_str(&text);
                    s.push_str(RESET);
                }
                _ => s.push_str(&text),
            }
            if j < last {
                s.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
            }
        }
        s.push('\n');
        self.w.write_all(s.as_bytes())
    }

    /// A later row is written at once; an exact value wider than its column first makes
    /// the widths be worked out again (and the header written again).
    fn later_row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        let overflow = self.layout.as_ref().is_some_and(|l| {
            l.shown.iter().zip(&l.widths).any(|(&i, &w)| {
                let c = &self.cols[i];
                c.exact && row.get(i).is_some_and(|cell| cell.width.min(MAX_CELL) > w)
            })
        });
        self.measure(&row);
        if overflow {
            self.relayout()?;
        }
        self.line(&row)
    }
}

fn total(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1)
}

/// Narrow the widest column that `floor` says may shrink (and to what), one column at a
/// time, until the line fits `limit` or none may shrink further.
fn shrink(
    widths: &mut [usize],
    cols: &[&Col],
    limit: usize,
    floor: impl Fn(&Col) -> Option<usize>,
) {
    let floors: Vec<Option<usize>> = cols.iter().map(|c| floor(c)).collect();
    while total(widths) > limit {
        let excess = total(widths) - limit;
        let widest = (0..widths.len())
            .filter(|&j| floors[j].is_some_and(|f| widths[j] > f))
            .max_by_key(|&j| (widths[j], std::cmp::Reverse(j)));
        let Some(j) = widest else { return };
        let floor = floors[j].unwrap_or(widths[j]);
        // Down to the next widest shrinkable column (so the widest shrink together), the
        // floor, or just enough: at least one column a step.
        let next = (0..widths.len())
            .filter(|&k| k != j && floors[k].is_some_and(|f| widths[k] > f))
            .map(|k| widths[k])
            .max()
            .unwrap_or(0);
        let step = (widths[j] - floor.max(next)).clamp(1, excess);
        widths[j] -= step;
    }
}

impl<R: Serialize, W: Write> Sink<R> for TablePrinter<W> {
    type Error = io::Error;
    fn row(&mut self, row: R) -> io::Result<ControlFlow<()>> {
        let cells = self.cells_of(&row)?;
        if self.layout.is_some() {
            self.later_row(cells)?;
            return Ok(ControlFlow::Continue(()));
        }
        self.measure(&cells);
        self.page.push(cells);
        let start = *self.page_start.get_or_insert_with(Instant::now);
        let waited = self.opts.page_wait.is_some_and(|d| start.elapsed() >= d);
        if self.page.len() >= PAGE_ROWS || waited {
            self.end_page()?;
        }
        Ok(ControlFlow::Continue(()))
    }
}

impl<R: Serialize, W: Write> Printer<R> for TablePrinter<W> {
    fn finish(&mut self) -> io::Result<()> {
        self.end_page()?;
        self.w.flush()
    }
    /// The rows so far are written (a live input's reader waits for them): the first page
    /// ends here.
    fn flush(&mut self) -> io::Result<()> {
        self.end_page()?;
        self.w.flush()
    }
}

#[cfg(test)]
mod tests;
