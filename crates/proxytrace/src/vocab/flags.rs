//! Small named bit sets (anomaly flags): one implementation of their names, text and JSON
//! forms, shared by every flag type instead of a copy per type.

/// For a `pub struct T(pub INT)` with `const NAMES: [(INT, &str); N]`, implement
/// `contains`, `set`, `set_if`, `is_empty`, `names()` (in table order), `Display` (names
/// joined with `|`, the CSV form, or with the separator given, e.g. `,` for p0f's quirk
/// list) and `Serialize` (a list of names, the JSON form).
macro_rules! impl_flag_set {
    ($ty:ty, $int:ty) => {
        $crate::vocab::flags::impl_flag_set!($ty, $int, "|");
    };
    ($ty:ty, $int:ty, $sep:literal) => {
        impl $ty {
            /// Whether every bit of `flag` is set.
            pub fn contains(&self, flag: $int) -> bool {
                self.0 & flag == flag
            }
            /// Set the bits of `flag`.
            pub fn set(&mut self, flag: $int) {
                self.0 |= flag;
            }
            /// Set the bits of `flag` when `on`.
            pub fn set_if(&mut self, flag: $int, on: bool) {
                if on {
                    self.0 |= flag;
                }
            }
            /// Whether no flag is set.
            pub fn is_empty(&self) -> bool {
                self.0 == 0
            }
            /// snake_case names of the flags set, in a fixed order.
            pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
                Self::NAMES
                    .iter()
                    .filter(move |(f, _)| self.contains(*f))
                    .map(|(_, n)| *n)
            }
        }

        /// Text form: flag names joined with the separator.
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                for (i, n) in self.names().enumerate() {
                    if i > 0 {
                        f.write_str($sep)?;
                    }
                    f.write_str(n)?;
                }
                Ok(())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.names())
            }
        }
    };
}

pub(crate) use impl_flag_set;
