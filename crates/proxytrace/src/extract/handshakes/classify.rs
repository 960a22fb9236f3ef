//! Stage 1, parallel and stateless: decode each record and keep what the handshake tracker
//! needs ([`PacketEvent`]), counting what the records decoded to.

use crate::capture::{Record, WalkStats};
use crate::decode::{self, Decoded, Outcomes, TcpFlags, Undecodable};
use crate::engine::Job;
use crate::fingerprint::SynObservation;
use std::net::SocketAddr;

/// A SYN or SYN+ACK as seen in one record (stage 1 output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenSyn {
    /// Index of the file in the scan (0-based, in the order files were scanned).
    pub file: u32,
    /// 1-based record number in the file.
    pub index: u64,
    /// IP source and TCP port.
    pub src: SocketAddr,
    /// IP destination and TCP port.
    pub dst: SocketAddr,
    /// The p0f observation.
    pub obs: SynObservation,
}

/// The handshake-relevant fields of any other TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Packet time, ns since the epoch.
    pub ts_ns: i64,
    /// IP source and TCP port.
    pub src: SocketAddr,
    /// IP destination and TCP port.
    pub dst: SocketAddr,
    /// TCP flags.
    pub flags: TcpFlags,
    /// Acknowledgment number.
    pub ack: u32,
}

/// What one record contributes to the sequential stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketEvent {
    /// A SYN or SYN+ACK.
    Syn(SeenSyn),
    /// Any other TCP segment.
    Segment(Segment),
}

/// Stage 1: decode a record and keep what the tracker needs. None for non-TCP packets,
/// undecodable records and TCP headers we cannot read. Stateless and allocation-free.
pub fn classify(rec: &Record<'_>, file: u32) -> Option<PacketEvent> {
    let decoded = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns);
    classify_decoded(rec, &decoded, file)
}

/// [`classify`] of a record already decoded (the engine's job also counts the outcome).
fn classify_decoded(
    rec: &Record<'_>,
    decoded: &Result<Decoded<'_>, Undecodable>,
    file: u32,
) -> Option<PacketEvent> {
    let Ok(Decoded::Ip(p)) = decoded else {
        return None;
    };
    let t = p.tcp()?;
    let src = SocketAddr::new(p.ip.src, t.src_port);
    let dst = SocketAddr::new(p.ip.dst, t.dst_port);
    if t.flags.syn() {
        let obs = SynObservation::from_packet(p)?;
        Some(PacketEvent::Syn(SeenSyn {
            file,
            index: rec.index,
            src,
            dst,
            obs,
        }))
    } else {
        Some(PacketEvent::Segment(Segment {
            ts_ns: rec.ts_ns,
            src,
            dst,
            flags: t.flags,
            ack: t.ack,
        }))
    }
}

/// The parallel stage on the engine: [`classify`] every record of a chunk.
pub(super) struct ClassifyJob {
    pub(super) file: u32,
}

/// A chunk's events and what its records decoded to.
#[derive(Default)]
pub(super) struct ClassifiedChunk {
    pub(super) events: Vec<PacketEvent>,
    pub(super) outcomes: Outcomes,
}

impl Job for ClassifyJob {
    type Chunk = ClassifiedChunk;
    type Out = ClassifiedChunk;

    fn start(&self) -> ClassifiedChunk {
        ClassifiedChunk::default()
    }

    fn record(&self, c: &mut ClassifiedChunk, rec: &Record<'_>) {
        let decoded = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns);
        c.outcomes.count(&decoded);
        c.events.extend(classify_decoded(rec, &decoded, self.file));
    }

    fn finish(&self, c: ClassifiedChunk, _: &WalkStats) -> ClassifiedChunk {
        c
    }

    fn rebase(&self, c: &mut ClassifiedChunk, index_base: u64) {
        for ev in &mut c.events {
            if let PacketEvent::Syn(s) = ev {
                s.index += index_base;
            }
        }
    }
}
