//! Stage 2, sequential: [`SynTracker`] joins SYN, SYN+ACK and ACK per connection, counts
//! retransmissions, estimates uptime, matches the database and releases finished
//! [`SynEntry`]s in packet order, within bounded memory.

use super::{PacketEvent, SeenSyn, Segment};
use crate::collections::hashing::HashMap;
use crate::decode::{FiveTuple, IpProto};
use crate::fingerprint::uptime::MAX_WAIT_MS;
use crate::fingerprint::{
    estimate_uptime, Database, Match, SynKind, SynObservation, TsSample, Uptime,
};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

/// How long (capture time) a SYN row waits for its handshake to end. Linux retransmits an
/// unanswered SYN at 1, 3, 7, 15, 31 and 63 s (tcp_syn_retries = 6, last at 127 s), so
/// every retransmission of a default Linux client lands within this window.
pub const HANDSHAKE_WINDOW_NS: i64 = 130 * 1_000_000_000;

/// Rows held back at most; beyond this the oldest is released even if its handshake may
/// still see retransmissions (bounds memory on a flood of unanswered SYNs: about 1 KiB per
/// row with its connection entry at worst, 256 MiB). The per-connection map holds one
/// entry per held row at most, so this bounds it too. At 2,000 new connections a second
/// rows are still held the whole window; at 20,000, for 13 s (past most retransmissions).
pub const MAX_PENDING: usize = 1 << 18;

/// Hosts whose last TCP timestamp sample is kept for uptime hints. A sample more than
/// [`MAX_WAIT_MS`] of capture time behind the newest packet can no longer pair (the uptime
/// rule refuses samples further apart), so it is dropped; beyond this many hosts the
/// oldest sample is dropped too, counted (about 200 bytes each at worst: 50 MiB).
pub const MAX_TS_HOSTS: usize = 1 << 18;

/// Caps and age-outs of the handshake tracker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SynTrackerStats {
    /// Rows released before their handshake window ended ([`MAX_PENDING`]).
    pub rows_released_pending_cap: u64,
    /// Host timestamp samples dropped after [`MAX_WAIT_MS`] of capture time.
    pub uptime_samples_aged_out: u64,
    /// Host timestamp samples dropped for [`MAX_TS_HOSTS`] (a later SYN of that host gets
    /// no uptime hint from it).
    pub uptime_samples_evicted_host_cap: u64,
}

/// The last timestamp sample per host, oldest first, bounded by age and count.
#[derive(Default)]
struct HostSamples {
    last: HashMap<IpAddr, (TsSample, u64)>,
    /// (host, sequence) in insertion order; an entry whose sequence is no longer the
    /// host's is stale. Eviction walks this queue, never the map (whose order is seeded).
    order: VecDeque<(IpAddr, u64)>,
    next_seq: u64,
}

impl HostSamples {
    /// Stores `cur` as `host`'s sample and returns the previous one.
    fn replace(
        &mut self,
        host: IpAddr,
        cur: TsSample,
        now_ns: i64,
        stats: &mut SynTrackerStats,
    ) -> Option<TsSample> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let prev = self.last.insert(host, (cur, seq)).map(|(s, _)| s);
        self.order.push_back((host, seq));
        self.prune(now_ns, stats);
        prev
    }

    fn prune(&mut self, now_ns: i64, stats: &mut SynTrackerStats) {
        let max_age_ns = MAX_WAIT_MS.saturating_mul(1_000_000);
        while let Some(&(host, seq)) = self.order.front() {
            match self.last.get(&host) {
                Some(&(sample, s)) if s == seq => {
                    let aged = now_ns.saturating_sub(sample.ts_ns) > max_age_ns;
                    let over = self.last.len() > MAX_TS_HOSTS;
                    if !aged && !over {
                        break;
                    }
                    if aged {
                        stats.uptime_samples_aged_out += 1;
                    } else {
                        stats.uptime_samples_evicted_host_cap += 1;
                    }
                    self.last.remove(&host);
                }
                _ => {}
            }
            self.order.pop_front();
        }
        // Stale entries behind a live front (hosts sampled again) are dropped in bulk.
        if self.order.len() > 2 * self.last.len() + 64 {
            let last = &self.last;
            self.order
                .retain(|(h, seq)| last.get(h).is_some_and(|&(_, s)| s == *seq));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.last.len()
    }
}

/// A finished SYN or SYN+ACK with everything joined on it (stage 2 output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynEntry<'db> {
    /// Index of the file in the scan.
    pub file: u32,
    /// 1-based record number in that file.
    pub index: u64,
    /// IP source and TCP port.
    pub src: SocketAddr,
    /// IP destination and TCP port.
    pub dst: SocketAddr,
    /// For a SYN+ACK, carries the peer SYN's MSS (`peer_syn_mss`) when the SYN was seen.
    pub obs: SynObservation,
    /// Further copies of this packet (same direction, ports and sequence number).
    pub retransmits: u32,
    /// ns from the last SYN before the first SYN+ACK to that SYN+ACK.
    pub syn_to_synack_ns: Option<i64>,
    /// ns from the last SYN+ACK to the client's handshake ACK.
    pub synack_to_ack_ns: Option<i64>,
    /// Uptime estimate from two timestamped SYNs of this host.
    pub uptime: Option<Uptime>,
    /// The database match.
    pub os: Option<Match<'db>>,
}

impl SynEntry<'_> {
    /// The client side of the connection: the source of a SYN, the destination of a SYN+ACK.
    pub fn client(&self) -> SocketAddr {
        match self.obs.kind {
            SynKind::Syn => self.src,
            SynKind::SynAck => self.dst,
        }
    }

    /// The server side of the connection.
    pub fn server(&self) -> SocketAddr {
        match self.obs.kind {
            SynKind::Syn => self.dst,
            SynKind::SynAck => self.src,
        }
    }

    /// The packet's 5-tuple.
    pub fn five_tuple(&self) -> FiveTuple {
        FiveTuple {
            src_ip: self.src.ip(),
            src_port: self.src.port(),
            dst_ip: self.dst.ip(),
            dst_port: self.dst.port(),
            proto: IpProto::TCP,
        }
    }
}

/// Per-connection handshake state, keyed by (client, server).
#[derive(Debug, Clone, Copy)]
struct Conn {
    syn_seq: Option<u32>,
    syn_mss: Option<u16>,
    /// Pending-queue id of the SYN row (None once released or without SYN).
    syn_id: Option<u64>,
    /// Time of the last SYN copy (the one the SYN+ACK most likely answers).
    last_syn_ns: i64,
    /// Sample of the first SYN, to estimate uptime from a retransmission.
    first_syn_ts: Option<TsSample>,
    synack_seq: Option<u32>,
    synack_id: Option<u64>,
    last_synack_ns: i64,
}

struct Pending<'db> {
    entry: SynEntry<'db>,
    key: (SocketAddr, SocketAddr),
    done: bool,
}

/// Stage 2: joins handshakes and releases entries in packet order.
pub struct SynTracker<'db> {
    db: &'db Database,
    conns: HashMap<(SocketAddr, SocketAddr), Conn>,
    /// Last timestamp sample per host, for uptime (p0f keeps the same per host).
    last_ts: HostSamples,
    stats: SynTrackerStats,
    pending: VecDeque<Pending<'db>>,
    /// Id of `pending[0]`; ids are consecutive.
    base_id: u64,
    /// Latest packet time seen (capture time only moves forward here).
    now_ns: i64,
}

impl<'db> SynTracker<'db> {
    /// A tracker matching against `db`.
    pub fn new(db: &'db Database) -> SynTracker<'db> {
        SynTracker {
            db,
            conns: HashMap::default(),
            last_ts: HostSamples::default(),
            stats: SynTrackerStats::default(),
            pending: VecDeque::new(),
            base_id: 0,
            now_ns: i64::MIN,
        }
    }

    /// Caps and age-outs so far.
    pub fn stats(&self) -> &SynTrackerStats {
        &self.stats
    }

    fn pending_mut(&mut self, id: u64) -> Option<&mut Pending<'db>> {
        let i = usize::try_from(id.checked_sub(self.base_id)?).ok()?;
        self.pending.get_mut(i)
    }

    fn mark_done(&mut self, id: Option<u64>) {
        if let Some(p) = id.and_then(|id| self.pending_mut(id)) {
            p.done = true;
        }
    }

    fn enqueue(&mut self, entry: SynEntry<'db>, key: (SocketAddr, SocketAddr)) -> u64 {
        let id = self.base_id + self.pending.len() as u64;
        self.pending.push_back(Pending {
            entry,
            key,
            done: false,
        });
        id
    }

    /// Feed one event (in packet order); finished entries go to `out` in packet order.
    /// `out` may stop the scan; the tracker then keeps its state for [`Self::finish`].
    pub fn push<F>(&mut self, ev: &PacketEvent, out: &mut F) -> ControlFlow<()>
    where
        F: FnMut(&SynEntry<'db>) -> ControlFlow<()>,
    {
        let ts = match ev {
            PacketEvent::Syn(s) => s.obs.ts_ns,
            PacketEvent::Segment(s) => s.ts_ns,
        };
        self.now_ns = self.now_ns.max(ts);
        match ev {
            PacketEvent::Syn(s) => match s.obs.kind {
                SynKind::Syn => self.on_syn(s),
                SynKind::SynAck => self.on_synack(s),
            },
            PacketEvent::Segment(s) => self.on_segment(s),
        }
        self.release(out, false)
    }

    /// Release everything still held (end of input).
    pub fn finish<F>(&mut self, out: &mut F) -> ControlFlow<()>
    where
        F: FnMut(&SynEntry<'db>) -> ControlFlow<()>,
    {
        self.release(out, true)
    }

    fn release<F>(&mut self, out: &mut F, all: bool) -> ControlFlow<()>
    where
        F: FnMut(&SynEntry<'db>) -> ControlFlow<()>,
    {
        while let Some(front) = self.pending.front() {
            let aged = self.now_ns.saturating_sub(front.entry.obs.ts_ns) > HANDSHAKE_WINDOW_NS;
            let over = self.pending.len() > MAX_PENDING;
            if !(all || front.done || aged || over) {
                break;
            }
            if over && !(all || front.done || aged) {
                self.stats.rows_released_pending_cap += 1;
            }
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let id = self.base_id;
            self.base_id += 1;
            // Forget the connection with its row, unless a later row took it over.
            if let Some(c) = self.conns.get_mut(&p.key) {
                if c.syn_id == Some(id) {
                    c.syn_id = None;
                }
                if c.synack_id == Some(id) {
                    c.synack_id = None;
                }
                if c.syn_id.is_none() && c.synack_id.is_none() {
                    self.conns.remove(&p.key);
                }
            }
            out(&p.entry)?;
        }
        ControlFlow::Continue(())
    }

    fn uptime_for(&mut self, host: IpAddr, obs: &SynObservation) -> Option<Uptime> {
        let tsval = obs.ts_val()?;
        let cur = TsSample {
            ts_ns: obs.ts_ns,
            tsval,
        };
        let prev = self
            .last_ts
            .replace(host, cur, self.now_ns, &mut self.stats)?;
        estimate_uptime(prev, cur)
    }

    fn new_entry(&self, s: &SeenSyn, obs: SynObservation) -> SynEntry<'db> {
        SynEntry {
            file: s.file,
            index: s.index,
            src: s.src,
            dst: s.dst,
            obs,
            retransmits: 0,
            syn_to_synack_ns: None,
            synack_to_ack_ns: None,
            uptime: None,
            os: self.db.match_syn(&obs),
        }
    }

    fn on_syn(&mut self, s: &SeenSyn) {
        let key = (s.src, s.dst);
        let ts = s.obs.ts_ns;
        if let Some(c) = self.conns.get_mut(&key) {
            if c.syn_seq == Some(s.obs.seq) {
                // A retransmission: count it on the first SYN's row.
                c.last_syn_ns = ts;
                let (id, first) = (c.syn_id, c.first_syn_ts);
                let sample = s.obs.ts_val().map(|tsval| TsSample { ts_ns: ts, tsval });
                if let Some(p) = id.and_then(|id| self.pending_mut(id)) {
                    p.entry.retransmits = p.entry.retransmits.saturating_add(1);
                    // Two copies of one SYN share the TSval offset: a sound estimate.
                    if p.entry.uptime.is_none() {
                        if let (Some(a), Some(b)) = (first, sample) {
                            p.entry.uptime = estimate_uptime(a, b);
                        }
                    }
                }
                if let Some(b) = sample {
                    self.last_ts
                        .replace(s.src.ip(), b, self.now_ns, &mut self.stats);
                }
                return;
            }
            // Same ports, new sequence number: a new connection; the old one is over.
            let (a, b) = (c.syn_id, c.synack_id);
            self.conns.remove(&key);
            self.mark_done(a);
            self.mark_done(b);
        }
        let mut entry = self.new_entry(s, s.obs);
        entry.uptime = self.uptime_for(s.src.ip(), &s.obs);
        let id = self.enqueue(entry, key);
        self.conns.insert(
            key,
            Conn {
                syn_seq: Some(s.obs.seq),
                syn_mss: s.obs.mss,
                syn_id: Some(id),
                last_syn_ns: ts,
                first_syn_ts: s.obs.ts_val().map(|tsval| TsSample { ts_ns: ts, tsval }),
                synack_seq: None,
                synack_id: None,
                last_synack_ns: ts,
            },
        );
    }

    fn on_synack(&mut self, s: &SeenSyn) {
        let key = (s.dst, s.src);
        let ts = s.obs.ts_ns;
        let conn = self.conns.get(&key).copied();
        if let Some(c) = conn {
            if c.synack_seq == Some(s.obs.seq) {
                if let Some(c) = self.conns.get_mut(&key) {
                    c.last_synack_ns = ts;
                }
                if let Some(p) = c.synack_id.and_then(|id| self.pending_mut(id)) {
                    p.entry.retransmits = p.entry.retransmits.saturating_add(1);
                }
                return;
            }
        }
        let obs = s
            .obs
            .with_peer_syn_mss(conn.and_then(|c| c.syn_seq.and(c.syn_mss)));
        let mut entry = self.new_entry(s, obs);
        entry.uptime = self.uptime_for(s.src.ip(), &obs);
        let delay = conn
            .filter(|c| c.syn_seq.is_some())
            .map(|c| ts - c.last_syn_ns);
        entry.syn_to_synack_ns = delay;
        let id = self.enqueue(entry, key);
        match conn {
            Some(c) if c.synack_seq.is_none() => {
                if let Some(p) = c.syn_id.and_then(|i| self.pending_mut(i)) {
                    p.entry.syn_to_synack_ns = delay;
                }
                if let Some(c) = self.conns.get_mut(&key) {
                    c.synack_seq = Some(s.obs.seq);
                    c.synack_id = Some(id);
                    c.last_synack_ns = ts;
                }
            }
            other => {
                // No SYN seen (capture began mid-handshake), or a SYN+ACK with a new
                // sequence number: it starts its own record of the connection.
                if let Some(c) = other {
                    self.mark_done(c.syn_id);
                    self.mark_done(c.synack_id);
                }
                self.conns.insert(
                    key,
                    Conn {
                        syn_seq: None,
                        syn_mss: None,
                        syn_id: None,
                        last_syn_ns: ts,
                        first_syn_ts: None,
                        synack_seq: Some(s.obs.seq),
                        synack_id: Some(id),
                        last_synack_ns: ts,
                    },
                );
            }
        }
    }

    fn on_segment(&mut self, s: &Segment) {
        if self.conns.is_empty() {
            return;
        }
        let fwd = (s.src, s.dst);
        if let Some(c) = self.conns.get(&fwd).copied() {
            // The client's handshake ACK acknowledges the SYN+ACK's sequence number + 1.
            let handshake_ack =
                s.flags.ack() && c.synack_seq.is_some_and(|seq| s.ack == seq.wrapping_add(1));
            if handshake_ack {
                let rtt = s.ts_ns - c.last_synack_ns;
                for id in [c.syn_id, c.synack_id].into_iter().flatten() {
                    if let Some(p) = self.pending_mut(id) {
                        p.entry.synack_to_ack_ns = Some(rtt);
                        p.done = true;
                    }
                }
                self.conns.remove(&fwd);
                return;
            }
        }
        if s.flags.rst() || s.flags.fin() {
            for key in [fwd, (s.dst, s.src)] {
                if let Some(c) = self.conns.remove(&key) {
                    self.mark_done(c.syn_id);
                    self.mark_done(c.synack_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
