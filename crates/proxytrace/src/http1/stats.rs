//! Counters of the HTTP/1 layer, and [`ReassemblyStats`]: them beside the TCP layer's,
//! serialised as one flat object of stable snake_case counter names.

use crate::tcp::stats::TcpStats;
use crate::vocab::counters::{Counter, CounterKind, Counters};
use serde::Serialize;

/// Every head and stream byte the HTTP/1 state machine could not handle normally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Http1Stats {
    /// Payload segments starting `HTTP/` on a flow with no state (responses).
    pub response_segments_ignored: u64,
    /// Heads that ended with a blank line.
    pub heads_complete: u64,
    /// Heads emitted unfinished (flow ended, gap, or cap).
    pub heads_partial: u64,
    /// Heads cut at `max_head_bytes` (also in `heads_partial`).
    pub heads_capped: u64,
    /// A disagreeing copy starting a request where the first copy, at the same message
    /// start, made no request (stray bytes): the stream was taken from the new copy.
    pub overlap_rewinds: u64,
    /// Gaps that fell inside a body of known length: framing survived.
    pub gaps_inside_body: u64,
    /// Body bytes skipped by framing (never scanned for heads).
    pub body_bytes_skipped: u64,
    /// Empty lines before a request line (allowed by RFC 9112 section 2.2).
    pub empty_line_bytes_skipped: u64,
    /// PROXY v1 preambles at a stream start.
    pub preambles_v1: u64,
    /// PROXY v2 preambles at a stream start.
    pub preambles_v2: u64,
    /// Malformed, cut or repeated preambles.
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
    /// Broken chunked bodies (size line, CRLF after data, trailers over their cap).
    pub chunked_framing_errors: u64,
    /// Times a flow lost message framing and started searching for a request line.
    pub resyncs: u64,
    /// Request lines found by searching.
    pub resync_heads_found: u64,
    /// Bytes passed over while searching.
    pub resync_bytes_skipped: u64,
    /// Heads found by searching that the server's side confirmed (see `http1::resync`).
    pub resync_heads_corroborated: u64,
    /// Heads found by searching emitted without confirmation (flow end, gap, cap).
    pub resync_heads_uncertain: u64,
    /// Heads found by searching that the stream refuted: no row (text inside a body).
    pub resync_candidates_rejected: u64,
    /// Heads let go as uncertain because too many waited for confirmation.
    pub resync_pending_capped: u64,
    /// Heads that left with their complete response.
    pub responses_complete: u64,
    /// Heads that left without a complete response (the row says why).
    pub responses_missing: u64,
    /// Final responses with no head waiting for one (its request not seen, or let go).
    pub responses_unmatched: u64,
    /// Interim 1xx responses skipped (100 Continue, 103 Early Hints).
    pub responses_interim: u64,
    /// Server bytes where a response should start that are no HTTP/1 response head, a
    /// head over the head cap, broken body framing: pairing stopped on the connection.
    pub responses_unparsed: u64,
    /// Holes in the server's stream.
    pub response_gaps: u64,
    /// Heads let go because more than `http1::exchange::MAX_AWAITING` waited on their
    /// connection.
    pub responses_awaiting_capped: u64,
    /// Heads let go after the response timeout.
    pub responses_timed_out: u64,
}

impl Http1Stats {
    /// Add another run's counters (a shard's) to these.
    pub fn merge(&mut self, o: &Http1Stats) {
        self.response_segments_ignored += o.response_segments_ignored;
        self.heads_complete += o.heads_complete;
        self.heads_partial += o.heads_partial;
        self.heads_capped += o.heads_capped;
        self.overlap_rewinds += o.overlap_rewinds;
        self.gaps_inside_body += o.gaps_inside_body;
        self.body_bytes_skipped += o.body_bytes_skipped;
        self.empty_line_bytes_skipped += o.empty_line_bytes_skipped;
        self.preambles_v1 += o.preambles_v1;
        self.preambles_v2 += o.preambles_v2;
        self.preambles_invalid += o.preambles_invalid;
        self.preambles_repeated += o.preambles_repeated;
        self.not_http_flows += o.not_http_flows;
        self.connect_tunnels += o.connect_tunnels;
        self.framing_errors += o.framing_errors;
        self.conflicting_content_lengths += o.conflicting_content_lengths;
        self.chunked_framing_errors += o.chunked_framing_errors;
        self.resyncs += o.resyncs;
        self.resync_heads_found += o.resync_heads_found;
        self.resync_bytes_skipped += o.resync_bytes_skipped;
        self.resync_heads_corroborated += o.resync_heads_corroborated;
        self.resync_heads_uncertain += o.resync_heads_uncertain;
        self.resync_candidates_rejected += o.resync_candidates_rejected;
        self.resync_pending_capped += o.resync_pending_capped;
        self.responses_complete += o.responses_complete;
        self.responses_missing += o.responses_missing;
        self.responses_unmatched += o.responses_unmatched;
        self.responses_interim += o.responses_interim;
        self.responses_unparsed += o.responses_unparsed;
        self.response_gaps += o.response_gaps;
        self.responses_awaiting_capped += o.responses_awaiting_capped;
        self.responses_timed_out += o.responses_timed_out;
    }
}

/// Every segment, byte, flow and head the assembler could not handle normally: the TCP
/// counters, then the HTTP/1 ones, in one flat object (field names are the stable
/// counter names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReassemblyStats {
    /// Segments, stream bytes and flows.
    #[serde(flatten)]
    pub tcp: TcpStats,
    /// Heads, framing and preambles.
    #[serde(flatten)]
    pub http: Http1Stats,
}

impl ReassemblyStats {
    /// Add another assembler's counters (a shard's) to these.
    pub fn merge(&mut self, o: &ReassemblyStats) {
        self.tcp.merge(&o.tcp);
        self.http.merge(&o.http);
    }
}

/// Partial and capped heads, framing errors and resyncs are news in a summary.
impl Counters for Http1Stats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        let s = self;
        vec![
            Counter::new(
                "response_segments_ignored",
                s.response_segments_ignored,
                Volume,
            ),
            Counter::new("heads_complete", s.heads_complete, Volume),
            Counter::new("heads_partial", s.heads_partial, Loss),
            Counter::new("heads_capped", s.heads_capped, Cap),
            Counter::new("overlap_rewinds", s.overlap_rewinds, Loss),
            Counter::new("gaps_inside_body", s.gaps_inside_body, Volume),
            Counter::new("body_bytes_skipped", s.body_bytes_skipped, Volume),
            Counter::new(
                "empty_line_bytes_skipped",
                s.empty_line_bytes_skipped,
                Volume,
            ),
            Counter::new("preambles_v1", s.preambles_v1, Volume),
            Counter::new("preambles_v2", s.preambles_v2, Volume),
            Counter::new("preambles_invalid", s.preambles_invalid, Loss),
            Counter::new("preambles_repeated", s.preambles_repeated, Loss),
            Counter::new("not_http_flows", s.not_http_flows, Loss),
            Counter::new("connect_tunnels", s.connect_tunnels, Volume),
            Counter::new("framing_errors", s.framing_errors, Loss),
            Counter::new(
                "conflicting_content_lengths",
                s.conflicting_content_lengths,
                Loss,
            ),
            Counter::new("chunked_framing_errors", s.chunked_framing_errors, Loss),
            Counter::new("resyncs", s.resyncs, Loss),
            Counter::new("resync_heads_found", s.resync_heads_found, Volume),
            Counter::new("resync_bytes_skipped", s.resync_bytes_skipped, Volume),
            Counter::new(
                "resync_heads_corroborated",
                s.resync_heads_corroborated,
                Volume,
            ),
            Counter::new("resync_heads_uncertain", s.resync_heads_uncertain, Loss),
            Counter::new(
                "resync_candidates_rejected",
                s.resync_candidates_rejected,
                Loss,
            ),
            Counter::new("resync_pending_capped", s.resync_pending_capped, Cap),
            Counter::new("responses_complete", s.responses_complete, Volume),
            Counter::new("responses_missing", s.responses_missing, Loss),
            Counter::new("responses_unmatched", s.responses_unmatched, Loss),
            Counter::new("responses_interim", s.responses_interim, Volume),
            Counter::new("responses_unparsed", s.responses_unparsed, Loss),
            Counter::new("response_gaps", s.response_gaps, Loss),
            Counter::new(
                "responses_awaiting_capped",
                s.responses_awaiting_capped,
                Cap,
            ),
            Counter::new("responses_timed_out", s.responses_timed_out, Cap),
        ]
    }
}

/// The TCP counters, then the HTTP/1 ones (the order of the JSON object).
impl Counters for ReassemblyStats {
    fn counters(&self) -> Vec<Counter> {
        let mut v = self.tcp.counters();
        v.extend(self.http.counters());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counter names users see (summary, JSON): those of the single struct this one
    /// replaced (splitting it by layer renamed, added and dropped none), and the resync
    /// verdicts and the response pairing added since.
    #[test]
    fn every_counter_keeps_its_name() {
        let names = "segments payload_bytes non_tcp_segments server_side_segments \
            response_segments_ignored unsynced_segments unsynced_bytes flows_created \
            flows_with_syn flows_midstream syn_retransmissions connections_replaced \
            direction_corrections heads_complete heads_partial heads_capped \
            retransmitted_segments retransmitted_bytes overlap_conflicts \
            overlap_conflict_bytes overlap_unchecked_bytes overlap_rewinds \
            ooo_segments_buffered ooo_segments_repaired ooo_cap_gaps gaps gap_bytes \
            gaps_inside_body body_bytes_skipped empty_line_bytes_skipped preambles_v1 \
            preambles_v2 preambles_invalid preambles_repeated not_http_flows \
            connect_tunnels framing_errors conflicting_content_lengths \
            chunked_framing_errors resyncs resync_heads_found resync_bytes_skipped \
            segments_on_dead_flows ooo_bytes_discarded flows_ended_fin flows_ended_rst \
            flows_timed_out flows_evicted_flow_cap flows_evicted_byte_cap \
            flows_open_at_finish resync_heads_corroborated resync_heads_uncertain \
            resync_candidates_rejected resync_pending_capped responses_complete \
            responses_missing responses_unmatched responses_interim responses_unparsed \
            response_gaps responses_awaiting_capped responses_timed_out";
        let mut want: Vec<&str> = names.split_whitespace().collect();
        let v = serde_json::to_value(ReassemblyStats::default()).unwrap();
        let o = v.as_object().unwrap();
        assert!(o.values().all(|n| n.as_u64() == Some(0)));
        let mut got: Vec<&str> = o.keys().map(String::as_str).collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want);
    }
}
