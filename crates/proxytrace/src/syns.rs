//! `proxytrace syns`: one row per client SYN and server SYN+ACK of a FRONT capture, with
//! p0f's signature and more (handshake timing, retransmissions, uptime hints, OS match).
//!
//! The pipeline has two stages so the parallel engine can split it:
//! 1. [`classify`]: per record, stateless: decode and observe. Any worker can run it on
//!    any chunk; it yields a [`PacketEvent`] (a SYN / SYN+ACK observation, or the few
//!    fields of another TCP segment the handshake needs).
//! 2. [`SynTracker`]: sequential, fed events in packet order: joins SYN, SYN+ACK and ACK
//!    per connection, counts retransmissions, estimates uptime, matches the database and
//!    releases finished [`SynEntry`]s in packet order.
//!
//! Order: rows come out in packet order of the input (files in the order given, records in
//! file order), whatever order connections finish in. A row is held back until its
//! handshake is over (ACK, RST or FIN seen, a new SYN on the same ports) or
//! [`HANDSHAKE_WINDOW_NS`] of capture time has passed, so that late retransmissions are
//! still counted on it; state carries across files (rotated captures).
//!
//! Column schema of [`SynRow`] (the field order is the column order):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | time | string | packet time, RFC 3339 UTC, capture precision (pcap: file resolution; pcapng: 9 digits) |
//! | file | string | capture file the packet is in (`-` for stdin) |
//! | packet | integer | 1-based record number in that file (as Wireshark numbers frames) |
//! | src_ip | string | IP source of the packet |
//! | src_port | integer | TCP source port |
//! | dst_ip | string | IP destination |
//! | dst_port | integer | TCP destination port |
//! | direction | string | `syn` (client SYN) or `syn+ack` (server SYN+ACK) |
//! | ip_version | integer | 4 or 6 |
//! | ttl | integer | observed TTL / hop limit |
//! | initial_ttl | integer | initial TTL guess: next of 32, 64, 128, 255 |
//! | distance | integer? | hops guessed from the TTL; empty beyond 35 (p0f `+?`) |
//! | ip_options_len | integer | IPv4 option bytes (0 for IPv6) |
//! | mss | integer? | MSS option; empty when absent (p0f prints 0) |
//! | window | integer | raw TCP window |
//! | window_form | string | window as p0f prints it: `mss*K`, `mtu*K` or the number |
//! | window_scale | integer? | window-scale shift; empty when absent |
//! | olayout | string | options in p0f names (`mss,sok,ts,nop,ws`) |
//! | option_kinds | string | option kinds as numbers (`2,4,8,1,3`) |
//! | quirks | string | p0f quirks (`df,id+`) |
//! | pclass | string | payload class: `0` none, `+` payload |
//! | signature | string | p0f raw_sig `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass` |
//! | df | bool | IPv4 don't-fragment flag |
//! | ip_id | integer? | IPv4 identification (IPv6: fragment id if any) |
//! | ip_ecn | integer | the two ECN bits of TOS / traffic class (0-3) |
//! | tcp_ecn | string | TCP ECN flags set, of `ece,cwr,ns` |
//! | ts_val | integer? | TCP timestamp own value (TSval) |
//! | ts_ecr | integer? | TCP timestamp echoed value (TSecr) |
//! | payload_len | integer | payload bytes the IP length announces (TCP Fast Open data) |
//! | link_mtu | integer? | MTU implied by the MSS (MSS+40 IPv4, MSS+60 IPv6) |
//! | link | string? | link name for that MTU (p0f `[mtu]`: `Ethernet or modem`, `DSL`...) |
//! | syn_to_synack_ns | integer? | ns from the connection's last SYN before the first SYN+ACK to that SYN+ACK (server side) |
//! | synack_to_ack_ns | integer? | ns from the last SYN+ACK to the client's handshake ACK (client round trip) |
//! | retransmits | integer | repeats of this packet (same ports and sequence number) counted instead of emitted: SYNs on a `syn` row, SYN+ACKs on a `syn+ack` row |
//! | p0f_ignores | string? | why p0f would not report it: `silly_flags` (SYN+FIN/RST), `fragment`, `ipv6_extensions`, `truncated` |
//! | uptime_hint_s | integer? | host uptime estimate from two timestamped SYNs of this host; a hint (offsets are often random) |
//! | ts_clock_hz | integer? | TCP timestamp clock frequency of that estimate |
//! | os_label | string? | matched database label (`s:unix:Linux:3.11 and newer`) |
//! | os_class | string? | `unix`, `win`... (empty for a userland tool `!`) |
//! | os_name | string? | `Linux`, `Windows`... |
//! | os_flavor | string? | `3.11 and newer`... |
//! | match_quality | string | `exact`, `fuzzy`, `generic` or `none` |
//! | match_distance | integer? | signature initial TTL - observed TTL (p0f `dist`) |
//!
//! `--summary` rows ([`ClientSummaryRow`]), one per client IP in order of its first SYN,
//! counting SYN rows only (retransmissions excluded) that pass `--client`:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | client_ip | string | client address |
//! | syns | integer | SYN rows (connections attempted) |
//! | signatures | integer | distinct p0f signatures |
//! | ttls | string | distinct observed TTLs, ascending, `;`-separated |
//! | mss_values | string | distinct MSS values, ascending, `;`-separated (`-`: no MSS option) |
//! | oses | string | distinct OS matches (`name flavor`, `???` none), sorted, `;`-separated |
//! | first_seen | string | time of the first SYN (RFC 3339) |
//! | last_seen | string | time of the last SYN |
//! | nat_hint | bool | more than one signature: several stacks behind the address (NAT, CGN, shared proxy) |
//!
//! For the join, [`CompactSyn`] keeps a SYN in 40 bytes (timestamp, client IP and port,
//! server port, interned signature id, matched database line, TTL, flags).

use crate::capture::{Capture, CaptureError, FileFormat, Record, TimeResolution, WalkStats};
use crate::collections::hashing::HashMap;
use crate::decode::{self, Decoded, FiveTuple, IpProto, TcpFlags};
use crate::engine::{Engine, Job};
use crate::fingerprint::uptime::MAX_WAIT_MS;
use crate::fingerprint::{
    estimate_uptime, Database, Match, MatchQuality, P0fIgnores, SynKind, SynObservation, TsSample,
    Uptime,
};
use crate::timefmt::{write_rfc3339, Precision};
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
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

/// A SYN or SYN+ACK as seen in one record (stage 1 output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenSyn {
    /// Index of the file in the scan (0-based, in the order files were scanned).
    pub file: u32,
    /// 1-based record number in the file.
    pub index: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub obs: SynObservation,
}

/// The handshake-relevant fields of any other TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: TcpFlags,
    pub ack: u32,
}

/// What one record contributes to the sequential stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketEvent {
    Syn(SeenSyn),
    Segment(Segment),
}

/// Stage 1: decode a record and keep what the tracker needs. None for non-TCP packets,
/// undecodable records and TCP headers we cannot read. Stateless and allocation-free.
pub fn classify(rec: &Record<'_>, file: u32) -> Option<PacketEvent> {
    let Ok(Decoded::Ip(p)) = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns)
    else {
        return None;
    };
    let t = p.tcp()?;
    let src = SocketAddr::new(p.ip.src, t.src_port);
    let dst = SocketAddr::new(p.ip.dst, t.dst_port);
    if t.flags.syn() {
        let obs = SynObservation::from_packet(&p)?;
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

/// A finished SYN or SYN+ACK with everything joined on it (stage 2 output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynEntry<'db> {
    pub file: u32,
    pub index: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// For a SYN+ACK, carries the peer SYN's MSS (`peer_syn_mss`) when the SYN was seen.
    pub obs: SynObservation,
    /// Further copies of this packet (same direction, ports and sequence number).
    pub retransmits: u32,
    pub syn_to_synack_ns: Option<i64>,
    pub synack_to_ack_ns: Option<i64>,
    pub uptime: Option<Uptime>,
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

    pub fn server(&self) -> SocketAddr {
        match self.obs.kind {
            SynKind::Syn => self.dst,
            SynKind::SynAck => self.src,
        }
    }

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

/// Time precision of a capture's timestamps: the file's resolution for pcap; for pcapng 9
/// digits, since its interfaces (each with a resolution) are only known while reading.
pub fn capture_precision(cap: &Capture) -> Precision {
    match cap.format {
        FileFormat::Pcap {
            resolution: TimeResolution::Micro,
            ..
        } => Precision::MICRO,
        _ => Precision::NANO,
    }
}

/// A scanned file's name and time precision, by the `file` index of entries.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub name: String,
    pub precision: Precision,
}

/// Runs both stages over files in order, keeping the tracker across files.
/// The parallel stage on the engine: [`classify`] every record of a chunk.
struct ClassifyJob {
    file: u32,
}

impl Job for ClassifyJob {
    type Chunk = Vec<PacketEvent>;
    type Out = Vec<PacketEvent>;

    fn start(&self) -> Vec<PacketEvent> {
        Vec::new()
    }

    fn record(&self, events: &mut Vec<PacketEvent>, rec: &Record<'_>) {
        events.extend(classify(rec, self.file));
    }

    fn finish(&self, events: Vec<PacketEvent>, _: &WalkStats) -> Vec<PacketEvent> {
        events
    }

    fn rebase(&self, events: &mut Vec<PacketEvent>, index_base: u64) {
        for ev in events {
            if let PacketEvent::Syn(s) = ev {
                s.index += index_base;
            }
        }
    }
}

pub struct SynScanner<'db> {
    pub tracker: SynTracker<'db>,
    pub files: Vec<FileMeta>,
    /// Walk counters of all files scanned.
    pub stats: WalkStats,
}

impl<'db> SynScanner<'db> {
    pub fn new(db: &'db Database) -> SynScanner<'db> {
        SynScanner {
            tracker: SynTracker::new(db),
            files: Vec::new(),
            stats: WalkStats::default(),
        }
    }

    /// Scan one capture; entries finished so far (also of earlier files) go to `out` with
    /// the metadata of their file. `out` returning Break stops the scan.
    pub fn scan<F>(
        &mut self,
        engine: &Engine,
        mut cap: Capture,
        out: &mut F,
    ) -> Result<ControlFlow<()>, CaptureError>
    where
        F: FnMut(&SynEntry<'db>, &FileMeta) -> ControlFlow<()>,
    {
        let file = self.files.len() as u32;
        self.files.push(FileMeta {
            name: cap.path.display().to_string(),
            precision: capture_precision(&cap),
        });
        let mut stopped = ControlFlow::Continue(());
        let (tracker, files) = (&mut self.tracker, &self.files);
        let mut emit = |e: &SynEntry<'db>| match files.get(e.file as usize) {
            Some(meta) => out(e, meta),
            None => ControlFlow::Continue(()),
        };
        let run = engine.run(&mut cap, &ClassifyJob { file }, |events, _| {
            for ev in &events {
                if tracker.push(ev, &mut emit).is_break() {
                    stopped = ControlFlow::Break(());
                    break;
                }
            }
            stopped
        })?;
        self.stats.merge(&run.stats);
        Ok(stopped)
    }

    /// Release the entries still held, at the end of all input.
    pub fn finish<F>(&mut self, out: &mut F) -> ControlFlow<()>
    where
        F: FnMut(&SynEntry<'db>, &FileMeta) -> ControlFlow<()>,
    {
        let files = &self.files;
        self.tracker
            .finish(&mut |e: &SynEntry<'db>| match files.get(e.file as usize) {
                Some(meta) => out(e, meta),
                None => ControlFlow::Continue(()),
            })
    }
}

fn quality_name(q: Option<MatchQuality>) -> &'static str {
    match q {
        Some(q) => q.name(),
        None => "none",
    }
}

/// One output row; field order is column order (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynRow {
    pub time: String,
    pub file: String,
    pub packet: u64,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub direction: &'static str,
    pub ip_version: u8,
    pub ttl: u8,
    pub initial_ttl: u8,
    pub distance: Option<u8>,
    pub ip_options_len: u8,
    pub mss: Option<u16>,
    pub window: u16,
    pub window_form: String,
    pub window_scale: Option<u8>,
    pub olayout: String,
    pub option_kinds: String,
    pub quirks: String,
    pub pclass: &'static str,
    pub signature: String,
    pub df: bool,
    pub ip_id: Option<u32>,
    pub ip_ecn: u8,
    pub tcp_ecn: &'static str,
    pub ts_val: Option<u32>,
    pub ts_ecr: Option<u32>,
    pub payload_len: u32,
    pub link_mtu: Option<u32>,
    pub link: Option<String>,
    pub syn_to_synack_ns: Option<i64>,
    pub synack_to_ack_ns: Option<i64>,
    pub retransmits: u32,
    pub p0f_ignores: Option<&'static str>,
    pub uptime_hint_s: Option<u64>,
    pub ts_clock_hz: Option<u32>,
    pub os_label: Option<String>,
    pub os_class: Option<String>,
    pub os_name: Option<String>,
    pub os_flavor: Option<String>,
    pub match_quality: &'static str,
    pub match_distance: Option<u8>,
}

fn tcp_ecn_names(flags: TcpFlags) -> &'static str {
    // All 8 combinations, so the row needs no allocation for this column.
    const NAMES: [&str; 8] = [
        "",
        "ece",
        "cwr",
        "ece,cwr",
        "ns",
        "ece,ns",
        "cwr,ns",
        "ece,cwr,ns",
    ];
    let i = usize::from(flags.has(TcpFlags::ECE))
        | usize::from(flags.has(TcpFlags::CWR)) << 1
        | usize::from(flags.has(TcpFlags::NS)) << 2;
    NAMES.get(i).copied().unwrap_or("")
}

impl SynRow {
    pub fn new(e: &SynEntry<'_>, meta: &FileMeta, db: &Database) -> SynRow {
        let o = &e.obs;
        let mut time = String::with_capacity(32);
        write_rfc3339(&mut time, o.ts_ns, meta.precision);
        let link_mtu = o.link_mtu();
        SynRow {
            time,
            file: meta.name.clone(),
            packet: e.index,
            src_ip: e.src.ip(),
            src_port: e.src.port(),
            dst_ip: e.dst.ip(),
            dst_port: e.dst.port(),
            direction: o.kind.p0f_name(),
            ip_version: o.ip_version,
            ttl: o.ttl,
            initial_ttl: o.initial_ttl_guess(),
            distance: o.distance_guess(),
            ip_options_len: o.ip_options_len,
            mss: o.mss,
            window: o.window,
            window_form: o.window_form().to_string(),
            window_scale: o.window_scale,
            olayout: o.options.to_string(),
            option_kinds: o.options.numeric().to_string(),
            quirks: o.quirks.to_string(),
            pclass: if o.has_payload() { "+" } else { "0" },
            signature: o.to_string(),
            df: o.df,
            ip_id: o.ip_id,
            ip_ecn: o.ip_ecn,
            tcp_ecn: tcp_ecn_names(o.tcp_flags),
            ts_val: o.ts_val(),
            ts_ecr: o.ts_ecr(),
            payload_len: o.payload_len,
            link_mtu,
            link: link_mtu.and_then(|m| db.mtu_name(m)).map(str::to_string),
            syn_to_synack_ns: e.syn_to_synack_ns,
            synack_to_ack_ns: e.synack_to_ack_ns,
            retransmits: e.retransmits,
            p0f_ignores: o.p0f_ignores.map(P0fIgnores::name),
            uptime_hint_s: e.uptime.map(|u| u.uptime_s),
            ts_clock_hz: e.uptime.map(|u| u.freq_hz),
            os_label: e.os.map(|m| m.label.to_string()),
            os_class: e.os.and_then(|m| m.class).map(str::to_string),
            os_name: e.os.map(|m| m.name.to_string()),
            os_flavor: e.os.map(|m| m.flavor.to_string()),
            match_quality: quality_name(e.os.map(|m| m.quality)),
            match_distance: e.os.map(|m| m.distance),
        }
    }
}

/// Interned signature strings, for [`CompactSyn::signature`].
#[derive(Debug, Clone, Default)]
pub struct SignatureIds {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl SignatureIds {
    /// The id of a signature string, assigned in order of first appearance from 0.
    pub fn id(&mut self, sig: &str) -> u32 {
        if let Some(&id) = self.ids.get(sig) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(sig.to_string());
        self.ids.insert(sig.to_string(), id);
        id
    }

    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A SYN as the join indexes it (by client IP and time): 40 bytes on 64-bit targets
/// (checked by a test), against ~1 KiB for a formatted [`SynRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompactSyn {
    pub ts_ns: i64,
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub server_port: u16,
    /// Index into a [`SignatureIds`].
    pub signature: u32,
    /// Line of the matching database `sig` (0: no match).
    pub os_sig_line: u32,
    pub ttl: u8,
    /// Bit 0: SYN+ACK; bit 1: p0f would ignore it; bit 2: retransmitted.
    pub flags: u8,
}

impl CompactSyn {
    pub const SYN_ACK: u8 = 1;
    pub const P0F_IGNORES: u8 = 2;
    pub const RETRANSMITTED: u8 = 4;

    pub fn new(e: &SynEntry<'_>, sigs: &mut SignatureIds) -> CompactSyn {
        let client = e.client();
        let mut flags = 0;
        if e.obs.kind == SynKind::SynAck {
            flags |= Self::SYN_ACK;
        }
        if e.obs.p0f_ignores.is_some() {
            flags |= Self::P0F_IGNORES;
        }
        if e.retransmits > 0 {
            flags |= Self::RETRANSMITTED;
        }
        CompactSyn {
            ts_ns: e.obs.ts_ns,
            client_ip: client.ip(),
            client_port: client.port(),
            server_port: e.server().port(),
            signature: sigs.id(&e.obs.to_string()),
            os_sig_line: e
                .os
                .map_or(0, |m| u32::try_from(m.line).unwrap_or(u32::MAX)),
            ttl: e.obs.ttl,
            flags,
        }
    }
}

/// One `--summary` row: what one client address showed in its SYNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientSummaryRow {
    pub client_ip: IpAddr,
    /// SYN rows (retransmissions not counted).
    pub syns: u64,
    /// Distinct p0f signatures.
    pub signatures: usize,
    /// Distinct TTLs, ascending, `;`-separated.
    pub ttls: String,
    /// Distinct MSS values, ascending, `;`-separated (`-` for none).
    pub mss_values: String,
    /// Distinct OS matches (`name flavor`, `???` for none), sorted, `;`-separated.
    pub oses: String,
    pub first_seen: String,
    pub last_seen: String,
    /// More than one signature behind the address: several stacks (NAT, shared proxy).
    pub nat_hint: bool,
}

#[derive(Debug, Clone)]
struct ClientAgg {
    syns: u64,
    signatures: BTreeSet<String>,
    ttls: BTreeSet<u8>,
    mss: BTreeSet<Option<u16>>,
    oses: BTreeSet<String>,
    first: String,
    last: String,
}

/// Aggregates SYN entries per client IP, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct ClientSummary {
    order: Vec<IpAddr>,
    by_ip: HashMap<IpAddr, ClientAgg>,
}

impl ClientSummary {
    /// Count a SYN (SYN+ACKs are the server's and are ignored).
    pub fn add(&mut self, e: &SynEntry<'_>, meta: &FileMeta) {
        if e.obs.kind != SynKind::Syn {
            return;
        }
        let mut t = String::with_capacity(32);
        write_rfc3339(&mut t, e.obs.ts_ns, meta.precision);
        let ip = e.src.ip();
        let agg = self.by_ip.entry(ip).or_insert_with(|| {
            self.order.push(ip);
            ClientAgg {
                syns: 0,
                signatures: BTreeSet::new(),
                ttls: BTreeSet::new(),
                mss: BTreeSet::new(),
                oses: BTreeSet::new(),
                first: t.clone(),
                last: String::new(),
            }
        });
        agg.syns += 1;
        agg.signatures.insert(e.obs.to_string());
        agg.ttls.insert(e.obs.ttl);
        agg.mss.insert(e.obs.mss);
        agg.oses
            .insert(e.os.map_or_else(|| "???".to_string(), |m| m.p0f_name()));
        agg.last = t;
    }

    /// Rows in order of each client's first SYN.
    pub fn rows(&self) -> Vec<ClientSummaryRow> {
        let join = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join(";");
        self.order
            .iter()
            .filter_map(|ip| {
                let a = self.by_ip.get(ip)?;
                Some(ClientSummaryRow {
                    client_ip: *ip,
                    syns: a.syns,
                    signatures: a.signatures.len(),
                    ttls: join(&mut a.ttls.iter().map(u8::to_string)),
                    mss_values: join(
                        &mut a
                            .mss
                            .iter()
                            .map(|m| m.map_or_else(|| "-".to_string(), |m| m.to_string())),
                    ),
                    oses: join(&mut a.oses.iter().cloned()),
                    first_seen: a.first.clone(),
                    last_seen: a.last.clone(),
                    nat_hint: a.signatures.len() > 1,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{OptionLayout, Quirks};
    use proptest::prelude::*;

    fn obs(kind: SynKind, ts_ns: i64, seq: u32) -> SynObservation {
        SynObservation {
            kind,
            ts_ns,
            p0f_ignores: None,
            ip_version: 4,
            ttl: 64,
            ip_options_len: 0,
            df: true,
            ip_id: Some(1),
            ip_ecn: 0,
            tcp_flags: TcpFlags(match kind {
                SynKind::Syn => TcpFlags::SYN,
                SynKind::SynAck => TcpFlags::SYN | TcpFlags::ACK,
            }),
            seq,
            ack: 0,
            window: 8192,
            mss: Some(1460),
            window_scale: None,
            timestamp: None,
            options: OptionLayout::default(),
            quirks: Quirks::default(),
            payload_len: 0,
            header_len: 40,
            peer_syn_mss: None,
        }
    }

    fn sock(last: u8, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::from([10, 0, 0, last]), port)
    }

    const SERVER: u8 = 1;

    /// One generated connection: SYN copies, SYN+ACK copies, then maybe the ACK.
    #[derive(Debug, Clone)]
    struct Conn {
        port: u16,
        syns: usize,
        synacks: usize,
        ack: bool,
    }

    /// The connection's packets in order: (kind 0 SYN / 1 SYN+ACK / 2 ACK).
    fn packets(c: &Conn) -> Vec<u8> {
        let mut v = vec![0; c.syns];
        v.extend(std::iter::repeat_n(1, c.synacks));
        if c.ack && c.synacks > 0 {
            v.push(2);
        }
        v
    }

    fn event(c: &Conn, kind: u8, index: u64) -> PacketEvent {
        let client = sock(2, c.port);
        let server = sock(SERVER, 443);
        let ts = index as i64 * 1000;
        let seen = |o: SynObservation, src, dst| {
            PacketEvent::Syn(SeenSyn {
                file: 0,
                index,
                src,
                dst,
                obs: o,
            })
        };
        match kind {
            0 => seen(obs(SynKind::Syn, ts, 100), client, server),
            1 => seen(obs(SynKind::SynAck, ts, 900), server, client),
            _ => PacketEvent::Segment(Segment {
                ts_ns: ts,
                src: client,
                dst: server,
                flags: TcpFlags(TcpFlags::ACK),
                ack: 901,
            }),
        }
    }

    /// (packet index, direction, retransmits, syn_to_synack, synack_to_ack), the naive way:
    /// for each connection look at the whole list of its packets at once.
    type Expected = (u64, SynKind, u32, Option<i64>, Option<i64>);

    fn naive(stream: &[(usize, u8, u64)], conns: &[Conn]) -> Vec<Expected> {
        let mut out = Vec::new();
        for (ci, c) in conns.iter().enumerate() {
            let mine: Vec<(u8, u64)> = stream
                .iter()
                .filter(|e| e.0 == ci)
                .map(|e| (e.1, e.2))
                .collect();
            let first = |k: u8| mine.iter().find(|e| e.0 == k).map(|e| e.1);
            let last_before = |k: u8, limit: u64| {
                mine.iter()
                    .filter(|e| e.0 == k && e.1 < limit)
                    .map(|e| e.1)
                    .max()
            };
            let t = |i: u64| i as i64 * 1000;
            let s2sa = first(1).and_then(|sa| last_before(0, sa).map(|s| t(sa) - t(s)));
            let sa2a = first(2).and_then(|a| last_before(1, a).map(|sa| t(a) - t(sa)));
            if let Some(i) = first(0) {
                out.push((i, SynKind::Syn, c.syns as u32 - 1, s2sa, sa2a));
            }
            if let Some(i) = first(1) {
                out.push((i, SynKind::SynAck, c.synacks as u32 - 1, s2sa, sa2a));
            }
        }
        out.sort_by_key(|e| e.0);
        out
    }

    fn conn_strategy() -> impl Strategy<Value = Conn> {
        (1usize..4, 0usize..4, any::<bool>()).prop_map(|(syns, synacks, ack)| Conn {
            port: 0,
            syns,
            synacks,
            ack,
        })
    }

    proptest! {
        /// Interleaved handshakes: the tracker's rows, order, retransmission counts and
        /// timings equal the whole-list computation.
        #[test]
        fn tracker_matches_naive(
            mut conns in prop::collection::vec(conn_strategy(), 1..8),
            picks in prop::collection::vec(any::<u8>(), 64),
        ) {
            for (i, c) in conns.iter_mut().enumerate() {
                c.port = 1000 + i as u16;
            }
            // Interleave: repeatedly take the next packet of a connection chosen by `picks`.
            let mut queues: Vec<Vec<u8>> = conns.iter().map(packets).collect();
            for q in &mut queues {
                q.reverse();
            }
            let mut stream = Vec::new();
            let mut p = picks.iter().cycle();
            let mut index = 1u64;
            while queues.iter().any(|q| !q.is_empty()) {
                let live: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
                let ci = live[usize::from(*p.next().unwrap()) % live.len()];
                let kind = queues[ci].pop().unwrap();
                stream.push((ci, kind, index));
                index += 1;
            }
            let db = Database::default();
            let mut t = SynTracker::new(&db);
            let mut got = Vec::new();
            let mut collect = |e: &SynEntry<'_>| {
                got.push((e.index, e.obs.kind, e.retransmits, e.syn_to_synack_ns, e.synack_to_ack_ns));
                ControlFlow::Continue(())
            };
            for &(ci, kind, idx) in &stream {
                let _ = t.push(&event(&conns[ci], kind, idx), &mut collect);
            }
            let _ = t.finish(&mut collect);
            prop_assert_eq!(got, naive(&stream, &conns));
        }
    }

    #[test]
    fn port_reuse_and_rst_and_expiry() {
        let db = Database::default();
        let mut t = SynTracker::new(&db);
        let mut got: Vec<(u64, u32)> = Vec::new();
        fn push(t: &mut SynTracker<'_>, ev: &PacketEvent, got: &mut Vec<(u64, u32)>) {
            let _ = t.push(ev, &mut |e: &SynEntry<'_>| {
                got.push((e.index, e.retransmits));
                ControlFlow::Continue(())
            });
        }
        let (c, s) = (sock(2, 5000), sock(SERVER, 443));
        let syn = |index, ts, seq| {
            PacketEvent::Syn(SeenSyn {
                file: 0,
                index,
                src: c,
                dst: s,
                obs: obs(SynKind::Syn, ts, seq),
            })
        };
        // Unanswered SYN, a copy, then a new sequence number on the same ports: two rows.
        push(&mut t, &syn(1, 0, 10), &mut got);
        push(&mut t, &syn(2, 1_000, 10), &mut got);
        assert!(got.is_empty(), "held back while retransmissions may come");
        push(&mut t, &syn(3, 2_000, 20), &mut got);
        assert_eq!(got, [(1, 1)]);
        // RST from the server ends the second one.
        let rst = PacketEvent::Segment(Segment {
            ts_ns: 3_000,
            src: s,
            dst: c,
            flags: TcpFlags(TcpFlags::RST | TcpFlags::ACK),
            ack: 21,
        });
        push(&mut t, &rst, &mut got);
        assert_eq!(got, [(1, 1), (3, 0)]);
        // An unanswered SYN is released once the handshake window has passed.
        push(&mut t, &syn(4, 10_000, 30), &mut got);
        let other = PacketEvent::Segment(Segment {
            ts_ns: 10_000 + HANDSHAKE_WINDOW_NS + 1,
            src: sock(9, 1),
            dst: sock(9, 2),
            flags: TcpFlags(TcpFlags::ACK),
            ack: 0,
        });
        push(&mut t, &other, &mut got);
        assert_eq!(got, [(1, 1), (3, 0), (4, 0)]);
        assert!(t.conns.is_empty() && t.pending.is_empty());
    }

    #[test]
    fn compact_record_is_40_bytes() {
        // i64 8 + IpAddr 17 + 2 ports 4 + 2 u32 8 + 2 u8 = 39, padded to 8-byte alignment.
        assert_eq!(std::mem::size_of::<CompactSyn>(), 40);
        let db = Database::default();
        let e = SynEntry {
            file: 0,
            index: 1,
            src: sock(SERVER, 443),
            dst: sock(2, 5000),
            obs: obs(SynKind::SynAck, 5, 1),
            retransmits: 1,
            syn_to_synack_ns: None,
            synack_to_ack_ns: None,
            uptime: None,
            os: db.match_syn(&obs(SynKind::SynAck, 5, 1)),
        };
        let mut ids = SignatureIds::default();
        let c = CompactSyn::new(&e, &mut ids);
        // A SYN+ACK's client is its destination.
        assert_eq!(c.client_ip, sock(2, 0).ip());
        assert_eq!((c.client_port, c.server_port), (5000, 443));
        assert_eq!(c.flags, CompactSyn::SYN_ACK | CompactSyn::RETRANSMITTED);
        assert_eq!(ids.name(c.signature), Some("4:64+0:0:1460:8192,0:::0"));
        assert_eq!(CompactSyn::new(&e, &mut ids).signature, c.signature);
    }

    /// A timestamped SYN from host number `h` (distinct IPv4 addresses), `ts_ns` capture time.
    fn host_syn(h: u32, ts_ns: i64) -> PacketEvent {
        let mut o = obs(SynKind::Syn, ts_ns, 7);
        o.timestamp = Some((h.wrapping_mul(1000), 0));
        PacketEvent::Syn(SeenSyn {
            file: 0,
            index: u64::from(h) + 1,
            src: SocketAddr::new(
                IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32 + h)),
                40_000,
            ),
            dst: sock(SERVER, 80),
            obs: o,
        })
    }

    #[test]
    fn host_timestamp_samples_age_out_after_the_uptime_window() {
        let db = Database::default();
        let mut t = SynTracker::new(&db);
        // One host per second for 20 minutes: only the last 10 minutes can still pair.
        for h in 0..1200u32 {
            let _ = t.push(&host_syn(h, i64::from(h) * 1_000_000_000), &mut |_| {
                ControlFlow::Continue(())
            });
        }
        assert!(t.last_ts.len() <= 601, "{} samples kept", t.last_ts.len());
        assert_eq!(
            t.stats().uptime_samples_aged_out,
            1200 - t.last_ts.len() as u64
        );
        assert_eq!(t.stats().uptime_samples_evicted_host_cap, 0);
    }

    #[test]
    fn host_timestamp_samples_are_capped_oldest_first() {
        let db = Database::default();
        let mut t = SynTracker::new(&db);
        let n = MAX_TS_HOSTS as u32 + 1000;
        // All within one second: nothing ages out, the count cap applies.
        for h in 0..n {
            let _ = t.push(&host_syn(h, i64::from(h)), &mut |_| {
                ControlFlow::Continue(())
            });
        }
        assert_eq!(t.last_ts.len(), MAX_TS_HOSTS);
        assert_eq!(t.stats().uptime_samples_evicted_host_cap, 1000);
        // The held rows (and their connections) are capped too.
        assert!(t.pending.len() <= MAX_PENDING && t.conns.len() <= MAX_PENDING);
        assert_eq!(
            t.stats().rows_released_pending_cap,
            u64::from(n) - MAX_PENDING as u64
        );
        // The newest host still pairs: a second SYN 1 s later gets an uptime estimate
        // (TSval +1000 ticks in 1 s: 1000 Hz); the oldest was dropped and does not.
        let mut hints = Vec::new();
        let mut again = |h: u32, dt: i64| {
            let PacketEvent::Syn(mut s) = host_syn(h, i64::from(n) + dt) else {
                unreachable!()
            };
            s.obs.seq = 8;
            s.obs.timestamp = Some((h.wrapping_mul(1000).wrapping_add(1000), 0));
            let _ = t.push(&PacketEvent::Syn(s), &mut |_| ControlFlow::Continue(()));
        };
        again(n - 1, 1_000_000_000);
        again(0, 1_000_000_001);
        let _ = t.finish(&mut |e: &SynEntry<'_>| {
            if e.obs.seq == 8 {
                hints.push((e.src, e.uptime.is_some()));
            }
            ControlFlow::Continue(())
        });
        assert_eq!(
            hints,
            [
                (
                    SocketAddr::new(
                        IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32 + n - 1)),
                        40_000
                    ),
                    true
                ),
                (
                    SocketAddr::new(
                        IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32)),
                        40_000
                    ),
                    false
                ),
            ]
        );
    }
}
