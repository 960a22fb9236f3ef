//! How sure a head found by searching is. After a midstream start, a gap, a capped head
//! or lost framing, the conversation searches for a request line; a body can hold text
//! that looks exactly like one (the lab's late capture starts inside a POST body full of
//! `GET /decoy-in-body` heads). Such a head is a *candidate*: held, with the heads its
//! framing leads to, until the stream says which it is.
//!
//! - **Corroborated** (row flag `resync_corroborated`): the candidate starts a client
//!   segment that follows a server response with no client byte between (a proxy writes
//!   the next request after the previous response), or it began a client segment and
//!   the server answers once the last held message is complete (the heads held after it,
//!   which its framing led to, with it).
//! - **Rejected** (no row, counted `resync_candidates_rejected`): the bytes where its
//!   framing says the next message starts are no request; or the server answers while
//!   its body is still incomplete; or the server answers and it did not begin a client
//!   segment, nor did a head held before it (the segment it shares started inside an
//!   earlier message, maybe the one answered: a backend such as nginx answers before the
//!   body it does not read ends). The search goes on from there: the connection is never
//!   given up on after a wrong guess.
//! - **Uncertain** (row flag `resync_uncertain`, counted `resync_heads_uncertain`): the
//!   stream ended, or a gap cut it, before either; or more than [`MAX_PENDING_HEADS`]
//!   heads (or more than the head cap in bytes) waited, and the oldest was let go.
//!
//! A response is a server payload starting `HTTP/1.x NNN` with a final status (1xx ones
//! are interim: a body follows them, not a new request). Server payloads are looked at
//! only on connections followed, and only their first bytes.
//!
//! Known limits: request-like text that ends a body and happens to begin a client segment
//! is answered like a real request and so corroborated; a pipelined request found by
//! searching that shares its segment with an earlier request is rejected when answered.

use super::event::{HeadEvent, HeadFlags};
use super::stats::Http1Stats;
use crate::tcp::flow_table::heap_block;

/// Heads held at most while waiting for corroboration.
pub(crate) const MAX_PENDING_HEADS: usize = 8;

/// A head found by searching (or one its framing led to), not emitted yet.
pub(crate) struct Candidate {
    pub(crate) ev: HeadEvent,
    /// Its first byte was the first byte a client segment delivered.
    pub(crate) seg_start: bool,
}

/// Candidates in stream order, with the bytes their heads hold.
#[derive(Default)]
pub(crate) struct Candidates {
    heads: Vec<Candidate>,
    bytes: usize,
}

/// What a server response says about the held candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Nothing held.
    Nothing,
    /// Emitted as corroborated, after rejecting this many held before them.
    Corroborated(usize),
    /// This many dropped as rejected: the framing they gave is wrong, search again.
    Rejected(usize),
}

impl Candidates {
    /// Nothing held.
    pub(crate) fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Heads held.
    pub(crate) fn len(&self) -> usize {
        self.heads.len()
    }

    /// First-byte time of the oldest held head.
    pub(crate) fn oldest_ts(&self) -> Option<i64> {
        self.heads.first().map(|c| c.ev.ts_ns)
    }

    /// Heap bytes held (allocated capacities).
    pub(crate) fn held(&self) -> usize {
        if self.heads.capacity() == 0 {
            return 0;
        }
        heap_block(self.heads.capacity() * size_of::<Candidate>())
            + self
                .heads
                .iter()
                .map(|c| {
                    heap_block(c.ev.head.capacity())
                        + c.ev
                            .proxy_preamble
                            .as_ref()
                            .map_or(0, |p| heap_block(p.capacity()))
                })
                .sum::<usize>()
    }

    /// Stream bytes held (the heads).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds `c`; over the caps (count, or `max_bytes` of heads), the oldest are let go
    /// as uncertain.
    pub(crate) fn push(
        &mut self,
        c: Candidate,
        max_bytes: usize,
        stats: &mut Http1Stats,
        out: &mut dyn FnMut(HeadEvent),
    ) {
        self.bytes += c.ev.head.len();
        self.heads.push(c);
        while self.heads.len() > MAX_PENDING_HEADS
            || (self.bytes > max_bytes && self.heads.len() > 1)
        {
            stats.resync_pending_capped += 1;
            let c = self.heads.remove(0);
            self.bytes -= c.ev.head.len();
            release(c.ev, HeadFlags::RESYNC_UNCERTAIN, stats, out);
        }
    }

    /// Emits every held head as uncertain.
    pub(crate) fn flush_uncertain(
        &mut self,
        stats: &mut Http1Stats,
        out: &mut dyn FnMut(HeadEvent),
    ) {
        self.bytes = 0;
        for c in self.heads.drain(..) {
            release(c.ev, HeadFlags::RESYNC_UNCERTAIN, stats, out);
        }
    }

    /// Drops every held head as rejected; returns how many.
    pub(crate) fn reject(&mut self, stats: &mut Http1Stats) -> usize {
        let n = self.heads.len();
        stats.resync_candidates_rejected += n as u64;
        self.heads.clear();
        self.bytes = 0;
        n
    }

    /// A final server response arrived. `complete`: the last held head's message is
    /// complete (no body byte is still to come). Held heads before the first that began
    /// a client segment are rejected (they shared a segment with earlier bytes, of a
    /// message that may be the one answered); from it on they are corroborated.
    pub(crate) fn answered(
        &mut self,
        complete: bool,
        stats: &mut Http1Stats,
        out: &mut dyn FnMut(HeadEvent),
    ) -> Answer {
        if self.heads.is_empty() {
            return Answer::Nothing;
        }
        let first_start = self.heads.iter().position(|c| c.seg_start);
        let Some(k) = first_start.filter(|_| complete) else {
            return Answer::Rejected(self.reject(stats));
        };
        stats.resync_candidates_rejected += k as u64;
        self.bytes = 0;
        for (i, mut c) in self.heads.drain(..).enumerate() {
            if i >= k {
                // Numbered on the connection as if the rejected ones had never been.
                c.ev.ordinal = c.ev.ordinal.saturating_sub(k as u32);
                release(c.ev, HeadFlags::RESYNC_CORROBORATED, stats, out);
            }
        }
        Answer::Corroborated(k)
    }
}

/// Emits a held head with its verdict.
pub(crate) fn release(
    mut ev: HeadEvent,
    verdict: u16,
    stats: &mut Http1Stats,
    out: &mut dyn FnMut(HeadEvent),
) {
    ev.flags.set(verdict);
    if verdict == HeadFlags::RESYNC_CORROBORATED {
        stats.resync_heads_corroborated += 1;
    } else {
        stats.resync_heads_uncertain += 1;
    }
    out(ev);
}

/// Is `p` the start of a final (non-1xx) HTTP/1 response: `HTTP/1.x NNN`?
pub(crate) fn final_response_start(p: &[u8]) -> bool {
    p.len() >= 12
        && p.starts_with(b"HTTP/1.")
        && p[7].is_ascii_digit()
        && p[8] == b' '
        && p[9..12].iter().all(u8::is_ascii_digit)
        && (b'2'..=b'5').contains(&p[9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_responses_only() {
        assert!(final_response_start(b"HTTP/1.1 200 OK\r\n"));
        assert!(final_response_start(b"HTTP/1.0 404 Not Found"));
        assert!(!final_response_start(b"HTTP/1.1 100 Continue\r\n"));
        assert!(!final_response_start(b"HTTP/1.1 101 Switching"));
        assert!(!final_response_start(b"HTTP/2 200"));
        assert!(!final_response_start(b"HTTP/1.1 2"));
        assert!(!final_response_start(b"xHTTP/1.1 200 OK"));
    }
}
