//! Which side of a connection is the client. Only client -> server streams are followed;
//! the other direction costs one map lookup and is only shown to
//! [`Protocol::reverse`] (response starts, packet and byte accounting; nothing is
//! reassembled). Per
//! directed 5-tuple, in this order:
//! 1. A SYN without ACK makes its direction the client (authoritative: it replaces any
//!    earlier guess about the reverse direction).
//! 2. A SYN+ACK makes the *reverse* direction the client; its first payload is the start
//!    of the client stream.
//! 3. A direction whose reverse is already tracked is the server side: its payloads are
//!    shown to the protocol ([`Protocol::reverse`]), which may learn from them where the
//!    client's messages end, and are not followed.
//! 4. Otherwise (capture started mid-connection) the protocol looks at the first payload
//!    ([`Protocol::first_payload`]): where a client stream starts, if anywhere. If
//!    nowhere, the segment is counted and no state is created, so a server direction
//!    that merely looks odd never claims a connection.

use super::flow_table::Slot;
use super::segment::SegmentMeta;
use super::stats::TcpStats;
use super::stream::Stream;
use super::tracker::{Connection, EndReason, FirstPayload, Open, Protocol, Tracker};
use crate::decode::{FiveTuple, TcpFlags};

impl<C> Tracker<C> {
    /// Is `seg` on the server side of a tracked client flow? Its payload is shown to the
    /// protocol ([`Protocol::reverse`]) while the flow is followed.
    pub(crate) fn server_side<P: Protocol<Conn = C>>(
        &mut self,
        seg: &SegmentMeta<'_>,
        proto: &mut P,
        stats: &mut TcpStats,
    ) -> bool {
        let rev = seg.flow.reversed();
        match self.table.get(&rev) {
            None => return false,
            Some(f) if self.expired(f.last_ts) => {
                self.end_flow(&rev, EndReason::Timeout, proto, stats);
                return false;
            }
            Some(_) => stats.server_side_segments += 1,
        }
        if P::wants_reverse(seg) {
            self.show_server_side(&rev, seg, proto);
        }
        true
    }

    /// Shows a server-side segment to the protocol of the live connection `rev` (the
    /// client's direction), unless the protocol gave up on it; the byte cap follows what
    /// the protocol then holds.
    fn show_server_side<P: Protocol<Conn = C>>(
        &mut self,
        rev: &FiveTuple,
        seg: &SegmentMeta<'_>,
        proto: &mut P,
    ) {
        if let Some(Slot::Live(conn)) = self.table.get_mut(rev).map(|f| &mut f.slot) {
            if !P::can_forget(&conn.app) {
                let before = Self::held_by::<P>(conn);
                proto.reverse(*rev, conn, seg);
                let after = Self::held_by::<P>(conn);
                self.table.recharge(before, after);
            }
        }
    }

    /// A SYN: its direction is the client.
    pub(crate) fn on_syn<P: Protocol<Conn = C>>(
        &mut self,
        seg: SegmentMeta<'_>,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        let key = seg.flow;
        let rev = key.reversed();
        if self.table.contains(&rev) {
            stats.direction_corrections += 1;
            self.end_flow(&rev, EndReason::Replaced, proto, stats);
        }
        if let Some(f) = self.table.get_mut(&key) {
            let old_syn = match &f.slot {
                Slot::Live(c) => c.stream.syn_seq(),
                Slot::Closed { syn_seq } => *syn_seq,
                Slot::Dead => None,
            };
            if old_syn == Some(seg.seq) {
                stats.syn_retransmissions += 1;
                f.touched = true;
                f.last_ts = seg.ts_ns.max(f.last_ts);
                return;
            }
            stats.connections_replaced += 1;
            self.end_flow(&key, EndReason::Replaced, proto, stats);
        }
        stats.flows_with_syn += 1;
        let conn = Connection {
            stream: Stream::new(seg.seq.wrapping_add(1), true, Some(seg.seq)),
            app: proto.open(Open::Syn),
        };
        self.insert_flow(key, conn, seg.ts_ns, proto, stats);
        // Data on a SYN (TCP Fast Open) starts right after the ISN.
        if !seg.payload.is_empty() || seg.flags.fin() || seg.flags.rst() {
            let s2 = SegmentMeta {
                seq: seg.seq.wrapping_add(1),
                flags: TcpFlags(seg.flags.0 & !TcpFlags::SYN),
                ..seg
            };
            self.on_segment(s2, false, proto, stats);
        }
    }

    /// A SYN+ACK: the reverse direction is the client.
    pub(crate) fn on_syn_ack<P: Protocol<Conn = C>>(
        &mut self,
        seg: SegmentMeta<'_>,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        let key = seg.flow;
        let rev = key.reversed();
        if self.table.contains(&rev) {
            stats.server_side_segments += 1;
            self.show_server_side(&rev, &seg, proto);
            return;
        }
        if self.table.contains(&key) {
            // We had taken the server side for the client.
            stats.direction_corrections += 1;
            self.end_flow(&key, EndReason::Replaced, proto, stats);
        }
        stats.server_side_segments += 1;
        let conn = Connection {
            stream: Stream::new(0, false, None),
            app: proto.open(Open::SynAck),
        };
        self.insert_flow(rev, conn, seg.ts_ns, proto, stats);
        self.show_server_side(&rev, &seg, proto);
    }

    /// A segment on no tracked flow, in either direction: the protocol decides whether a
    /// client stream starts in it.
    pub(crate) fn on_unknown<P: Protocol<Conn = C>>(
        &mut self,
        seg: SegmentMeta<'_>,
        proto: &mut P,
        stats: &mut TcpStats,
    ) {
        let p = seg.payload;
        if p.is_empty() || seg.flags.rst() {
            stats.unsynced_segments += 1;
            return;
        }
        let k = match proto.first_payload(p) {
            FirstPayload::StartsAt(k) if k <= p.len() => k,
            FirstPayload::ServerSide => return,
            FirstPayload::StartsAt(_) | FirstPayload::NoStart => {
                stats.unsynced_segments += 1;
                stats.unsynced_bytes += p.len() as u64;
                return;
            }
        };
        stats.flows_midstream += 1;
        let conn = Connection {
            stream: Stream::new(seg.seq.wrapping_add(k as u32), true, None),
            app: proto.open(Open::Midstream { skipped: k }),
        };
        self.insert_flow(seg.flow, conn, seg.ts_ns, proto, stats);
        let s2 = SegmentMeta {
            seq: seg.seq.wrapping_add(k as u32),
            payload: &p[k..],
            ..seg
        };
        self.on_segment(s2, false, proto, stats);
    }
}
