//! Recognises a PROXY protocol v1/v2 preamble at the start of a client stream: only
//! where it ends and whether it is well formed (proxy_protocol/ parses its contents).

use super::scan::find_request_anywhere;
use memchr::memchr;

/// The PROXY v2 signature.
pub(crate) const PP2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Longest PROXY v1 line, CRLF included.
const PP1_MAX: usize = 107;

/// What the bytes at a stream start are, as far as a PROXY preamble goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PreambleCheck {
    /// Not a PROXY preamble.
    NotPreamble,
    /// A prefix of one: more bytes are needed to tell.
    NeedMore,
    /// Length of the preamble, and whether it is malformed.
    Complete(usize, bool),
}

/// PROXY protocol preamble at the start of `b`.
pub(crate) fn check_preamble(b: &[u8]) -> PreambleCheck {
    const V1: &[u8] = b"PROXY ";
    if b.len() < V1.len() && V1.starts_with(b) && !b.is_empty() {
        return PreambleCheck::NeedMore;
    }
    if b.starts_with(V1) {
        let window = &b[..b.len().min(PP1_MAX)];
        return match memchr(b'\n', window) {
            Some(i) if i > 0 && window[i - 1] == b'\r' => PreambleCheck::Complete(i + 1, false),
            // A bare LF (HAProxy refuses the line): malformed, but the line ends there,
            // so the request after it is not swallowed up to a later CRLF.
            Some(i) => PreambleCheck::Complete(i + 1, true),
            None if b.len() >= PP1_MAX => PreambleCheck::Complete(PP1_MAX, true),
            None => PreambleCheck::NeedMore,
        };
    }
    let n = b.len().min(PP2_SIG.len());
    if n == 0 || b[..n] != PP2_SIG[..n] {
        return PreambleCheck::NotPreamble;
    }
    if b.len() < 16 {
        return PreambleCheck::NeedMore;
    }
    let total = 16 + usize::from(u16::from_be_bytes([b[14], b[15]]));
    let ver_cmd = b[12];
    let bad = ver_cmd >> 4 != 2 || ver_cmd & 0x0f > 1;
    if b.len() >= total {
        PreambleCheck::Complete(total, bad)
    } else if let Some(k) = b.get(16..).and_then(find_request_anywhere) {
        // The length runs past a request line: the header lied about its length (a
        // proxy sends the header before any client byte). It ends where the request
        // starts, malformed, instead of swallowing the requests.
        PreambleCheck::Complete(16 + k, true)
    } else {
        PreambleCheck::NeedMore
    }
}
