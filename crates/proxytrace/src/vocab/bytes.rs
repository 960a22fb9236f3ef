//! Helpers for captured bytes shared by the protocol layers: trimming HTTP whitespace
//! and serializing byte fields as text.

use serde::Serializer;

/// Serialize bytes as a (lossy UTF-8) string: output is for humans and JSON tools.
pub(crate) fn ser_bytes<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

pub(crate) fn ser_opt_bytes<S: Serializer>(b: &Option<&[u8]>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => ser_bytes(b, s),
        None => s.serialize_none(),
    }
}

/// Trim SP, HTAB, CR and LF on both ends (folded values keep inner CR/LF).
pub(crate) fn trim_ws(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v {
        if matches!(first, b' ' | b'\t' | b'\r' | b'\n') {
            v = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = v {
        if matches!(last, b' ' | b'\t' | b'\r' | b'\n') {
            v = rest;
        } else {
            break;
        }
    }
    v
}
