//! Byte recognisers for HTTP/1 request heads: method tokens, the request line, the end of
//! a head, and the searches that find a request line again after framing was lost.
//! Pure functions over byte slices; the conversation state machine drives them.

use memchr::memchr;

/// Longest method token accepted (generic methods are tokens; real ones are short).
pub(crate) const MAX_METHOD: usize = 32;
/// Longest candidate request line buffered while resynchronising.
pub(crate) const MAX_RESYNC_LINE: usize = 8192;
/// Methods a request line found inside a longer upper-case run may end with.
pub(crate) const KNOWN_METHODS: [&[u8]; 9] = [
    b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

/// RFC 9110 token character (what a method is made of).
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    // RFC 9110 token characters.
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Outcome of scanning the bytes of a head so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadScan {
    /// The head is complete: its length, blank line included.
    Complete(usize),
    /// No blank line yet (and the request line, if whole, is valid).
    Incomplete,
    /// The first line cannot be a request line.
    NotHttp,
}

/// Does `line` (without its LF; a trailing CR is allowed) look like `METHOD SP target SP HTTP/1.x`?
pub(crate) fn valid_request_line(line: &[u8], strict_method: bool) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(sp) = memchr(b' ', line) else {
        return false;
    };
    let method = &line[..sp];
    let method_ok = if strict_method {
        // Resync only: upper-case letters, '-' or '_', which cuts false hits in bodies.
        method.first().is_some_and(u8::is_ascii_uppercase)
            && method
                .iter()
                .all(|&c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
    } else {
        method.iter().all(|&c| is_tchar(c))
    };
    if method.is_empty() || method.len() > MAX_METHOD || !method_ok {
        return false;
    }
    let n = line.len();
    // " HTTP/1.x" = 9 bytes, and a non-empty target between the two spaces.
    if n < sp + 1 + 1 + 9 {
        return false;
    }
    let ver = &line[n - 9..];
    ver.starts_with(b" HTTP/1.") && ver[8].is_ascii_digit() && line[sp + 1] != b' '
}

/// Scans a head that starts at `h[0]`. `from` is where the previous scan stopped (bytes
/// before it were already checked); `line1_done` remembers that the request line was
/// validated. A head ends at the first empty line (LF LF or LF CR LF).
pub(crate) fn scan_head(h: &[u8], from: usize, line1_done: &mut bool) -> HeadScan {
    let mut term_from = from;
    if !*line1_done {
        // Cheap early rejection on the method token before the whole line is here.
        let prefix = &h[..h.len().min(MAX_METHOD + 1)];
        match prefix.iter().position(|&c| !is_tchar(c)) {
            Some(0) => return HeadScan::NotHttp,
            Some(i) if prefix[i] != b' ' => return HeadScan::NotHttp,
            None if prefix.len() > MAX_METHOD => return HeadScan::NotHttp,
            _ => {}
        }
        let Some(lf) = memchr(b'\n', h.get(from..).unwrap_or_default()).map(|i| i + from) else {
            return HeadScan::Incomplete;
        };
        if !valid_request_line(&h[..lf], false) {
            return HeadScan::NotHttp;
        }
        *line1_done = true;
        term_from = lf;
    }
    let mut p = term_from;
    while let Some(i) = memchr(b'\n', h.get(p..).unwrap_or_default()) {
        let lf = p + i;
        match h.get(lf + 1) {
            Some(b'\n') => return HeadScan::Complete(lf + 2),
            Some(b'\r') => match h.get(lf + 2) {
                Some(b'\n') => return HeadScan::Complete(lf + 3),
                Some(_) => {}
                None => return HeadScan::Incomplete,
            },
            Some(_) => {}
            None => return HeadScan::Incomplete,
        }
        p = lf + 1;
    }
    HeadScan::Incomplete
}

/// Where to resume `scan_head` after it returned Incomplete on `len` bytes: the
/// terminator's first LF can be at most two bytes before the end.
pub(crate) fn resume_from(len: usize, line1_done: bool) -> usize {
    if line1_done {
        len.saturating_sub(2)
    } else {
        len
    }
}

/// Finds a plausible request-line start in `d` for resynchronisation: at 0 if
/// `at_line_start`, else after an LF; the whole line must be in `d`.
pub(crate) fn find_resync(d: &[u8], at_line_start: bool) -> Option<usize> {
    let mut cand = if at_line_start { Some(0) } else { None };
    let mut p = 0;
    loop {
        let next_lf = memchr(b'\n', d.get(p..).unwrap_or_default()).map(|i| p + i);
        if let (Some(c), Some(lf)) = (cand, next_lf) {
            if valid_request_line(&d[c..lf], true) {
                return Some(c);
            }
        }
        let lf = next_lf?;
        cand = Some(lf + 1);
        p = lf + 1;
    }
}

/// Finds a request line that may start inside a line (after a body of unknown length
/// that has no line end): in each line of `d` (the first starting at `d[0]`) that ends
/// `SP HTTP/1.x`, the method is the run of method characters before the target; a known
/// method at the end of a longer run (`helloGET`, `...XPOST`) is taken alone.
pub(crate) fn find_request_anywhere(d: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(lf) = memchr(b'\n', d.get(start..).unwrap_or_default()).map(|i| start + i) {
        if let Some(k) = request_start_in_line(&d[start..lf]) {
            return Some(start + k);
        }
        start = lf + 1;
    }
    None
}

/// Where a request line starts inside `line` (see [`find_request_anywhere`]).
fn request_start_in_line(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"\r").unwrap_or(line);
    let n = body.len();
    let ver = body.get(n.checked_sub(9)?..)?;
    if !(ver.starts_with(b" HTTP/1.") && ver[8].is_ascii_digit()) {
        return None;
    }
    // The target has no space: the space before it ends the method.
    let method_end = memchr::memrchr(b' ', &body[..n - 9])?;
    let is_method_char = |c: &u8| c.is_ascii_uppercase() || *c == b'-' || *c == b'_';
    let run_start = body[..method_end]
        .iter()
        .rposition(|c| !is_method_char(c))
        .map_or(0, |i| i + 1);
    let run = &body[run_start..method_end];
    let start = KNOWN_METHODS
        .iter()
        .filter(|m| run.len() > m.len() && run.ends_with(m))
        .map(|m| method_end - m.len())
        .min()
        .unwrap_or(run_start);
    valid_request_line(&line[start..], true).then_some(start)
}

/// Could `b` (no LF in it) begin a request line found by resync? Strict method chars.
pub(crate) fn plausible_line_prefix(b: &[u8]) -> bool {
    let m = match memchr(b' ', b) {
        Some(sp) => &b[..sp],
        None => b,
    };
    m.len() <= MAX_METHOD
        && (m.is_empty() || m[0].is_ascii_uppercase())
        && m.iter()
            .all(|&c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
        && !b.is_empty()
        && b[0] != b' '
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::preamble::{check_preamble, PreambleCheck, PP2_SIG};

    #[test]
    fn request_lines_found_inside_lines() {
        assert_eq!(find_request_anywhere(b"helloGET /b HTTP/1.1\r\n"), Some(5));
        // A known method ends a longer upper-case run; an unknown one is taken whole.
        assert_eq!(find_request_anywhere(b"ABCPOST /b HTTP/1.0\n"), Some(3));
        assert_eq!(find_request_anywhere(b"x PURGE /b HTTP/1.1\n"), Some(2));
        // Lines before: the first line without a request is skipped.
        assert_eq!(find_request_anywhere(b"a b\nzzGET / HTTP/1.1\r\n"), Some(6));
        // Not a request line: lower-case method, no target, no LF yet.
        assert_eq!(find_request_anywhere(b"get / HTTP/1.1\r\n"), None);
        assert_eq!(find_request_anywhere(b"GET HTTP/1.1\r\n"), None);
        assert_eq!(find_request_anywhere(b"GET / HTTP/1.1"), None);
    }

    #[test]
    fn request_line_and_preamble_checks() {
        assert!(valid_request_line(b"GET / HTTP/1.1\r", false));
        assert!(valid_request_line(b"M-SEARCH * HTTP/1.1", true));
        assert!(valid_request_line(b"get / HTTP/1.0", false));
        assert!(!valid_request_line(b"get / HTTP/1.0", true));
        assert!(!valid_request_line(b"GET  HTTP/1.1", false));
        assert!(!valid_request_line(b"GET / HTTP/2.0", false));
        assert!(!valid_request_line(b"GET /", false));
        assert!(!valid_request_line(b" GET / HTTP/1.1", false));
        assert_eq!(check_preamble(b"PROX"), PreambleCheck::NeedMore);
        assert_eq!(check_preamble(b"POST"), PreambleCheck::NotPreamble);
        assert_eq!(
            check_preamble(b"PROXY UNKNOWN\r\nGET"),
            PreambleCheck::Complete(15, false)
        );
        assert_eq!(check_preamble(b"\r\n\r\n\0\r\nQ"), PreambleCheck::NeedMore);
        assert_eq!(check_preamble(b"\r\n\r\nGET"), PreambleCheck::NotPreamble);
        let mut v2 = PP2_SIG.to_vec();
        v2.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]); // LOCAL, no addresses
        assert_eq!(check_preamble(&v2), PreambleCheck::Complete(16, false));
        v2[12] = 0x13; // version 1, command 3
        assert_eq!(check_preamble(&v2), PreambleCheck::Complete(16, true));
        assert_eq!(check_preamble(&v2[..15]), PreambleCheck::NeedMore);
        // A bare LF ends a v1 line, malformed: 31 bytes including the LF.
        assert_eq!(
            check_preamble(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nGET / HTTP/1.1\r\n"),
            PreambleCheck::Complete(31, true)
        );
        // A v2 length (0x0100) running past a whole request line: ends at the request.
        let mut long = PP2_SIG.to_vec();
        long.extend_from_slice(&[0x21, 0x11, 0x01, 0x00, 1, 2, 3, 4]);
        long.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(check_preamble(&long), PreambleCheck::Complete(20, true));
        assert_eq!(check_preamble(&long[..30]), PreambleCheck::NeedMore);
        assert_eq!(find_resync(b"xx\nGET / HTTP/1.1\r\n", false), Some(3));
        assert_eq!(find_resync(b"GET / HTTP/1.1\r\n", false), None);
        assert_eq!(find_resync(b"GET / HTTP/1.1\r\n", true), Some(0));
        assert_eq!(find_resync(b"xx\nGET / HTTP/1.1", false), None);
    }
}
