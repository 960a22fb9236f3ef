//! What a decoded TCP segment gives the stream layer.

use crate::decode::{FiveTuple, Packet, TcpFlags};

/// One TCP segment as the assembler needs it (borrowed payload).
#[derive(Debug, Clone, Copy)]
pub struct SegmentMeta<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Index of the packet in the capture (carried to the events, not interpreted).
    pub packet_index: u64,
    /// Directed 5-tuple (source is the sender of this segment).
    pub flow: FiveTuple,
    /// TCP sequence number of the first payload byte (of the SYN, for a SYN).
    pub seq: u32,
    /// TCP flags.
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

    /// Where the segment sits in the capture.
    pub fn pos(&self) -> SegPos {
        SegPos {
            ts_ns: self.ts_ns,
            packet_index: self.packet_index,
        }
    }
}

/// The capture position of the packet that carried some stream bytes: what an event
/// reports as "where the first byte came from".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegPos {
    /// Capture timestamp of the packet.
    pub ts_ns: i64,
    /// Index of the packet in the capture.
    pub packet_index: u64,
}
