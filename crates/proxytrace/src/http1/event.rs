//! What the HTTP/1 assembler emits: one [`HeadEvent`] per request head, with its
//! [`HeadFlags`].

use super::response::Response;
use crate::decode::FiveTuple;

/// Per-event flags. Connection-level ones (`midstream_start`, `preamble_invalid`) are set
/// on every event of the connection; the others describe what happened since the
/// previous event of the same connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HeadFlags(pub u16);

impl HeadFlags {
    /// The head did not end with a blank line (flow ended, gap, or cap).
    pub const PARTIAL: u16 = 1 << 0;
    /// The head hit `max_head_bytes`; `head` holds its first `max_head_bytes` bytes.
    pub const CAPPED: u16 = 1 << 1;
    /// Bytes were missing from the stream since the previous head.
    pub const GAP_BEFORE: u16 = 1 << 2;
    /// Out-of-order segments were put back in order since the previous head.
    pub const OUT_OF_ORDER_REPAIRED: u16 = 1 << 3;
    /// Retransmitted or overlapping bytes were dropped since the previous head.
    pub const RETRANSMISSION_SEEN: u16 = 1 << 4;
    /// No SYN was seen for this connection: the stream start is a guess.
    pub const MIDSTREAM_START: u16 = 1 << 5;
    /// The PROXY preamble is malformed (v1 without CRLF in 107 bytes or ended by a bare
    /// LF, v2 bad version or command or a length running past a request line, cut by a
    /// gap / flow end, or repeated later in the stream). The caller also sets it when
    /// the preamble does not parse.
    pub const PREAMBLE_INVALID: u16 = 1 << 6;
    /// Since the previous head, a copy of stream bytes arrived that disagrees with the
    /// copy already taken (a retransmission or overlapping segment with other bytes).
    /// The first copy wins, as in Linux (see `tcp::assembler::Recent`).
    pub const OVERLAP_CONFLICT: u16 = 1 << 7;
    /// The head was found by searching (after a midstream start, a gap, a cap or lost
    /// framing) and the server confirmed the message boundary: it answered the message
    /// this head starts (the head began a client segment), or had just answered the one
    /// before it (see `http1::resync`).
    pub const RESYNC_CORROBORATED: u16 = 1 << 8;
    /// The head was found by searching and nothing confirmed or refuted it before the
    /// stream ended, was cut by a gap, or the wait hit its cap: it may be text inside a
    /// body (see `http1::resync`).
    pub const RESYNC_UNCERTAIN: u16 = 1 << 9;

    /// Stable snake_case names, in the order the CSV `flags` column lists them.
    pub const NAMES: [(u16, &'static str); 10] = [
        (Self::PARTIAL, "partial"),
        (Self::CAPPED, "capped"),
        (Self::GAP_BEFORE, "gap_before"),
        (Self::OUT_OF_ORDER_REPAIRED, "out_of_order_repaired"),
        (Self::RETRANSMISSION_SEEN, "retransmission_seen"),
        (Self::MIDSTREAM_START, "midstream_start"),
        (Self::PREAMBLE_INVALID, "preamble_invalid"),
        (Self::OVERLAP_CONFLICT, "overlap_conflict"),
        (Self::RESYNC_CORROBORATED, "resync_corroborated"),
        (Self::RESYNC_UNCERTAIN, "resync_uncertain"),
    ];

    /// Flags set in either.
    #[must_use]
    pub fn union(self, o: HeadFlags) -> HeadFlags {
        HeadFlags(self.0 | o.0)
    }
}

crate::vocab::flags::impl_flag_set!(HeadFlags, u16);

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
    /// What happened to the stream around this head.
    pub flags: HeadFlags,
    /// Its response on the same connection, as far as the server's side showed it.
    pub response: Response,
}

impl HeadEvent {
    /// Heap bytes of the preamble copy (allocated capacity).
    pub(crate) fn preamble_capacity(&self) -> usize {
        self.proxy_preamble
            .as_ref()
            .map_or(0, |p| crate::tcp::flow_table::heap_block(p.capacity()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_their_names_and_order() {
        let mut f = HeadFlags::default();
        f.set(HeadFlags::OVERLAP_CONFLICT);
        f.set(HeadFlags::PARTIAL);
        assert_eq!(f.to_string(), "partial|overlap_conflict");
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"["partial","overlap_conflict"]"#
        );
        let all = HeadFlags(u16::MAX);
        assert_eq!(all.names().count(), 10);
    }
}
