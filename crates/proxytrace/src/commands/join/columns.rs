//! One flat row composed of other rows' columns, without copying their fields.
//!
//! serde has no prefix attribute, and `#[serde(flatten)]` makes a struct serialize as a
//! map, which the csv crate's writer refuses ("serializing maps is not supported" when it
//! writes a header). So a composed row implements `Serialize` by hand: it opens one struct
//! and [`forward`]s each part into it. The forwarder is a `Serializer` that accepts only a
//! struct and passes each of its fields on to the outer struct, under its own name or,
//! for a prefixed part, under the name at the same position of a static table (serde
//! field names are `&'static str`, so prefixed names cannot be made at run time without
//! leaking). The table is checked against the part's fields on every row: a renamed,
//! added or removed column fails the first row written instead of mislabelling columns.

use serde::ser::{self, Error as _, Impossible, Serialize, SerializeStruct, Serializer};

/// How a part's fields are named in the composed row.
#[derive(Clone, Copy)]
pub(super) enum Names {
    /// As in the part.
    Same,
    /// `table[i]` for the part's i-th field, which is `prefix` + its own name.
    Prefixed {
        /// What each name starts with (`syn_`).
        prefix: &'static str,
        /// Every field's composed name, in field order.
        table: &'static [&'static str],
    },
}

/// Serialize `part`, a struct, as fields of `outer`.
pub(super) fn forward<S, T>(outer: &mut S, part: &T, names: Names) -> Result<(), S::Error>
where
    S: SerializeStruct,
    T: Serialize + ?Sized,
{
    part.serialize(Forward {
        outer,
        names,
        next: 0,
    })
}

/// The columns of an absent part: every name of `table`, empty (null in JSON).
pub(super) fn absent<S: SerializeStruct>(
    outer: &mut S,
    table: &'static [&'static str],
) -> Result<(), S::Error> {
    for name in table {
        outer.serialize_field(name, &None::<()>)?;
    }
    Ok(())
}

struct Forward<'a, S> {
    outer: &'a mut S,
    names: Names,
    next: usize,
}

impl<S: SerializeStruct> Forward<'_, S> {
    /// The composed name of the next field, `key` in the part.
    fn name(&mut self, key: &'static str) -> Result<&'static str, S::Error> {
        let at = self.next;
        self.next += 1;
        match self.names {
            Names::Same => Ok(key),
            Names::Prefixed { prefix, table } => table
                .get(at)
                .copied()
                .filter(|n| n.strip_prefix(prefix) == Some(key))
                .ok_or_else(|| {
                    S::Error::custom(format!("column table out of date at field {at} ({key})"))
                }),
        }
    }
}

fn not_a_struct<E: ser::Error>() -> E {
    E::custom("only a struct's fields can be forwarded into a composed row")
}

impl<S: SerializeStruct> SerializeStruct for Forward<'_, S> {
    type Ok = ();
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        let name = self.name(key)?;
        self.outer.serialize_field(name, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        let name = self.name(key)?;
        self.outer.skip_field(name)
    }

    fn end(self) -> Result<(), S::Error> {
        match self.names {
            Names::Prefixed { table, .. } if table.len() != self.next => {
                Err(S::Error::custom(format!(
                    "column table out of date: {} names, {} fields",
                    table.len(),
                    self.next
                )))
            }
            _ => Ok(()),
        }
    }
}

impl<'a, S: SerializeStruct> Serializer for Forward<'a, S> {
    type Ok = ();
    type Error = S::Error;
    type SerializeSeq = Impossible<(), S::Error>;
    type SerializeTuple = Impossible<(), S::Error>;
    type SerializeTupleStruct = Impossible<(), S::Error>;
    type SerializeTupleVariant = Impossible<(), S::Error>;
    type SerializeMap = Impossible<(), S::Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), S::Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, S::Error> {
        Ok(self)
    }

    crate::vocab::refuse::refuse_scalars!(S::Error, not_a_struct());

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), S::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), S::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), S::Error> {
        Err(not_a_struct())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_struct())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Part {
        a: u8,
        b: Option<&'static str>,
    }

    const PREFIXED: &[&str] = &["p_a", "p_b"];

    struct Whole(Part, Option<Part>, &'static [&'static str]);

    impl Serialize for Whole {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Whole", 4)?;
            forward(&mut st, &self.0, Names::Same)?;
            let names = Names::Prefixed {
                prefix: "p_",
                table: self.2,
            };
            match &self.1 {
                Some(p) => forward(&mut st, p, names)?,
                None => absent(&mut st, self.2)?,
            }
            st.end()
        }
    }

    fn csv(rows: &[Whole]) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in rows {
            w.serialize(r)?;
        }
        Ok(String::from_utf8(w.into_inner().unwrap()).unwrap())
    }

    #[test]
    fn parts_become_one_flat_row_in_csv_and_json() {
        let row = |b, p| Whole(Part { a: 1, b }, p, PREFIXED);
        let rows = [
            row(None, None),
            row(Some("x"), Some(Part { a: 2, b: Some("y") })),
        ];
        assert_eq!(csv(&rows).unwrap(), "a,b,p_a,p_b\n1,,,\n1,x,2,y\n");
        assert_eq!(
            serde_json::to_string(&rows[1]).unwrap(),
            r#"{"a":1,"b":"x","p_a":2,"p_b":"y"}"#
        );
        assert_eq!(
            serde_json::to_string(&rows[0]).unwrap(),
            r#"{"a":1,"b":null,"p_a":null,"p_b":null}"#
        );
    }

    #[test]
    fn a_table_out_of_date_fails_instead_of_mislabelling() {
        let part = || Some(Part { a: 2, b: None });
        for table in [&["p_a"][..], &["p_a", "p_c"], &["p_a", "p_b", "p_c"]] {
            let row = Whole(Part { a: 1, b: None }, part(), table);
            assert!(serde_json::to_string(&row).is_err(), "{table:?}");
            assert!(csv(&[row]).is_err(), "{table:?}");
        }
    }

    #[test]
    fn flatten_is_refused_by_the_csv_writer() {
        // Why the forwarder exists: serde's flatten goes through a map.
        #[derive(serde::Serialize)]
        struct Flat {
            #[serde(flatten)]
            part: Part,
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let flat = Flat {
            part: Part { a: 1, b: None },
        };
        assert!(w.serialize(&flat).is_err());
    }
}
