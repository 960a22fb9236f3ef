//! The column model: every row type a command prints lists its columns ([`Columns`]) with
//! a type, whether it can be empty, and what it means. The CSV header, the JSON keys, the
//! published schemas (docs/schema.md, JSON Schema) and typed outputs (Parquet) all follow
//! these lists; tests check the lists against the rows' serialized form.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Free text (escaped as the column's documentation says), or a name from a fixed
    /// vocabulary.
    Text,
    /// A point in time: RFC 3339 UTC text (`2026-01-01T00:00:00.000000000Z`, at the
    /// capture's precision) in CSV and JSON; a timestamp with time zone in typed formats.
    Timestamp,
    /// An IPv4 or IPv6 address, as text (`10.0.0.1`, `2001:db8::1`).
    Ip,
    /// An address and port, as text (`10.0.0.1:80`, `[2001:db8::1]:80`).
    SocketAddr,
    /// `true` or `false`.
    Bool,
    /// An unsigned integer of 8 bits.
    UInt8,
    /// An unsigned integer of 16 bits.
    UInt16,
    /// An unsigned integer of 32 bits.
    UInt32,
    /// An unsigned integer of 64 bits.
    UInt64,
    /// A signed integer of 64 bits.
    Int64,
    /// A floating-point number.
    Float64,
    /// A list of unsigned integers (an item can be null), written as a bracketed list in
    /// CSV and JSON text (`[2,4,8]`, `[null,1460]`, `[]`: JSON array syntax, which
    /// DuckDB casts with `::UBIGINT[]`), never one bare number; typed formats write a
    /// list.
    UIntList,
    /// A list of text items. CSV and JSON write it as one text, the items joined with
    /// `sep` (empty for no item); typed formats write a list.
    TextList {
        /// What joins the items in the text form.
        sep: &'static str,
    },
}

impl ColumnType {
    /// The type's name in the published schema (docs/schema.md).
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ColumnType::Text => "text",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Ip => "ip",
            ColumnType::SocketAddr => "socket_addr",
            ColumnType::Bool => "bool",
            ColumnType::UInt8 => "uint8",
            ColumnType::UInt16 => "uint16",
            ColumnType::UInt32 => "uint32",
            ColumnType::UInt64 => "uint64",
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::UIntList => "list<uint64>",
            ColumnType::TextList { sep } => return Cow::Owned(format!("list<text> ({sep:?})")),
        })
    }

    /// Whether a JSON value (not null) is of this type in the JSON Lines form, and why not.
    pub fn check_json(self, v: &serde_json::Value) -> Result<(), String> {
        use serde_json::Value;
        let fits = match (self, v) {
            (ColumnType::Bool, Value::Bool(_)) => true,
            (ColumnType::Float64, Value::Number(_)) => true,
            (ColumnType::UInt8, Value::Number(n)) => n.as_u64().is_some_and(|n| n <= 0xff),
            (ColumnType::UInt16, Value::Number(n)) => n.as_u64().is_some_and(|n| n <= 0xffff),
            (ColumnType::UInt32, Value::Number(n)) => {
                n.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
            }
            (ColumnType::UInt64, Value::Number(n)) => n.as_u64().is_some(),
            (ColumnType::Int64, Value::Number(n)) => n.as_i64().is_some(),
            (ColumnType::Text | ColumnType::TextList { .. }, Value::String(_)) => true,
            (ColumnType::UIntList, Value::String(s)) => {
                serde_json::from_str::<Vec<Option<u64>>>(s).is_ok() && s.starts_with('[')
            }
            (ColumnType::Ip, Value::String(s)) => s.parse::<IpAddr>().is_ok(),
            (ColumnType::SocketAddr, Value::String(s)) => s.parse::<SocketAddr>().is_ok(),
            (ColumnType::Timestamp, Value::String(s)) => is_rfc3339_utc(s),
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(format!("{v} is not a {}", self.name()))
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the one form rows write.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let head = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    let tail = match b.get(19..) {
        Some(b"Z") => true,
        Some([b'.', rest @ ..]) => {
            rest.len() >= 2
                && rest.last() == Some(&b'Z')
                && rest[..rest.len() - 1].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    head && tail
}

/// One column of a row type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The name: the CSV header cell and the JSON key.
    pub name: Cow<'static, str>,
    /// The values' type.
    pub ty: ColumnType,
    /// Whether a row can leave it empty (empty in CSV, null in JSON).
    pub nullable: bool,
    /// What it means (the row field's documentation).
    pub doc: &'static str,
}

impl Column {
    /// A column every row fills.
    pub const fn req(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
        Column {
            name: Cow::Borrowed(name),
            ty,
            nullable: false,
            doc,
        }
    }

    /// A column a row can leave empty (null in JSON).
    pub const fn opt(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
        Column {
            name: Cow::Borrowed(name),
            ty,
            nullable: true,
            doc,
        }
    }

    /// The column named `prefix` + its name, in a composed row where the part it comes
    /// from can be absent (so it can be empty).
    pub fn prefixed_optional(&self, prefix: &str) -> Column {
        Column {
            name: Cow::Owned(format!("{prefix}{}", self.name)),
            nullable: true,
            ..self.clone()
        }
    }

    /// Whether a JSON value (null included) fits this column.
    pub fn check_json(&self, v: &serde_json::Value) -> Result<(), String> {
        if v.is_null() {
            return if self.nullable {
                Ok(())
            } else {
                Err(format!(
                    "{}: null in a column that is never empty",
                    self.name
                ))
            };
        }
        self.ty
            .check_json(v)
            .map_err(|e| format!("{}: {e}", self.name))
    }
}

/// A row type's columns, in output order: the CSV header, the JSON keys (the JSON forms
/// of some rows add keys of their own after them, e.g. the parsed PROXY header).
pub trait Columns {
    /// Every column, in order.
    fn columns() -> Vec<Column>;
}

/// No row (a listing without an aggregate): no column.
impl Columns for () {
    fn columns() -> Vec<Column> {
        Vec::new()
    }
}

/// The names of `R`'s columns, in order.
pub fn column_names<R: Columns>() -> Vec<String> {
    R::columns()
        .into_iter()
        .map(|c| c.name.into_owned())
        .collect()
}

/// A key a command's JSON form adds after its columns (an object or null, e.g. the parsed
/// PROXY header): not a column of the flat formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonExtra {
    /// The key.
    pub name: &'static str,
    /// What it holds.
    pub doc: &'static str,
}

/// One command's published row schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSchema {
    /// The command as typed (`syns --summary`).
    pub command: &'static str,
    /// The file name stem of its JSON Schema (`syns-summary`).
    pub stem: &'static str,
    /// What one row is.
    pub about: &'static str,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Keys only its JSON forms have, after the columns.
    pub json_extra: Vec<JsonExtra>,
}

/// The meaning of each type, for the published schema's preamble.
const TYPE_NOTES: &[(&str, &str)] = &[
    ("text", "text (escaped as the column says); names from a fixed vocabulary are text too"),
    ("timestamp", "RFC 3339 UTC text at the capture's precision (`2026-01-01T00:00:00.000000000Z`); a timestamp with time zone in Parquet"),
    ("ip", "an IPv4 or IPv6 address, as text"),
    ("socket_addr", "an address and port, as text (`10.0.0.1:80`, `[2001:db8::1]:80`)"),
    ("bool", "`true` or `false`"),
    ("uint8 ... uint64, int64", "integers of that width"),
    ("float64", "a floating-point number"),
    ("list<uint64>", "a list of integers (an item can be null), written as a JSON array in a text (`[2,4,8]`, `[null,1460]`); DuckDB casts it with `::UBIGINT[]`; a list in Parquet"),
    ("list<text> (\"SEP\")", "a list of names, written as one text with the items joined by SEP (empty: no item); a list in Parquet"),
];

/// Escape a cell of a Markdown table.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// docs/schema.md: one table per command (column, type, nullable, meaning).
pub fn render_markdown(schemas: &[CommandSchema]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    out.push_str("# Row schemas\n\n");
    out.push_str(
        "Generated from the row types (`proxytrace::vocab::schema::Columns`) by\n\
         `UPDATE_SCHEMA=1 cargo test -p proxytrace --lib published_schemas`; a test fails when\n\
         this file or `docs/schema/*.schema.json` differ from the code. Do not edit by hand.\n\n\
         Columns are listed in output order: the CSV header, the JSON keys. A nullable\n\
         column is empty in CSV and `null` in JSON (and Parquet) when a row has no value;\n\
         every JSON key is always present. Each command's JSON Lines row is described by a\n\
         JSON Schema (draft 2020-12) in `docs/schema/<command>.schema.json`.\n\n\
         | type | values |\n|---|---|\n",
    );
    for (t, n) in TYPE_NOTES {
        let _ = writeln!(out, "| `{}` | {} |", md_cell(t), md_cell(n));
    }
    for s in schemas {
        let _ = write!(
            out,
            "\n## `{}`\n\n{}\n\n| column | type | nullable | meaning |\n|---|---|---|---|\n",
            s.command, s.about
        );
        for c in &s.columns {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                c.name,
                md_cell(&c.ty.name()),
                if c.nullable { "yes" } else { "no" },
                md_cell(c.doc)
            );
        }
        for x in &s.json_extra {
            let _ = writeln!(
                out,
                "\nJSON forms only: `{}` (object or null): {}",
                x.name, x.doc
            );
        }
    }
    out
}

/// The JSON Schema (draft 2020-12) of one column's values in the JSON Lines form.
fn json_schema_of(c: &Column) -> serde_json::Value {
    use serde_json::json;
    let (ty, mut extra) = match c.ty {
        ColumnType::Bool => ("boolean", json!({})),
        ColumnType::Float64 => ("number", json!({})),
        ColumnType::UInt8 => ("integer", json!({"minimum": 0, "maximum": u8::MAX})),
        ColumnType::UInt16 => ("integer", json!({"minimum": 0, "maximum": u16::MAX})),
        ColumnType::UInt32 => ("integer", json!({"minimum": 0, "maximum": u32::MAX})),
        ColumnType::UInt64 => ("integer", json!({"minimum": 0, "maximum": u64::MAX})),
        ColumnType::Int64 => ("integer", json!({"minimum": i64::MIN, "maximum": i64::MAX})),
        ColumnType::Timestamp => ("string", json!({"format": "date-time"})),
        ColumnType::UIntList => (
            "string",
            json!({"pattern": "^\\[(|(null|[0-9]+)(,(null|[0-9]+))*)\\]$"}),
        ),
        _ => ("string", json!({})),
    };
    let mut v = json!({
        "type": if c.nullable { json!([ty, "null"]) } else { json!(ty) },
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object_mut()) {
        o.append(e);
        o.insert("x-proxytrace-type".into(), json!(c.ty.name()));
        o.insert("description".into(), json!(c.doc));
    }
    v
}

/// The JSON Schema (draft 2020-12) of one command's JSON Lines row, pretty-printed.
pub fn render_json_schema(s: &CommandSchema) -> String {
    use serde_json::{json, Map, Value};
    let mut props = Map::new();
    for c in &s.columns {
        props.insert(c.name.to_string(), json_schema_of(c));
    }
    for x in &s.json_extra {
        props.insert(
            x.name.to_string(),
            json!({"type": ["object", "null"], "description": x.doc}),
        );
    }
    let required: Vec<Value> = props.keys().map(|k| json!(k)).collect();
    let v = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("proxytrace {} row", s.command),
        "description": s.about,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    });
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_are_checked_against_their_type() {
        use ColumnType::*;
        let ok = [
            (Text, json!("x")),
            (Timestamp, json!("2026-01-01T00:00:00Z")),
            (Timestamp, json!("2026-01-01T00:00:00.123456Z")),
            (Ip, json!("::1")),
            (SocketAddr, json!("[::1]:80")),
            (Bool, json!(true)),
            (UInt8, json!(255)),
            (UInt16, json!(65535)),
            (UInt32, json!(4294967295u64)),
            (UInt64, json!(u64::MAX)),
            (Int64, json!(-1)),
            (Float64, json!(50.0)),
            (TextList { sep: "|" }, json!("a|b")),
            (UIntList, json!("[]")),
            (UIntList, json!("[null,1460]")),
        ];
        for (ty, v) in ok {
            assert_eq!(ty.check_json(&v), Ok(()), "{ty:?} {v}");
        }
        let bad = [
            (Text, json!(1)),
            (Timestamp, json!("2026-01-01 00:00:00")),
            (Timestamp, json!("2026-01-01T00:00:00+01:00")),
            (Ip, json!("10.0.0.1:80")),
            (SocketAddr, json!("10.0.0.1")),
            (Bool, json!("true")),
            (UInt8, json!(256)),
            (UInt16, json!(-1)),
            (UInt64, json!(1.5)),
            (Float64, json!("1")),
            (UIntList, json!("1")),
            (UIntList, json!("[-1]")),
        ];
        for (ty, v) in bad {
            assert!(ty.check_json(&v).is_err(), "{ty:?} {v}");
        }
        let c = Column::req("a", Text, "");
        assert!(c.check_json(&json!(null)).is_err());
        assert_eq!(c.prefixed_optional("p_").check_json(&json!(null)), Ok(()));
        assert_eq!(c.prefixed_optional("p_").name, "p_a");
    }
}
