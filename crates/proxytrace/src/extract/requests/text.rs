//! Column text built from parsed heads and identities: the `chain`, `p0f`, header-list
//! and `flags` columns, and the stable names of unparsed-head reasons.

use crate::identity::{Chain, Identity};
use crate::vocab::escape::escape_bytes;

/// The chosen source's chain as the `chain` column shows it: entries as written
/// (escaped), joined with `, `, prefixed `(+N dropped), ` when capped.
pub(super) fn chain_text(chain: &Chain<'_>) -> String {
    let mut s = String::new();
    if chain.dropped_left > 0 {
        s.push_str(&format!("(+{} dropped)", chain.dropped_left));
    }
    for e in &chain.entries {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&escape_bytes(e.raw));
    }
    s
}

/// The `p0f` column: `name=value` (escaped) joined with `|`.
pub(super) fn p0f_text(id: &Identity<'_>) -> String {
    let mut s = String::new();
    for (i, f) in id.p0f.iter().enumerate() {
        if i > 0 {
            s.push('|');
        }
        s.push_str(&escape_bytes(f.name));
        s.push('=');
        s.push_str(&escape_bytes(f.value));
    }
    s
}

/// Header values (escaped) joined with `, `.
pub(super) fn join_values<'a>(it: impl Iterator<Item = &'a [u8]>) -> String {
    let mut s = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&escape_bytes(v));
    }
    s
}
