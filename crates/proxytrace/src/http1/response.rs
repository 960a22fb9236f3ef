//! A request's response on the back side: what the row says about it ([`Response`]),
//! and the recognisers of a response head (status line, body framing by RFC 9112
//! section 6.3, content type, connection close). The server stream that carries the
//! responses is followed in `http1::exchange`.

use super::framing::{parse_decimal, trim_ows};
use memchr::memchr;

/// Longest Content-Type value kept (a longer one is cut: its first bytes name the type).
pub(crate) const MAX_CONTENT_TYPE: usize = 256;

crate::named_enum! {
    /// How a response's body is delimited (RFC 9112 section 6.3).
    pub enum BodyFraming {
        /// A Content-Length.
        ContentLength => "content_length",
        /// Chunked transfer coding (the body size counts the chunks' data).
        Chunked => "chunked",
        /// Read until the server closes the connection.
        Close => "close",
        /// No body: a HEAD request, a 101, 204 or 304 response, or a CONNECT's 2xx.
        None => "none",
        /// Invalid or conflicting Content-Length: where the body ends is unknown, and the
        /// responses after it on the connection are not paired.
        Unknown => "unknown",
    }
}

crate::named_enum! {
    /// Why a request has no complete response.
    pub enum ResponseMissing {
        /// The input ended first (or a live input paused: its rows are shown rather
        /// than held).
        CaptureEnd => "capture_end",
        /// No complete response within the response timeout
        /// (`ReassemblyConfig::response_timeout_ns`, by capture time).
        Timeout => "timeout",
        /// The server closed the connection (FIN) first.
        Closed => "closed",
        /// The connection was reset (RST, either side).
        Reset => "reset",
        /// The client's FIN ended the followed connection first.
        ClientClosed => "client_closed",
        /// Server bytes are missing (not captured, or reordered beyond the out-of-order
        /// caps): the response, or where it ends, is unknown.
        Gap => "gap",
        /// The server's bytes where a response should start are no HTTP/1 response head
        /// (or the head is over the head cap, or its body framing is broken).
        Unparsed => "unparsed",
        /// More requests waited for their responses on the connection than
        /// `http1::exchange::MAX_AWAITING`: the oldest was let go.
        Cap => "cap",
        /// The connection was evicted under the reassembly's flow or byte caps.
        Evicted => "evicted",
        /// A new connection on the same addresses and ports replaced it.
        Replaced => "replaced",
        /// The connection became a tunnel (CONNECT, 101 Switching Protocols) before it.
        Tunnel => "tunnel",
    }
}

/// The response to one request, as far as the server's side showed it. All empty (and
/// `missing` set) when no response head was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Status code of the final response (interim 1xx ones skipped).
    pub status: Option<u16>,
    /// Bytes of the final response's head, status line through the blank line.
    pub head_bytes: Option<u32>,
    /// Body bytes seen: the data of a chunked body (without chunk framing), every byte
    /// of a Content-Length or close-delimited one.
    pub body_bytes: Option<u64>,
    /// How the body is delimited.
    pub framing: Option<BodyFraming>,
    /// The Content-Type value, raw (at most `MAX_CONTENT_TYPE` bytes).
    pub content_type: Option<Vec<u8>>,
    /// Timestamp of the packet carrying the final response's first byte.
    pub first_byte_ts: Option<i64>,
    /// The response said `Connection: close` (or is HTTP/1.0 without keep-alive), its
    /// body ran to the close, or the server's FIN or a RST came with its last bytes.
    pub closed_after: bool,
    /// Interim (1xx) responses skipped before the final one.
    pub interim: u16,
    /// Why there is no complete response (`None`: complete).
    pub missing: Option<ResponseMissing>,
}

/// How the body after a response head is delimited, for the follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body.
    None,
    /// This many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the server closes.
    Close,
    /// Invalid or conflicting length.
    Unknown,
    /// No body, and the connection is no longer HTTP (101, CONNECT 2xx).
    Tunnel,
}

impl Body {
    /// The row's name for it.
    pub(crate) fn framing(self) -> BodyFraming {
        match self {
            Body::None | Body::Tunnel => BodyFraming::None,
            Body::Length(_) => BodyFraming::ContentLength,
            Body::Chunked => BodyFraming::Chunked,
            Body::Close => BodyFraming::Close,
            Body::Unknown => BodyFraming::Unknown,
        }
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseHead<'a> {
    pub(crate) status: u16,
    pub(crate) body: Body,
    pub(crate) content_type: Option<&'a [u8]>,
    pub(crate) close: bool,
}

impl ResponseHead<'_> {
    /// A 1xx other than 101: a final response follows on the same exchange.
    pub(crate) fn interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

/// Where a head that starts at `buf[0]` ends (after its blank line), scanning line ends
/// from `from`; `None` when not yet complete.
pub(crate) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut p = from.saturating_sub(2);
    while let Some(i) = memchr(b'\n', buf.get(p..).unwrap_or_default()) {
        let lf = p + i;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => p = lf + 1,
        }
    }
    None
}

/// Parses a complete response head (status line through the blank line) answering a
/// request with `method`. `None` when the status line is not `HTTP/1.x NNN`.
pub(crate) fn parse_response_head<'a>(head: &'a [u8], method: &[u8]) -> Option<ResponseHead<'a>> {
    let lf = memchr(b'\n', head)?;
    let line = head[..lf].strip_suffix(b"\r").unwrap_or(&head[..lf]);
    let ok = line.len() >= 12
        && line.starts_with(b"HTTP/1.")
        && line[7].is_ascii_digit()
        && line[8] == b' '
        && line[9..12].iter().all(u8::is_ascii_digit)
        && line.get(12).is_none_or(|&c| c == b' ');
    if !ok {
        return None;
    }
    let http10 = line[7] == b'0';
    let status = line[9..12]
        .iter()
        .fold(0u16, |a, &c| a * 10 + u16::from(c - b'0'));
    let mut cl: Option<u64> = None;
    let mut bad_length = false;
    let mut te_last_chunked: Option<bool> = None;
    let mut content_type = None;
    let (mut close, mut keep_alive) = (false, false);
    for line in head[lf + 1..].split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in value.split(|&c| c == b',') {
                match (parse_decimal(trim_ows(part)), cl) {
                    (Some(v), None) => cl = Some(v),
                    (Some(v), Some(c)) if c == v => {}
                    _ => bad_length = true,
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value
                .split(|&c| c == b',')
                .map(trim_ows)
                .rfind(|s| !s.is_empty());
            te_last_chunked = Some(last.is_some_and(|s| s.eq_ignore_ascii_case(b"chunked")));
        } else if name.eq_ignore_ascii_case(b"content-type") && content_type.is_none() {
            content_type = Some(&value[..value.len().min(MAX_CONTENT_TYPE)]);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&c| c == b',').map(trim_ows) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let connect_ok = method == b"CONNECT" && (200..300).contains(&status);
    let body = if status == 101 || connect_ok {
        Body::Tunnel
    } else if method == b"HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        Body::None
    } else {
        match te_last_chunked {
            Some(true) => Body::Chunked,
            // A final coding other than chunked: the body runs to the close (6.3 item 4).
            Some(false) => Body::Close,
            None if bad_length => Body::Unknown,
            None => cl.map_or(Body::Close, Body::Length),
        }
    };
    Some(ResponseHead {
        status,
        body,
        content_type,
        close: close || (http10 && !keep_alive),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str, method: &str) -> ResponseHead<'static> {
        let h: &'static str = Box::leak(h.to_owned().into_boxed_str());
        parse_response_head(h.as_bytes(), method.as_bytes()).unwrap()
    }

    #[test]
    fn body_framing_follows_rfc_9112_section_6_3() {
        let b = |h: &str, m: &str| parse(h, m).body;
        let ok = "HTTP/1.1 200 OK\r\n";
        assert_eq!(
            b(&format!("{ok}Content-Length: 5\r\n\r\n"), "GET"),
            Body::Length(5)
        );
        assert_eq!(
            b(&format!("{ok}Content-Length: 0\r\n\r\n"), "GET"),
            Body::Length(0)
        );
        assert_eq!(
            b(&format!("{ok}Content-Length: 5, 5\r\n\r\n"), "GET"),
            Body::Length(5)
        );
        assert_eq!(
            b(&format!("{ok}Content-Length: 5, 6\r\n\r\n"), "GET"),
            Body::Unknown
        );
        assert_eq!(
            b(&format!("{ok}Content-Length: x\r\n\r\n"), "GET"),
            Body::Unknown
        );
        assert_eq!(
            b(
                &format!("{ok}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
                "GET"
            ),
            Body::Chunked
        );
        assert_eq!(
            b(
                &format!("{ok}Transfer-Encoding: chunked, gzip\r\n\r\n"),
                "GET"
            ),
            Body::Close
        );
        assert_eq!(b(&format!("{ok}\r\n"), "GET"), Body::Close);
        // No body whatever the headers say: HEAD, 1xx, 204, 304; tunnels.
        assert_eq!(
            b(&format!("{ok}Content-Length: 5\r\n\r\n"), "HEAD"),
            Body::None
        );
        assert_eq!(
            b(
                "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                "GET"
            ),
            Body::None
        );
        assert_eq!(b("HTTP/1.1 304 Not Modified\r\n\r\n", "GET"), Body::None);
        assert_eq!(b("HTTP/1.1 100 Continue\r\n\r\n", "POST"), Body::None);
        assert_eq!(
            b("HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET"),
            Body::Tunnel
        );
        assert_eq!(b("HTTP/1.1 200 OK\r\n\r\n", "CONNECT"), Body::Tunnel);
        assert_eq!(
            b("HTTP/1.1 407 No\r\nContent-Length: 3\r\n\r\n", "CONNECT"),
            Body::Length(3)
        );
    }

    #[test]
    fn status_content_type_and_close() {
        let h = parse(
            "HTTP/1.1 404 Not Found\r\nContent-Type:  text/html; charset=utf-8 \r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
            "GET",
        );
        assert_eq!(h.status, 404);
        assert_eq!(h.content_type, Some(&b"text/html; charset=utf-8"[..]));
        assert!(h.close);
        assert!(parse("HTTP/1.0 200 OK\r\n\r\n", "GET").close);
        assert!(!parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", "GET").close);
        assert!(!parse("HTTP/1.1 200\r\n\r\n", "GET").close);
        assert!(parse("HTTP/1.1 100 Continue\r\n\r\n", "GET").interim());
        assert!(!parse("HTTP/1.1 101 Switching\r\n\r\n", "GET").interim());
        for bad in [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 2000\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse_response_head(bad.as_bytes(), b"GET"), None, "{bad:?}");
        }
    }

    #[test]
    fn head_end_finds_the_blank_line_across_calls() {
        let h = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        assert_eq!(head_end(h, 0), Some(25));
        assert_eq!(head_end(&h[..24], 0), None);
        assert_eq!(head_end(h, 23), Some(25));
        assert_eq!(head_end(b"HTTP/1.0 200 OK\n\nx", 0), Some(17));
    }
}
