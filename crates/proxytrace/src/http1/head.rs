//! HTTP/1.x request heads: the request line (validated by httparse) and a lenient header
//! line scanner of our own.
//!
//! Why not httparse for the header lines: it rejects obs-fold and `Name : value`, and its
//! `ignore_invalid_headers_in_requests` option drops such lines silently. A forensics tool
//! must see those lines (they are how identity headers get smuggled past proxies), so we
//! scan lines ourselves and record every oddity as an [`HeadAnomalies`] flag.
//!
//! Work is linear in the input and memory is bounded: only identity header occurrences are
//! stored, at most [`MAX_IDENTITY_FIELDS`] of them; the rest are counted.

use crate::vocab::bytes::{ser_bytes, ser_opt_bytes, trim_ws};
use serde::Serialize;
use thiserror::Error;

/// Header lines longer than this are flagged [`HeadAnomalies::LONG_LINE`] (nginx's default
/// `large_client_header_buffers` is 8 KiB).
pub const MAX_LINE_LEN: usize = 8 * 1024;
/// Identity header occurrences kept per head; further ones are counted in
/// [`RequestHead::identity_capped`].
pub const MAX_IDENTITY_FIELDS: usize = 256;
/// Longest request line we hand to httparse on the non-UTF-8 retry path (it copies).
const MAX_REQUEST_LINE_RETRY: usize = 64 * 1024;

/// Why a byte slice is not an HTTP/1.x request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HeadError {
    /// No bytes.
    #[error("empty input")]
    Empty,
    /// No line end after the request line.
    #[error("request line not terminated")]
    RequestLineIncomplete,
    /// The method is not a token.
    #[error("invalid request method")]
    BadMethod,
    /// The target is empty or has invalid bytes.
    #[error("invalid request target")]
    BadTarget,
    /// The version is not HTTP/1.0 or HTTP/1.1.
    #[error("not HTTP/1.0 or HTTP/1.1")]
    BadVersion,
    /// Anything else wrong with the request line.
    #[error("invalid request line")]
    BadRequestLine,
}

impl HeadError {
    /// Every reason, in counter order.
    pub const ALL: [HeadError; 6] = [
        HeadError::Empty,
        HeadError::RequestLineIncomplete,
        HeadError::BadMethod,
        HeadError::BadTarget,
        HeadError::BadVersion,
        HeadError::BadRequestLine,
    ];

    /// The stable snake_case name of the reason (counters, JSON). `Display` is the
    /// error message, so this is the one name table (not `named_enum!`).
    pub const fn name(self) -> &'static str {
        match self {
            HeadError::Empty => "empty",
            HeadError::RequestLineIncomplete => "request_line_incomplete",
            HeadError::BadMethod => "bad_method",
            HeadError::BadTarget => "bad_target",
            HeadError::BadVersion => "bad_version",
            HeadError::BadRequestLine => "bad_request_line",
        }
    }
}

impl Serialize for HeadError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

crate::named_enum! {
    /// HTTP version of a request line (httparse only accepts these two), named as written
    /// on the request line.
    pub enum HttpVersion {
        /// HTTP/1.0.
        Http10 => "HTTP/1.0",
        /// HTTP/1.1.
        Http11 => "HTTP/1.1",
    }
}

/// Which identity header a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderKind {
    /// `X-Forwarded-For`.
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
    /// `X-Real-IP`.
    XRealIp,
    /// `X-Client-IP`.
    XClientIp,
    /// `True-Client-IP`.
    TrueClientIp,
    /// `CF-Connecting-IP`.
    CfConnectingIp,
    /// p0f SPOE agent headers: `X-P0f-*`, `x-tcp-*`, `x_tcp_*`.
    P0f,
    /// The n-th name of the `extra_headers` given to [`parse_request_head`].
    Custom(u16),
}

impl HeaderKind {
    /// Canonical header name (custom headers have none of their own).
    pub fn canonical_name(&self) -> &'static str {
        match self {
            HeaderKind::XForwardedFor => "X-Forwarded-For",
            HeaderKind::Forwarded => "Forwarded",
            HeaderKind::XRealIp => "X-Real-IP",
            HeaderKind::XClientIp => "X-Client-IP",
            HeaderKind::TrueClientIp => "True-Client-IP",
            HeaderKind::CfConnectingIp => "CF-Connecting-IP",
            HeaderKind::P0f => "X-P0f-*",
            HeaderKind::Custom(_) => "custom",
        }
    }
}

/// Fixed identity header names, lower case.
pub const FIXED_NAMES: [(&[u8], HeaderKind); 6] = [
    (b"x-forwarded-for", HeaderKind::XForwardedFor),
    (b"forwarded", HeaderKind::Forwarded),
    (b"x-real-ip", HeaderKind::XRealIp),
    (b"x-client-ip", HeaderKind::XClientIp),
    (b"true-client-ip", HeaderKind::TrueClientIp),
    (b"cf-connecting-ip", HeaderKind::CfConnectingIp),
];

/// Name prefixes of the p0f SPOE headers, lower case.
pub const P0F_PREFIXES: [&[u8]; 3] = [b"x-p0f-", b"x-tcp-", b"x_tcp_"];

/// Classify a header name (already stripped of whitespace before the colon).
pub fn classify_header_name(name: &[u8], extra_headers: &[&[u8]]) -> Option<HeaderKind> {
    for (n, k) in FIXED_NAMES {
        if name.eq_ignore_ascii_case(n) {
            return Some(k);
        }
    }
    for p in P0F_PREFIXES {
        if name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p) {
            return Some(HeaderKind::P0f);
        }
    }
    for (i, n) in extra_headers.iter().enumerate() {
        if !n.is_empty() && name.eq_ignore_ascii_case(n) {
            return Some(HeaderKind::Custom(u16::try_from(i).unwrap_or(u16::MAX)));
        }
    }
    None
}

/// Oddities seen while scanning a head; a small hand-rolled bit set (no bitflags crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeadAnomalies(pub u32);

impl HeadAnomalies {
    /// A header continued on the next line with leading whitespace (RFC 7230 obs-fold).
    pub const OBS_FOLD: u32 = 1 << 0;
    /// Whitespace between a header name and its colon (`Name : value`).
    pub const SPACE_BEFORE_COLON: u32 = 1 << 1;
    /// A line ended by LF alone instead of CRLF.
    pub const BARE_LF: u32 = 1 << 2;
    /// A NUL byte anywhere in the head.
    pub const NUL_BYTE: u32 = 1 << 3;
    /// The head is not valid UTF-8.
    pub const NON_UTF8: u32 = 1 << 4;
    /// More than one Host header.
    pub const DUPLICATE_HOST: u32 = 1 << 5;
    /// A line longer than [`MAX_LINE_LEN`].
    pub const LONG_LINE: u32 = 1 << 6;
    /// A header line without a colon (ignored).
    pub const NO_COLON: u32 = 1 << 7;
    /// A header line starting with a colon (ignored).
    pub const EMPTY_NAME: u32 = 1 << 8;
    /// A header name with bytes outside the RFC 7230 token set.
    pub const INVALID_NAME_CHAR: u32 = 1 << 9;
    /// No blank line: a partial (capped or cut) head.
    pub const TRUNCATED: u32 = 1 << 10;
    /// Empty lines before the request line.
    pub const LEADING_EMPTY_LINES: u32 = 1 << 11;
    /// More identity headers than [`MAX_IDENTITY_FIELDS`].
    pub const IDENTITY_CAPPED: u32 = 1 << 12;
    /// A continuation line directly after the request line (nothing to fold into).
    pub const FOLD_AT_START: u32 = 1 << 13;
    /// A bare CR inside a line.
    pub const BARE_CR: u32 = 1 << 14;
    /// Content-Length given more than once (several headers or a list) with one value:
    /// allowed by RFC 9110 section 8.6, but a sign of a rewritten or crafted message.
    pub const DUPLICATE_CONTENT_LENGTH: u32 = 1 << 15;
    /// Content-Length values that differ: the message length is undeterminable; a careful
    /// server refuses it (RFC 9112 section 6.3), and reassembly trusts neither value.
    pub const CONFLICTING_CONTENT_LENGTH: u32 = 1 << 16;
    /// Content-Length together with Transfer-Encoding (the request smuggling shape):
    /// Transfer-Encoding wins (RFC 9112 section 6.3).
    pub const CONTENT_LENGTH_WITH_TRANSFER_ENCODING: u32 = 1 << 17;

    const NAMES: [(u32, &'static str); 18] = [
        (Self::OBS_FOLD, "obs_fold"),
        (Self::SPACE_BEFORE_COLON, "space_before_colon"),
        (Self::BARE_LF, "bare_lf"),
        (Self::NUL_BYTE, "nul_byte"),
        (Self::NON_UTF8, "non_utf8"),
        (Self::DUPLICATE_HOST, "duplicate_host"),
        (Self::LONG_LINE, "long_line"),
        (Self::NO_COLON, "no_colon"),
        (Self::EMPTY_NAME, "empty_name"),
        (Self::INVALID_NAME_CHAR, "invalid_name_char"),
        (Self::TRUNCATED, "truncated"),
        (Self::LEADING_EMPTY_LINES, "leading_empty_lines"),
        (Self::IDENTITY_CAPPED, "identity_capped"),
        (Self::FOLD_AT_START, "fold_at_start"),
        (Self::BARE_CR, "bare_cr"),
        (Self::DUPLICATE_CONTENT_LENGTH, "duplicate_content_length"),
        (
            Self::CONFLICTING_CONTENT_LENGTH,
            "conflicting_content_length",
        ),
        (
            Self::CONTENT_LENGTH_WITH_TRANSFER_ENCODING,
            "content_length_with_transfer_encoding",
        ),
    ];
}

crate::vocab::flags::impl_flag_set!(HeadAnomalies, u32);

/// One identity header occurrence, borrowed from the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdentityField<'a> {
    /// Which identity header.
    pub kind: HeaderKind,
    /// The name as written (case kept, whitespace before the colon removed).
    #[serde(serialize_with = "ser_bytes")]
    pub name: &'a [u8],
    /// The value with outer whitespace trimmed. With obs-fold it spans the continuation
    /// lines, CR/LF included: consumers treat CR, LF, SP and HTAB as whitespace.
    #[serde(serialize_with = "ser_bytes")]
    pub value: &'a [u8],
    /// The value continued on obs-fold lines.
    pub folded: bool,
}

/// A parsed request head; every slice borrows from the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestHead<'a> {
    /// Request method as written.
    #[serde(serialize_with = "ser_bytes")]
    pub method: &'a [u8],
    /// Request target as written.
    #[serde(serialize_with = "ser_bytes")]
    pub target: &'a [u8],
    /// HTTP version of the request line.
    pub version: HttpVersion,
    /// First Host header value.
    #[serde(serialize_with = "ser_opt_bytes")]
    pub host: Option<&'a [u8]>,
    /// First User-Agent header value.
    #[serde(serialize_with = "ser_opt_bytes")]
    pub user_agent: Option<&'a [u8]>,
    /// Identity header occurrences in order of appearance.
    pub identity: Vec<IdentityField<'a>>,
    /// Header lines seen (continuation lines not counted).
    pub header_count: usize,
    /// Identity header occurrences beyond [`MAX_IDENTITY_FIELDS`], not stored.
    pub identity_capped: usize,
    /// A blank line ended the head.
    pub complete: bool,
    /// Bytes consumed: through the blank line, or all input when incomplete.
    pub head_len: usize,
    /// Oddities seen while scanning.
    pub anomalies: HeadAnomalies,
}

impl<'a> RequestHead<'a> {
    /// Identity fields of one kind, in order.
    pub fn fields(&self, kind: HeaderKind) -> impl Iterator<Item = &IdentityField<'a>> + '_ {
        self.identity.iter().filter(move |f| f.kind == kind)
    }
}

fn is_ows(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Validate the request line with httparse; return (method, target, version).
fn request_line(line_with_nl: &[u8]) -> Result<(usize, usize, HttpVersion), HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 0];
    let mut req = httparse::Request::new(&mut headers);
    // Only the request line is given, so httparse reports Partial after it.
    let res = req.parse(line_with_nl);
    let version = match (res, req.version) {
        (Ok(_), Some(0)) => HttpVersion::Http10,
        (Ok(_), Some(1)) => HttpVersion::Http11,
        (Err(httparse::Error::Version), _) => return Err(HeadError::BadVersion),
        (Err(httparse::Error::Token), None) if req.method.is_none() => {
            return Err(HeadError::BadMethod)
        }
        (Err(httparse::Error::Token), _) => return Err(HeadError::BadTarget),
        (Err(httparse::Error::NewLine), _) => return Err(HeadError::BadRequestLine),
        (Ok(_), None) => return Err(HeadError::RequestLineIncomplete),
        _ => return Err(HeadError::BadRequestLine),
    };
    let method_len = req.method.map_or(0, str::len);
    let target_len = req.path.map_or(0, str::len);
    Ok((method_len, target_len, version))
}

/// The framing headers of a head, for their anomalies (reassembly applies the framing).
#[derive(Default)]
struct LengthHeaders<'a> {
    /// The first Content-Length value (one list element).
    first: Option<&'a [u8]>,
    values: usize,
    conflicting: bool,
    transfer_encoding: bool,
}

impl<'a> LengthHeaders<'a> {
    fn content_length(&mut self, value: &'a [u8]) {
        for part in value.split(|&b| b == b',') {
            let part = trim_ws(part);
            self.values = self.values.saturating_add(1);
            match self.first {
                None => self.first = Some(part),
                Some(f) if !same_length(f, part) => self.conflicting = true,
                Some(_) => {}
            }
        }
    }

    fn anomalies(&self) -> u32 {
        let mut a = 0;
        if self.conflicting {
            a |= HeadAnomalies::CONFLICTING_CONTENT_LENGTH;
        } else if self.values > 1 {
            a |= HeadAnomalies::DUPLICATE_CONTENT_LENGTH;
        }
        if self.values > 0 && self.transfer_encoding {
            a |= HeadAnomalies::CONTENT_LENGTH_WITH_TRANSFER_ENCODING;
        }
        a
    }
}

/// Two Content-Length values name the same length: equal as decimal numbers (`5`, `05`),
/// else byte for byte.
fn same_length(a: &[u8], b: &[u8]) -> bool {
    let num = |v: &[u8]| -> Option<u64> {
        if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(v).ok()?.parse().ok()
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Parse a request head: `bytes` runs from the request line through the blank line, or is
/// a capped partial head. `extra_headers` are additional identity header names
/// (`--header NAME`), matched case-insensitively.
pub fn parse_request_head<'a>(
    bytes: &'a [u8],
    extra_headers: &[&[u8]],
) -> Result<RequestHead<'a>, HeadError> {
    let mut anomalies = HeadAnomalies::default();
    // Leading empty lines: RFC 7230 says servers should ignore at least one; httparse skips
    // them too. We skip and flag.
    let mut start = 0usize;
    while let Some(rest) = bytes.get(start..) {
        if rest.starts_with(b"\r\n") {
            start += 2;
        } else if rest.starts_with(b"\n") {
            start += 1;
        } else {
            break;
        }
    }
    if start > 0 {
        anomalies.set(HeadAnomalies::LEADING_EMPTY_LINES);
    }
    let body = bytes.get(start..).unwrap_or_default();
    if body.is_empty() {
        return Err(HeadError::Empty);
    }
    let nl = memchr::memchr(b'\n', body).ok_or(HeadError::RequestLineIncomplete)?;
    let line_with_nl = body.get(..=nl).unwrap_or_default();
    let (method_len, target_len, version) = match request_line(line_with_nl) {
        Ok(v) => v,
        Err(HeadError::BadTarget) if !line_with_nl.is_ascii() => {
            // httparse rejects non-UTF-8 targets. A raw byte >= 0x80 in a target is an
            // oddity to report, not a reason to drop the request: validate a copy with
            // those bytes masked (rare path, so the copy is acceptable).
            if line_with_nl.len() > MAX_REQUEST_LINE_RETRY {
                return Err(HeadError::BadTarget);
            }
            let masked: Vec<u8> = line_with_nl
                .iter()
                .map(|&b| if b >= 0x80 { b'a' } else { b })
                .collect();
            request_line(&masked)?
        }
        Err(e) => return Err(e),
    };
    let method = body.get(..method_len).unwrap_or_default();
    let target_start = method_len.saturating_add(1);
    let target = body
        .get(target_start..target_start.saturating_add(target_len))
        .unwrap_or_default();
    if !line_with_nl.ends_with(b"\r\n") {
        anomalies.set(HeadAnomalies::BARE_LF);
    }
    if line_with_nl.len() > MAX_LINE_LEN {
        anomalies.set(HeadAnomalies::LONG_LINE);
    }

    // Whole-head checks, both linear and vectorised.
    if memchr::memchr(0, bytes).is_some() {
        anomalies.set(HeadAnomalies::NUL_BYTE);
    }

    let mut head = RequestHead {
        method,
        target,
        version,
        host: None,
        user_agent: None,
        identity: Vec::new(),
        header_count: 0,
        identity_capped: 0,
        complete: false,
        head_len: bytes.len(),
        anomalies,
    };

    // What the previous header line was, so an obs-fold line can extend its value.
    enum Last {
        None,
        Identity(usize),
        Host,
        UserAgent,
        Other,
    }
    let mut last = Last::None;
    let mut host_seen = false;
    let mut lengths = LengthHeaders::default();
    let mut pos = start.saturating_add(nl).saturating_add(1);
    while let Some(rest) = bytes.get(pos..) {
        if rest.is_empty() {
            head.anomalies.set(HeadAnomalies::TRUNCATED);
            break;
        }
        let Some(line_nl) = memchr::memchr(b'\n', rest) else {
            // An unterminated last line of a partial head: it may be cut mid-value
            // (`1.2.3.45` cut to `1.2.3.4`), so it is never parsed as a header.
            head.anomalies.set(HeadAnomalies::TRUNCATED);
            break;
        };
        let line_start = pos;
        let mut line = rest.get(..line_nl).unwrap_or_default();
        pos = pos.saturating_add(line_nl).saturating_add(1);
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        } else {
            head.anomalies.set(HeadAnomalies::BARE_LF);
        }
        if line.len() > MAX_LINE_LEN {
            head.anomalies.set(HeadAnomalies::LONG_LINE);
        }
        if line.is_empty() {
            head.complete = true;
            head.head_len = pos;
            break;
        }
        if memchr::memchr(b'\r', line).is_some() {
            head.anomalies.set(HeadAnomalies::BARE_CR);
        }
        let line_end = line_start.saturating_add(line.len());
        if line.first().copied().is_some_and(is_ows) {
            // obs-fold: extend the previous value through this line.
            head.anomalies.set(HeadAnomalies::OBS_FOLD);
            let extend = |v: &mut &'a [u8]| {
                // `v` borrows from `bytes` (callers check it is non-empty).
                let vs = (v.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize);
                if let Some(extended) = vs.and_then(|vs| bytes.get(vs..line_end)) {
                    *v = trim_ws(extended);
                }
            };
            match last {
                Last::None => head.anomalies.set(HeadAnomalies::FOLD_AT_START),
                Last::Identity(i) => {
                    if let Some(f) = head.identity.get_mut(i) {
                        if f.value.is_empty() {
                            // Nothing to anchor on yet: the value starts on this line.
                            f.value = trim_ws(line);
                        } else {
                            extend(&mut f.value);
                        }
                        f.folded = true;
                    }
                }
                Last::Host => {
                    if let Some(h) = head.host.as_mut() {
                        if h.is_empty() {
                            *h = trim_ws(line);
                        } else {
                            extend(h);
                        }
                    }
                }
                Last::UserAgent => {
                    if let Some(h) = head.user_agent.as_mut() {
                        if h.is_empty() {
                            *h = trim_ws(line);
                        } else {
                            extend(h);
                        }
                    }
                }
                Last::Other => {}
            }
            continue;
        }
        head.header_count = head.header_count.saturating_add(1);
        last = Last::Other;
        let Some(colon) = memchr::memchr(b':', line) else {
            head.anomalies.set(HeadAnomalies::NO_COLON);
            continue;
        };
        let raw_name = line.get(..colon).unwrap_or_default();
        let mut name = raw_name;
        while let [rest @ .., b] = name {
            if is_ows(*b) {
                name = rest;
            } else {
                break;
            }
        }
        if name.len() != raw_name.len() {
            head.anomalies.set(HeadAnomalies::SPACE_BEFORE_COLON);
        }
        if name.is_empty() {
            head.anomalies.set(HeadAnomalies::EMPTY_NAME);
            continue;
        }
        if !name.iter().all(|&b| is_token(b)) {
            head.anomalies.set(HeadAnomalies::INVALID_NAME_CHAR);
        }
        let value = trim_ws(line.get(colon.saturating_add(1)..).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"content-length") {
            lengths.content_length(value);
            continue;
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            lengths.transfer_encoding = true;
            continue;
        }
        if name.eq_ignore_ascii_case(b"host") {
            if host_seen {
                head.anomalies.set(HeadAnomalies::DUPLICATE_HOST);
            } else {
                host_seen = true;
                head.host = Some(value);
                last = Last::Host;
            }
            continue;
        }
        if name.eq_ignore_ascii_case(b"user-agent") {
            if head.user_agent.is_none() {
                head.user_agent = Some(value);
                last = Last::UserAgent;
            }
            continue;
        }
        if let Some(kind) = classify_header_name(name, extra_headers) {
            if head.identity.len() >= MAX_IDENTITY_FIELDS {
                head.identity_capped = head.identity_capped.saturating_add(1);
                head.anomalies.set(HeadAnomalies::IDENTITY_CAPPED);
                continue;
            }
            last = Last::Identity(head.identity.len());
            head.identity.push(IdentityField {
                kind,
                name,
                value,
                folded: false,
            });
        }
    }
    head.anomalies.set(lengths.anomalies());
    let examined = bytes.get(..head.head_len).unwrap_or_default();
    if std::str::from_utf8(examined).is_err() {
        head.anomalies.set(HeadAnomalies::NON_UTF8);
    }
    Ok(head)
}

#[cfg(test)]
mod tests;
