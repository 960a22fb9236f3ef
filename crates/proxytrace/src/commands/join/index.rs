//! [`FrontIndex`]: the front side's client SYNs and request heads, indexed by client
//! address and time, and the builder that reads them.

use super::stages::{self, FrontEvent, RequestStage, Shown, SynStage};
use super::JoinRow;
use crate::collections::hashing::{HashMap, HashSet};
use crate::collections::interner::Interner;
use crate::decode::FiveTuple;
use crate::engine::{Engine, Phase};
use crate::extract::handshakes::{FileMeta, Segment, SynEntry, SynRow};
use crate::extract::requests::{RequestRow, RequestsConfig};
use crate::fingerprint::{Database, SynKind, SynObservation, Uptime};
use crate::pipeline::{Counter, CounterKind, Counters, Inputs, Report, Sink};
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

/// One client SYN in the index: 32 bytes (checked by a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontSyn {
    /// First copy of the SYN (front clock).
    pub ts_ns: i64,
    /// Client address id ([`FrontIndex::ip`]).
    pub ip: u32,
    /// Index of the per-SYN values ([`FrontIndex::syn_row`]).
    pub detail: u32,
    /// Server address id.
    pub server: u32,
    /// Interned p0f signature (distinct fingerprints).
    pub sig: u32,
    /// The client's source port.
    pub client_port: u16,
    /// The server's (proxy's) port.
    pub server_port: u16,
    /// The front side showed at least one HTTP request head on this connection. Without
    /// one (TLS, or bytes that did not parse) its requests are invisible, so it could
    /// have carried any request of its client: `request_match` is then not certain.
    pub requests_seen: bool,
}

/// The values of a SYN row that differ between SYNs of one stack profile: 64 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct SynVar {
    pub(super) index: u64,
    /// i64::MIN: none.
    pub(super) syn_to_synack_ns: i64,
    pub(super) synack_to_ack_ns: i64,
    pub(super) uptime_s: u64,
    pub(super) ip_id: u32,
    pub(super) ts_val: u32,
    pub(super) ts_ecr: u32,
    pub(super) retransmits: u32,
    pub(super) profile: u32,
    pub(super) file: u32,
    /// 0: no uptime estimate.
    pub(super) ts_clock_hz: u32,
    /// Milliseconds from the SYN to the connection's first FIN or RST, rounded up;
    /// [`NO_END`]: not seen (still open at the end, or not tracked).
    pub(super) end_ms: u32,
}

/// [`SynVar::end_ms`] of a connection whose end was not seen.
pub(super) const NO_END: u32 = u32::MAX;

pub(super) const NONE_NS: i64 = i64::MIN;

/// A SYN observation with its per-packet values cleared: what all SYNs of one stack (and
/// TTL) share. Equality is the observation's; the hash covers a subset of the fields.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Profile(SynObservation);

impl Hash for Profile {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let o = &self.0;
        (
            o.ttl,
            o.window,
            o.mss,
            o.window_scale,
            o.payload_len,
            o.header_len,
        )
            .hash(h);
        o.options.hash(h);
        o.quirks.hash(h);
    }
}

fn profile_of(obs: &SynObservation) -> SynObservation {
    SynObservation {
        ts_ns: 0,
        seq: 0,
        ack: 0,
        ip_id: obs.ip_id.map(|_| 0),
        timestamp: obs.timestamp.map(|_| (0, 0)),
        ..*obs
    }
}

/// A front request head, keyed for matching: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FrontReq {
    // Field order is the sort order: (key, ip, ts) ranges are searched.
    pub(super) key: u64,
    pub(super) ip: u32,
    pub(super) ts_ns: i64,
    pub(super) port: u16,
}

/// Hash of what a proxy passes on unchanged: method, target, host, user agent.
pub(super) fn request_key(r: &RequestRow) -> u64 {
    // DefaultHasher::new() has fixed keys: the same on both sides and across runs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&r.method, &r.target, &r.host, &r.user_agent).hash(&mut h);
    h.finish()
}

/// An endpoint pair in one order whichever side sent the packet.
fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

pub(super) fn canon(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Counters of the index build (the report's `front index` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Client SYNs indexed.
    pub syns: u64,
    /// Client SYNs left out: their address never appeared on the back side (`--two-pass`).
    pub syns_skipped: u64,
    /// SYNs not indexed: more than [`MAX_PROFILES`] stack profiles, or u32 ids exhausted.
    pub syns_skipped_cap: u64,
    /// Distinct stack profiles (what SYNs of one stack and TTL share), stored once each.
    pub profiles: u64,
    /// Distinct client addresses.
    pub client_ips: u64,
    /// Front request heads kept for `request_match` (from addresses with a SYN).
    pub front_requests: u64,
    /// Indexed connections whose end (first FIN or RST) was seen.
    pub connection_ends: u64,
    /// Open connections whose end is no longer watched: more than [`MAX_OPEN_WATCHED`]
    /// were open at once (they count as open until the capture's end).
    pub connection_ends_unwatched_cap: u64,
    /// Heap bytes of the index.
    pub index_bytes: u64,
}

impl Counters for IndexStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Volume};
        vec![
            Counter::new("syns", self.syns, Volume),
            Counter::new("syns_skipped", self.syns_skipped, Volume),
            Counter::new("syns_skipped_cap", self.syns_skipped_cap, Cap),
            Counter::new("profiles", self.profiles, Volume),
            Counter::new("client_ips", self.client_ips, Volume),
            Counter::new("front_requests", self.front_requests, Volume),
            Counter::new("connection_ends", self.connection_ends, Volume),
            Counter::new(
                "connection_ends_unwatched_cap",
                self.connection_ends_unwatched_cap,
                Cap,
            ),
            Counter::new("index_bytes", self.index_bytes, Volume),
        ]
    }
}

/// The front side, indexed by client IP and time.
pub struct FrontIndex<'db> {
    db: &'db Database,
    /// Client addresses (canonical: IPv4-mapped IPv6 as IPv4) and their ids.
    ips: Interner<IpAddr>,
    servers: Vec<IpAddr>,
    /// Sorted by (ip, ts_ns, client_port).
    syns: Vec<FrontSyn>,
    /// `syns[starts[ip]..starts[ip + 1]]` are one IP's SYNs.
    starts: Vec<u32>,
    /// Positions into `syns`, sorted by (ip, client_port, ts_ns).
    by_port: Vec<u32>,
    pub(super) vars: Vec<SynVar>,
    profiles: Vec<SynObservation>,
    sigs: Vec<String>,
    pub(super) files: Vec<FileMeta>,
    /// Sorted by (key, ip, ts).
    reqs: Vec<FrontReq>,
    /// What the build kept and left out.
    pub stats: IndexStats,
}

/// Distinct stack profiles (and so signature strings) the index keeps: a profile holds a
/// [`SynObservation`] and its signature, about 250 bytes, so at most 256 MiB. Real
/// captures show thousands; SYNs of a new profile past the cap are not indexed (counted
/// in [`IndexStats::syns_skipped_cap`]): only a capture crafted to vary every SYN gets there.
pub const MAX_PROFILES: u32 = 1 << 20;

/// Connections whose end (FIN or RST) the index build watches at once: a map entry is
/// about 80 bytes, so at most 80 MiB. Past it the watch starts over (every connection
/// watched so far counts as open to the end, counted in
/// [`IndexStats::connection_ends_unwatched_cap`]): an invisible connection taken as open
/// only makes `request_match` less sure, never wrong.
pub const MAX_OPEN_WATCHED: usize = 1 << 20;

/// Collects client SYNs, then sorts them into a [`FrontIndex`].
pub(super) struct IndexBuilder<'db> {
    db: &'db Database,
    ips: Interner<IpAddr>,
    servers: Interner<IpAddr>,
    profiles: Interner<Profile>,
    sig_ids: Interner<String>,
    profile_sig: Vec<u32>,
    syns: Vec<FrontSyn>,
    vars: Vec<SynVar>,
    /// SYNs from addresses the back side never named (`--two-pass`).
    pub(super) skipped: u64,
    /// SYNs not indexed because an id space was full.
    skipped_cap: u64,
    /// Indexed connections not yet ended: (client, server) -> their `detail`.
    open: HashMap<(SocketAddr, SocketAddr), u32>,
    /// Ends met before their SYN's entry (the tracker holds entries back up to its
    /// handshake window): endpoint pair, lower first -> the first FIN or RST's time.
    early: HashMap<(SocketAddr, SocketAddr), i64>,
    ends: u64,
    unwatched: u64,
}

impl<'db> IndexBuilder<'db> {
    pub(super) fn new(db: &'db Database) -> Self {
        IndexBuilder {
            db,
            // Ids are u32 positions; u32::MAX stays free.
            ips: Interner::with_cap(u32::MAX),
            servers: Interner::with_cap(u32::MAX),
            profiles: Interner::with_cap(MAX_PROFILES),
            sig_ids: Interner::with_cap(MAX_PROFILES),
            profile_sig: Vec::new(),
            syns: Vec::new(),
            vars: Vec::new(),
            skipped: 0,
            skipped_cap: 0,
            open: HashMap::default(),
            early: HashMap::default(),
            ends: 0,
            unwatched: 0,
        }
    }

    /// A FIN or RST (either direction): the end of the watched connection it belongs to,
    /// or kept until that connection's SYN entry comes.
    pub(super) fn end(&mut self, s: &Segment) {
        for key in [(s.src, s.dst), (s.dst, s.src)] {
            if let Some(d) = self.open.remove(&key) {
                self.set_end(d, s.ts_ns);
                return;
            }
        }
        if self.early.len() >= MAX_OPEN_WATCHED {
            self.unwatched += self.early.len() as u64;
            self.early.clear();
        }
        self.early.entry(pair(s.src, s.dst)).or_insert(s.ts_ns);
    }

    fn set_end(&mut self, d: u32, ts_ns: i64) {
        let start = self.syns.get(d as usize).map_or(ts_ns, |f| f.ts_ns);
        // Rounded up: a connection never looks over before it was.
        let ms = u64::try_from(ts_ns.saturating_sub(start))
            .unwrap_or(0)
            .div_ceil(1_000_000);
        if let Some(v) = self.vars.get_mut(d as usize) {
            v.end_ms = u32::try_from(ms).unwrap_or(NO_END - 1).min(NO_END - 1);
            self.ends += 1;
        }
    }

    /// Add a client SYN (the caller passes SYNs only).
    pub(super) fn add(&mut self, e: &SynEntry<'_>) {
        if self.try_add(e).is_none() {
            self.skipped_cap += 1;
        }
    }

    fn try_add(&mut self, e: &SynEntry<'_>) -> Option<()> {
        let detail = u32::try_from(self.vars.len())
            .ok()
            .filter(|&d| d < u32::MAX)?;
        let pid = self.profiles.id(&Profile(profile_of(&e.obs)))?;
        if pid as usize >= self.profile_sig.len() {
            // Once per profile: the signature string is the same for all its SYNs.
            let sig = self.sig_ids.id(e.obs.to_string().as_str())?;
            self.profile_sig.push(sig);
        }
        let sig = *self.profile_sig.get(pid as usize)?;
        let ip = self.ips.id(&canon(e.src.ip()))?;
        let server = self.servers.id(&e.dst.ip())?;
        self.vars.push(SynVar {
            index: e.index,
            syn_to_synack_ns: e.syn_to_synack_ns.unwrap_or(NONE_NS),
            synack_to_ack_ns: e.synack_to_ack_ns.unwrap_or(NONE_NS),
            uptime_s: e.uptime.map_or(0, |u| u.uptime_s),
            ip_id: e.obs.ip_id.unwrap_or(0),
            ts_val: e.obs.timestamp.map_or(0, |t| t.0),
            ts_ecr: e.obs.timestamp.map_or(0, |t| t.1),
            retransmits: e.retransmits,
            profile: pid,
            file: e.file,
            ts_clock_hz: e.uptime.map_or(0, |u| u.freq_hz),
            end_ms: NO_END,
        });
        self.syns.push(FrontSyn {
            ts_ns: e.obs.ts_ns,
            ip,
            detail,
            server,
            sig,
            client_port: e.src.port(),
            server_port: e.dst.port(),
            // Set by `add_requests` once the request heads are read.
            requests_seen: false,
        });
        match self.early.remove(&pair(e.src, e.dst)) {
            // An end before this SYN was an earlier connection's on the same ports.
            Some(ts) if ts >= e.obs.ts_ns => self.set_end(detail, ts),
            _ => {
                if self.open.len() >= MAX_OPEN_WATCHED {
                    self.unwatched += self.open.len() as u64;
                    self.open.clear();
                }
                // A new SYN on the same ports replaces the old connection's watch.
                self.open.insert((e.src, e.dst), detail);
            }
        }
        Some(())
    }

    pub(super) fn finish(self, files: Vec<FileMeta>) -> FrontIndex<'db> {
        let mut syns = self.syns;
        let stats = IndexStats {
            syns: syns.len() as u64,
            syns_skipped: self.skipped,
            syns_skipped_cap: self.skipped_cap,
            connection_ends: self.ends,
            connection_ends_unwatched_cap: self.unwatched,
            profiles: self.profiles.len() as u64,
            client_ips: self.ips.len() as u64,
            ..IndexStats::default()
        };
        syns.sort_unstable_by_key(|s| (s.ip, s.ts_ns, s.client_port, s.detail));
        let mut starts = vec![0u32; self.ips.len() + 1];
        for s in &syns {
            if let Some(c) = starts.get_mut(s.ip as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        // Fewer than u32::MAX SYNs: `try_add` refuses the rest.
        let mut by_port: Vec<u32> = (0..syns.len() as u32).collect();
        by_port.sort_unstable_by_key(|&i| {
            let s = &syns[i as usize];
            (s.ip, s.client_port, s.ts_ns, i)
        });
        FrontIndex {
            db: self.db,
            ips: self.ips,
            servers: self.servers.into_values(),
            syns,
            starts,
            by_port,
            vars: self.vars,
            profiles: self
                .profiles
                .into_values()
                .into_iter()
                .map(|p| p.0)
                .collect(),
            sigs: self.sig_ids.into_values(),
            files,
            reqs: Vec::new(),
            stats,
        }
    }
}

impl<'db> FrontIndex<'db> {
    /// Read the front side: client SYNs (of `only`'s addresses, when given), then request
    /// heads, each in one [`pipeline::run`](crate::pipeline::run). Returns the index and
    /// the report of the SYN read, with the unreadable files of both reads; file errors go
    /// to `sink` once.
    pub(super) fn build<K: Sink<JoinRow>>(
        engine: &Engine,
        front: &Inputs,
        cfg: &RequestsConfig,
        db: &'db Database,
        only: Option<&HashSet<IpAddr>>,
        sink: &mut K,
        shown: &mut Shown,
    ) -> Result<(FrontIndex<'db>, Report), K::Error> {
        let wanted = |ip: IpAddr| only.is_none_or(|s| s.contains(&canon(ip)));
        let mut builder = IndexBuilder::new(db);
        let mut syn_stage = SynStage::new(db);
        engine.phase(Phase::FrontIndex, front.total_bytes());
        let mut report = stages::read(
            engine,
            front,
            &mut syn_stage,
            sink,
            shown,
            |ev: FrontEvent<'db>| {
                match ev {
                    FrontEvent::Syn(e) if e.obs.kind == SynKind::Syn => {
                        if wanted(e.src.ip()) {
                            builder.add(&e);
                        } else {
                            builder.skipped += 1;
                        }
                    }
                    FrontEvent::Syn(_) => {}
                    FrontEvent::End(s) => builder.end(&s),
                }
                ControlFlow::Continue(())
            },
        )?;
        let mut index = builder.finish(syn_stage.scanner.files);
        if shown.stopped || report.files == 0 {
            return Ok((index, report));
        }
        // The front request's client is its source: the back side's filters do not apply.
        let mut front_cfg = cfg.clone();
        front_cfg.clients = Default::default();
        front_cfg.identified_only = false;
        front_cfg.fields = Default::default();
        front_cfg.head_log = None;
        let mut raw_reqs: Vec<(u64, IpAddr, u16, i64)> = Vec::new();
        engine.phase(Phase::FrontRequests, front.total_bytes());
        let heads = stages::read(
            engine,
            front,
            &mut RequestStage::new(&front_cfg),
            sink,
            shown,
            |r: RequestRow| {
                if wanted(r.src_ip) {
                    raw_reqs.push((request_key(&r), canon(r.src_ip), r.src_port, r.ts_ns));
                }
                ControlFlow::Continue(())
            },
        )?;
        for f in heads.failed_files {
            if !report.failed_files.iter().any(|g| g.file == f.file) {
                report.failed_files.push(f);
            }
        }
        index.add_requests(raw_reqs);
        index.stats.index_bytes = index.memory_bytes();
        Ok((index, report))
    }

    pub(super) fn add_requests(&mut self, raw: Vec<(u64, IpAddr, u16, i64)>) {
        // Requests from an address without a SYN cannot lead to one: not kept.
        self.reqs = raw
            .into_iter()
            .filter_map(|(key, ip, port, ts_ns)| {
                let ip = self.ips.get_id(&ip)?;
                Some(FrontReq {
                    key,
                    ip,
                    port,
                    ts_ns,
                })
            })
            .collect();
        self.reqs.sort_unstable();
        self.stats.front_requests = self.reqs.len() as u64;
        // Mark each request's connection: the latest SYN of its (ip, port) at or before it.
        for i in 0..self.reqs.len() {
            let Some(r) = self.reqs.get(i).copied() else {
                break;
            };
            let pos = self
                .port_range(r.ip, r.port, i64::MIN, r.ts_ns)
                .last()
                .copied();
            if let Some(s) = pos.and_then(|p| self.syns.get_mut(p as usize)) {
                s.requests_seen = true;
            }
        }
    }

    /// Heap bytes of the index (vectors' capacities and a rough figure for the maps).
    pub fn memory_bytes(&self) -> u64 {
        use std::mem::size_of;
        let v = |n: usize, s: usize| (n * s) as u64;
        v(self.syns.capacity(), size_of::<FrontSyn>())
            + v(self.by_port.capacity(), 4)
            + v(self.vars.capacity(), size_of::<SynVar>())
            + v(self.reqs.capacity(), size_of::<FrontReq>())
            + v(self.starts.capacity(), 4)
            + self.ips.memory_bytes(|_| 0)
            + v(self.profiles.capacity(), size_of::<SynObservation>())
            + self
                .sigs
                .iter()
                .map(|s| s.capacity() as u64 + 24)
                .sum::<u64>()
    }

    /// The id of a client address (IPv4-mapped IPv6 is its IPv4), if it sent a SYN.
    pub fn ip_id(&self, ip: IpAddr) -> Option<u32> {
        self.ips.get_id(&canon(ip))
    }

    /// The client address of an id.
    pub fn ip(&self, id: u32) -> Option<IpAddr> {
        self.ips.value(id).copied()
    }

    /// The SYNs of one client address, by time.
    pub fn syns_of(&self, ip: u32) -> &[FrontSyn] {
        let a = self.starts.get(ip as usize).copied().unwrap_or(0) as usize;
        let b = self.starts.get(ip as usize + 1).copied().unwrap_or(0) as usize;
        self.syns.get(a..b).unwrap_or(&[])
    }

    /// Whether the connection of `s` may still have been open at `t` (front clock): its
    /// end was not seen, or came at or after `t`.
    pub(super) fn open_at(&self, s: &FrontSyn, t: i64) -> bool {
        match self.vars.get(s.detail as usize) {
            Some(v) if v.end_ms != NO_END => {
                s.ts_ns.saturating_add(i64::from(v.end_ms) * 1_000_000) >= t
            }
            _ => true,
        }
    }

    /// The SYNs of one client address in [lo, hi] (front clock).
    pub(super) fn syns_between(&self, ip: u32, lo: i64, hi: i64) -> &[FrontSyn] {
        let all = self.syns_of(ip);
        let a = all.partition_point(|s| s.ts_ns < lo);
        let b = all.partition_point(|s| s.ts_ns <= hi);
        all.get(a..b.max(a)).unwrap_or(&[])
    }

    /// The latest SYN from (ip, port) in [lo, hi], and how many there are in the range.
    pub(super) fn latest_port(
        &self,
        ip: u32,
        port: u16,
        lo: i64,
        hi: i64,
    ) -> (Option<&FrontSyn>, usize) {
        let range = self.port_range(ip, port, lo, hi);
        (
            range.last().and_then(|&i| self.syns.get(i as usize)),
            range.len(),
        )
    }

    /// Positions in `syns` of the SYNs from (ip, port) in [lo, hi], by time.
    fn port_range(&self, ip: u32, port: u16, lo: i64, hi: i64) -> &[u32] {
        let key = |i: &u32| {
            let s = &self.syns[*i as usize];
            (s.ip, s.client_port, s.ts_ns)
        };
        let a = self.by_port.partition_point(|i| key(i) < (ip, port, lo));
        let b = self.by_port.partition_point(|i| key(i) <= (ip, port, hi));
        self.by_port.get(a..b.max(a)).unwrap_or(&[])
    }

    /// Front requests with this key from this address in [lo, hi].
    pub(super) fn requests_between(&self, key: u64, ip: u32, lo: i64, hi: i64) -> &[FrontReq] {
        let k = |r: &FrontReq| (r.key, r.ip, r.ts_ns);
        let a = self.reqs.partition_point(|r| k(r) < (key, ip, lo));
        let b = self.reqs.partition_point(|r| k(r) <= (key, ip, hi));
        self.reqs.get(a..b.max(a)).unwrap_or(&[])
    }

    /// The p0f signature of an indexed SYN.
    pub fn signature(&self, s: &FrontSyn) -> Option<&str> {
        self.sigs.get(s.sig as usize).map(String::as_str)
    }

    /// The front connection of a SYN: client -> server.
    pub fn five_tuple(&self, s: &FrontSyn) -> Option<FiveTuple> {
        Some(FiveTuple {
            src_ip: self.ip(s.ip)?,
            src_port: s.client_port,
            dst_ip: *self.servers.get(s.server as usize)?,
            dst_port: s.server_port,
            proto: crate::decode::IpProto::TCP,
        })
    }

    /// The `syns` row of an indexed SYN, rebuilt from its profile and its own values.
    pub fn syn_row(&self, s: &FrontSyn) -> Option<SynRow> {
        let v = self.vars.get(s.detail as usize)?;
        let p = self.profiles.get(v.profile as usize)?;
        let obs = SynObservation {
            ts_ns: s.ts_ns,
            ip_id: p.ip_id.map(|_| v.ip_id),
            timestamp: p.timestamp.map(|_| (v.ts_val, v.ts_ecr)),
            ..*p
        };
        let t = self.five_tuple(s)?;
        let opt = |n: i64| (n != NONE_NS).then_some(n);
        let entry = SynEntry {
            file: v.file,
            index: v.index,
            src: SocketAddr::new(t.src_ip, t.src_port),
            dst: SocketAddr::new(t.dst_ip, t.dst_port),
            obs,
            retransmits: v.retransmits,
            syn_to_synack_ns: opt(v.syn_to_synack_ns),
            synack_to_ack_ns: opt(v.synack_to_ack_ns),
            // A row shows only the frequency and the uptime of an estimate.
            uptime: (v.ts_clock_hz != 0).then_some(Uptime {
                freq_hz: v.ts_clock_hz,
                raw_freq_hz: f64::from(v.ts_clock_hz),
                uptime_s: v.uptime_s,
                wrap_s: 0,
                hint: true,
            }),
            // The tracker matched the same observation the same way.
            os: self.db.match_syn(&obs),
        };
        Some(SynRow::new(
            &entry,
            self.files.get(v.file as usize)?,
            self.db,
        ))
    }

    /// Every indexed SYN's row, in index order (tests compare them with `syns`).
    pub fn all_syn_rows(&self) -> impl Iterator<Item = SynRow> + '_ {
        self.syns.iter().filter_map(|s| self.syn_row(s))
    }
}
