//! Message framing of a request (RFC 9112 section 6): Content-Length, chunked transfer
//! coding with extensions and trailers, CONNECT tunnels. Decides where a body ends, so
//! bodies are skipped and never scanned for heads.

use memchr::memchr;

/// Longest chunk extension accepted on a chunk-size line.
const MAX_CHUNK_LINE_EXT: u32 = 4096;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILER_BYTES: u32 = 64 * 1024;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// A body of this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// CONNECT: the rest of the stream is a tunnel.
    Tunnel,
    /// Invalid Content-Length or a final transfer coding other than chunked.
    Invalid,
    /// Content-Length values that differ: neither is trusted.
    Conflicting,
}

/// Message body framing of a complete request head (RFC 9112 section 6).
pub(crate) fn framing(head: &[u8]) -> Framing {
    if head.starts_with(b"CONNECT ") {
        return Framing::Tunnel;
    }
    let mut cl: Option<u64> = None;
    let mut te_last_chunked: Option<bool> = None;
    let mut invalid = false;
    let mut conflicting = false;
    // Skip the request line; header lines follow until the empty line.
    let mut rest = match memchr(b'\n', head) {
        Some(i) => &head[i + 1..],
        None => return Framing::None,
    };
    while !rest.is_empty() {
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            // A list of identical values is allowed (RFC 9110 section 8.6).
            for part in value.split(|&c| c == b',') {
                match (parse_decimal(trim_ows(part)), cl) {
                    (Some(v), None) => cl = Some(v),
                    (Some(v), Some(c)) if c == v => {}
                    (Some(_), Some(_)) => conflicting = true,
                    (None, _) => invalid = true,
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if let Some(last) = value
                .split(|&c| c == b',')
                .map(trim_ows)
                .rfind(|s| !s.is_empty())
            {
                te_last_chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
            } else {
                invalid = true;
            }
        }
    }
    // Transfer-Encoding overrides Content-Length; a request whose final coding is not
    // chunked has no determinable length (RFC 9112 section 6.3).
    match te_last_chunked {
        Some(true) => Framing::Chunked,
        Some(false) => Framing::Invalid,
        None if conflicting => Framing::Conflicting,
        None if invalid => Framing::Invalid,
        None => cl.map_or(Framing::None, |n| {
            if n == 0 {
                Framing::None
            } else {
                Framing::Length(n)
            }
        }),
    }
}

/// `b` without leading and trailing spaces and tabs (optional whitespace).
pub(crate) fn trim_ows(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

/// A Content-Length value: decimal digits only, no overflow.
pub(crate) fn parse_decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(c - b'0')))
            .flatten()
    })
}

/// Where a chunked body decoder is, between segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Chunk-size line: `value` so far; `rest` once past the digits (extensions, CR).
    Size {
        value: u64,
        digits: u8,
        rest: bool,
        rest_len: u32,
    },
    /// Chunk data: bytes left.
    Data(u64),
    /// After chunk data: the CR (or a bare LF) expected.
    DataCr,
    /// After chunk data and its CR: the LF expected.
    DataLf,
    /// After the last chunk: trailer lines until an empty one.
    Trailer { line_len: u32, total: u32 },
}

/// The state at the start of a chunked body (and after each chunk).
pub(crate) const CHUNK_SIZE_START: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
    rest: false,
    rest_len: 0,
};

/// What a chunked body decoder did with some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkNext {
    /// Still inside the body, in this state.
    More(Chunk),
    /// The body (and its trailers) ended: a new message starts.
    End,
    /// The chunked framing is broken at the returned position.
    Invalid,
}

impl Chunk {
    /// Decodes `d` (not empty) from this state. Returns the bytes used, how many of them
    /// count as skipped body bytes, and what comes next.
    pub(crate) fn step(self, d: &[u8]) -> (usize, u64, ChunkNext) {
        let invalid = |used: usize| (used, 0, ChunkNext::Invalid);
        match self {
            Chunk::Data(rem) => {
                let k = rem.min(d.len() as u64) as usize;
                let left = rem - k as u64;
                let next = if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                };
                (k, k as u64, ChunkNext::More(next))
            }
            Chunk::DataCr => match d[0] {
                b'\r' => (1, 0, ChunkNext::More(Chunk::DataLf)),
                b'\n' => (1, 0, ChunkNext::More(CHUNK_SIZE_START)),
                _ => invalid(0),
            },
            Chunk::DataLf => match d[0] {
                b'\n' => (1, 0, ChunkNext::More(CHUNK_SIZE_START)),
                _ => invalid(0),
            },
            Chunk::Size {
                mut value,
                mut digits,
                mut rest,
                mut rest_len,
            } => {
                // Byte at a time: size lines are a few bytes long.
                for (i, &b) in d.iter().enumerate() {
                    if b == b'\n' {
                        if digits == 0 {
                            return invalid(i);
                        }
                        let next = if value == 0 {
                            Chunk::Trailer {
                                line_len: 0,
                                total: 0,
                            }
                        } else {
                            Chunk::Data(value)
                        };
                        return (i + 1, i as u64 + 1, ChunkNext::More(next));
                    }
                    if rest {
                        rest_len += 1;
                        if rest_len > MAX_CHUNK_LINE_EXT {
                            return invalid(i);
                        }
                    } else if let Some(v) = (b as char).to_digit(16) {
                        digits += 1;
                        if digits > 16 {
                            return invalid(i);
                        }
                        value = (value << 4) | u64::from(v);
                    } else if digits > 0 && matches!(b, b';' | b' ' | b'\t' | b'\r') {
                        rest = true;
                    } else {
                        return invalid(i);
                    }
                }
                let next = Chunk::Size {
                    value,
                    digits,
                    rest,
                    rest_len,
                };
                (d.len(), d.len() as u64, ChunkNext::More(next))
            }
            Chunk::Trailer {
                mut line_len,
                mut total,
            } => {
                let (seg, lf) = match memchr(b'\n', d) {
                    Some(i) => (&d[..i], true),
                    None => (d, false),
                };
                let non_cr = seg.iter().filter(|&&b| b != b'\r').count() as u32;
                line_len = line_len.saturating_add(non_cr);
                total = total.saturating_add(seg.len() as u32 + u32::from(lf));
                if total > MAX_TRAILER_BYTES {
                    return invalid(0);
                }
                let used = seg.len() + usize::from(lf);
                let next = if lf && line_len == 0 {
                    ChunkNext::End
                } else {
                    ChunkNext::More(Chunk::Trailer {
                        line_len: if lf { 0 } else { line_len },
                        total,
                    })
                };
                (used, used as u64, next)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_rules() {
        let f = |h: &str| framing(h.as_bytes());
        assert_eq!(f("GET / HTTP/1.1\r\n\r\n"), Framing::None);
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
            Framing::Length(12)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 12, 12\r\n\r\n"),
            Framing::Length(12)
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            Framing::None
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Framing::Conflicting
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"),
            Framing::Conflicting
        );
        // Chunked wins over a length, conflicting or not.
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Framing::Invalid
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            Framing::Invalid
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            f("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            Framing::Invalid
        );
        // A name with a space before the colon is not Content-Length (RFC 9112 5.1).
        assert_eq!(
            f("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"),
            Framing::None
        );
        assert_eq!(f("CONNECT h:443 HTTP/1.1\r\n\r\n"), Framing::Tunnel);
    }
}
