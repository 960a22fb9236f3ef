//! Column projection (`--columns a,b,c`): which of a row's columns a printer writes, and in
//! which order, the same way for every format.
//!
//! A [`Projection`] is checked against the row type's column names once, before any input
//! is read. [`Projected`] serializes a row with only those fields, in the projection's
//! order: CSV, JSON Lines and JSON print it like any row (so its bytes are those of the
//! whole row's printers for the same columns), and the table takes its cells from
//! [`cells`]. A row is read through a serde `Serializer` that keeps the named fields and
//! does not even format the others.
//!
//! JSON forms with nested objects (`requests` and `connections` carry `proxy`, the parsed
//! PROXY header): a projection names top-level keys, so `proxy` is one name (the whole
//! object, TLVs included) and is valid only where the format writes it; the flat columns
//! `proxy_version`, `proxy_src`, `proxy_dst` are ordinary columns in every format.

use serde::ser::{self, Error as _, Impossible, Serialize, SerializeMap, SerializeStruct};
use serde_json::Value;
use std::fmt::Display;

/// The columns a printer writes, in order: names checked against the row type's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    names: Vec<String>,
}

/// A `--columns` list that names no known column, or one twice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectionError {
    /// A name that is not a column of the rows.
    #[error("unknown column {name:?}; the columns are: {valid}")]
    Unknown {
        /// The name as given.
        name: String,
        /// Every valid name, comma-separated (and `all`).
        valid: String,
    },
    /// The same column named twice (JSON objects cannot hold a key twice).
    #[error("column {0:?} is named twice")]
    Twice(String),
    /// An empty list.
    #[error("no column named (--columns a,b,c or all)")]
    Empty,
}

impl Projection {
    /// The columns `spec` names (comma-separated, repeatable; blanks around names are
    /// ignored), each one of `valid`, in the order given; `all` alone is every valid name.
    pub fn parse<S: AsRef<str>>(spec: &[S], valid: &[&str]) -> Result<Projection, ProjectionError> {
        let names: Vec<&str> = spec
            .iter()
            .flat_map(|s| s.as_ref().split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names == ["all"] {
            return Ok(Projection::of(valid.iter().copied()));
        }
        if names.is_empty() {
            return Err(ProjectionError::Empty);
        }
        let mut out: Vec<String> = Vec::with_capacity(names.len());
        for n in names {
            if !valid.contains(&n) {
                return Err(ProjectionError::Unknown {
                    name: n.to_owned(),
                    valid: valid
                        .iter()
                        .copied()
                        .chain(["all"])
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if out.iter().any(|o| o == n) {
                return Err(ProjectionError::Twice(n.to_owned()));
            }
            out.push(n.to_owned());
        }
        Ok(Projection { names: out })
    }

    /// Exactly these columns, unchecked (a command's own column lists).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Projection {
        Projection {
            names: names.into_iter().map(str::to_owned).collect(),
        }
    }

    /// The names, in output order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `row` with only this projection's columns, in its order.
    pub fn project<'a, R: Serialize + ?Sized>(&'a self, row: &'a R) -> Projected<'a, R> {
        Projected { row, keep: self }
    }
}

/// A row serialized with only a projection's columns: a struct (so the CSV writer takes
/// it) when the row is one, else a map.
pub struct Projected<'a, R: ?Sized> {
    row: &'a R,
    keep: &'a Projection,
}

impl<R: Serialize + ?Sized> Serialize for Projected<'_, R> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = collect(self.row, Some(self.keep)).map_err(S::Error::custom)?;
        if fields.iter().all(|(k, _)| matches!(k, Key::Static(_))) {
            let mut st = s.serialize_struct("row", fields.len())?;
            for (k, v) in &fields {
                if let Key::Static(k) = k {
                    st.serialize_field(k, v)?;
                }
            }
            st.end()
        } else {
            let mut m = s.serialize_map(Some(fields.len()))?;
            for (k, v) in &fields {
                m.serialize_entry(k.as_str(), v)?;
            }
            m.end()
        }
    }
}

/// A field's name as the row gave it: a struct's are static, a map's (a flattened JSON
/// form) are made as it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A struct field.
    Static(&'static str),
    /// A map key.
    Owned(String),
}

impl Key {
    /// The name.
    pub fn as_str(&self) -> &str {
        match self {
            Key::Static(s) => s,
            Key::Owned(s) => s,
        }
    }
}

/// Every field of `row` (a struct or a map of named fields) with its value, in the row's
/// order; with `keep`, only its columns, in its order (a column the row lacks is an error).
pub fn cells<R: Serialize + ?Sized>(
    row: &R,
    keep: Option<&Projection>,
) -> Result<Vec<(Key, Value)>, serde_json::Error> {
    collect(row, keep)
}

fn collect<R: Serialize + ?Sized>(
    row: &R,
    keep: Option<&Projection>,
) -> Result<Vec<(Key, Value)>, serde_json::Error> {
    let mut c = Collect {
        keep,
        slots: match keep {
            Some(p) => vec![None; p.names.len()],
            None => Vec::new(),
        },
        key: None,
    };
    row.serialize(&mut c)?;
    match keep {
        None => Ok(c.slots.into_iter().flatten().collect()),
        Some(p) => c
            .slots
            .into_iter()
            .zip(&p.names)
            .map(|(slot, name)| {
                slot.ok_or_else(|| serde_json::Error::custom(format!("no column {name:?}")))
            })
            .collect(),
    }
}

/// The serializer that reads a row's fields: only a struct or a map at the top.
struct Collect<'p> {
    keep: Option<&'p Projection>,
    /// Kept fields: by projection slot, or in row order without a projection.
    slots: Vec<Option<(Key, Value)>>,
    /// A map key waiting for its value.
    key: Option<String>,
}

impl Collect<'_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: Key,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        match self.keep {
            None => self.slots.push(Some((key, serde_json::to_value(value)?))),
            Some(p) => {
                if let Some(i) = p.names.iter().position(|n| n == key.as_str()) {
                    if let Some(slot) = self.slots.get_mut(i) {
                        *slot = Some((key, serde_json::to_value(value)?));
                    }
                }
            }
        }
        Ok(())
    }
}

fn not_a_row() -> serde_json::Error {
    serde_json::Error::custom("only a struct or a map of named fields has columns")
}

impl SerializeStruct for &mut Collect<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.field(Key::Static(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl SerializeMap for &mut Collect<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        match serde_json::to_value(key)? {
            Value::String(k) => {
                self.key = Some(k);
                Ok(())
            }
            _ => Err(serde_json::Error::custom("a column name must be a string")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| serde_json::Error::custom("a map value without its key"))?;
        self.field(Key::Owned(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<'a, 'p> ser::Serializer for &'a mut Collect<'p> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<(), serde_json::Error>;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    crate::vocab::refuse::refuse_scalars!(serde_json::Error, not_a_row());

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_a_row())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_row())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_row())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_row())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_row())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Self::Error> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_row())
    }
    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Result<(), Self::Error> {
        Err(not_a_row())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Row {
        a: u32,
        b: Option<String>,
        c: bool,
    }

    #[derive(Serialize)]
    struct Json {
        #[serde(flatten)]
        row: Row,
        nested: Option<Row>,
    }

    fn row() -> Row {
        Row {
            a: 7,
            b: Some("x,\"y\"".into()),
            c: true,
        }
    }

    const VALID: &[&str] = &["a", "b", "c"];

    #[test]
    fn parse_checks_names_order_and_duplicates() {
        let p = Projection::parse(&["c, a", "b"], VALID).unwrap();
        assert_eq!(p.names(), ["c", "a", "b"]);
        assert_eq!(
            Projection::parse(&["all"], VALID).unwrap().names(),
            ["a", "b", "c"]
        );
        assert_eq!(
            Projection::parse(&["a,zz"], VALID),
            Err(ProjectionError::Unknown {
                name: "zz".into(),
                valid: "a, b, c, all".into()
            })
        );
        assert_eq!(
            Projection::parse(&["a,a"], VALID),
            Err(ProjectionError::Twice("a".into()))
        );
        assert_eq!(
            Projection::parse(&[" , "], VALID),
            Err(ProjectionError::Empty)
        );
    }

    /// The bytes each format writes for a projected row, checked by hand.
    #[test]
    fn projected_rows_in_csv_and_json() {
        let p = Projection::parse(&["c,b"], VALID).unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(p.project(&row())).unwrap();
        w.serialize(p.project(&Row { b: None, ..row() })).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "c,b\ntrue,\"x,\"\"y\"\"\"\ntrue,\n");
        assert_eq!(
            serde_json::to_string(&p.project(&row())).unwrap(),
            r#"{"c":true,"b":"x,\"y\""}"#
        );
    }

    /// A flattened JSON form: its flat fields and the nested object are all top-level keys.
    #[test]
    fn projected_flattened_json_keeps_nested_objects_whole() {
        let j = Json {
            row: row(),
            nested: Some(Row {
                a: 1,
                b: None,
                c: false,
            }),
        };
        let p = Projection::of(["nested", "a"]);
        assert_eq!(
            serde_json::to_string(&p.project(&j)).unwrap(),
            r#"{"nested":{"a":1,"b":null,"c":false},"a":7}"#
        );
        let missing = Projection::of(["a", "zz"]);
        assert!(serde_json::to_string(&missing.project(&j)).is_err());
    }

    #[test]
    fn every_cell_in_row_order_without_a_projection() {
        let got: Vec<(String, Value)> = cells(&row(), None)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), Value::from(7)),
                ("b".into(), Value::from("x,\"y\"")),
                ("c".into(), Value::from(true))
            ]
        );
    }
}
