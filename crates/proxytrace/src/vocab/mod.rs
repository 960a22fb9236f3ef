//! The stable vocabulary of the output: names of enum values and named bit sets.
//!
//! Every name a user can see in a row, a counter or a summary (`x_forwarded_for`,
//! `exact_port`, `bad_ip_extension_header`) is written once, in the table of its type,
//! and the text, CSV and JSON forms all come from that table. Renaming a variant cannot
//! change what users see, and a name cannot drift between `Display` and serde.

pub mod bytes;
pub mod counters;
pub mod escape;
pub mod flags;
pub mod names;
pub(crate) mod refuse;
pub mod schema;
