//! Counters of the TCP layer: every segment, byte and flow the flow table and the byte
//! streams could not handle normally. Field names are the stable snake_case counter names.

use crate::vocab::counters::{Counter, CounterKind, Counters};
use serde::Serialize;

/// Counters of segments, stream bytes and flows (the TCP half of the reassembly stats).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TcpStats {
    /// Segments pushed.
    pub segments: u64,
    /// Payload bytes pushed.
    pub payload_bytes: u64,
    /// Segments of another protocol than TCP (ignored).
    pub non_tcp_segments: u64,
    /// Segments of the server -> client direction (ignored by design).
    pub server_side_segments: u64,
    /// Segments on no tracked flow, with no stream start found (midstream, no sync).
    pub unsynced_segments: u64,
    /// Payload bytes of those segments.
    pub unsynced_bytes: u64,
    /// Flows whose state was created.
    pub flows_created: u64,
    /// Flows created by a SYN.
    pub flows_with_syn: u64,
    /// Flows created without a SYN (capture started mid-connection).
    pub flows_midstream: u64,
    /// SYNs repeating the ISN of the tracked connection.
    pub syn_retransmissions: u64,
    /// A new SYN on a 5-tuple that still had state (port reuse).
    pub connections_replaced: u64,
    /// A SYN contradicted an earlier guess of which side is the client.
    pub direction_corrections: u64,
    /// Segments whose bytes were all already taken.
    pub retransmitted_segments: u64,
    /// Bytes already taken that arrived again (whole or overlapping segments).
    pub retransmitted_bytes: u64,
    /// Segments carrying a copy of stream bytes that disagrees with the copy taken.
    pub overlap_conflicts: u64,
    /// Bytes that disagree in those copies.
    pub overlap_conflict_bytes: u64,
    /// Overlapping bytes further back than the kept window
    /// ([`RECENT_BYTES`](super::assembler::RECENT_BYTES)): not compared.
    pub overlap_unchecked_bytes: u64,
    /// Segments buffered ahead of a hole.
    pub ooo_segments_buffered: u64,
    /// Buffered segments put back in order.
    pub ooo_segments_repaired: u64,
    /// Out-of-order buffer over its caps: the hole was declared a gap.
    pub ooo_cap_gaps: u64,
    /// Holes in a stream given up on.
    pub gaps: u64,
    /// Bytes missing in those holes.
    pub gap_bytes: u64,
    /// Segments on flows no longer tracked (the protocol above gave up, or closed).
    pub segments_on_dead_flows: u64,
    /// Out-of-order bytes buffered for a flow the protocol above then gave up on.
    pub ooo_bytes_discarded: u64,
    /// Flows ended by a FIN whose bytes were all seen.
    pub flows_ended_fin: u64,
    /// Flows ended by an RST.
    pub flows_ended_rst: u64,
    /// Flows closed after the idle timeout.
    pub flows_timed_out: u64,
    /// Flows evicted to stay under the flow cap.
    pub flows_evicted_flow_cap: u64,
    /// Flows evicted to stay under the byte cap.
    pub flows_evicted_byte_cap: u64,
    /// Flows still open at the end of the input.
    pub flows_open_at_finish: u64,
}

impl TcpStats {
    /// Add another run's counters (a shard's) to these.
    pub fn merge(&mut self, o: &TcpStats) {
        self.segments += o.segments;
        self.payload_bytes += o.payload_bytes;
        self.non_tcp_segments += o.non_tcp_segments;
        self.server_side_segments += o.server_side_segments;
        self.unsynced_segments += o.unsynced_segments;
        self.unsynced_bytes += o.unsynced_bytes;
        self.flows_created += o.flows_created;
        self.flows_with_syn += o.flows_with_syn;
        self.flows_midstream += o.flows_midstream;
        self.syn_retransmissions += o.syn_retransmissions;
        self.connections_replaced += o.connections_replaced;
        self.direction_corrections += o.direction_corrections;
        self.retransmitted_segments += o.retransmitted_segments;
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.overlap_conflicts += o.overlap_conflicts;
        self.overlap_conflict_bytes += o.overlap_conflict_bytes;
        self.overlap_unchecked_bytes += o.overlap_unchecked_bytes;
        self.ooo_segments_buffered += o.ooo_segments_buffered;
        self.ooo_segments_repaired += o.ooo_segments_repaired;
        self.ooo_cap_gaps += o.ooo_cap_gaps;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.segments_on_dead_flows += o.segments_on_dead_flows;
        self.ooo_bytes_discarded += o.ooo_bytes_discarded;
        self.flows_ended_fin += o.flows_ended_fin;
        self.flows_ended_rst += o.flows_ended_rst;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_evicted_flow_cap += o.flows_evicted_flow_cap;
        self.flows_evicted_byte_cap += o.flows_evicted_byte_cap;
        self.flows_open_at_finish += o.flows_open_at_finish;
    }
}

/// Losses (gaps, conflicts, unsynced bytes) and caps are news in a summary; volume is not.
impl Counters for TcpStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        let s = self;
        vec![
            Counter::new("segments", s.segments, Volume),
            Counter::new("payload_bytes", s.payload_bytes, Volume),
            Counter::new("non_tcp_segments", s.non_tcp_segments, Volume),
            Counter::new("server_side_segments", s.server_side_segments, Volume),
            Counter::new("unsynced_segments", s.unsynced_segments, Volume),
            Counter::new("unsynced_bytes", s.unsynced_bytes, Loss),
            Counter::new("flows_created", s.flows_created, Volume),
            Counter::new("flows_with_syn", s.flows_with_syn, Volume),
            Counter::new("flows_midstream", s.flows_midstream, Volume),
            Counter::new("syn_retransmissions", s.syn_retransmissions, Volume),
            Counter::new("connections_replaced", s.connections_replaced, Volume),
            Counter::new("direction_corrections", s.direction_corrections, Volume),
            Counter::new("retransmitted_segments", s.retransmitted_segments, Volume),
            Counter::new("retransmitted_bytes", s.retransmitted_bytes, Volume),
            Counter::new("overlap_conflicts", s.overlap_conflicts, Loss),
            Counter::new("overlap_conflict_bytes", s.overlap_conflict_bytes, Volume),
            Counter::new("overlap_unchecked_bytes", s.overlap_unchecked_bytes, Loss),
            Counter::new("ooo_segments_buffered", s.ooo_segments_buffered, Volume),
            Counter::new("ooo_segments_repaired", s.ooo_segments_repaired, Volume),
            Counter::new("ooo_cap_gaps", s.ooo_cap_gaps, Cap),
            Counter::new("gaps", s.gaps, Loss),
            Counter::new("gap_bytes", s.gap_bytes, Loss),
            Counter::new("segments_on_dead_flows", s.segments_on_dead_flows, Volume),
            Counter::new("ooo_bytes_discarded", s.ooo_bytes_discarded, Loss),
            Counter::new("flows_ended_fin", s.flows_ended_fin, Volume),
            Counter::new("flows_ended_rst", s.flows_ended_rst, Volume),
            Counter::new("flows_timed_out", s.flows_timed_out, Volume),
            Counter::new("flows_evicted_flow_cap", s.flows_evicted_flow_cap, Cap),
            Counter::new("flows_evicted_byte_cap", s.flows_evicted_byte_cap, Cap),
            Counter::new("flows_open_at_finish", s.flows_open_at_finish, Volume),
        ]
    }
}
