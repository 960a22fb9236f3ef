//! Client -> server TCP byte streams turned into complete HTTP/1.x request heads.
//!
//! [`HeadAssembler`] takes TCP segments in capture order and emits one [`HeadEvent`] per
//! request head (request line through the blank line), with the raw PROXY protocol
//! preamble of the connection when there is one. It follows message framing
//! (Content-Length and chunked bodies are skipped, never scanned for heads), repairs
//! a bounded amount of reordering, drops retransmitted bytes, and counts every byte it
//! cannot account for in [`ReassemblyStats`]. It does not parse header values beyond
//! the two framing headers.
//!
//! # Which side is the client
//! Only client -> server streams are reassembled; the other direction costs one map
//! lookup and is ignored. Per directed 5-tuple, in this order:
//! 1. A SYN without ACK makes its direction the client (authoritative: it replaces any
//!    earlier guess about the reverse direction).
//! 2. A SYN+ACK makes the *reverse* direction the client; its first payload is the start
//!    of the client stream.
//! 3. A direction whose reverse is already tracked is the server side.
//! 4. Otherwise (capture started mid-connection) a first payload that begins with a
//!    PROXY signature or a complete, valid request line (or a known method and SP when the
//!    line is longer than the segment) makes its direction the client, flagged
//!    `midstream_start`. A payload starting `HTTP/` is a response and ignored. Any other
//!    payload is searched for a request line at line starts; if none is found the segment
//!    is counted and no state is created, so a server direction that merely looks odd
//!    never claims a connection.
//!
//! # Event order
//! Events come out in the order of the input packet that completes them (for a head
//! completed by draining buffered out-of-order segments: the packet that filled the
//! hole), and within one packet in stream order. Flows closed together (idle sweep,
//! [`HeadAssembler::finish`]) are flushed in flow creation order. The caller sorts by
//! first-byte time later if it wants.
//!
//! # Bounds
//! Per flow: the head buffer ([`ReassemblyConfig::max_head_bytes`]), the out-of-order
//! segments and bytes. Globally: the number of tracked flows and every byte they cost
//! (table slot, state, buffer capacities); over either cap, the least recently active flow
//! (CLOCK approximation over creation order, independent of the hash seed) is closed.
//! Idle flows (by packet timestamps) are closed after
//! [`ReassemblyConfig::idle_timeout_ns`]. A closed flow's unfinished head is emitted as a
//! `partial` event; buffered out-of-order data is salvaged across a counted gap first.
//!
//! # Known limits
//! - A payload cut by the snap length looks like a hole: it becomes a counted gap.
//! - After a gap, a cap or invalid framing, heads are found again by searching line
//!   starts for a complete `UPPER-CASE-METHOD SP target SP HTTP/1.x` line: a body that
//!   contains such a line at the right place can produce a false head (flagged
//!   `gap_before`, or `midstream_start` for a flow seen without its SYN).
//! - `Expect: 100-continue` refused by the server (no body sent) desynchronises the
//!   flow until the next resync point; the server side is not consulted.
//! - When only the SYN+ACK was captured, the client's first segment seen fixes the
//!   stream start; an earlier segment arriving later is taken as a retransmission.
//! - No export/import of unfinished flows for chunk stitching yet.

use crate::collections::hashing::HashMap;
use crate::decode::{FiveTuple, IpProto, Packet, TcpFlags};
use memchr::memchr;
use serde::Serialize;
use std::collections::VecDeque;

/// Seeded per process: flow keys are chosen by whoever sent the packets.
type FlowMap = HashMap<FiveTuple, Flow>;

/// One TCP segment as the assembler needs it (borrowed payload).
#[derive(Debug, Clone, Copy)]
pub struct SegmentMeta<'a> {
    pub ts_ns: i64,
    /// Index of the packet in the capture (carried to the events, not interpreted).
    pub packet_index: u64,
    pub flow: FiveTuple,
    pub seq: u32,
    pub flags: TcpFlags,
    /// Captured payload. A payload cut by the snap length shows up as a later gap.
    pub payload: &'a [u8],
}

impl<'a> SegmentMeta<'a> {
    /// The segment of a decoded TCP packet (None for anything else).
    pub fn from_packet(pkt: &Packet<'a>, packet_index: u64) -> Option<SegmentMeta<'a>> {
        let tcp = pkt.tcp()?;
        Some(SegmentMeta {
            ts_ns: pkt.ts_ns,
            packet_index,
            flow: pkt.five_tuple()?,
            seq: tcp.seq,
            flags: tcp.flags,
            payload: tcp.payload,
        })
    }
}

/// Per-event flags. Connection-level ones (`midstream_start`, `preamble_invalid`) are set
/// on every event of the connection; the others describe what happened since the
/// previous event of the same connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct HeadFlags {
    /// The head did not end with a blank line (flow ended, gap, or cap).
    pub partial: bool,
    /// The head hit `max_head_bytes`; `head` holds its first `max_head_bytes` bytes.
    pub capped: bool,
    /// Bytes were missing from the stream since the previous head.
    pub gap_before: bool,
    /// Out-of-order segments were put back in order since the previous head.
    pub out_of_order_repaired: bool,
    /// Retransmitted or overlapping bytes were dropped since the previous head.
    pub retransmission_seen: bool,
    /// No SYN was seen for this connection: the stream start is a guess.
    pub midstream_start: bool,
    /// The PROXY preamble is malformed (v1 without CRLF in 107 bytes or ended by a bare
    /// LF, v2 bad version or command or a length running past a request line, cut by a
    /// gap / flow end, or repeated later in the stream). The caller also sets it when
    /// the preamble does not parse.
    pub preamble_invalid: bool,
    /// Since the previous head, a copy of stream bytes arrived that disagrees with the
    /// copy already taken (a retransmission or overlapping segment with other bytes).
    /// The first copy wins, as in Linux; see [`Recent`].
    pub overlap_conflict: bool,
}

impl HeadFlags {
    fn union(self, o: HeadFlags) -> HeadFlags {
        HeadFlags {
            partial: self.partial | o.partial,
            capped: self.capped | o.capped,
            gap_before: self.gap_before | o.gap_before,
            out_of_order_repaired: self.out_of_order_repaired | o.out_of_order_repaired,
            retransmission_seen: self.retransmission_seen | o.retransmission_seen,
            midstream_start: self.midstream_start | o.midstream_start,
            preamble_invalid: self.preamble_invalid | o.preamble_invalid,
            overlap_conflict: self.overlap_conflict | o.overlap_conflict,
        }
    }
}

/// One request head found in a client stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadEvent {
    /// Client -> server 5-tuple.
    pub flow: FiveTuple,
    /// Timestamp of the packet that carried the head's first byte.
    pub ts_ns: i64,
    /// Index of the packet that carried the head's first byte.
    pub packet_index: u64,
    /// TCP sequence number of the head's first byte.
    pub seq: u32,
    /// Offset of the head's first byte in the client stream (0 = first byte after the
    /// SYN, or the first byte tracked for a midstream flow; gaps count).
    pub stream_offset: u64,
    /// Request line through the terminating blank line (or what there was, if partial).
    pub head: Vec<u8>,
    /// Raw PROXY v1/v2 bytes at the start of this connection (same for every request).
    pub proxy_preamble: Option<Vec<u8>>,
    /// 1 for the first request seen on the connection, then 2, 3, ...
    pub ordinal: u32,
    pub flags: HeadFlags,
}

/// Limits. Defaults suit a 100 GB capture on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Longest head kept; longer heads are emitted `capped` and the flow resynchronises.
    pub max_head_bytes: usize,
    /// Out-of-order segments buffered per flow before the hole is declared a gap.
    pub max_ooo_segments: usize,
    /// Out-of-order bytes buffered per flow before the hole is declared a gap.
    pub max_ooo_bytes: usize,
    /// Tracked flows (including small tombstones for closed / non-HTTP flows).
    pub max_flows: usize,
    /// Bytes all tracked flows cost: table slots, per-flow state, head buffers,
    /// out-of-order data and preambles (allocated capacities), and the eviction queue.
    /// The default (256 MiB) leaves room under 512 MiB for the rest of a run (reorder
    /// buffer, in-flight chunks, allocator slack).
    pub max_total_bytes: usize,
    /// A flow without packets for this long (by capture time) is closed.
    pub idle_timeout_ns: i64,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_head_bytes: 64 * 1024,
            max_ooo_segments: 8,
            max_ooo_bytes: 256 * 1024,
            max_flows: 1 << 20,
            max_total_bytes: 256 << 20,
            idle_timeout_ns: 300 * 1_000_000_000,
        }
    }
}

/// Every segment, byte, flow and head the assembler could not handle normally.
/// Field names are the stable snake_case counter names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReassemblyStats {
    pub segments: u64,
    pub payload_bytes: u64,
    pub non_tcp_segments: u64,
    /// Segments of the server -> client direction (ignored by design).
    pub server_side_segments: u64,
    /// Payload segments starting `HTTP/` on a flow with no state (responses).
    pub response_segments_ignored: u64,
    /// Segments on no tracked flow, with no request line found (midstream, no sync).
    pub unsynced_segments: u64,
    pub unsynced_bytes: u64,
    pub flows_created: u64,
    pub flows_with_syn: u64,
    pub flows_midstream: u64,
    pub syn_retransmissions: u64,
    /// A new SYN on a 5-tuple that still had state (port reuse).
    pub connections_replaced: u64,
    /// A SYN contradicted an earlier guess of which side is the client.
    pub direction_corrections: u64,
    pub heads_complete: u64,
    pub heads_partial: u64,
    pub heads_capped: u64,
    pub retransmitted_segments: u64,
    pub retransmitted_bytes: u64,
    /// Segments carrying a copy of stream bytes that disagrees with the copy taken.
    pub overlap_conflicts: u64,
    pub overlap_conflict_bytes: u64,
    /// Overlapping bytes further back than the kept window ([`RECENT_BYTES`]): not
    /// compared.
    pub overlap_unchecked_bytes: u64,
    /// A disagreeing copy starting a request where the first copy, at the same message
    /// start, made no request (stray bytes): the stream was taken from the new copy.
    pub overlap_rewinds: u64,
    pub ooo_segments_buffered: u64,
    pub ooo_segments_repaired: u64,
    /// Out-of-order buffer over its caps: the hole was declared a gap.
    pub ooo_cap_gaps: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Gaps that fell inside a body of known length: framing survived.
    pub gaps_inside_body: u64,
    pub body_bytes_skipped: u64,
    /// Empty lines before a request line (allowed by RFC 9112 section 2.2).
    pub empty_line_bytes_skipped: u64,
    pub preambles_v1: u64,
    pub preambles_v2: u64,
    pub preambles_invalid: u64,
    /// PROXY headers at a message boundary after the stream start (skipped, also in
    /// `preambles_invalid`).
    pub preambles_repeated: u64,
    /// Flows whose stream is not HTTP/1.x at a message boundary (tracking stopped).
    pub not_http_flows: u64,
    /// CONNECT requests: the stream after the head is a tunnel (tracking stopped).
    pub connect_tunnels: u64,
    /// Invalid or conflicting Content-Length / Transfer-Encoding.
    pub framing_errors: u64,
    /// Heads with differing Content-Length values (also in `framing_errors`): the next
    /// request line was searched for anywhere, not only at line starts.
    pub conflicting_content_lengths: u64,
    pub chunked_framing_errors: u64,
    /// Times a flow lost message framing and started searching for a request line.
    pub resyncs: u64,
    pub resync_heads_found: u64,
    pub resync_bytes_skipped: u64,
    /// Segments on flows no longer tracked (not HTTP, tunnel, closed).
    pub segments_on_dead_flows: u64,
    /// Out-of-order bytes buffered for a flow that then turned out not to be HTTP.
    pub ooo_bytes_discarded: u64,
    pub flows_ended_fin: u64,
    pub flows_ended_rst: u64,
    pub flows_timed_out: u64,
    pub flows_evicted_flow_cap: u64,
    pub flows_evicted_byte_cap: u64,
    pub flows_open_at_finish: u64,
}

// ---------------------------------------------------------------------------------
// Byte-level helpers (pure functions, shared with the tests' expectations).

const PP2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const PP1_MAX: usize = 107;
/// Longest method token accepted (generic methods are tokens; real ones are short).
const MAX_METHOD: usize = 32;
const MAX_CHUNK_LINE_EXT: u32 = 4096;
/// Longest candidate request line buffered while resynchronising.
const MAX_RESYNC_LINE: usize = 8192;
const MAX_TRAILER_BYTES: u32 = 64 * 1024;
const KNOWN_METHODS: [&[u8]; 9] = [
    b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

#[inline]
fn is_tchar(b: u8) -> bool {
    // RFC 9110 token characters.
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[derive(Debug, PartialEq, Eq)]
enum PreambleCheck {
    NotPreamble,
    NeedMore,
    /// Length of the preamble, and whether it is malformed.
    Complete(usize, bool),
}

/// PROXY protocol preamble at the start of `b`.
fn check_preamble(b: &[u8]) -> PreambleCheck {
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

#[derive(Debug, PartialEq, Eq)]
enum HeadScan {
    Complete(usize),
    Incomplete,
    NotHttp,
}

/// Does `line` (without its LF; a trailing CR is allowed) look like `METHOD SP target SP HTTP/1.x`?
fn valid_request_line(line: &[u8], strict_method: bool) -> bool {
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
fn scan_head(h: &[u8], from: usize, line1_done: &mut bool) -> HeadScan {
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
fn resume_from(len: usize, line1_done: bool) -> usize {
    if line1_done {
        len.saturating_sub(2)
    } else {
        len
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    Tunnel,
    Invalid,
    /// Content-Length values that differ: neither is trusted.
    Conflicting,
}

/// Message body framing of a complete request head (RFC 9112 section 6).
fn framing(head: &[u8]) -> Framing {
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

fn trim_ows(b: &[u8]) -> &[u8] {
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

fn parse_decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(c - b'0')))
            .flatten()
    })
}

/// Finds a plausible request-line start in `d` for resynchronisation: at 0 if
/// `at_line_start`, else after an LF; the whole line must be in `d`.
fn find_resync(d: &[u8], at_line_start: bool) -> Option<usize> {
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
fn find_request_anywhere(d: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(lf) = memchr(b'\n', d.get(start..).unwrap_or_default()).map(|i| start + i) {
        if let Some(k) = request_start_in_line(&d[start..lf]) {
            return Some(start + k);
        }
        start = lf + 1;
    }
    None
}

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
fn plausible_line_prefix(b: &[u8]) -> bool {
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

/// A first payload on an unknown flow that may start a client stream.
fn plausible_stream_start(d: &[u8]) -> bool {
    if check_preamble(d) != PreambleCheck::NotPreamble {
        return true;
    }
    match memchr(b'\n', d) {
        Some(lf) => valid_request_line(&d[..lf], false),
        None => KNOWN_METHODS
            .iter()
            .any(|m| d.len() > m.len() && d.starts_with(m) && d[m.len()] == b' '),
    }
}

// ---------------------------------------------------------------------------------
// Per-flow state.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Chunk-size line: `value` so far; `rest` once past the digits (extensions, CR).
    Size {
        value: u64,
        digits: u8,
        rest: bool,
        rest_len: u32,
    },
    Data(u64),
    DataCr,
    DataLf,
    Trailer {
        line_len: u32,
        total: u32,
    },
}

const CHUNK_SIZE_START: Chunk = Chunk::Size {
    value: 0,
    digits: 0,
    rest: false,
    rest_len: 0,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dead {
    NotHttp,
    Tunnel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Start of stream: a PROXY preamble may come first (bytes buffered in `buf`).
    Preamble,
    /// At a message boundary (buf empty) or inside a head (buf holds it).
    Head,
    Body(u64),
    Chunked(Chunk),
    /// Framing lost: looking for a request line at line starts.
    Resync {
        at_line_start: bool,
    },
    Dead(Dead),
}

struct Ooo {
    seq: u32,
    ts_ns: i64,
    packet_index: u64,
    data: Vec<u8>,
}

/// Stream bytes kept per flow to compare a later copy of them against.
const RECENT_BYTES: usize = 2048;

/// The last [`RECENT_BYTES`] bytes taken into a flow's stream (ending at `next_seq`), so
/// a retransmission or overlapping segment can be checked against the copy taken. First
/// copy wins, as in Linux: bytes already in the stream are never replaced, and a segment
/// buffered out of order keeps its bytes against a later in-order copy; a disagreeing
/// copy is flagged `overlap_conflict` and counted. Grows to its size, then wraps.
#[derive(Default)]
struct Recent {
    data: Vec<u8>,
    /// Next write position; equals `data.len()` until the buffer is full.
    head: usize,
}

impl Recent {
    fn push(&mut self, b: &[u8]) {
        let mut b = &b[b.len().saturating_sub(RECENT_BYTES)..];
        if self.data.len() < RECENT_BYTES {
            let take = (RECENT_BYTES - self.data.len()).min(b.len());
            if self.data.capacity() < self.data.len() + take {
                // Exact growth, doubling, never past the window.
                let want = (self.data.len() + take)
                    .max(2 * self.data.capacity())
                    .min(RECENT_BYTES);
                self.data.reserve_exact(want - self.data.len());
            }
            self.data.extend_from_slice(&b[..take]);
            self.head = self.data.len() % RECENT_BYTES;
            b = &b[take..];
        }
        if b.is_empty() {
            return;
        }
        // Full: overwrite the oldest bytes, in two copies around the wrap.
        let first = (RECENT_BYTES - self.head).min(b.len());
        let (now, wrapped) = b.split_at(first);
        self.data[self.head..self.head + first].copy_from_slice(now);
        self.data[..wrapped.len()].copy_from_slice(wrapped);
        self.head = (self.head + b.len()) % RECENT_BYTES;
    }

    /// The byte `back` positions before the end (1 = the last byte), if kept.
    fn back(&self, back: usize) -> Option<u8> {
        let n = self.data.len();
        if back == 0 || back > n {
            return None;
        }
        self.data.get((self.head + n - back) % n).copied()
    }

    fn clear(&mut self) {
        self.data.clear();
        self.head = 0;
    }

    fn held(&self) -> usize {
        self.data.capacity()
    }
}

/// A message start in the stream with no head emitted since, where a disagreeing copy
/// that starts a request may replace stray bytes taken first (see `Live::rewind`).
#[derive(Clone, Copy)]
struct Boundary {
    seq: u32,
    stream_pos: u64,
    /// The phase to restart in: the stream start may still hold a PROXY preamble.
    preamble: bool,
}

struct Live {
    /// Sequence number of the next expected byte (meaningless until `seq_known`).
    next_seq: u32,
    seq_known: bool,
    stream_pos: u64,
    syn_seq: Option<u32>,
    phase: Phase,
    buf: Vec<u8>,
    scan_from: usize,
    line1_done: bool,
    head_ts: i64,
    head_pkt: u64,
    head_seq: u32,
    head_pos: u64,
    ooo: Vec<Ooo>,
    ooo_bytes: usize,
    preamble: Option<Vec<u8>>,
    conn_flags: HeadFlags,
    pending: HeadFlags,
    ordinal: u32,
    fin_at: Option<u32>,
    /// Resynchronising after a message whose length is unknown: a request line may
    /// start anywhere in a line (a body without a line end runs into it), not only at
    /// line starts.
    resync_anywhere: bool,
    recent: Recent,
    boundary: Option<Boundary>,
}

enum Kind {
    Live(Box<Live>),
    /// Not HTTP or a tunnel: absorb packets cheaply until timeout.
    Dead,
    /// Ended by FIN/RST: absorbs retransmissions; a new SYN replaces it.
    Closed {
        syn_seq: Option<u32>,
    },
}

struct Flow {
    id: u64,
    touched: bool,
    last_ts: i64,
    kind: Kind,
}

/// What the per-flow code needs from the assembler.
struct Ctx<'c> {
    flow: FiveTuple,
    cfg: &'c ReassemblyConfig,
    stats: &'c mut ReassemblyStats,
    out: &'c mut dyn FnMut(HeadEvent),
}

#[derive(Clone, Copy)]
struct SegPos {
    ts_ns: i64,
    packet_index: u64,
}

impl Live {
    fn new(next_seq: u32, seq_known: bool, syn_seq: Option<u32>, midstream: bool) -> Live {
        Live {
            next_seq,
            seq_known,
            stream_pos: 0,
            syn_seq,
            phase: Phase::Preamble,
            buf: Vec::new(),
            scan_from: 0,
            line1_done: false,
            head_ts: 0,
            head_pkt: 0,
            head_seq: 0,
            head_pos: 0,
            ooo: Vec::new(),
            ooo_bytes: 0,
            preamble: None,
            conn_flags: HeadFlags {
                midstream_start: midstream,
                ..HeadFlags::default()
            },
            pending: HeadFlags::default(),
            ordinal: 0,
            fin_at: None,
            resync_anywhere: false,
            recent: Recent::default(),
            boundary: None,
        }
    }

    /// Heap bytes this connection's state costs: the boxed struct and the allocations
    /// (capacities, not lengths) of its head buffer, preamble, out-of-order list and the
    /// window of recent bytes kept to compare overlapping copies.
    /// Out-of-order payloads are exact-size copies, so `ooo_bytes` is their capacity.
    fn held(&self) -> usize {
        heap_block(size_of::<Live>())
            + heap_block(self.buf.capacity())
            + self
                .preamble
                .as_ref()
                .map_or(0, |p| heap_block(p.capacity()))
            + heap_block(self.ooo.capacity() * size_of::<Ooo>())
            + self.ooo_bytes
            + self.ooo.len() * MALLOC_OVERHEAD
            + heap_block(self.recent.held())
    }

    fn is_dead(&self) -> bool {
        matches!(self.phase, Phase::Dead(_))
    }

    fn advance(&mut self, n: usize) {
        self.next_seq = self.next_seq.wrapping_add(n as u32);
        self.stream_pos += n as u64;
    }

    fn mark_head_start(&mut self, pos: SegPos) {
        self.head_ts = pos.ts_ns;
        self.head_pkt = pos.packet_index;
        self.head_seq = self.next_seq;
        self.head_pos = self.stream_pos;
    }

    fn emit(&mut self, head: &[u8], extra: HeadFlags, ctx: &mut Ctx<'_>) {
        self.ordinal = self.ordinal.saturating_add(1);
        self.boundary = None;
        let flags = self.conn_flags.union(self.pending).union(extra);
        self.pending = HeadFlags::default();
        (ctx.out)(HeadEvent {
            flow: ctx.flow,
            ts_ns: self.head_ts,
            packet_index: self.head_pkt,
            seq: self.head_seq,
            stream_offset: self.head_pos,
            head: head.to_vec(),
            proxy_preamble: self.preamble.clone(),
            ordinal: self.ordinal,
            flags,
        });
    }

    fn start_resync(&mut self, ctx: &mut Ctx<'_>, at_line_start: bool) {
        ctx.stats.resyncs += 1;
        self.resync_anywhere = false;
        self.boundary = None;
        self.buf.clear();
        self.line1_done = false;
        self.scan_from = 0;
        self.phase = Phase::Resync { at_line_start };
    }

    /// Body framing after a complete head.
    fn after_head(&mut self, f: Framing, ctx: &mut Ctx<'_>) {
        self.phase = match f {
            Framing::None => Phase::Head,
            Framing::Length(n) => Phase::Body(n),
            Framing::Chunked => Phase::Chunked(CHUNK_SIZE_START),
            Framing::Tunnel => {
                ctx.stats.connect_tunnels += 1;
                Phase::Dead(Dead::Tunnel)
            }
            Framing::Invalid => {
                ctx.stats.framing_errors += 1;
                self.start_resync(ctx, true);
                return;
            }
            Framing::Conflicting => {
                // A careful server refuses the message; we cannot know how much body the
                // client sent, so neither length is followed: the next request line is
                // searched for wherever it starts.
                ctx.stats.framing_errors += 1;
                ctx.stats.conflicting_content_lengths += 1;
                self.start_resync(ctx, true);
                self.resync_anywhere = true;
                return;
            }
        };
    }

    /// Consumes in-order bytes `d` that start at `next_seq`.
    fn consume(&mut self, mut d: &[u8], pos: SegPos, ctx: &mut Ctx<'_>) {
        while !d.is_empty() {
            if self.boundary.is_none() && self.buf.is_empty() {
                let preamble = self.phase == Phase::Preamble;
                if preamble || self.phase == Phase::Head {
                    self.boundary = Some(Boundary {
                        seq: self.next_seq,
                        stream_pos: self.stream_pos,
                        preamble,
                    });
                }
            }
            let used = match self.phase {
                Phase::Dead(_) => return,
                Phase::Preamble => self.step_preamble(d, pos, ctx),
                Phase::Head => self.step_head(d, pos, ctx),
                Phase::Body(rem) => {
                    let k = rem.min(d.len() as u64) as usize;
                    ctx.stats.body_bytes_skipped += k as u64;
                    let left = rem - k as u64;
                    self.phase = if left == 0 {
                        Phase::Head
                    } else {
                        Phase::Body(left)
                    };
                    k
                }
                Phase::Chunked(c) => self.step_chunked(c, d, ctx),
                Phase::Resync { at_line_start } => self.step_resync(d, at_line_start, pos, ctx),
            };
            self.recent.push(&d[..used]);
            self.advance(used);
            d = &d[used..];
        }
    }

    /// Framing is lost: look for a request line at line starts. A candidate line that
    /// continues in a later segment is kept in `buf` (bounded) until its LF arrives.
    fn step_resync(
        &mut self,
        d: &[u8],
        at_line_start: bool,
        pos: SegPos,
        ctx: &mut Ctx<'_>,
    ) -> usize {
        let max_line = ctx.cfg.max_head_bytes.clamp(1, MAX_RESYNC_LINE);
        let old = self.buf.len();
        if old > 0 {
            return match memchr(b'\n', d) {
                Some(i) => {
                    self.buf.extend_from_slice(&d[..i]);
                    if valid_request_line(&self.buf, true) {
                        // The head started in an earlier segment (position recorded
                        // then); the head step re-appends from `d`.
                        self.buf.truncate(old);
                        self.resync_anywhere = false;
                        ctx.stats.resync_heads_found += 1;
                        self.phase = Phase::Head;
                        self.line1_done = false;
                        self.scan_from = 0;
                        0
                    } else {
                        ctx.stats.resync_bytes_skipped += (old + i + 1) as u64;
                        self.buf.clear();
                        self.phase = Phase::Resync {
                            at_line_start: true,
                        };
                        i + 1
                    }
                }
                None => {
                    self.buf.extend_from_slice(d);
                    if self.buf.len() > max_line || !plausible_line_prefix(&self.buf) {
                        ctx.stats.resync_bytes_skipped += self.buf.len() as u64;
                        self.buf.clear();
                        self.phase = Phase::Resync {
                            at_line_start: false,
                        };
                    }
                    d.len()
                }
            };
        }
        let found = if self.resync_anywhere {
            // A segment's first byte is a plausible message start too.
            find_request_anywhere(d)
        } else {
            find_resync(d, at_line_start)
        };
        if let Some(k) = found {
            ctx.stats.resync_bytes_skipped += k as u64;
            ctx.stats.resync_heads_found += 1;
            self.resync_anywhere = false;
            self.phase = Phase::Head;
            return k;
        }
        let tail = match memchr::memrchr(b'\n', d) {
            Some(i) => Some(i + 1),
            None if at_line_start => Some(0),
            None => None,
        };
        match tail {
            Some(t) if t < d.len() && d.len() - t <= max_line && plausible_line_prefix(&d[t..]) => {
                ctx.stats.resync_bytes_skipped += t as u64;
                self.head_ts = pos.ts_ns;
                self.head_pkt = pos.packet_index;
                self.head_seq = self.next_seq.wrapping_add(t as u32);
                self.head_pos = self.stream_pos + t as u64;
                self.buf.extend_from_slice(&d[t..]);
            }
            _ => {
                ctx.stats.resync_bytes_skipped += d.len() as u64;
                self.phase = Phase::Resync {
                    at_line_start: d.last() == Some(&b'\n'),
                };
            }
        }
        d.len()
    }

    fn step_preamble(&mut self, d: &[u8], pos: SegPos, ctx: &mut Ctx<'_>) -> usize {
        let old = self.buf.len();
        let check = if old == 0 {
            check_preamble(d)
        } else {
            // Rare path: the preamble spans segments. Both versions are bounded
            // (107 and 16 + 65535 bytes), so the buffer is too.
            self.buf.extend_from_slice(d);
            check_preamble(&self.buf)
        };
        match check {
            PreambleCheck::NotPreamble => {
                self.phase = Phase::Head;
                self.line1_done = false;
                self.scan_from = 0;
                if old > 0 {
                    // The buffered prefix ("P", "\r\n\r"...) starts a head after all:
                    // keep it as the head so far, minus empty lines, and let the head
                    // step append `d` (none of `d` is consumed here).
                    self.buf.truncate(old);
                    let skip = self
                        .buf
                        .iter()
                        .position(|&c| c != b'\r' && c != b'\n')
                        .unwrap_or(old);
                    ctx.stats.empty_line_bytes_skipped += skip as u64;
                    self.buf.drain(..skip);
                    let kept = self.buf.len();
                    self.head_seq = self.next_seq.wrapping_sub(kept as u32);
                    self.head_pos = self.stream_pos.saturating_sub(kept as u64);
                }
                0
            }
            PreambleCheck::NeedMore => {
                if old == 0 {
                    self.mark_head_start(pos);
                    self.buf.extend_from_slice(d);
                }
                d.len()
            }
            PreambleCheck::Complete(len, bad) => {
                let bytes = if old == 0 {
                    d[..len].to_vec()
                } else {
                    let v = self.buf[..len].to_vec();
                    self.buf.clear();
                    v
                };
                let v1 = bytes.starts_with(b"PROXY ");
                let line_ended = bytes.contains(&b'\n');
                if v1 {
                    ctx.stats.preambles_v1 += 1;
                } else {
                    ctx.stats.preambles_v2 += 1;
                }
                self.preamble = Some(bytes);
                self.phase = Phase::Head;
                // The proxy's header came first: nothing rewinds across it.
                self.boundary = None;
                if bad {
                    ctx.stats.preambles_invalid += 1;
                    self.conn_flags.preamble_invalid = true;
                    if v1 && !line_ended {
                        // A v1 line without a line end: where it ends is unknown.
                        self.start_resync(ctx, false);
                    }
                }
                len.saturating_sub(old)
            }
        }
    }

    fn step_head(&mut self, d: &[u8], pos: SegPos, ctx: &mut Ctx<'_>) -> usize {
        let cap = ctx.cfg.max_head_bytes.max(1);
        if self.buf.is_empty() {
            if let Some(n) = self.repeated_preamble(d, ctx) {
                return n;
            }
            // Message boundary: tolerate empty lines before the request line.
            let skip = d
                .iter()
                .position(|&c| c != b'\r' && c != b'\n')
                .unwrap_or(d.len());
            if skip > 0 {
                ctx.stats.empty_line_bytes_skipped += skip as u64;
                return skip;
            }
            self.mark_head_start(pos);
            self.line1_done = false;
            // Fast path: scan the payload in place; copy only if the head continues.
            let view = &d[..d.len().min(cap)];
            match scan_head(view, 0, &mut self.line1_done) {
                HeadScan::Complete(n) => {
                    ctx.stats.heads_complete += 1;
                    self.emit(&view[..n], HeadFlags::default(), ctx);
                    let f = framing(&view[..n]);
                    self.after_head(f, ctx);
                    n
                }
                HeadScan::NotHttp => self.not_http(ctx),
                HeadScan::Incomplete if view.len() >= cap => self.capped(view, ctx),
                HeadScan::Incomplete => {
                    self.buf.extend_from_slice(view);
                    self.scan_from = resume_from(view.len(), self.line1_done);
                    view.len()
                }
            }
        } else {
            let old = self.buf.len();
            let take = d.len().min(cap.saturating_sub(old));
            self.buf.extend_from_slice(&d[..take]);
            match scan_head(&self.buf, self.scan_from, &mut self.line1_done) {
                HeadScan::Complete(n) => {
                    ctx.stats.heads_complete += 1;
                    let head = std::mem::take(&mut self.buf);
                    self.emit(&head[..n], HeadFlags::default(), ctx);
                    let f = framing(&head[..n]);
                    // Keep the allocation for the next split head of this flow.
                    self.buf = head;
                    self.buf.clear();
                    self.scan_from = 0;
                    self.after_head(f, ctx);
                    n.saturating_sub(old)
                }
                HeadScan::NotHttp => {
                    // Bytes already in `buf` were consumed earlier; none of `d` is.
                    self.buf.clear();
                    self.not_http(ctx);
                    0
                }
                HeadScan::Incomplete if self.buf.len() >= cap => {
                    let head = std::mem::take(&mut self.buf);
                    self.capped(&head, ctx);
                    take
                }
                HeadScan::Incomplete => {
                    self.scan_from = resume_from(self.buf.len(), self.line1_done);
                    take
                }
            }
        }
    }

    /// A PROXY header at a message boundary after the stream start is never a request:
    /// a proxy writes one, first, so a later one was sent by someone else (a client
    /// through a proxy that passes bytes). It is skipped (the first one keeps naming the
    /// client) and the connection's rows are flagged. Only a header whole in `d` is
    /// recognised; one split across segments ends the flow as not HTTP.
    fn repeated_preamble(&mut self, d: &[u8], ctx: &mut Ctx<'_>) -> Option<usize> {
        if !(d.starts_with(b"PROXY ") || d.starts_with(PP2_SIG)) {
            return None;
        }
        let PreambleCheck::Complete(len, _) = check_preamble(d) else {
            return None;
        };
        if valid_request_line(&d[..len.saturating_sub(1)], false) {
            // `PROXY /x HTTP/1.1`: a request with a generic method.
            return None;
        }
        ctx.stats.preambles_invalid += 1;
        ctx.stats.preambles_repeated += 1;
        self.conn_flags.preamble_invalid = true;
        Some(len)
    }

    fn not_http(&mut self, ctx: &mut Ctx<'_>) -> usize {
        ctx.stats.not_http_flows += 1;
        self.buf.clear();
        self.phase = Phase::Dead(Dead::NotHttp);
        0
    }

    /// The head reached the cap: emit what we have; framing is lost, so resync.
    /// Returns the number of bytes of `h` consumed (all of it).
    fn capped(&mut self, h: &[u8], ctx: &mut Ctx<'_>) -> usize {
        ctx.stats.heads_capped += 1;
        ctx.stats.heads_partial += 1;
        let extra = HeadFlags {
            partial: true,
            capped: true,
            ..HeadFlags::default()
        };
        self.emit(h, extra, ctx);
        self.start_resync(ctx, false);
        h.len()
    }

    fn step_chunked(&mut self, c: Chunk, d: &[u8], ctx: &mut Ctx<'_>) -> usize {
        let invalid = |s: &mut Live, ctx: &mut Ctx<'_>, used: usize| {
            ctx.stats.chunked_framing_errors += 1;
            s.start_resync(ctx, false);
            used
        };
        match c {
            Chunk::Data(rem) => {
                let k = rem.min(d.len() as u64) as usize;
                ctx.stats.body_bytes_skipped += k as u64;
                let left = rem - k as u64;
                self.phase = Phase::Chunked(if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                });
                k
            }
            Chunk::DataCr => match d[0] {
                b'\r' => {
                    self.phase = Phase::Chunked(Chunk::DataLf);
                    1
                }
                b'\n' => {
                    self.phase = Phase::Chunked(CHUNK_SIZE_START);
                    1
                }
                _ => invalid(self, ctx, 0),
            },
            Chunk::DataLf => match d[0] {
                b'\n' => {
                    self.phase = Phase::Chunked(CHUNK_SIZE_START);
                    1
                }
                _ => invalid(self, ctx, 0),
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
                            return invalid(self, ctx, i);
                        }
                        ctx.stats.body_bytes_skipped += i as u64 + 1;
                        self.phase = Phase::Chunked(if value == 0 {
                            Chunk::Trailer {
                                line_len: 0,
                                total: 0,
                            }
                        } else {
                            Chunk::Data(value)
                        });
                        return i + 1;
                    }
                    if rest {
                        rest_len += 1;
                        if rest_len > MAX_CHUNK_LINE_EXT {
                            return invalid(self, ctx, i);
                        }
                    } else if let Some(v) = (b as char).to_digit(16) {
                        digits += 1;
                        if digits > 16 {
                            return invalid(self, ctx, i);
                        }
                        value = (value << 4) | u64::from(v);
                    } else if digits > 0 && matches!(b, b';' | b' ' | b'\t' | b'\r') {
                        rest = true;
                    } else {
                        return invalid(self, ctx, i);
                    }
                }
                ctx.stats.body_bytes_skipped += d.len() as u64;
                self.phase = Phase::Chunked(Chunk::Size {
                    value,
                    digits,
                    rest,
                    rest_len,
                });
                d.len()
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
                    return invalid(self, ctx, 0);
                }
                let used = seg.len() + usize::from(lf);
                ctx.stats.body_bytes_skipped += used as u64;
                self.phase = if lf && line_len == 0 {
                    Phase::Head
                } else {
                    Phase::Chunked(Chunk::Trailer {
                        line_len: if lf { 0 } else { line_len },
                        total,
                    })
                };
                used
            }
        }
    }

    /// `n` bytes at `next_seq` are missing. Keep framing when the gap falls inside a
    /// body of known length; otherwise flush what we have and resynchronise.
    fn gap(&mut self, n: u32, ctx: &mut Ctx<'_>) {
        // The kept bytes end where the hole starts.
        self.recent.clear();
        self.boundary = None;
        ctx.stats.gaps += 1;
        ctx.stats.gap_bytes += u64::from(n);
        let n64 = u64::from(n);
        match self.phase {
            Phase::Body(rem) if n64 <= rem => {
                ctx.stats.gaps_inside_body += 1;
                self.phase = if n64 == rem {
                    Phase::Head
                } else {
                    Phase::Body(rem - n64)
                };
            }
            Phase::Chunked(Chunk::Data(rem)) if n64 <= rem => {
                ctx.stats.gaps_inside_body += 1;
                self.phase = Phase::Chunked(if n64 == rem {
                    Chunk::DataCr
                } else {
                    Chunk::Data(rem - n64)
                });
            }
            Phase::Dead(_) => {}
            Phase::Resync { .. } => {
                self.buf.clear();
                self.phase = Phase::Resync {
                    at_line_start: true,
                }
            }
            Phase::Preamble => {
                if !self.buf.is_empty() {
                    // A preamble cut by the gap.
                    ctx.stats.preambles_invalid += 1;
                    self.conn_flags.preamble_invalid = true;
                    self.preamble = Some(std::mem::take(&mut self.buf));
                }
                self.start_resync(ctx, true);
            }
            Phase::Head if !self.buf.is_empty() => {
                self.flush_partial(ctx);
                self.start_resync(ctx, true);
            }
            // The first byte after a hole is a plausible message start (segments often
            // begin at one); the resync check needs a whole valid request line there.
            _ => self.start_resync(ctx, true),
        }
        // After the flush: the partial head above came before the hole.
        self.pending.gap_before = true;
        self.advance(n as usize);
    }

    /// Emits the unfinished head (if any) as partial.
    fn flush_partial(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Head && !self.buf.is_empty() {
            ctx.stats.heads_partial += 1;
            let head = std::mem::take(&mut self.buf);
            let extra = HeadFlags {
                partial: true,
                ..HeadFlags::default()
            };
            self.emit(&head, extra, ctx);
        } else if self.phase == Phase::Preamble && !self.buf.is_empty() {
            ctx.stats.preambles_invalid += 1;
            self.buf.clear();
        } else if matches!(self.phase, Phase::Resync { .. }) {
            // A candidate request line that never got its LF.
            ctx.stats.resync_bytes_skipped += self.buf.len() as u64;
            self.buf.clear();
        }
    }

    /// In-order or old data at `seq`.
    fn data(&mut self, mut seq: u32, mut payload: &[u8], pos: SegPos, ctx: &mut Ctx<'_>) {
        // The bytes behind `next_seq` were compared already (against buffered segments).
        let mut compared = false;
        loop {
            if payload.is_empty() {
                return;
            }
            if self.is_dead() {
                // A flow found not HTTP at a message start may be stray bytes taken
                // first: a request at the same place revives it.
                if !self.rewind(seq, payload, true, ctx) {
                    self.boundary = None;
                    return;
                }
            }
            let rel = seq.wrapping_sub(self.next_seq) as i32;
            if rel > 0 {
                self.insert_ooo(seq, payload, pos, ctx);
                return;
            }
            let behind = rel.unsigned_abs() as usize;
            if behind > 0 {
                let overlap = behind.min(payload.len());
                let conflict = !compared && self.check_overlap(behind, &payload[..overlap], ctx);
                if conflict && self.rewind(seq, payload, false, ctx) {
                    continue;
                }
                if behind >= payload.len() {
                    ctx.stats.retransmitted_segments += 1;
                    ctx.stats.retransmitted_bytes += payload.len() as u64;
                    self.pending.retransmission_seen = true;
                    return;
                }
                ctx.stats.retransmitted_bytes += behind as u64;
                self.pending.retransmission_seen = true;
            }
            let fresh = &payload[behind..];
            // Bytes buffered out of order arrived before this copy of them: they win.
            let split = self
                .ooo
                .first()
                .map(|o| o.seq.wrapping_sub(self.next_seq) as i32)
                .filter(|&k| k > 0 && (k as usize) < fresh.len())
                .map(|k| k as usize);
            let Some(k) = split else {
                self.consume(fresh, pos, ctx);
                self.drain_ooo(ctx);
                return;
            };
            // Compared before any of it is taken, so a disagreement is flagged on the
            // head these bytes complete.
            self.compare_with_buffered(fresh, ctx);
            compared = true;
            self.consume(&fresh[..k], pos, ctx);
            self.drain_ooo(ctx);
            // The rest is now behind `next_seq`: compared and trimmed on the next turn.
            seq = seq.wrapping_add((behind + k) as u32);
            payload = &fresh[k..];
            if self.is_dead() {
                return;
            }
        }
    }

    /// Compares `fresh` (starting at `next_seq`) with the buffered out-of-order segments
    /// it overlaps; flags and counts a disagreement.
    fn compare_with_buffered(&mut self, fresh: &[u8], ctx: &mut Ctx<'_>) {
        let mut differ = 0u64;
        for o in &self.ooo {
            let off = o.seq.wrapping_sub(self.next_seq) as i32;
            if off <= 0 || off as usize >= fresh.len() {
                continue;
            }
            let off = off as usize;
            let n = (fresh.len() - off).min(o.data.len());
            differ += fresh[off..off + n]
                .iter()
                .zip(&o.data[..n])
                .filter(|(a, b)| a != b)
                .count() as u64;
        }
        self.pending.retransmission_seen = true;
        if differ > 0 {
            ctx.stats.overlap_conflicts += 1;
            ctx.stats.overlap_conflict_bytes += differ;
            self.pending.overlap_conflict = true;
        }
    }

    /// Compares a later copy of the `copy.len()` bytes that start `behind` bytes before
    /// `next_seq` with the kept ones; flags and counts a disagreement. True on conflict.
    fn check_overlap(&mut self, behind: usize, copy: &[u8], ctx: &mut Ctx<'_>) -> bool {
        let mut differ = 0u64;
        let mut unchecked = 0u64;
        for (i, &b) in copy.iter().enumerate() {
            match self.recent.back(behind - i) {
                Some(kept) if kept != b => differ += 1,
                Some(_) => {}
                None => unchecked += 1,
            }
        }
        ctx.stats.overlap_unchecked_bytes += unchecked;
        if differ == 0 {
            return false;
        }
        ctx.stats.overlap_conflicts += 1;
        ctx.stats.overlap_conflict_bytes += differ;
        self.pending.overlap_conflict = true;
        true
    }

    /// Stray bytes (on a pure ACK, say) taken at a message start must not cost the real
    /// request sent at the same sequence number: if a copy starting exactly at the last
    /// message start (no head emitted since) begins a request, and what was taken there
    /// made none (not HTTP, only line ends, or no plausible request line), the stream is
    /// taken again from the new copy. Otherwise the first copy stands. Returns whether
    /// it rewound.
    fn rewind(&mut self, seq: u32, new: &[u8], dead: bool, ctx: &mut Ctx<'_>) -> bool {
        let Some(b) = self.boundary else {
            return false;
        };
        if seq != b.seq || !plausible_stream_start(new) {
            return false;
        }
        // Line ends alone (empty lines, or a "\r\n" the preamble check waits on) are no
        // request.
        let taken = self.buf.as_slice();
        let taken = &taken[taken
            .iter()
            .position(|&c| c != b'\r' && c != b'\n')
            .unwrap_or(taken.len())..];
        let first_made_a_request = !dead
            && !taken.is_empty()
            && (plausible_stream_start(taken)
                || (memchr(b'\n', taken).is_none() && plausible_line_prefix(taken)));
        if first_made_a_request {
            return false;
        }
        if dead {
            // Not compared by `check_overlap` (the bytes may not have been taken).
            ctx.stats.overlap_conflicts += 1;
            self.pending.overlap_conflict = true;
            if ctx.stats.not_http_flows > 0 {
                ctx.stats.not_http_flows -= 1;
            }
        }
        ctx.stats.overlap_rewinds += 1;
        self.next_seq = b.seq;
        self.stream_pos = b.stream_pos;
        self.phase = if b.preamble {
            Phase::Preamble
        } else {
            Phase::Head
        };
        self.buf.clear();
        self.line1_done = false;
        self.scan_from = 0;
        self.recent.clear();
        true
    }

    fn drain_ooo(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(first) = self.ooo.first() {
            let rel = first.seq.wrapping_sub(self.next_seq) as i32;
            if rel > 0 {
                break;
            }
            let seg = self.ooo.remove(0);
            self.ooo_bytes -= seg.data.len();
            let behind = rel.unsigned_abs() as usize;
            if behind > 0 {
                let overlap = behind.min(seg.data.len());
                self.check_overlap(behind, &seg.data[..overlap], ctx);
            }
            if behind >= seg.data.len() {
                ctx.stats.retransmitted_segments += 1;
                ctx.stats.retransmitted_bytes += seg.data.len() as u64;
                self.pending.retransmission_seen = true;
                continue;
            }
            if behind > 0 {
                ctx.stats.retransmitted_bytes += behind as u64;
                self.pending.retransmission_seen = true;
            }
            ctx.stats.ooo_segments_repaired += 1;
            self.pending.out_of_order_repaired = true;
            let pos = SegPos {
                ts_ns: seg.ts_ns,
                packet_index: seg.packet_index,
            };
            self.consume(&seg.data[behind..], pos, ctx);
            if self.is_dead() {
                self.clear_ooo(ctx);
                return;
            }
        }
    }

    /// Drops buffered out-of-order data that can no longer be used (flow not HTTP).
    fn clear_ooo(&mut self, ctx: &mut Ctx<'_>) {
        ctx.stats.ooo_bytes_discarded += self.ooo_bytes as u64;
        self.ooo.clear();
        self.ooo_bytes = 0;
    }

    fn insert_ooo(&mut self, seq: u32, payload: &[u8], pos: SegPos, ctx: &mut Ctx<'_>) {
        let key = |s: u32, next: u32| s.wrapping_sub(next);
        let k = key(seq, self.next_seq);
        // A segment already buffered with the same start and at least this length: duplicate.
        if let Some(o) = self
            .ooo
            .iter()
            .find(|o| o.seq == seq && o.data.len() >= payload.len())
        {
            // The buffered copy came first and stays.
            let differ = o.data.iter().zip(payload).filter(|(a, b)| a != b).count();
            if differ > 0 {
                ctx.stats.overlap_conflicts += 1;
                ctx.stats.overlap_conflict_bytes += differ as u64;
                self.pending.overlap_conflict = true;
            }
            ctx.stats.retransmitted_segments += 1;
            ctx.stats.retransmitted_bytes += payload.len() as u64;
            self.pending.retransmission_seen = true;
            return;
        }
        if self.ooo.len() >= ctx.cfg.max_ooo_segments
            || self.ooo_bytes + payload.len() > ctx.cfg.max_ooo_bytes
        {
            // Over the caps: the hole in front is declared lost, buffered data is
            // used, and this segment is retried (it may now be in order).
            ctx.stats.ooo_cap_gaps += 1;
            let target = match self.ooo.first() {
                Some(o) if key(o.seq, self.next_seq) < k => o.seq,
                _ => seq,
            };
            self.gap(target.wrapping_sub(self.next_seq), ctx);
            self.drain_ooo(ctx);
            if !self.is_dead() {
                self.data(seq, payload, pos, ctx);
            }
            return;
        }
        let at = self
            .ooo
            .iter()
            .position(|o| key(o.seq, self.next_seq) > k)
            .unwrap_or(self.ooo.len());
        ctx.stats.ooo_segments_buffered += 1;
        self.ooo_bytes += payload.len();
        self.ooo.insert(
            at,
            Ooo {
                seq,
                ts_ns: pos.ts_ns,
                packet_index: pos.packet_index,
                data: payload.to_vec(),
            },
        );
    }

    /// End of the flow: salvage buffered out-of-order data across the holes, then
    /// flush the unfinished head.
    fn close(&mut self, ctx: &mut Ctx<'_>) {
        while !self.ooo.is_empty() && !self.is_dead() && self.seq_known {
            let target = self.ooo[0].seq;
            let n = target.wrapping_sub(self.next_seq);
            if (n as i32) > 0 {
                self.gap(n, ctx);
            }
            self.drain_ooo(ctx);
        }
        self.clear_ooo(ctx);
        if !self.is_dead() {
            self.flush_partial(ctx);
        }
        self.buf = Vec::new();
    }
}

// ---------------------------------------------------------------------------------

/// What a heap block costs beyond its requested size (glibc malloc: an 8-byte header and
/// 16-byte rounding), so that many small buffers are not undercounted.
const MALLOC_OVERHEAD: usize = 16;

fn heap_block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + MALLOC_OVERHEAD
    }
}

/// A tracked flow's share of the hash table: its (key, value) slot and control byte,
/// 32/7 times. The table (hashbrown) doubles when an insert finds no free slot while it is
/// over 7/16 full (7/8 of the slots usable, half of that once deletion tombstones fill the
/// rest, which eviction churn does), so it can hold 32/7 slots per flow. Charged per flow,
/// not read from the table's capacity, whose growth timing depends on the hash seed; the
/// table is shrunk when it is mostly empty, so it stays within this figure.
const TABLE_ENTRY_BYTES: usize = (size_of::<(FiveTuple, Flow)>() + 1) * 32 / 7;

/// One entry of the eviction queue.
type ClockEntry = (FiveTuple, u64);

/// Reassembles client request heads from TCP segments. One per worker.
///
/// Memory: [`ReassemblyConfig::max_total_bytes`] bounds everything the flows cost: per
/// flow its hash-table share, its boxed state and buffer capacities, plus the eviction
/// queue. Over it (or over `max_flows`), flows are evicted least recently active first
/// by a CLOCK sweep over creation order, which does not depend on the hash seed.
pub struct HeadAssembler {
    cfg: ReassemblyConfig,
    flows: FlowMap,
    /// CLOCK queue (flow, id) in creation order for eviction; stale entries are skipped.
    clock: VecDeque<(FiveTuple, u64)>,
    next_id: u64,
    held: usize,
    now_ns: i64,
    next_sweep_ns: Option<i64>,
    stats: ReassemblyStats,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EndReason {
    Fin,
    Rst,
    Timeout,
    EvictFlows,
    EvictBytes,
    Finish,
    Replaced,
}

impl Default for HeadAssembler {
    fn default() -> Self {
        HeadAssembler::new(ReassemblyConfig::default())
    }
}

impl HeadAssembler {
    pub fn new(cfg: ReassemblyConfig) -> HeadAssembler {
        HeadAssembler {
            cfg,
            flows: FlowMap::default(),
            clock: VecDeque::new(),
            next_id: 0,
            held: 0,
            now_ns: i64::MIN,
            next_sweep_ns: None,
            stats: ReassemblyStats::default(),
        }
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Flows currently tracked (live and tombstones).
    pub fn tracked_flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes accounted against [`ReassemblyConfig::max_total_bytes`]: every tracked
    /// flow's table share, state and buffers, and the eviction queue.
    pub fn held_bytes(&self) -> usize {
        self.held + self.clock_bytes()
    }

    fn clock_bytes(&self) -> usize {
        heap_block(self.clock.capacity() * size_of::<ClockEntry>())
    }

    /// The earliest first-byte time any head still to be emitted can have: heads being
    /// buffered and out-of-order segments held. `None` when nothing is pending. Callers
    /// that sort events by first-byte time release everything earlier than this.
    /// Costs one pass over the tracked flows: call it now and then, not per packet.
    pub fn oldest_pending_ts(&self) -> Option<i64> {
        self.flows
            .values()
            .filter_map(|f| match &f.kind {
                Kind::Live(l) => {
                    let head = (!l.buf.is_empty()).then_some(l.head_ts);
                    let ooo = l.ooo.iter().map(|o| o.ts_ns).min();
                    match (head, ooo) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
                _ => None,
            })
            .min()
    }

    /// Stream bytes buffered (heads, out-of-order payloads, preambles), without the
    /// state and allocation slack `held_bytes` also counts.
    #[cfg(test)]
    fn buffered_bytes(&self) -> usize {
        self.flows
            .values()
            .map(|f| match &f.kind {
                Kind::Live(l) => {
                    l.buf.len() + l.ooo_bytes + l.preamble.as_ref().map_or(0, Vec::len)
                }
                _ => 0,
            })
            .sum()
    }

    /// Recomputes held bytes from the flows (tests check the running total).
    #[cfg(test)]
    fn recount_held(&self) -> usize {
        let flows: usize = self
            .flows
            .values()
            .map(|f| {
                TABLE_ENTRY_BYTES
                    + match &f.kind {
                        Kind::Live(l) => l.held(),
                        _ => 0,
                    }
            })
            .sum();
        flows + self.clock_bytes()
    }

    /// Feeds one segment; events completed by it are passed to `out`.
    pub fn push(&mut self, seg: SegmentMeta<'_>, out: &mut impl FnMut(HeadEvent)) {
        self.push_dyn(seg, out);
    }

    /// End of input: closes every flow in creation order, flushing unfinished heads as
    /// partial events.
    pub fn finish(&mut self, out: &mut impl FnMut(HeadEvent)) {
        let mut keys: Vec<(u64, FiveTuple)> = self.flows.iter().map(|(k, f)| (f.id, *k)).collect();
        keys.sort_unstable();
        for (_, k) in keys {
            self.end_flow(&k, EndReason::Finish, out);
        }
        self.clock = VecDeque::new();
        self.flows.shrink_to_fit();
    }

    fn push_dyn(&mut self, seg: SegmentMeta<'_>, out: &mut dyn FnMut(HeadEvent)) {
        self.stats.segments += 1;
        self.stats.payload_bytes += seg.payload.len() as u64;
        if seg.flow.proto != IpProto::TCP {
            self.stats.non_tcp_segments += 1;
            return;
        }
        if seg.ts_ns > self.now_ns {
            self.now_ns = seg.ts_ns;
        }
        self.maybe_sweep(out);

        let flags = seg.flags;
        let key = seg.flow;
        if flags.syn() {
            // Rare: settle idle timeouts of both directions first, so that the outcome
            // does not depend on when the sweep ran.
            let rev = key.reversed();
            for k in [key, rev] {
                if self.flows.get(&k).is_some_and(|f| self.expired(f.last_ts)) {
                    self.end_flow(&k, EndReason::Timeout, out);
                }
            }
            if flags.ack() {
                self.on_syn_ack(seg, out);
            } else {
                self.on_syn(seg, out);
            }
        } else if self.on_segment(seg, true, out) {
            // Common case: one map lookup for a tracked client segment.
        } else if !self.server_side(&key.reversed(), out) {
            self.on_unknown(seg, out);
        }
        self.enforce_byte_cap(out);
    }

    /// Is `rev` a tracked client flow (so this segment is its server side)?
    fn server_side(&mut self, rev: &FiveTuple, out: &mut dyn FnMut(HeadEvent)) -> bool {
        match self.flows.get(rev) {
            None => false,
            Some(f) if self.expired(f.last_ts) => {
                self.end_flow(rev, EndReason::Timeout, out);
                false
            }
            Some(_) => {
                self.stats.server_side_segments += 1;
                true
            }
        }
    }

    fn expired(&self, last_ts: i64) -> bool {
        self.now_ns.saturating_sub(last_ts) > self.cfg.idle_timeout_ns
    }

    fn on_syn(&mut self, seg: SegmentMeta<'_>, out: &mut dyn FnMut(HeadEvent)) {
        let key = seg.flow;
        let rev = key.reversed();
        if self.flows.contains_key(&rev) {
            self.stats.direction_corrections += 1;
            self.end_flow(&rev, EndReason::Replaced, out);
        }
        if let Some(f) = self.flows.get_mut(&key) {
            let old_syn = match &f.kind {
                Kind::Live(l) => l.syn_seq,
                Kind::Closed { syn_seq } => *syn_seq,
                Kind::Dead => None,
            };
            if old_syn == Some(seg.seq) {
                self.stats.syn_retransmissions += 1;
                f.touched = true;
                f.last_ts = seg.ts_ns.max(f.last_ts);
                return;
            }
            self.stats.connections_replaced += 1;
            self.end_flow(&key, EndReason::Replaced, out);
        }
        self.stats.flows_with_syn += 1;
        let live = Live::new(seg.seq.wrapping_add(1), true, Some(seg.seq), false);
        self.insert_flow(key, live, seg.ts_ns, out);
        // Data on a SYN (TCP Fast Open) starts right after the ISN.
        if !seg.payload.is_empty() || seg.flags.fin() || seg.flags.rst() {
            let s2 = SegmentMeta {
                seq: seg.seq.wrapping_add(1),
                flags: TcpFlags(seg.flags.0 & !TcpFlags::SYN),
                ..seg
            };
            self.on_segment(s2, false, out);
        }
    }

    fn on_syn_ack(&mut self, seg: SegmentMeta<'_>, out: &mut dyn FnMut(HeadEvent)) {
        let key = seg.flow;
        let rev = key.reversed();
        if self.flows.contains_key(&rev) {
            self.stats.server_side_segments += 1;
            return;
        }
        if self.flows.contains_key(&key) {
            // We had taken the server side for the client.
            self.stats.direction_corrections += 1;
            self.end_flow(&key, EndReason::Replaced, out);
        }
        self.stats.server_side_segments += 1;
        self.insert_flow(rev, Live::new(0, false, None, false), seg.ts_ns, out);
    }

    fn on_unknown(&mut self, seg: SegmentMeta<'_>, out: &mut dyn FnMut(HeadEvent)) {
        let p = seg.payload;
        if p.is_empty() || seg.flags.rst() {
            self.stats.unsynced_segments += 1;
            return;
        }
        if p.starts_with(b"HTTP/") {
            self.stats.response_segments_ignored += 1;
            return;
        }
        let start = if plausible_stream_start(p) {
            Some(0)
        } else {
            find_resync(p, false)
        };
        let Some(k) = start else {
            self.stats.unsynced_segments += 1;
            self.stats.unsynced_bytes += p.len() as u64;
            return;
        };
        self.stats.flows_midstream += 1;
        let mut live = Live::new(seg.seq.wrapping_add(k as u32), true, None, true);
        if k > 0 {
            // Found by searching: this is not the connection's start, no preamble here.
            self.stats.resync_bytes_skipped += k as u64;
            self.stats.resync_heads_found += 1;
            live.phase = Phase::Head;
        }
        self.insert_flow(seg.flow, live, seg.ts_ns, out);
        let s2 = SegmentMeta {
            seq: seg.seq.wrapping_add(k as u32),
            payload: &p[k..],
            ..seg
        };
        self.on_segment(s2, false, out);
    }

    fn insert_flow(&mut self, key: FiveTuple, live: Live, ts: i64, out: &mut dyn FnMut(HeadEvent)) {
        while self.flows.len() >= self.cfg.max_flows.max(1) {
            if !self.evict_one(EndReason::EvictFlows, out) {
                break;
            }
        }
        self.stats.flows_created += 1;
        let id = self.next_id;
        self.next_id += 1;
        self.clock.push_back((key, id));
        self.held += TABLE_ENTRY_BYTES + live.held();
        self.flows.insert(
            key,
            Flow {
                id,
                touched: false,
                last_ts: ts,
                kind: Kind::Live(Box::new(live)),
            },
        );
    }

    /// Feeds a segment to its tracked flow. Returns false if the flow is not tracked
    /// (or was idle too long and has just been closed).
    fn on_segment(
        &mut self,
        seg: SegmentMeta<'_>,
        check_idle: bool,
        out: &mut dyn FnMut(HeadEvent),
    ) -> bool {
        let key = seg.flow;
        let now = self.now_ns;
        let Some(f) = self.flows.get_mut(&key) else {
            return false;
        };
        if check_idle && now.saturating_sub(f.last_ts) > self.cfg.idle_timeout_ns {
            self.end_flow(&key, EndReason::Timeout, out);
            return false;
        }
        f.touched = true;
        f.last_ts = f.last_ts.max(seg.ts_ns);
        let live = match &mut f.kind {
            Kind::Live(l) => l,
            Kind::Dead | Kind::Closed { .. } => {
                self.stats.segments_on_dead_flows += 1;
                return true;
            }
        };
        let before = live.held();
        let mut ctx = Ctx {
            flow: key,
            cfg: &self.cfg,
            stats: &mut self.stats,
            out,
        };
        if !live.seq_known {
            // After a SYN+ACK, the client's first segment (usually the handshake's
            // ACK, seq = ISN + 1) fixes the stream start.
            live.seq_known = true;
            live.next_seq = seg.seq;
        }
        let pos = SegPos {
            ts_ns: seg.ts_ns,
            packet_index: seg.packet_index,
        };
        if live.seq_known {
            let was_dead = live.is_dead();
            live.data(seg.seq, seg.payload, pos, &mut ctx);
            if was_dead && live.is_dead() {
                ctx.stats.segments_on_dead_flows += 1;
            }
            if seg.flags.fin() {
                live.fin_at = Some(seg.seq.wrapping_add(seg.payload.len() as u32));
            }
        }
        // A flow found not HTTP at a message start stays until its next segment, which
        // may be the real request behind stray bytes (`Live::rewind`).
        let dead = live.is_dead() && live.boundary.is_none();
        let fin_done = live
            .fin_at
            .is_some_and(|f| (f.wrapping_sub(live.next_seq) as i32) <= 0);
        let after = live.held();
        self.held = self.held - before + after;
        if seg.flags.rst() {
            self.end_flow(&key, EndReason::Rst, out);
        } else if fin_done {
            self.end_flow(&key, EndReason::Fin, out);
        } else if dead {
            if let Some(f) = self.flows.get_mut(&key) {
                f.kind = Kind::Dead;
            }
            self.held -= after;
        }
        true
    }

    /// Closes a flow. FIN/RST leave a small tombstone that absorbs retransmissions.
    fn end_flow(&mut self, key: &FiveTuple, why: EndReason, out: &mut dyn FnMut(HeadEvent)) {
        let Some(mut f) = self.flows.remove(key) else {
            return;
        };
        self.held -= TABLE_ENTRY_BYTES;
        let mut syn_seq = None;
        if let Kind::Live(live) = &mut f.kind {
            let before = live.held();
            syn_seq = live.syn_seq;
            let mut ctx = Ctx {
                flow: *key,
                cfg: &self.cfg,
                stats: &mut self.stats,
                out,
            };
            live.close(&mut ctx);
            self.held -= before;
        }
        let s = &mut self.stats;
        match why {
            EndReason::Fin => s.flows_ended_fin += 1,
            EndReason::Rst => s.flows_ended_rst += 1,
            EndReason::Timeout => s.flows_timed_out += 1,
            EndReason::EvictFlows => s.flows_evicted_flow_cap += 1,
            EndReason::EvictBytes => s.flows_evicted_byte_cap += 1,
            EndReason::Finish => s.flows_open_at_finish += 1,
            EndReason::Replaced => {}
        }
        if matches!(why, EndReason::Fin | EndReason::Rst) {
            f.kind = Kind::Closed { syn_seq };
            self.held += TABLE_ENTRY_BYTES;
            self.flows.insert(*key, f);
        }
    }

    /// Drops a FIN/RST tombstone left by [`Self::end_flow`] (no-op if there is none).
    fn drop_tombstone(&mut self, key: &FiveTuple) {
        if self.flows.remove(key).is_some() {
            self.held -= TABLE_ENTRY_BYTES;
        }
    }

    /// Closes the least recently active flow (CLOCK). Returns false if none.
    fn evict_one(&mut self, why: EndReason, out: &mut dyn FnMut(HeadEvent)) -> bool {
        while let Some((k, id)) = self.clock.pop_front() {
            let Some(f) = self.flows.get_mut(&k) else {
                continue;
            };
            if f.id != id {
                continue;
            }
            if f.touched {
                f.touched = false;
                self.clock.push_back((k, id));
                continue;
            }
            // A FIN/RST tombstone is reinserted by end_flow; evicting removes it for good.
            self.end_flow(&k, why, out);
            self.drop_tombstone(&k);
            return true;
        }
        false
    }

    fn enforce_byte_cap(&mut self, out: &mut dyn FnMut(HeadEvent)) {
        while self.held_bytes() > self.cfg.max_total_bytes {
            if !self.evict_one(EndReason::EvictBytes, out) {
                break;
            }
        }
        self.compact();
    }

    /// Drops stale CLOCK entries (flows ended by FIN/timeout) in bulk and returns memory
    /// the queue and the table no longer need. The queue's capacity is accounted, and
    /// only changes with the (seed-independent) sequence of flows; the table's is not
    /// (its growth depends on the seed), so shrinking it cannot change any decision.
    fn compact(&mut self) {
        if self.clock.len() > 2 * self.flows.len() + 64 {
            let flows = &self.flows;
            self.clock
                .retain(|(k, id)| flows.get(k).is_some_and(|f| f.id == *id));
        }
        if self.flows.is_empty() {
            // Only stale entries can be left: release the queue.
            self.clock = VecDeque::new();
        } else if self.clock.capacity() > 4 * self.clock.len() + 1024 {
            self.clock.shrink_to(2 * self.clock.len());
        }
        if self.flows.capacity() > 4 * self.flows.len() + 1024 {
            self.flows.shrink_to(2 * self.flows.len());
        }
    }

    fn maybe_sweep(&mut self, out: &mut dyn FnMut(HeadEvent)) {
        let timeout = self.cfg.idle_timeout_ns.max(1);
        match self.next_sweep_ns {
            None => {
                self.next_sweep_ns = Some(self.now_ns.saturating_add(timeout / 2 + 1));
                return;
            }
            Some(t) if self.now_ns < t => return,
            Some(_) => {}
        }
        self.next_sweep_ns = Some(self.now_ns.saturating_add(timeout / 2 + 1));
        let mut idle: Vec<(u64, FiveTuple)> = self
            .flows
            .iter()
            .filter(|(_, f)| self.expired(f.last_ts))
            .map(|(k, f)| (f.id, *k))
            .collect();
        // HashMap order is random: sort so the output is deterministic.
        idle.sort_unstable();
        for (_, k) in idle {
            self.end_flow(&k, EndReason::Timeout, out);
            self.drop_tombstone(&k);
        }
    }
}

/// Flow-table properties: hashing of hostile keys, memory accounting and eviction.
#[cfg(test)]
mod flow_table_tests {
    use super::*;
    use proxytrace_synth::flood::fx_colliding_clients;
    use std::hash::BuildHasher;
    use std::net::{IpAddr, Ipv6Addr};

    /// 65,536 client (address, port) pairs of one /64 collide completely under the former
    /// unseeded hasher (one hash value for all). The table's hasher must spread them.
    #[test]
    fn crafted_colliding_tuples_spread_under_the_flow_table_hasher() {
        let server = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        let clients = fx_colliding_clients([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1], 1 << 16);
        assert_eq!(clients.len(), 1 << 16);
        let map = FlowMap::default();
        let mut hashes: Vec<u64> = clients
            .iter()
            .map(|&(a, port)| {
                map.hasher().hash_one(FiveTuple {
                    src_ip: IpAddr::V6(a),
                    src_port: port,
                    dst_ip: server,
                    dst_port: 80,
                    proto: IpProto::TCP,
                })
            })
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        // A good 64-bit hash of 65,536 distinct keys almost surely has no collision.
        assert!(hashes.len() >= 65_500, "{} distinct hashes", hashes.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    const CLIENT: u16 = 40000;

    fn tuple(client_port: u16) -> FiveTuple {
        FiveTuple {
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            src_port: client_port,
            dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            dst_port: 80,
            proto: IpProto::TCP,
        }
    }

    const A: u16 = TcpFlags::ACK;
    const PA: u16 = TcpFlags::ACK | TcpFlags::PSH;

    /// Test driver: numbers packets, timestamps them 1 µs apart, collects events.
    struct Drv {
        asm: HeadAssembler,
        idx: u64,
        ev: Vec<HeadEvent>,
    }

    impl Drv {
        fn new() -> Drv {
            Drv::with(ReassemblyConfig::default())
        }
        fn with(cfg: ReassemblyConfig) -> Drv {
            Drv {
                asm: HeadAssembler::new(cfg),
                idx: 0,
                ev: Vec::new(),
            }
        }
        fn seg_t(&mut self, flow: FiveTuple, ts: i64, seq: u32, flags: u16, payload: &[u8]) {
            let s = SegmentMeta {
                ts_ns: ts,
                packet_index: self.idx,
                flow,
                seq,
                flags: TcpFlags(flags),
                payload,
            };
            self.idx += 1;
            let ev = &mut self.ev;
            self.asm.push(s, &mut |e| ev.push(e));
        }
        fn seg(&mut self, flow: FiveTuple, seq: u32, flags: u16, payload: &[u8]) {
            let ts = 1_000 * self.idx as i64;
            self.seg_t(flow, ts, seq, flags, payload);
        }
        fn syn(&mut self, flow: FiveTuple, isn: u32) {
            self.seg(flow, isn, TcpFlags::SYN, b"");
        }
        fn finish(&mut self) {
            let ev = &mut self.ev;
            self.asm.finish(&mut |e| ev.push(e));
        }
        fn heads(&self) -> Vec<&[u8]> {
            self.ev.iter().map(|e| e.head.as_slice()).collect()
        }
    }

    const REQ1: &[u8] = b"GET /a HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
    const REQ2: &[u8] = b"POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n";

    #[test]
    fn whole_head_in_one_segment() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 1000);
        d.seg(tuple(CLIENT), 1001, PA, REQ1);
        assert_eq!(d.ev.len(), 1);
        let e = &d.ev[0];
        assert_eq!(e.head, REQ1);
        assert_eq!(
            (e.packet_index, e.ts_ns, e.seq, e.stream_offset),
            (1, 1000, 1001, 0)
        );
        assert_eq!(e.ordinal, 1);
        assert_eq!(e.flags, HeadFlags::default());
        assert_eq!(e.proxy_preamble, None);
        assert_eq!(e.flow, tuple(CLIENT));
        d.finish();
        assert_eq!(d.ev.len(), 1);
        assert_eq!(d.asm.stats().heads_complete, 1);
        assert_eq!(d.asm.held_bytes(), 0);
    }

    #[test]
    fn split_at_every_point_and_three_ways_in_terminator() {
        let n = REQ1.len();
        let mut cuts: Vec<Vec<usize>> = (1..n).map(|i| vec![i]).collect();
        // Inside the CRLFCRLF terminator, every pair of cuts.
        for a in n - 4..n {
            for b in a + 1..n {
                cuts.push(vec![a, b]);
            }
        }
        // Inside a header name ("X-Forwarded-For" starts at 37).
        cuts.push(vec![38, 44, 50]);
        for c in cuts {
            let mut d = Drv::new();
            d.syn(tuple(CLIENT), 7);
            let mut bounds = vec![0];
            bounds.extend(&c);
            bounds.push(n);
            for w in bounds.windows(2) {
                d.seg(tuple(CLIENT), 8 + w[0] as u32, PA, &REQ1[w[0]..w[1]]);
            }
            assert_eq!(d.heads(), vec![REQ1], "cuts {c:?}");
            // First byte came with packet 1; completed by the last packet.
            assert_eq!(d.ev[0].packet_index, 1, "cuts {c:?}");
            assert_eq!(d.ev[0].flags, HeadFlags::default());
        }
    }

    #[test]
    fn out_of_order_segments_are_repaired() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let (a, b, c) = (&REQ1[..10], &REQ1[10..30], &REQ1[30..]);
        d.seg(tuple(CLIENT), 31, PA, c); // packet 1
        d.seg(tuple(CLIENT), 11, PA, b); // packet 2
        assert!(d.ev.is_empty());
        d.seg(tuple(CLIENT), 1, PA, a); // packet 3 fills the hole
        assert_eq!(d.heads(), vec![REQ1]);
        assert_eq!(d.ev[0].packet_index, 3);
        assert!(d.ev[0].flags.out_of_order_repaired);
        assert_eq!(d.asm.stats().ooo_segments_buffered, 2);
        assert_eq!(d.asm.stats().ooo_segments_repaired, 2);
        assert_eq!(d.asm.buffered_bytes(), 0);
    }

    #[test]
    fn first_byte_position_from_a_buffered_segment() {
        // The head's first byte arrives out of order (buffered) after a body's end.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let mut stream = REQ2.to_vec();
        stream.extend_from_slice(b"hello");
        let second_at = stream.len();
        stream.extend_from_slice(REQ1);
        d.seg(
            tuple(CLIENT),
            1 + second_at as u32,
            PA,
            &stream[second_at..],
        ); // packet 1
        d.seg(tuple(CLIENT), 1, PA, &stream[..second_at]); // packet 2
        assert_eq!(d.heads(), vec![REQ2, REQ1]);
        assert_eq!(d.ev[1].packet_index, 1);
        assert_eq!(d.ev[1].ts_ns, 1000);
        assert_eq!(d.ev[1].stream_offset, second_at as u64);
        assert_eq!(d.ev[1].ordinal, 2);
    }

    #[test]
    fn retransmissions_and_overlaps_never_duplicate() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 100);
        let s = 101u32;
        d.seg(tuple(CLIENT), s, PA, &REQ1[..20]);
        d.seg(tuple(CLIENT), s, PA, &REQ1[..20]); // exact duplicate
        d.seg(tuple(CLIENT), s + 10, PA, &REQ1[10..40]); // overlaps 10 old bytes
        d.seg(tuple(CLIENT), s + 50, PA, &REQ1[50..]); // ahead
        d.seg(tuple(CLIENT), s + 50, PA, &REQ1[50..]); // duplicate of a buffered one
        d.seg(tuple(CLIENT), s, PA, REQ1); // covers everything
        assert_eq!(d.heads(), vec![REQ1]);
        assert!(d.ev[0].flags.retransmission_seen);
        // The whole head retransmitted after it was emitted: nothing new.
        d.seg(tuple(CLIENT), s, PA, REQ1);
        d.finish();
        assert_eq!(d.ev.len(), 1);
        let st = d.asm.stats();
        // 20 + 10 + 60 (dup of buffered) + 80 (ahead part trimmed on drain) ...
        assert!(st.retransmitted_bytes > 0);
        assert_eq!(st.heads_complete, 1);
    }

    #[test]
    fn head_larger_than_a_segment() {
        let mut head = b"GET /big HTTP/1.1\r\nHost: h\r\nCookie: ".to_vec();
        head.extend(std::iter::repeat_n(b'c', 5000));
        head.extend_from_slice(b"\r\n\r\n");
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        for (i, chunk) in head.chunks(1448).enumerate() {
            d.seg(tuple(CLIENT), 1 + (i * 1448) as u32, PA, chunk);
        }
        assert_eq!(d.heads(), vec![head.as_slice()]);
        assert_eq!(d.ev[0].packet_index, 1);
    }

    #[test]
    fn keep_alive_and_pipelining() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let mut seq = 1u32;
        d.seg(tuple(CLIENT), seq, PA, REQ1);
        seq += REQ1.len() as u32;
        // Three pipelined requests in one segment, the POST with a body.
        let mut p = Vec::new();
        p.extend_from_slice(REQ2);
        p.extend_from_slice(b"abcde");
        p.extend_from_slice(REQ1);
        p.extend_from_slice(b"HEAD / HTTP/1.0\r\n\r\n");
        d.seg(tuple(CLIENT), seq, PA, &p);
        assert_eq!(
            d.heads(),
            vec![REQ1, REQ2, REQ1, &b"HEAD / HTTP/1.0\r\n\r\n"[..]]
        );
        let ords: Vec<u32> = d.ev.iter().map(|e| e.ordinal).collect();
        assert_eq!(ords, vec![1, 2, 3, 4]);
        let r1 = REQ1.len() as u64;
        let r2 = REQ2.len() as u64;
        let offs: Vec<u64> = d.ev.iter().map(|e| e.stream_offset).collect();
        assert_eq!(offs, vec![0, r1, r1 + r2 + 5, 2 * r1 + r2 + 5]);
        assert_eq!(d.ev[3].seq, 1 + (2 * r1 + r2 + 5) as u32);
    }

    #[test]
    fn content_length_body_with_header_like_text_is_skipped() {
        let body = b"GET /evil HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: h\r\ncontent-length:  {} \r\n\r\n",
            body.len()
        );
        let mut s = head.as_bytes().to_vec();
        s.extend_from_slice(body);
        s.extend_from_slice(REQ1);
        // Byte-at-a-time segments as the worst case for the state machine.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        for (i, b) in s.iter().enumerate() {
            d.seg(tuple(CLIENT), 1 + i as u32, PA, std::slice::from_ref(b));
        }
        assert_eq!(d.heads(), vec![head.as_bytes(), REQ1]);
        assert_eq!(d.asm.stats().body_bytes_skipped, body.len() as u64);
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_is_skipped() {
        let head = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 3\r\n\r\n";
        let body: &[u8] = b"1a;ext=\"x\"\r\nGET /no HTTP/1.1\r\nA: b\r\n\r\n\r\n\
5 ; e\r\nX: y\n\r\n0\r\nTrailer-X: GET / HTTP/1.1\r\nGET /t HTTP/1.1\r\n\r\n";
        // Check the hand-written chunk sizes: 0x1a = 26 bytes of data.
        assert_eq!(b"GET /no HTTP/1.1\r\nA: b\r\n\r\n".len(), 0x1a);
        let mut s = head.to_vec();
        s.extend_from_slice(body);
        s.extend_from_slice(REQ1);
        for step in [1usize, 2, 3, 7, 1000] {
            let mut d = Drv::new();
            d.syn(tuple(CLIENT), 0);
            for (i, c) in s.chunks(step).enumerate() {
                d.seg(tuple(CLIENT), 1 + (i * step) as u32, PA, c);
            }
            assert_eq!(d.heads(), vec![&head[..], REQ1], "step {step}");
            assert_eq!(d.asm.stats().chunked_framing_errors, 0);
        }
    }

    #[test]
    fn reused_proxy_connection_gives_one_event_per_request() {
        let a = b"GET /x HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n";
        let b = b"GET /y HTTP/1.1\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n";
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, a);
        d.seg(tuple(CLIENT), 1 + a.len() as u32, PA, b);
        assert_eq!(d.heads(), vec![&a[..], &b[..]]);
        assert_eq!((d.ev[0].ordinal, d.ev[1].ordinal), (1, 2));
    }

    #[test]
    fn not_http_stops_tracking() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, b"SSH-2.0-OpenSSH_9.6\r\n");
        d.seg(tuple(CLIENT), 22, PA, REQ1);
        d.finish();
        assert!(d.ev.is_empty());
        assert_eq!(d.asm.stats().not_http_flows, 1);
        assert_eq!(d.asm.stats().segments_on_dead_flows, 1);
        // A request-line-shaped line with a wrong version is not HTTP/1.x either.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(d.ev.is_empty());
        assert_eq!(d.asm.stats().not_http_flows, 1);
        // Garbage after a complete request, at a message boundary.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let mut s = REQ1.to_vec();
        s.extend_from_slice(b"\x16\x03\x01\x02\x00");
        d.seg(tuple(CLIENT), 1, PA, &s);
        assert_eq!(d.heads(), vec![REQ1]);
        assert_eq!(d.asm.stats().not_http_flows, 1);
    }

    #[test]
    fn connect_makes_a_tunnel() {
        let c = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        let mut s = c.to_vec();
        s.extend_from_slice(b"\x16\x03\x01GET / HTTP/1.1\r\n\r\n");
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, &s);
        assert_eq!(d.heads(), vec![&c[..]]);
        assert_eq!(d.asm.stats().connect_tunnels, 1);
    }

    #[test]
    fn midstream_start_resynchronises() {
        let mut d = Drv::new();
        // Tail of an earlier body, then a request after an LF.
        let mut s = b"ody text\r\nmore GET / HTTP/1.1 text\n".to_vec();
        let at = s.len();
        s.extend_from_slice(REQ1);
        d.seg(tuple(CLIENT), 5000, PA, &s);
        assert_eq!(d.heads(), vec![REQ1]);
        let e = &d.ev[0];
        assert!(e.flags.midstream_start);
        assert_eq!(e.seq, 5000 + at as u32);
        assert_eq!(d.asm.stats().resync_bytes_skipped, at as u64);
        // Next request on the same flow keeps the midstream flag.
        d.seg(tuple(CLIENT), 5000 + s.len() as u32, PA, REQ2);
        assert!(d.ev[1].flags.midstream_start);

        // A flow whose first payload starts with a request line.
        let mut d = Drv::new();
        d.seg(tuple(CLIENT + 1), 9, PA, REQ1);
        assert_eq!(d.heads(), vec![REQ1]);
        assert!(d.ev[0].flags.midstream_start);

        // Payload with no request line: nothing tracked.
        let mut d = Drv::new();
        d.seg(tuple(CLIENT + 2), 9, PA, b"<html>\r\nhello\r\n");
        assert_eq!(d.asm.tracked_flows(), 0);
        assert_eq!(d.asm.stats().unsynced_segments, 1);
    }

    #[test]
    fn server_direction_is_ignored() {
        let c = tuple(CLIENT);
        let s = c.reversed();
        let mut d = Drv::new();
        d.syn(c, 0);
        d.seg(s, 500, TcpFlags::SYN | A, b"");
        d.seg(c, 1, PA, REQ1);
        d.seg(s, 501, PA, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        // Even a request-looking payload from the server side is ignored.
        d.seg(s, 540, PA, REQ1);
        assert_eq!(d.ev.len(), 1);
        assert_eq!(d.ev[0].flow, c);
        assert_eq!(d.asm.stats().server_side_segments, 3);

        // Midstream: response first, then the request on the reverse tuple.
        let mut d = Drv::new();
        d.seg(s, 1, PA, b"HTTP/1.1 200 OK\r\n\r\n");
        d.seg(c, 1, PA, REQ1);
        assert_eq!(d.ev.len(), 1);
        assert_eq!(d.ev[0].flow, c);
        assert_eq!(d.asm.stats().response_segments_ignored, 1);

        // Only the SYN+ACK seen: the reverse is the client, not flagged midstream.
        let mut d = Drv::new();
        d.seg(s, 500, TcpFlags::SYN | A, b"");
        d.seg(c, 1, A, b"");
        d.seg(c, 1 + 20, PA, &REQ1[20..]);
        d.seg(c, 1, PA, &REQ1[..20]);
        assert_eq!(d.heads(), vec![REQ1]);
        assert!(!d.ev[0].flags.midstream_start);
    }

    #[test]
    fn syn_corrects_a_wrong_direction_guess() {
        let c = tuple(CLIENT);
        let mut d = Drv::new();
        // The "server" side sent something request-like first (midstream guess)...
        d.seg(c.reversed(), 1, PA, REQ1);
        assert_eq!(d.ev.len(), 1);
        // ...then a real SYN from the other side: it is authoritative.
        d.syn(c, 0);
        d.seg(c, 1, PA, REQ2);
        assert_eq!(d.ev.len(), 2);
        assert_eq!(d.ev[1].flow, c);
        assert_eq!(d.asm.stats().direction_corrections, 1);
    }

    #[test]
    fn proxy_v1_and_v2_preambles() {
        let v1 = b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n";
        // v2: signature, ver/cmd 0x21, fam 0x11 (TCP4), len 12, addresses and ports.
        let mut v2 = PP2_SIG.to_vec();
        v2.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
        v2.extend_from_slice(&[192, 0, 2, 1, 10, 0, 0, 2, 0xc7, 0x38, 0x00, 0x50]);
        assert_eq!(v2.len(), 28);
        for pre in [&v1[..], &v2[..]] {
            let mut s = pre.to_vec();
            s.extend_from_slice(REQ1);
            s.extend_from_slice(REQ1);
            // Split inside the preamble (and inside the v2 signature) and one byte at a time.
            for cut in [1usize, 3, 5, 7, 13, 15, pre.len() - 1, pre.len()] {
                let mut d = Drv::new();
                d.syn(tuple(CLIENT), 0);
                d.seg(tuple(CLIENT), 1, PA, &s[..cut]);
                d.seg(tuple(CLIENT), 1 + cut as u32, PA, &s[cut..]);
                assert_eq!(d.heads(), vec![REQ1, REQ1], "cut {cut}");
                for e in &d.ev {
                    assert_eq!(e.proxy_preamble.as_deref(), Some(pre), "cut {cut}");
                    assert!(!e.flags.preamble_invalid);
                }
                assert_eq!(d.ev[0].stream_offset, pre.len() as u64);
            }
        }
        // v1 without CRLF in 107 bytes: invalid, flagged; the request after it is resynced.
        let mut s = b"PROXY ".to_vec();
        s.extend(std::iter::repeat_n(b'x', 120));
        s.extend_from_slice(b"\r\n");
        s.extend_from_slice(REQ1);
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, &s);
        assert_eq!(d.heads(), vec![REQ1]);
        assert!(d.ev[0].flags.preamble_invalid);
        assert_eq!(d.ev[0].proxy_preamble.as_ref().map(Vec::len), Some(107));
        // Not at the start of the stream: a PROXY line is not a preamble; it is skipped
        // and flags the requests after it (not the one already emitted).
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let mut s = REQ1.to_vec();
        s.extend_from_slice(v1);
        s.extend_from_slice(REQ1);
        d.seg(tuple(CLIENT), 1, PA, &s);
        assert_eq!(d.heads(), vec![REQ1, REQ1]);
        assert_eq!(d.ev[0].proxy_preamble, None);
        assert!(!d.ev[0].flags.preamble_invalid && d.ev[1].flags.preamble_invalid);
        assert_eq!(d.asm.stats().not_http_flows, 0);
        assert_eq!(d.asm.stats().preambles_repeated, 1);
        assert_eq!(d.ev[1].stream_offset, (REQ1.len() + v1.len()) as u64);
        // A request whose generic method is PROXY stays a request.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let mut s = REQ1.to_vec();
        s.extend_from_slice(b"PROXY /x HTTP/1.1\r\n\r\n");
        d.seg(tuple(CLIENT), 1, PA, &s);
        assert_eq!(d.heads(), vec![REQ1, b"PROXY /x HTTP/1.1\r\n\r\n"]);
        assert_eq!(d.asm.stats().preambles_repeated, 0);
        // A stream starting with "P" of POST, split after "P": not a preamble.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, &REQ2[..1]);
        d.seg(tuple(CLIENT), 2, PA, &REQ2[1..]);
        assert_eq!(d.heads(), vec![REQ2]);
        assert_eq!(d.ev[0].packet_index, 1);
        // Empty lines split like a v2 signature prefix, then a request.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, b"\r\n\r");
        d.seg(tuple(CLIENT), 4, PA, b"\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(d.heads(), vec![&b"GET / HTTP/1.1\r\n\r\n"[..]]);
        assert_eq!(d.ev[0].stream_offset, 4);
    }

    #[test]
    fn head_cap_emits_capped_and_resyncs() {
        let cfg = ReassemblyConfig {
            max_head_bytes: 40,
            ..ReassemblyConfig::default()
        };
        let mut s = b"GET /long HTTP/1.1\r\nCookie: ".to_vec();
        s.extend(std::iter::repeat_n(b'z', 100));
        s.extend_from_slice(b"\r\n\r\n");
        s.extend_from_slice(b"GET /2 HTTP/1.1\r\n\r\n");
        for step in [1000usize, 7] {
            let mut d = Drv::with(cfg.clone());
            d.syn(tuple(CLIENT), 0);
            for (i, c) in s.chunks(step).enumerate() {
                d.seg(tuple(CLIENT), 1 + (i * step) as u32, PA, c);
            }
            assert_eq!(d.ev.len(), 2, "step {step}");
            assert_eq!(d.ev[0].head, &s[..40]);
            assert!(d.ev[0].flags.capped && d.ev[0].flags.partial);
            assert_eq!(d.ev[1].head, b"GET /2 HTTP/1.1\r\n\r\n");
            assert_eq!(d.asm.stats().heads_capped, 1);
        }
    }

    #[test]
    fn lost_segment_is_a_counted_gap() {
        let cfg = ReassemblyConfig {
            max_ooo_segments: 2,
            ..ReassemblyConfig::default()
        };
        let mut d = Drv::with(cfg);
        d.syn(tuple(CLIENT), 0);
        let r1 = REQ1.len() as u32;
        // Request 1's middle is never seen; requests 2..4 follow in their own segments.
        d.seg(tuple(CLIENT), 1, PA, &REQ1[..10]);
        d.seg(tuple(CLIENT), 21, PA, &REQ1[20..]);
        d.seg(tuple(CLIENT), 1 + r1, PA, REQ1);
        assert!(d.ev.is_empty());
        d.seg(tuple(CLIENT), 1 + 2 * r1, PA, REQ1); // third buffered -> over the cap
                                                    // Partial head of request 1, then requests 2 and 3 after the resync.
        assert_eq!(d.ev.len(), 3);
        assert!(d.ev[0].flags.partial);
        assert_eq!(d.ev[0].head, &REQ1[..10]);
        assert_eq!(d.heads()[1..], [REQ1, REQ1]);
        assert!(d.ev[1].flags.gap_before);
        assert!(!d.ev[2].flags.gap_before);
        let st = d.asm.stats();
        assert_eq!((st.gaps, st.gap_bytes, st.ooo_cap_gaps), (1, 10, 1));
    }

    #[test]
    fn gap_inside_a_body_keeps_framing() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        let head = b"POST / HTTP/1.1\r\nContent-Length: 3000\r\n\r\n";
        let mut s = head.to_vec();
        // A body that looks like requests at every line start.
        while s.len() < head.len() + 3000 {
            s.extend_from_slice(b"GET /fake HTTP/1.1\r\n");
        }
        s.truncate(head.len() + 3000);
        s.extend_from_slice(REQ1);
        let segs: Vec<(usize, &[u8])> = s
            .chunks(1000)
            .enumerate()
            .map(|(i, c)| (i * 1000, c))
            .collect();
        for (i, (off, c)) in segs.iter().enumerate() {
            if i != 1 {
                d.seg(tuple(CLIENT), 1 + *off as u32, PA, c);
            }
        }
        d.finish(); // the hole is salvaged at the end
        assert_eq!(d.heads(), vec![&head[..], REQ1]);
        assert!(d.ev[1].flags.gap_before);
        assert_eq!(d.asm.stats().gaps_inside_body, 1);
        assert_eq!(d.asm.stats().resyncs, 0);
    }

    #[test]
    fn fin_and_rst_end_flows_and_flush_partials() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA | TcpFlags::FIN, &REQ1[..30]);
        assert_eq!(d.ev.len(), 1);
        assert!(d.ev[0].flags.partial);
        assert_eq!(d.ev[0].head, &REQ1[..30]);
        // Retransmission after the FIN: absorbed by the tombstone.
        d.seg(tuple(CLIENT), 1, PA, REQ1);
        assert_eq!(d.ev.len(), 1);
        assert_eq!(d.asm.stats().flows_ended_fin, 1);
        // FIN arriving before a missing segment: waits for it.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 21, PA | TcpFlags::FIN, &REQ1[20..]);
        d.seg(tuple(CLIENT), 1, PA, &REQ1[..20]);
        assert_eq!(d.heads(), vec![REQ1]);
        assert_eq!(d.asm.stats().flows_ended_fin, 1);
        // RST: flushes immediately.
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(tuple(CLIENT), 1, PA, &REQ1[..5]);
        d.seg(tuple(CLIENT), 6, TcpFlags::RST, b"");
        assert_eq!(d.heads(), vec![&REQ1[..5]]);
        assert_eq!(d.asm.stats().flows_ended_rst, 1);
        // A new SYN (port reuse) on the closed tuple starts a new connection.
        d.syn(tuple(CLIENT), 90000);
        d.seg(tuple(CLIENT), 90001, PA, REQ1);
        assert_eq!(d.ev.len(), 2);
        assert_eq!(d.ev[1].ordinal, 1);
    }

    #[test]
    fn idle_timeout_flushes_in_creation_order() {
        let cfg = ReassemblyConfig {
            idle_timeout_ns: 1_000_000,
            ..ReassemblyConfig::default()
        };
        let mut d = Drv::with(cfg);
        for p in [5u16, 3, 9] {
            d.seg_t(tuple(p), 0, 1, PA, b"GET /");
        }
        assert!(d.ev.is_empty());
        // Another flow, much later, triggers the sweep.
        d.seg_t(tuple(1), 10_000_000, 1, A, b"");
        let ports: Vec<u16> = d.ev.iter().map(|e| e.flow.src_port).collect();
        assert_eq!(ports, vec![5, 3, 9]);
        assert!(d.ev.iter().all(|e| e.flags.partial && e.head == b"GET /"));
        assert_eq!(d.asm.stats().flows_timed_out, 3);
        assert_eq!(d.asm.tracked_flows(), 0);
        assert_eq!(d.asm.held_bytes(), 0);
    }

    #[test]
    fn flow_and_byte_caps_evict_the_oldest() {
        let cfg = ReassemblyConfig {
            max_flows: 2,
            ..ReassemblyConfig::default()
        };
        let mut d = Drv::with(cfg);
        d.seg(tuple(1), 1, PA, b"GET /1");
        d.seg(tuple(2), 1, PA, b"GET /2");
        d.seg(tuple(2), 7, PA, b"x"); // flow 2 active again
        d.seg(tuple(3), 1, PA, b"GET /3");
        assert_eq!(d.heads(), vec![&b"GET /1"[..]]);
        assert_eq!(d.asm.stats().flows_evicted_flow_cap, 1);
        assert_eq!(d.asm.tracked_flows(), 2);

        // Room for one flow's state and buffer, not two.
        let mut one = Drv::new();
        one.seg(tuple(1), 1, PA, b"GET /1");
        let cap = one.asm.held_bytes() + 10;
        let cfg = ReassemblyConfig {
            max_total_bytes: cap,
            ..ReassemblyConfig::default()
        };
        let mut d = Drv::with(cfg);
        d.seg(tuple(1), 1, PA, b"GET /1");
        assert!(d.ev.is_empty());
        d.seg(tuple(2), 1, PA, b"GET /22");
        assert_eq!(d.heads(), vec![&b"GET /1"[..]]);
        assert_eq!(d.asm.stats().flows_evicted_byte_cap, 1);
        assert!(d.asm.held_bytes() <= cap);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut d = Drv::new();
        let isn = u32::MAX - 10;
        d.syn(tuple(CLIENT), isn);
        let start = isn.wrapping_add(1);
        d.seg(tuple(CLIENT), start.wrapping_add(20), PA, &REQ1[20..]);
        d.seg(tuple(CLIENT), start, PA, &REQ1[..20]);
        assert_eq!(d.heads(), vec![REQ1]);
        assert_eq!(d.ev[0].seq, start);
    }

    #[test]
    fn kept_window_wraps_and_answers_by_distance() {
        let mut r = Recent::default();
        assert_eq!(r.back(1), None);
        r.push(b"abc");
        assert_eq!(
            (r.back(1), r.back(3), r.back(4)),
            (Some(b'c'), Some(b'a'), None)
        );
        // 3 + 2047 + 5 bytes: the window holds the last 2048, ending "vwxyz".
        let fill: Vec<u8> = (0..2047).map(|i| b'0' + (i % 10) as u8).collect();
        r.push(&fill);
        r.push(b"vwxyz");
        assert_eq!(r.back(1), Some(b'z'));
        assert_eq!(r.back(5), Some(b'v'));
        // The last 2048 bytes are fill[4..] (2043 bytes), then "vwxyz".
        assert_eq!(r.back(2048), Some(fill[4]));
        assert_eq!(r.back(2049), None);
        assert_eq!(r.held(), RECENT_BYTES);
        // One push longer than the window keeps its tail.
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        r.push(&big);
        assert_eq!(r.back(1), Some((4999 % 251) as u8));
        assert_eq!(r.back(2048), Some(((5000 - 2048) % 251) as u8));
    }

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

    #[test]
    fn stats_serialize_with_stable_names() {
        let v = serde_json::to_value(ReassemblyStats::default()).unwrap();
        let o = v.as_object().unwrap();
        for k in [
            "gaps",
            "heads_capped",
            "flows_evicted_byte_cap",
            "not_http_flows",
        ] {
            assert!(o.contains_key(k), "{k}");
        }
    }

    // ------------------------------------------------------------------------------
    // Property tests.

    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Body {
        None,
        Length(Vec<u8>),
        /// Chunks (data, extension) and trailer lines.
        Chunked(Vec<(Vec<u8>, String)>, Vec<String>),
    }

    #[derive(Debug, Clone)]
    struct Req {
        method: &'static str,
        path: String,
        headers: Vec<(&'static str, String)>,
        body: Body,
        leading_crlf: bool,
    }

    const FAKE: &[u8] = b"GET /fake HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";

    fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..20),
                Just(FAKE.to_vec()),
                Just(b"\r\n\r\n".to_vec()),
                Just(b"0\r\n\r\n".to_vec()),
                Just(b"\nPOST / HTTP/1.1\r\n".to_vec()),
            ],
            0..5,
        )
        .prop_map(|v| v.concat())
    }

    fn req() -> impl Strategy<Value = Req> {
        let method = prop::sample::select(vec![
            "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE",
        ]);
        let name = prop::sample::select(vec![
            "Host",
            "X-Forwarded-For",
            "Cookie",
            "Forwarded",
            "Accept",
            "X-Real-IP",
        ]);
        let header = (name, "[a-zA-Z0-9 .,;=/:-]{0,40}");
        let chunk = (
            body_bytes().prop_filter("non-empty chunk", |b| !b.is_empty()),
            prop::sample::select(vec!["", ";a=b", " ;x", ";q=\"v\""]).prop_map(String::from),
        );
        let trailer = prop::sample::select(vec![
            "X-Trailer: 1",
            "X-Forwarded-For: GET / HTTP/1.1",
            "Expires: never",
        ])
        .prop_map(String::from);
        let body = prop_oneof![
            Just(Body::None),
            body_bytes().prop_map(Body::Length),
            (
                prop::collection::vec(chunk, 0..4),
                prop::collection::vec(trailer, 0..3)
            )
                .prop_map(|(c, t)| Body::Chunked(c, t)),
        ];
        (
            method,
            "/[a-z0-9]{0,12}",
            prop::collection::vec(header, 0..5),
            body,
            prop::bool::weighted(0.1),
        )
            .prop_map(|(method, path, headers, body, leading_crlf)| Req {
                method,
                path,
                headers,
                body,
                leading_crlf,
            })
    }

    /// Serializes the request; returns (head, whole message).
    fn serialize(r: &Req) -> (Vec<u8>, Vec<u8>) {
        let mut h = format!("{} {} HTTP/1.1\r\n", r.method, r.path).into_bytes();
        for (n, v) in &r.headers {
            h.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        let mut body = Vec::new();
        match &r.body {
            Body::None => {}
            Body::Length(b) => {
                h.extend_from_slice(format!("Content-Length: {}\r\n", b.len()).as_bytes());
                body.extend_from_slice(b);
            }
            Body::Chunked(chunks, trailers) => {
                h.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                for (data, ext) in chunks {
                    body.extend_from_slice(format!("{:x}{ext}\r\n", data.len()).as_bytes());
                    body.extend_from_slice(data);
                    body.extend_from_slice(b"\r\n");
                }
                body.extend_from_slice(b"0\r\n");
                for t in trailers {
                    body.extend_from_slice(format!("{t}\r\n").as_bytes());
                }
                body.extend_from_slice(b"\r\n");
            }
        }
        h.extend_from_slice(b"\r\n");
        let mut m = if r.leading_crlf {
            b"\r\n".to_vec()
        } else {
            Vec::new()
        };
        m.extend_from_slice(&h);
        m.extend_from_slice(&body);
        (h, m)
    }

    fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
        from + hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("naive: needle")
    }

    /// Deliberately naive reference: the whole contiguous stream, split message by
    /// message with string operations. Returns (preamble, heads with their offsets).
    /// Heads with their stream offsets.
    type Heads = Vec<(usize, Vec<u8>)>;

    fn naive_heads(s: &[u8]) -> (Option<Vec<u8>>, Heads) {
        let mut i = 0;
        let mut pre = None;
        if s.starts_with(b"PROXY ") {
            i = find(s, b"\r\n", 0) + 2;
            pre = Some(s[..i].to_vec());
        } else if s.starts_with(PP2_SIG) {
            i = 16 + (s[14] as usize) * 256 + s[15] as usize;
            pre = Some(s[..i].to_vec());
        }
        let mut heads = Vec::new();
        loop {
            while i < s.len() && (s[i] == b'\r' || s[i] == b'\n') {
                i += 1;
            }
            if i >= s.len() {
                break;
            }
            let end = find(s, b"\r\n\r\n", i) + 4;
            let text = String::from_utf8_lossy(&s[i..end]).to_string();
            heads.push((i, s[i..end].to_vec()));
            i = end;
            let mut cl = 0usize;
            let mut chunked = false;
            for line in text.split("\r\n").skip(1) {
                if let Some((k, v)) = line.split_once(':') {
                    match k.to_lowercase().as_str() {
                        "content-length" => cl = v.trim().parse().unwrap(),
                        "transfer-encoding" => {
                            chunked = v.trim().to_lowercase().ends_with("chunked")
                        }
                        _ => {}
                    }
                }
            }
            if !chunked {
                i += cl;
                continue;
            }
            loop {
                let le = find(s, b"\r\n", i);
                let line = String::from_utf8_lossy(&s[i..le]).to_string();
                let size =
                    usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
                i = le + 2;
                if size > 0 {
                    i += size + 2;
                    continue;
                }
                loop {
                    let le = find(s, b"\r\n", i);
                    let empty = le == i;
                    i = le + 2;
                    if empty {
                        break;
                    }
                }
                break;
            }
        }
        (pre, heads)
    }

    fn preamble() -> impl Strategy<Value = Option<Vec<u8>>> {
        prop_oneof![
            Just(None),
            Just(Some(b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n".to_vec())),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|tlv| {
                let mut v = PP2_SIG.to_vec();
                v.extend_from_slice(&[0x21, 0x11]);
                v.extend_from_slice(&(tlv.len() as u16).to_be_bytes());
                v.extend_from_slice(&tlv);
                Some(v)
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn random_segmentation_matches_naive_reference(
            pre in preamble(),
            reqs in prop::collection::vec(req(), 1..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
            jitter in prop::collection::vec(0usize..4, 64),
            dups in prop::collection::vec((any::<prop::sample::Index>(), 0usize..6, any::<bool>()), 0..6),
            isn in any::<u32>(),
            noise in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            let mut stream = pre.clone().unwrap_or_default();
            let mut expected = Vec::new();
            for r in &reqs {
                let (h, m) = serialize(r);
                let at = stream.len() + usize::from(r.leading_crlf) * 2;
                expected.push((at, h));
                stream.extend_from_slice(&m);
            }
            // The naive reference agrees with what was generated.
            let (npre, nheads) = naive_heads(&stream);
            prop_assert_eq!(&npre, &pre);
            prop_assert_eq!(&nheads, &expected);

            // Random segmentation.
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).collect();
            bounds.push(0);
            bounds.push(stream.len());
            bounds.sort_unstable();
            bounds.dedup();
            let mut segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
            // Bounded reordering: sort by index + jitter.
            let mut keyed: Vec<(usize, (usize, usize))> =
                segs.iter().enumerate().map(|(i, s)| (i + jitter[i % jitter.len()], *s)).collect();
            keyed.sort_by_key(|k| k.0);
            segs = keyed.into_iter().map(|k| k.1).collect();
            // Duplicates and overlapping retransmissions (a segment merged with its successor),
            // placed a little later.
            for (idx, later, merge) in &dups {
                let i = idx.index(segs.len());
                let (a, mut b) = segs[i];
                if *merge {
                    b = (b + 1 + b - a).min(stream.len());
                }
                let at = (i + 1 + later).min(segs.len());
                segs.insert(at, (a, b));
            }
            let c = tuple(CLIENT);
            let mut d = Drv::with(ReassemblyConfig { max_ooo_segments: 32, ..ReassemblyConfig::default() });
            d.syn(c, isn);
            d.seg(c.reversed(), 77, TcpFlags::SYN | A, b"");
            let start = isn.wrapping_add(1);
            for (k, (a, b)) in segs.iter().enumerate() {
                d.seg(c, start.wrapping_add(*a as u32), PA, &stream[*a..*b]);
                // Server-side noise (even request-shaped) must be ignored.
                if noise.iter().any(|n| n.index(segs.len()) == k) {
                    d.seg(c.reversed(), 78, PA, FAKE);
                }
            }
            d.finish();
            let got: Vec<(usize, Vec<u8>)> =
                d.ev.iter().map(|e| (e.stream_offset as usize, e.head.clone())).collect();
            prop_assert_eq!(&got, &expected);
            for (i, e) in d.ev.iter().enumerate() {
                prop_assert_eq!(e.ordinal as usize, i + 1);
                prop_assert_eq!(&e.proxy_preamble, &pre);
                prop_assert!(!e.flags.partial && !e.flags.gap_before && !e.flags.midstream_start);
                prop_assert_eq!(e.seq, start.wrapping_add(e.stream_offset as u32));
            }
            let st = d.asm.stats();
            prop_assert_eq!(st.gaps + st.resyncs + st.not_http_flows + st.framing_errors, 0);
            // Duplicates carry the same bytes: never a conflict.
            prop_assert_eq!(st.overlap_conflicts + st.overlap_rewinds, 0);
            prop_assert_eq!(d.asm.held_bytes(), 0);
        }

        #[test]
        fn never_panics_and_keeps_its_bounds(
            max_head in 1usize..200,
            max_ooo_segments in 0usize..4,
            max_ooo_bytes in 0usize..300,
            max_flows in 1usize..4,
            max_total in 0usize..500,
            timeout in 1i64..5_000,
            pkts in prop::collection::vec(
                (
                    0u16..4,
                    any::<bool>(),
                    any::<u16>(),
                    prop_oneof![0u32..400, any::<u32>()],
                    prop::collection::vec(
                        prop_oneof![
                            prop::collection::vec(any::<u8>(), 0..12),
                            Just(b"GET / HTTP/1.1\r\n".to_vec()),
                            Just(b"\r\n".to_vec()),
                            Just(b"Content-Length: 5\r\n".to_vec()),
                            Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
                            Just(b"PROXY TCP4 ".to_vec()),
                            Just(PP2_SIG.to_vec()),
                            Just(b"3;x\r\nabc\r\n0\r\n".to_vec()),
                            Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
                            Just(b"CONNECT a:1 HTTP/1.1\r\n\r\n".to_vec()),
                        ],
                        0..5,
                    ),
                    -100i64..3_000,
                ),
                0..60,
            ),
        ) {
            let cfg = ReassemblyConfig {
                max_head_bytes: max_head,
                max_ooo_segments,
                max_ooo_bytes,
                max_flows,
                max_total_bytes: max_total,
                idle_timeout_ns: timeout,
            };
            let mut asm = HeadAssembler::new(cfg);
            let mut events = Vec::new();
            let mut ts = 0i64;
            for (i, (port, rev, flags, seq, parts, dt)) in pkts.iter().enumerate() {
                ts += dt;
                let flow = if *rev { tuple(*port).reversed() } else { tuple(*port) };
                let payload = parts.concat();
                let s = SegmentMeta {
                    ts_ns: ts,
                    packet_index: i as u64,
                    flow,
                    seq: *seq,
                    flags: TcpFlags(flags & 0x1ff),
                    payload: &payload,
                };
                asm.push(s, &mut |e| events.push(e));
                prop_assert!(asm.held_bytes() <= max_total);
                prop_assert_eq!(asm.held_bytes(), asm.recount_held());
                prop_assert!(asm.tracked_flows() <= max_flows);
            }
            asm.finish(&mut |e| events.push(e));
            prop_assert_eq!(asm.held_bytes(), 0);
            prop_assert_eq!(asm.tracked_flows(), 0);
            for e in &events {
                prop_assert!(e.head.len() <= max_head);
                prop_assert!(!e.head.is_empty());
                prop_assert!(e.flags.partial || e.head.ends_with(b"\n\n") || e.head.ends_with(b"\n\r\n"));
            }
        }
    }

    #[test]
    fn lf_only_lines_and_resync_bookkeeping() {
        let mut d = Drv::new();
        d.syn(tuple(CLIENT), 0);
        d.seg(
            tuple(CLIENT),
            1,
            PA,
            b"GET / HTTP/1.0\nHost: a\n\nGET /2 HTTP/1.1\n\r\n",
        );
        assert_eq!(
            d.heads(),
            vec![
                &b"GET / HTTP/1.0\nHost: a\n\n"[..],
                &b"GET /2 HTTP/1.1\n\r\n"[..]
            ]
        );
        // A resync candidate line left without its LF at the end is counted, not lost.
        let cfg = ReassemblyConfig {
            max_head_bytes: 20,
            ..ReassemblyConfig::default()
        };
        let mut d = Drv::with(cfg);
        d.syn(tuple(CLIENT), 0);
        let s = b"GET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\nGET /b";
        d.seg(tuple(CLIENT), 1, PA, s);
        d.finish();
        assert_eq!(d.ev.len(), 1);
        assert!(d.ev[0].flags.capped);
        // 20 bytes in the capped head; the rest (including "GET /b") skipped by resync.
        assert_eq!(d.asm.stats().resync_bytes_skipped, (s.len() - 20) as u64);
    }

    #[test]
    fn segment_from_decoded_packet() {
        use crate::decode::{Fragment, IpInfo, TcpView, Transport};
        let t = tuple(CLIENT);
        let tcp = TcpView {
            src_port: t.src_port,
            dst_port: t.dst_port,
            seq: 4242,
            ack: 0,
            flags: TcpFlags(PA),
            window: 0,
            urgent_ptr: 0,
            reserved: 0,
            header_len: 20,
            options: b"",
            payload: REQ1,
            payload_len_on_wire: REQ1.len() as u32,
        };
        let pkt = Packet {
            ts_ns: 99,
            link_type: 1,
            ip: IpInfo {
                version: 4,
                src: t.src_ip,
                dst: t.dst_ip,
                ttl: 64,
                df: true,
                ip_id: None,
                ecn: 0,
                reserved_bit: false,
                flow_label: 0,
                options_len: 0,
                header_len: 20,
                total_len: 40 + REQ1.len() as u32,
                proto: IpProto::TCP,
                fragment: Fragment::None,
            },
            transport: Transport::Tcp(tcp),
            truncated: false,
        };
        let s = SegmentMeta::from_packet(&pkt, 7).unwrap();
        assert_eq!((s.ts_ns, s.packet_index, s.seq, s.flow), (99, 7, 4242, t));
        assert_eq!(s.payload, REQ1);
        let other = Packet {
            transport: Transport::Other,
            ..pkt
        };
        assert!(SegmentMeta::from_packet(&other, 8).is_none());
    }
}
