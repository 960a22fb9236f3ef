//! Column text built from parsed heads and identities: the `chain`, `p0f`, header-list
//! and `flags` columns, and the stable names of unparsed-head reasons.

use crate::http1::head::HeadError;
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

/// Every reason a head is not parsed, in counter order.
pub(super) const HEAD_ERRORS: [HeadError; 6] = [
    HeadError::Empty,
    HeadError::RequestLineIncomplete,
    HeadError::BadMethod,
    HeadError::BadTarget,
    HeadError::BadVersion,
    HeadError::BadRequestLine,
];

/// The stable counter name of an unparsed-head reason (its serde name). Exhaustive, so a
/// new reason cannot go uncounted.
pub(super) const fn head_error_name(e: HeadError) -> &'static str {
    match e {
        HeadError::Empty => "empty",
        HeadError::RequestLineIncomplete => "request_line_incomplete",
        HeadError::BadMethod => "bad_method",
        HeadError::BadTarget => "bad_target",
        HeadError::BadVersion => "bad_version",
        HeadError::BadRequestLine => "bad_request_line",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_error_names_are_their_serde_names() {
        for e in HEAD_ERRORS {
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::Value::from(head_error_name(e))
            );
        }
        assert_eq!(head_error_name(HeadError::Empty), "empty");
    }
}
