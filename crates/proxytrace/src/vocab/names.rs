//! [`named_enum!`](crate::named_enum): a fieldless enum whose values have stable snake_case names.

/// Define a fieldless enum with one stable name per value. The name table is the only
/// place the names are written: `name()`, `Display` (the CSV and table form), `Serialize`
/// (the JSON form), `FromStr` and `ALL` (in declaration order, for help texts and
/// exhaustive tests) all read it.
///
/// ```
/// proxytrace::named_enum! {
///     /// How sure a match is.
///     pub enum Sureness {
///         /// Nothing else fits.
///         Certain => "certain",
///         /// More than one candidate.
///         Ambiguous => "ambiguous",
///     }
/// }
/// assert_eq!(Sureness::Certain.to_string(), "certain");
/// assert_eq!("ambiguous".parse::<Sureness>(), Ok(Sureness::Ambiguous));
/// assert_eq!(serde_json::to_string(&Sureness::Ambiguous).unwrap(), "\"ambiguous\"");
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $name:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable snake_case name users see.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::vocab::names::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<$ty, Self::Err> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == s)
                    .ok_or_else(|| $crate::vocab::names::UnknownName {
                        what: stringify!($ty),
                        name: s.to_owned(),
                    })
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

/// A name that is not in a [`named_enum!`](crate::named_enum) type's table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} name {name:?}")]
pub struct UnknownName {
    /// The type whose table was searched.
    pub what: &'static str,
    /// The name given.
    pub name: String,
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        /// A test vocabulary.
        enum Colour {
            Red => "red",
            DarkBlue => "dark_blue",
        }
    }

    #[test]
    fn every_form_comes_from_the_table() {
        for c in Colour::ALL {
            assert_eq!(c.to_string(), c.name());
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
            assert_eq!(c.name().parse::<Colour>(), Ok(*c));
        }
        assert_eq!(Colour::DarkBlue.name(), "dark_blue");
        assert!("dark-blue".parse::<Colour>().is_err());
    }
}
