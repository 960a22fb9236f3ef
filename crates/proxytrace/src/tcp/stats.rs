//! Counters of the TCP layer: every segment, byte and flow the flow table and the byte
//! streams could not handle normally. Field names are the stable snake_case counter names.

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
