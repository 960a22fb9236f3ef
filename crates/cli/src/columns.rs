//! Which columns a listing shows: every row type's columns (from the library's
//! `vocab::schema::Columns`), the compact set a table shows by default, `--columns/-f`
//! checked before any input is read, the printer options that follow (the table's width
//! and colour), and the column lists of `--help` and `proxytrace help columns`.

use crate::flags::{ColorWhen, RowOutputArgs};
use crate::terminal;
use proxytrace::commands::join::{ClientJoinRow, JoinRow};
use proxytrace::commands::proxies::ProxyRow;
use proxytrace::commands::requests::FlowRow;
use proxytrace::commands::syns::ClientSummaryRow;
use proxytrace::extract::connections::ConnectionRow;
use proxytrace::extract::handshakes::SynRow;
use proxytrace::extract::requests::RequestRow;
use proxytrace::printers::project::{Projection, ProjectionError};
use proxytrace::printers::table::TableOptions;
use proxytrace::printers::{self, Format};
use proxytrace::vocab::schema::{Column, ColumnType, Columns};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// The rows a listing prints: one per row type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// `requests`.
    Requests,
    /// `flows`.
    Flows,
    /// `connections`.
    Connections,
    /// `syns`.
    Syns,
    /// `syns --summary`.
    SynsSummary,
    /// `join`.
    Join,
    /// `join --summary`.
    JoinSummary,
    /// `proxies`.
    Proxies,
}

/// How long a table on a terminal waits for its first page before it shows the rows it
/// has (rows that trickle in from a large capture should not wait for a whole page).
const PAGE_WAIT: Duration = Duration::from_secs(1);

impl Rows {
    /// Every row type, in the order `help columns` lists them.
    pub const ALL: [Rows; 8] = [
        Rows::Requests,
        Rows::Flows,
        Rows::Connections,
        Rows::Syns,
        Rows::SynsSummary,
        Rows::Join,
        Rows::JoinSummary,
        Rows::Proxies,
    ];

    /// The command line that prints these rows.
    pub fn command(self) -> &'static str {
        match self {
            Rows::Requests => "requests",
            Rows::Flows => "flows",
            Rows::Connections => "connections",
            Rows::Syns => "syns",
            Rows::SynsSummary => "syns --summary",
            Rows::Join => "join",
            Rows::JoinSummary => "join --summary",
            Rows::Proxies => "proxies",
        }
    }

    /// Every column, in output order.
    pub fn columns(self) -> Vec<Column> {
        match self {
            Rows::Requests => RequestRow::columns(),
            Rows::Flows => FlowRow::columns(),
            Rows::Connections => ConnectionRow::columns(),
            Rows::Syns => SynRow::columns(),
            Rows::SynsSummary => ClientSummaryRow::columns(),
            Rows::Join => JoinRow::columns(),
            Rows::JoinSummary => ClientJoinRow::columns(),
            Rows::Proxies => ProxyRow::columns(),
        }
    }

    /// Keys only the JSON forms have (after the columns): nested objects.
    pub fn json_only(self) -> &'static [&'static str] {
        match self {
            Rows::Requests | Rows::Connections => &["proxy"],
            _ => &[],
        }
    }

    /// The columns a table shows when `-f` does not choose: what a person reads first,
    /// most important first (a narrow terminal leaves out columns from the right).
    pub fn compact(self) -> &'static [&'static str] {
        match self {
            Rows::Requests => &[
                "time",
                "client_ip",
                "identity_source",
                "method",
                "host",
                "target",
                "flags",
            ],
            Rows::Flows => &[
                "client_ip",
                "first_time",
                "last_time",
                "requests",
                "identity_sources",
                "dst_ip",
                "dst_port",
            ],
            Rows::Connections => &[
                "time",
                "client_ip",
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "protocol",
                "tls_sni",
                "http_requests",
                "end",
                "flags",
            ],
            Rows::Syns => &[
                "time",
                "direction",
                "src_ip",
                "dst_ip",
                "os_name",
                "os_flavor",
                "match_quality",
                "signature",
            ],
            Rows::SynsSummary => &[
                "client_ip",
                "syns",
                "signatures",
                "ttls",
                "mss_values",
                "oses",
                "first_seen",
                "last_seen",
                "nat_hint",
            ],
            Rows::Join => &[
                "time",
                "client_ip",
                "join_confidence",
                "syn_os_name",
                "syn_os_flavor",
                "front_src_ip",
                "front_src_port",
                "method",
                "target",
            ],
            Rows::JoinSummary => &[
                "client_ip",
                "requests",
                "front_connections",
                "fingerprints",
                "oses",
                "first_seen",
                "last_seen",
            ],
            Rows::Proxies => &[
                "proxy_ip",
                "backend_ip",
                "backend_port",
                "requests",
                "written",
                "chosen",
                "reason",
                "front_agreement",
            ],
        }
    }
}

impl Rows {
    /// The compact columns a narrow terminal leaves out first, in this order (then from
    /// the right): what can be read elsewhere or matters least.
    pub fn drop_first(self) -> &'static [&'static str] {
        match self {
            Rows::Requests => &["flags", "identity_source", "host", "method"],
            Rows::Connections => &["flags", "end", "src_port", "tls_sni", "dst_ip"],
            Rows::Syns => &["signature", "match_quality", "dst_ip"],
            Rows::Join => &["target", "method", "front_src_port", "front_src_ip"],
            _ => &[],
        }
    }
}

/// The names `-f` takes for `rows` in `format`: the columns, and in JSON the nested keys.
fn valid_names(rows: Rows, format: Format) -> Vec<String> {
    let mut names: Vec<String> = rows
        .columns()
        .into_iter()
        .map(|c| c.name.into_owned())
        .collect();
    if matches!(format, Format::Json | Format::Jsonl) {
        names.extend(rows.json_only().iter().map(|n| (*n).to_owned()));
    }
    names
}

/// `-f`'s projection for `rows` in `format`, checked before any input is read; `None`:
/// the format's whole rows.
pub fn projection(
    rows: Rows,
    format: Format,
    spec: &[String],
) -> anyhow::Result<Option<Projection>> {
    let valid = valid_names(rows, format);
    let refs: Vec<&str> = valid.iter().map(String::as_str).collect();
    if spec.is_empty() {
        return Ok(None);
    }
    match Projection::parse(spec, &refs) {
        Ok(p) => Ok(Some(p)),
        Err(ProjectionError::Unknown { name, .. }) if rows.json_only().contains(&name.as_str()) => {
            anyhow::bail!(
                "--columns: {name:?} is a nested object of the JSON forms (--format json or \
                 jsonl); in {} its flat columns are proxy_version, proxy_src, proxy_dst",
                format.name()
            )
        }
        Err(e) => Err(anyhow::anyhow!("--columns ({}): {e}", rows.command())),
    }
}

/// The printer options of a listing of `rows` in `format`: the CSV header (also over no
/// row), `-f`'s projection or a table's compact set, the table's width and colour.
pub fn options(
    rows: Rows,
    format: Format,
    out: &RowOutputArgs,
    color: ColorWhen,
) -> anyhow::Result<printers::Options> {
    crate::args::check_format(format, out)?;
    let columns = rows.columns();
    let chosen = projection(rows, format, &out.columns)?;
    let to_file = out.output.is_some();
    let tty = terminal::stdout_is_terminal(to_file);
    let table = TableOptions {
        width: terminal::stdout_width(to_file),
        color: terminal::color_stdout(color, to_file),
        drop_to_fit: chosen.is_none(),
        drop_first: rows.drop_first().iter().map(|n| (*n).to_owned()).collect(),
        page_wait: tty.then_some(PAGE_WAIT),
        exact: columns
            .iter()
            .filter(|c| !matches!(c.ty, ColumnType::Text | ColumnType::TextList { .. }))
            .map(|c| c.name.clone().into_owned())
            .collect(),
        note: None,
    };
    let projection = match (chosen, format) {
        (Some(p), _) => Some(p),
        (None, Format::Table) => Some(Projection::of(rows.compact().iter().copied())),
        (None, _) => None,
    };
    Ok(printers::Options {
        header: !out.no_header,
        columns: columns.into_iter().map(|c| c.name.into_owned()).collect(),
        projection: projection.map(Arc::new),
        table,
    })
}

/// The list of `--help`: every column's name, the compact ones marked.
pub fn long_help(rows: &[Rows]) -> String {
    let mut s = String::new();
    for &r in rows {
        let compact = r.compact();
        let names: Vec<String> = r
            .columns()
            .iter()
            .map(|c| {
                let n = c.name.as_ref();
                if compact.contains(&n) {
                    format!("{n}*")
                } else {
                    n.to_owned()
                }
            })
            .chain(r.json_only().iter().map(|n| format!("{n} (JSON only)")))
            .collect();
        let _ = writeln!(
            s,
            "Columns of `{}` (-f/--columns; * the table's default set):\n  {}",
            r.command(),
            names.join(", ")
        );
    }
    s.push_str("Their types and meanings: proxytrace help columns COMMAND");
    s
}

/// `proxytrace help columns [COMMAND]`: each column's name, type and meaning.
pub fn columns_help(command: Option<&str>) -> anyhow::Result<String> {
    let rows: Vec<Rows> = match command {
        None => Rows::ALL.to_vec(),
        Some(c) => {
            let picked: Vec<Rows> = Rows::ALL
                .into_iter()
                .filter(|r| r.command().split(' ').next() == Some(c))
                .collect();
            if picked.is_empty() {
                let names: Vec<&str> = Rows::ALL
                    .iter()
                    .map(|r| r.command())
                    .filter(|c| !c.contains(' '))
                    .collect();
                anyhow::bail!(
                    "no command {c:?} prints rows; the commands with columns are: {}",
                    names.join(", ")
                );
            }
            picked
        }
    };
    let width = terminal::stdout_width(false).unwrap_or(100).max(40);
    let mut s = String::new();
    for r in rows {
        let compact = r.compact();
        let _ = writeln!(
            s,
            "{} (* shown in a table by default; -f/--columns a,b,c or all)",
            r.command()
        );
        let cols = r.columns();
        let name_w = cols.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &cols {
            let mark = if compact.contains(&c.name.as_ref()) {
                '*'
            } else {
                ' '
            };
            let ty = format!(
                "{}{}",
                c.ty.name(),
                if c.nullable { ", may be empty" } else { "" }
            );
            let head = format!("{mark} {:name_w$}  ", c.name);
            let body = format!("{ty}. {}", c.doc);
            wrap_into(&mut s, &head, &body, width);
        }
        for n in r.json_only() {
            let head = format!("  {n:name_w$}  ");
            wrap_into(
                &mut s,
                &head,
                "object, JSON forms only. The parsed PROXY header (TLVs included).",
                width,
            );
        }
        s.push('\n');
    }
    Ok(s)
}

/// `head` then `body` wrapped at `width`, continuation lines indented under the body.
fn wrap_into(s: &mut String, head: &str, body: &str, width: usize) {
    let indent = head.chars().count();
    let room = width.saturating_sub(indent).max(20);
    let mut line = String::new();
    let mut first = true;
    let flush = |s: &mut String, line: &str, first: bool| {
        if first {
            s.push_str(head);
        } else {
            s.extend(std::iter::repeat_n(' ', indent));
        }
        s.push_str(line);
        s.push('\n');
    };
    for word in body.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            flush(s, &line, first);
            first = false;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    flush(s, &line, first);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every compact name is a column of its rows, once.
    #[test]
    fn compact_sets_name_real_columns() {
        for r in Rows::ALL {
            let names: Vec<String> = r.columns().into_iter().map(|c| c.name.into()).collect();
            for (i, n) in r.compact().iter().enumerate() {
                assert!(names.iter().any(|c| c == n), "{}: {n}", r.command());
                assert!(!r.compact()[..i].contains(n), "{}: {n} twice", r.command());
            }
            for n in r.drop_first() {
                assert!(r.compact().contains(n), "{}: {n}", r.command());
            }
        }
    }
}
