//! The built-in database, used when no `--db` is given: p0f.fp-format text embedded at
//! compile time (src/fingerprint/builtin.fp). Each signature cites its source in a comment.

use super::db::{Database, DbError};
use std::sync::OnceLock;

/// The embedded p0f.fp-format text.
pub const BUILTIN_FP: &str = include_str!("builtin.fp");

/// Parse the embedded text (fallible only if the file in the source tree is broken;
/// a test guarantees it is not).
pub fn parse() -> Result<Database, DbError> {
    Database::parse(BUILTIN_FP)
}

/// The built-in database, parsed once.
pub fn database() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    // The text is a compile-time constant checked by `builtin_parses`; an empty database
    // (no matches) is the safe fallback rather than a panic.
    DB.get_or_init(|| parse().unwrap_or_default())
}
