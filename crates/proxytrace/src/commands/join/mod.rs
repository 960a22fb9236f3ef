//! `proxytrace join`: pair every BACK-side request with the FRONT-side connection it came
//! in on, and so with the client's SYN fingerprint.
//!
//! Order of work: (with `--two-pass`, a first read of the back side collects the client
//! addresses) -> one read of the front side builds a [`FrontIndex`] (client SYNs and, when
//! the front carries plaintext HTTP, front request heads) -> without `--clock-offset`, a
//! prefix of the back side is read to estimate the clock offset ([`estimate_offset`]) ->
//! the back side is read once more and every request leaves as a [`JoinRow`] as soon as it
//! is extracted: back-side rows are never held.
//!
//! Rules, strongest first (the row's `join_method`):
//! 1. `exact_port`: the back side names the client's port (PROXY, `Forwarded: for="ip:port"`,
//!    an XFF `ip:port`): the latest front SYN from that (ip, port) before the request.
//! 2. `request_match`: a front request from the client's IP with the same method, target,
//!    host and user agent within `--match-window` before the request (clock-corrected),
//!    all such requests on one front connection: that connection's SYN.
//! 3. `transparent`: the back-side source is the client (`--transparent`): rule 2, else the
//!    latest front SYN from (source ip, source port); this assumes the proxy keeps the
//!    client's port (HAProxy `usesrc client`, TPROXY).
//! 4. `ip_time`: the latest SYN from the client IP within `--window` before the request;
//!    `probable` when the SYNs from that IP in the window carry one fingerprint,
//!    `ambiguous` when several (NAT).
//!
//! Otherwise `none` (the client never sent a SYN in the window) or `no_identity`.
//!
//! Memory: per indexed client SYN, a 32-byte [`FrontSyn`] in the index (sorted by client
//! and time), a 4-byte entry of the (client, port, time) order and a 64-byte record of
//! the values that differ between SYNs of one stack (IP id, TCP timestamps, handshake
//! timings, retransmissions, uptime, packet number): 100 bytes per SYN. The rest of a
//! [`SynRow`] (signature, OS match, ...) is shared by all SYNs of one stack profile and
//! stored once per profile; the row of a matched SYN is rebuilt from both (a test checks
//! the rebuilt rows equal `syns` rows). Re-reading the front side for matched SYNs instead
//! would mean running the handshake tracker again over the whole front side; 100 M SYNs,
//! an extreme 100 GB front capture, take 10 GB. With `--two-pass` only the SYNs of
//! clients seen on the back side are kept. Front requests take 24 bytes each.

use crate::capture::{self, CaptureError, Input, OpenOptions};
use crate::collections::hashing::{HashMap, HashSet};
use crate::decode::FiveTuple;
use crate::engine::Engine;
use crate::extract::handshakes::{FileMeta, SynEntry, SynRow, SynScanner};
use crate::extract::requests::{self, RequestRow, RequestsConfig, RequestsSummary};
use crate::fingerprint::{Database, SynKind, SynObservation, Uptime};
use crate::timefmt::{write_rfc3339, Precision};
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

/// A SYN may look up to this much later than the request it carried after clock
/// correction: the median estimate includes the proxy's forwarding delay, so corrected
/// back times run early by milliseconds. The latest SYN up to this slack is taken (on a
/// 2 GB generated pair, preferring SYNs before the corrected time made 266 ip_time rows
/// wrong instead of 13).
pub const CLOCK_SLACK_NS: i64 = 100_000_000;
/// The first pass pairs requests within this much of each other, whatever the offset.
pub const ESTIMATE_WINDOW_NS: i64 = 600_000_000_000;
/// The estimate stops reading the back side after this many unambiguous pairs.
pub const ESTIMATE_PAIRS: usize = 20_000;
/// ... or after this many back-side requests, whatever it has.
pub const ESTIMATE_MAX_REQUESTS: u64 = 2_000_000;
/// `ip_time` counts fingerprints over at most this many SYNs (the latest) of one IP, so a
/// busy NAT address costs bounded work per request.
pub const MAX_CANDIDATE_SCAN: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("--front cannot read standard input: the front side is read twice at once")]
    FrontStdin,
    #[error("--back reads standard input only with --clock-offset and without --two-pass (it is read more than once)")]
    BackStdin,
    /// Without a front side every row would say `join_method=none` and look like a result.
    #[error("no front capture could be read ({files}): nothing to join the back side with")]
    NoFrontCapture { files: String },
}

/// What to join and how.
#[derive(Debug, Clone)]
pub struct JoinConfig {
    /// Request extraction, back and front (on the front, `clients` and
    /// `identified_only` are not applied: the front request's client is its source).
    pub requests: RequestsConfig,
    /// `ip_time` (and the age limit of any SYN): default 30 min, like p0f's host cache.
    pub window_ns: i64,
    /// `request_match`: how long before the back-side request the front one may be.
    pub match_window_ns: i64,
    /// back time = front time + offset; None: estimate it.
    pub clock_offset_ns: Option<i64>,
    /// Read the back side first and index only its clients' SYNs.
    pub two_pass: bool,
}

impl Default for JoinConfig {
    fn default() -> Self {
        JoinConfig {
            requests: RequestsConfig::default(),
            window_ns: 30 * 60 * 1_000_000_000,
            match_window_ns: 5_000_000_000,
            clock_offset_ns: None,
            two_pass: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinMethod {
    ExactPort,
    RequestMatch,
    Transparent,
    IpTime,
    None,
    NoIdentity,
}

impl JoinMethod {
    pub fn name(self) -> &'static str {
        match self {
            JoinMethod::ExactPort => "exact_port",
            JoinMethod::RequestMatch => "request_match",
            JoinMethod::Transparent => "transparent",
            JoinMethod::IpTime => "ip_time",
            JoinMethod::None => "none",
            JoinMethod::NoIdentity => "no_identity",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Certain,
    Probable,
    Ambiguous,
    None,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Probable => "probable",
            Confidence::Ambiguous => "ambiguous",
            Confidence::None => "none",
        }
    }
}

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
    pub client_port: u16,
    pub server_port: u16,
}

/// The values of a SYN row that differ between SYNs of one stack profile: 64 bytes.
#[derive(Debug, Clone, Copy)]
struct SynVar {
    index: u64,
    /// i64::MIN: none.
    syn_to_synack_ns: i64,
    synack_to_ack_ns: i64,
    uptime_s: u64,
    ip_id: u32,
    ts_val: u32,
    ts_ecr: u32,
    retransmits: u32,
    profile: u32,
    file: u32,
    /// 0: no uptime estimate.
    ts_clock_hz: u32,
}

const NONE_NS: i64 = i64::MIN;

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
struct FrontReq {
    // Field order is the sort order: (key, ip, ts) ranges are searched.
    key: u64,
    ip: u32,
    ts_ns: i64,
    port: u16,
}

/// Hash of what a proxy passes on unchanged: method, target, host, user agent.
fn request_key(r: &RequestRow) -> u64 {
    // DefaultHasher::new() has fixed keys: the same on both sides and across runs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&r.method, &r.target, &r.host, &r.user_agent).hash(&mut h);
    h.finish()
}

fn canon(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Counters of the index build.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexStats {
    pub front_files: u64,
    pub front_records: u64,
    pub front_bytes: u64,
    pub syns: u64,
    pub syns_skipped: u64,
    pub profiles: u64,
    pub client_ips: u64,
    pub front_requests: u64,
    pub index_bytes: u64,
}

/// The front side, indexed by client IP and time.
pub struct FrontIndex<'db> {
    db: &'db Database,
    ips: Vec<IpAddr>,
    ip_ids: HashMap<IpAddr, u32>,
    servers: Vec<IpAddr>,
    /// Sorted by (ip, ts_ns, client_port).
    syns: Vec<FrontSyn>,
    /// `syns[starts[ip]..starts[ip + 1]]` are one IP's SYNs.
    starts: Vec<u32>,
    /// Positions into `syns`, sorted by (ip, client_port, ts_ns).
    by_port: Vec<u32>,
    vars: Vec<SynVar>,
    profiles: Vec<SynObservation>,
    sigs: Vec<String>,
    files: Vec<FileMeta>,
    /// Sorted by (key, ip, ts).
    reqs: Vec<FrontReq>,
    pub stats: IndexStats,
}

/// Interns values to dense u32 ids.
struct Interner<T: Hash + Eq + Clone> {
    ids: HashMap<T, u32>,
    vals: Vec<T>,
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn new() -> Self {
        Interner {
            ids: HashMap::default(),
            vals: Vec::new(),
        }
    }
    fn id(&mut self, v: &T) -> u32 {
        if let Some(&i) = self.ids.get(v) {
            return i;
        }
        let i = u32::try_from(self.vals.len()).unwrap_or(u32::MAX);
        self.vals.push(v.clone());
        self.ids.insert(v.clone(), i);
        i
    }
}

/// Collects client SYNs, then sorts them into a [`FrontIndex`].
struct IndexBuilder<'db> {
    db: &'db Database,
    ips: Interner<IpAddr>,
    servers: Interner<IpAddr>,
    profiles: Interner<Profile>,
    sig_ids: Interner<String>,
    profile_sig: Vec<u32>,
    syns: Vec<FrontSyn>,
    vars: Vec<SynVar>,
    skipped: u64,
}

impl<'db> IndexBuilder<'db> {
    fn new(db: &'db Database) -> Self {
        IndexBuilder {
            db,
            ips: Interner::new(),
            servers: Interner::new(),
            profiles: Interner::new(),
            sig_ids: Interner::new(),
            profile_sig: Vec::new(),
            syns: Vec::new(),
            vars: Vec::new(),
            skipped: 0,
        }
    }

    /// Add a client SYN (the caller passes SYNs only).
    fn add(&mut self, e: &SynEntry<'_>) {
        let pid = self.profiles.id(&Profile(profile_of(&e.obs)));
        if pid as usize >= self.profile_sig.len() {
            // Once per profile: the signature string is the same for all its SYNs.
            let sig = self.sig_ids.id(&e.obs.to_string());
            self.profile_sig.push(sig);
        }
        let sig = self.profile_sig.get(pid as usize).copied().unwrap_or(0);
        let detail = u32::try_from(self.vars.len()).unwrap_or(u32::MAX);
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
        });
        self.syns.push(FrontSyn {
            ts_ns: e.obs.ts_ns,
            ip: self.ips.id(&canon(e.src.ip())),
            detail,
            server: self.servers.id(&e.dst.ip()),
            sig,
            client_port: e.src.port(),
            server_port: e.dst.port(),
        });
    }

    fn finish(self, files: Vec<FileMeta>) -> FrontIndex<'db> {
        let mut syns = self.syns;
        let stats = IndexStats {
            syns: syns.len() as u64,
            syns_skipped: self.skipped,
            profiles: self.profiles.vals.len() as u64,
            client_ips: self.ips.vals.len() as u64,
            ..IndexStats::default()
        };
        syns.sort_unstable_by_key(|s| (s.ip, s.ts_ns, s.client_port, s.detail));
        let mut starts = vec![0u32; self.ips.vals.len() + 1];
        for s in &syns {
            if let Some(c) = starts.get_mut(s.ip as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut by_port: Vec<u32> = (0..syns.len() as u32).collect();
        by_port.sort_unstable_by_key(|&i| {
            let s = &syns[i as usize];
            (s.ip, s.client_port, s.ts_ns, i)
        });
        FrontIndex {
            db: self.db,
            ip_ids: self.ips.ids,
            ips: self.ips.vals,
            servers: self.servers.vals,
            syns,
            starts,
            by_port,
            vars: self.vars,
            profiles: self.profiles.vals.into_iter().map(|p| p.0).collect(),
            sigs: self.sig_ids.vals,
            files,
            reqs: Vec::new(),
            stats,
        }
    }
}

impl<'db> FrontIndex<'db> {
    /// Read the front files: client SYNs (of `only`'s addresses, when given) and request
    /// heads.
    pub fn build(
        engine: &Engine,
        inputs: Vec<Input>,
        opts: OpenOptions,
        cfg: &RequestsConfig,
        db: &'db Database,
        only: Option<&HashSet<IpAddr>>,
        on_error: &mut dyn FnMut(&CaptureError),
    ) -> FrontIndex<'db> {
        let inputs = requests::order_inputs(inputs, opts);
        let mut front_cfg = cfg.clone();
        front_cfg.clients = Default::default();
        front_cfg.identified_only = false;
        let wanted = |ip: IpAddr| only.is_none_or(|s| s.contains(&canon(ip)));
        let req_inputs = inputs.clone();
        // SYNs first, then request heads: each read runs in parallel on the engine.
        let mut index = Self::scan_syns(engine, inputs, opts, db, &wanted, on_error);
        let mut raw_reqs: Vec<(u64, IpAddr, u16, i64)> = Vec::new();
        let _ = requests::run(
            engine,
            req_inputs,
            opts,
            &front_cfg,
            &mut |r| {
                if wanted(r.src_ip) {
                    raw_reqs.push((request_key(&r), canon(r.src_ip), r.src_port, r.ts_ns));
                }
                ControlFlow::Continue(())
            },
            // The SYN scan already reported unreadable files; this read fails on the same.
            &mut |_| {},
        );
        index.add_requests(raw_reqs);
        index.stats.index_bytes = index.memory_bytes();
        index
    }

    fn scan_syns(
        engine: &Engine,
        inputs: Vec<Input>,
        opts: OpenOptions,
        db: &'db Database,
        wanted: &dyn Fn(IpAddr) -> bool,
        on_error: &mut dyn FnMut(&CaptureError),
    ) -> FrontIndex<'db> {
        let mut scanner = SynScanner::new(db);
        let mut b = IndexBuilder::new(db);
        let mut files = 0;
        {
            let mut on_entry = |e: &SynEntry<'_>, _: &FileMeta| -> ControlFlow<()> {
                if e.obs.kind != SynKind::Syn {
                    return ControlFlow::Continue(());
                }
                if wanted(e.src.ip()) {
                    b.add(e);
                } else {
                    b.skipped += 1;
                }
                ControlFlow::Continue(())
            };
            for input in inputs {
                match capture::open(&input, opts)
                    .and_then(|c| scanner.scan(engine, c, &mut on_entry))
                {
                    Ok(_) => files += 1,
                    Err(e) => on_error(&e),
                }
            }
            let _ = scanner.finish(&mut on_entry);
        }
        let mut index = b.finish(scanner.files);
        index.stats.front_files = files;
        index.stats.front_records = scanner.stats.records;
        index.stats.front_bytes = scanner.stats.bytes;
        index
    }

    fn add_requests(&mut self, raw: Vec<(u64, IpAddr, u16, i64)>) {
        // Requests from an address without a SYN cannot lead to one: not kept.
        self.reqs = raw
            .into_iter()
            .filter_map(|(key, ip, port, ts_ns)| {
                let ip = *self.ip_ids.get(&ip)?;
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
            + v(self.ips.capacity(), size_of::<IpAddr>())
            + v(self.ip_ids.capacity(), size_of::<(IpAddr, u32)>() + 8)
            + v(self.profiles.capacity(), size_of::<SynObservation>())
            + self
                .sigs
                .iter()
                .map(|s| s.capacity() as u64 + 24)
                .sum::<u64>()
    }

    pub fn ip_id(&self, ip: IpAddr) -> Option<u32> {
        self.ip_ids.get(&canon(ip)).copied()
    }

    pub fn ip(&self, id: u32) -> Option<IpAddr> {
        self.ips.get(id as usize).copied()
    }

    /// The SYNs of one client address, by time.
    pub fn syns_of(&self, ip: u32) -> &[FrontSyn] {
        let a = self.starts.get(ip as usize).copied().unwrap_or(0) as usize;
        let b = self.starts.get(ip as usize + 1).copied().unwrap_or(0) as usize;
        self.syns.get(a..b).unwrap_or(&[])
    }

    /// The SYNs of one client address in [lo, hi] (front clock).
    fn syns_between(&self, ip: u32, lo: i64, hi: i64) -> &[FrontSyn] {
        let all = self.syns_of(ip);
        let a = all.partition_point(|s| s.ts_ns < lo);
        let b = all.partition_point(|s| s.ts_ns <= hi);
        all.get(a..b.max(a)).unwrap_or(&[])
    }

    /// The latest SYN from (ip, port) in [lo, hi], and how many there are in the range.
    fn latest_port(&self, ip: u32, port: u16, lo: i64, hi: i64) -> (Option<&FrontSyn>, usize) {
        let key = |i: &u32| {
            let s = &self.syns[*i as usize];
            (s.ip, s.client_port, s.ts_ns)
        };
        let a = self.by_port.partition_point(|i| key(i) < (ip, port, lo));
        let b = self.by_port.partition_point(|i| key(i) <= (ip, port, hi));
        let range = self.by_port.get(a..b.max(a)).unwrap_or(&[]);
        (
            range.last().and_then(|&i| self.syns.get(i as usize)),
            range.len(),
        )
    }

    /// Front requests with this key from this address in [lo, hi].
    fn requests_between(&self, key: u64, ip: u32, lo: i64, hi: i64) -> &[FrontReq] {
        let k = |r: &FrontReq| (r.key, r.ip, r.ts_ns);
        let a = self.reqs.partition_point(|r| k(r) < (key, ip, lo));
        let b = self.reqs.partition_point(|r| k(r) <= (key, ip, hi));
        self.reqs.get(a..b.max(a)).unwrap_or(&[])
    }

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

/// The clock offset between the captures, as measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OffsetEstimate {
    /// back time - front time, the median over the pairs.
    pub offset_ns: i64,
    /// Interquartile range of the pairs' differences.
    pub iqr_ns: i64,
    pub pairs: usize,
    /// `request_match` or `exact_port` (front SYN to back request: biased by the
    /// connection's age, used only without request pairs).
    pub source: &'static str,
}

fn estimate_from(mut d: Vec<i64>, source: &'static str) -> Option<OffsetEstimate> {
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    let q = |f: usize| d.get((d.len() - 1) * f / 4).copied().unwrap_or(0);
    Some(OffsetEstimate {
        offset_ns: q(2),
        iqr_ns: q(3) - q(1),
        pairs: d.len(),
        source,
    })
}

/// First pass: pair back requests with front requests (or, failing those, SYNs of the
/// named port) within ±[`ESTIMATE_WINDOW_NS`] when exactly one candidate exists, and take
/// the median difference. Reads the back side only until [`ESTIMATE_PAIRS`] pairs.
pub fn estimate_offset(
    engine: &Engine,
    back: Vec<Input>,
    opts: OpenOptions,
    cfg: &RequestsConfig,
    index: &FrontIndex<'_>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> Option<OffsetEstimate> {
    let mut by_req = Vec::new();
    let mut by_port = Vec::new();
    let mut seen = 0u64;
    let w = ESTIMATE_WINDOW_NS;
    let _ = requests::run(
        engine,
        back,
        opts,
        cfg,
        &mut |r| {
            seen += 1;
            if let Some(ip) = r.client_ip.and_then(|c| index.ip_id(c)) {
                let t = r.ts_ns;
                let c = index.requests_between(request_key(&r), ip, t - w, t + w);
                if let [one] = c {
                    by_req.push(t - one.ts_ns);
                } else if let Some(port) = r.client_port {
                    if let (Some(s), 1) = index.latest_port(ip, port, t - w, t + w) {
                        by_port.push(t - s.ts_ns);
                    }
                }
            }
            if by_req.len() >= ESTIMATE_PAIRS
                || (seen >= ESTIMATE_MAX_REQUESTS && !(by_req.is_empty() && by_port.is_empty()))
            {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
        on_error,
    );
    estimate_from(by_req, "request_match").or_else(|| estimate_from(by_port, "exact_port"))
}

/// One joined row: the `requests` columns, the front connection, the client SYN's `syns`
/// columns prefixed `syn_`, and how the join was made. Field order is column order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JoinRow {
    pub time: String,
    pub file: String,
    pub packet_index: u64,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub method: String,
    pub host: String,
    pub target: String,
    pub http_version: &'static str,
    pub user_agent: String,
    pub client_ip: Option<IpAddr>,
    pub client_port: Option<u16>,
    pub identity_source: String,
    pub chain: String,
    pub xff: String,
    pub x_real_ip: String,
    pub forwarded: String,
    pub proxy_version: Option<u8>,
    pub proxy_src: Option<SocketAddr>,
    pub proxy_dst: Option<SocketAddr>,
    pub spoof_suspect: bool,
    pub spoof_reasons: String,
    pub p0f: String,
    pub request_on_connection: u32,
    pub flags: String,

    pub front_src_ip: Option<IpAddr>,
    pub front_src_port: Option<u16>,
    pub front_dst_ip: Option<IpAddr>,
    pub front_dst_port: Option<u16>,
    pub front_syn_time: Option<String>,

    pub syn_time: Option<String>,
    pub syn_file: Option<String>,
    pub syn_packet: Option<u64>,
    pub syn_src_ip: Option<IpAddr>,
    pub syn_src_port: Option<u16>,
    pub syn_dst_ip: Option<IpAddr>,
    pub syn_dst_port: Option<u16>,
    pub syn_direction: Option<&'static str>,
    pub syn_ip_version: Option<u8>,
    pub syn_ttl: Option<u8>,
    pub syn_initial_ttl: Option<u8>,
    pub syn_distance: Option<u8>,
    pub syn_ip_options_len: Option<u8>,
    pub syn_mss: Option<u16>,
    pub syn_window: Option<u16>,
    pub syn_window_form: Option<String>,
    pub syn_window_scale: Option<u8>,
    pub syn_olayout: Option<String>,
    pub syn_option_kinds: Option<String>,
    pub syn_quirks: Option<String>,
    pub syn_pclass: Option<&'static str>,
    pub syn_signature: Option<String>,
    pub syn_df: Option<bool>,
    pub syn_ip_id: Option<u32>,
    pub syn_ip_ecn: Option<u8>,
    pub syn_tcp_ecn: Option<&'static str>,
    pub syn_ts_val: Option<u32>,
    pub syn_ts_ecr: Option<u32>,
    pub syn_payload_len: Option<u32>,
    pub syn_link_mtu: Option<u32>,
    pub syn_link: Option<String>,
    pub syn_syn_to_synack_ns: Option<i64>,
    pub syn_synack_to_ack_ns: Option<i64>,
    pub syn_retransmits: Option<u32>,
    pub syn_p0f_ignores: Option<&'static str>,
    pub syn_uptime_hint_s: Option<u64>,
    pub syn_ts_clock_hz: Option<u32>,
    pub syn_os_label: Option<String>,
    pub syn_os_class: Option<String>,
    pub syn_os_name: Option<String>,
    pub syn_os_flavor: Option<String>,
    pub syn_match_quality: Option<&'static str>,
    pub syn_match_distance: Option<u8>,

    pub join_method: &'static str,
    pub join_confidence: &'static str,
    /// Distinct fingerprints that could match (1 for a certain match, 0 for none).
    pub join_candidates: u32,
    /// Back request time (clock-corrected) - front SYN time.
    pub join_delta_ns: Option<i64>,

    /// The request's time, ns (for summaries; not a column).
    #[serde(skip)]
    pub ts_ns: i64,
}

/// The outcome of joining one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinOutcome {
    pub method: JoinMethod,
    pub confidence: Confidence,
    pub syn: Option<FrontSyn>,
    pub candidates: u32,
    pub delta_ns: Option<i64>,
}

impl JoinOutcome {
    fn none(method: JoinMethod) -> Self {
        JoinOutcome {
            method,
            confidence: Confidence::None,
            syn: None,
            candidates: 0,
            delta_ns: None,
        }
    }
}

/// Joins back-side rows against a [`FrontIndex`] with a known clock offset.
pub struct Joiner<'i, 'db> {
    pub index: &'i FrontIndex<'db>,
    pub offset_ns: i64,
    pub window_ns: i64,
    pub match_window_ns: i64,
}

impl Joiner<'_, '_> {
    /// Apply the rules to one back-side request.
    pub fn join(&self, r: &RequestRow) -> JoinOutcome {
        let Some(client) = r.client_ip else {
            return JoinOutcome::none(JoinMethod::NoIdentity);
        };
        let Some(ip) = self.index.ip_id(client) else {
            return JoinOutcome::none(JoinMethod::None);
        };
        let t = r.ts_ns.saturating_sub(self.offset_ns);
        let (lo, hi) = (t.saturating_sub(self.window_ns), t + CLOCK_SLACK_NS);
        let transparent = r.identity_source == "transparent";
        let certain = |method, s: &FrontSyn| JoinOutcome {
            method,
            confidence: Confidence::Certain,
            syn: Some(*s),
            candidates: 1,
            delta_ns: Some(t - s.ts_ns),
        };
        if let (Some(port), false) = (r.client_port, transparent) {
            if let (Some(s), _) = self.index.latest_port(ip, port, lo, hi) {
                return certain(JoinMethod::ExactPort, s);
            }
        }
        let reqs = self.index.requests_between(
            request_key(r),
            ip,
            t.saturating_sub(self.match_window_ns),
            hi,
        );
        if let Some(last) = reqs.last() {
            // Identical requests on several connections in the window: not certain.
            if reqs.iter().all(|q| q.port == last.port) {
                let lo = last.ts_ns.saturating_sub(self.window_ns);
                if let (Some(s), _) = self.index.latest_port(ip, last.port, lo, last.ts_ns) {
                    return certain(JoinMethod::RequestMatch, s);
                }
            }
        }
        if transparent {
            if let (Some(s), _) = self.index.latest_port(ip, r.src_port, lo, hi) {
                return certain(JoinMethod::Transparent, s);
            }
        }
        let syns = self.index.syns_between(ip, lo, hi);
        let Some(latest) = syns.last() else {
            return JoinOutcome::none(JoinMethod::None);
        };
        let scan = syns.get(syns.len().saturating_sub(MAX_CANDIDATE_SCAN)..);
        let mut sigs: Vec<u32> = Vec::new();
        for s in scan.unwrap_or(&[]) {
            if !sigs.contains(&s.sig) {
                sigs.push(s.sig);
            }
        }
        let n = u32::try_from(sigs.len()).unwrap_or(u32::MAX);
        JoinOutcome {
            method: JoinMethod::IpTime,
            confidence: if n > 1 {
                Confidence::Ambiguous
            } else {
                Confidence::Probable
            },
            syn: Some(*latest),
            candidates: n,
            delta_ns: Some(t - latest.ts_ns),
        }
    }

    /// The output row of a request and its outcome.
    pub fn row(&self, r: RequestRow, o: &JoinOutcome) -> JoinRow {
        let front = o.syn.and_then(|s| self.index.five_tuple(&s));
        let syn = o.syn.and_then(|s| self.index.syn_row(&s));
        let s = syn.as_ref();
        let front_syn_time = o.syn.map(|f| {
            let prec = self
                .index
                .vars
                .get(f.detail as usize)
                .and_then(|v| self.index.files.get(v.file as usize))
                .map_or(Precision::NANO, |m| m.precision);
            let mut t = String::with_capacity(32);
            write_rfc3339(&mut t, f.ts_ns, prec);
            t
        });
        JoinRow {
            time: r.time,
            file: r.file,
            packet_index: r.packet_index,
            src_ip: r.src_ip,
            src_port: r.src_port,
            dst_ip: r.dst_ip,
            dst_port: r.dst_port,
            method: r.method,
            host: r.host,
            target: r.target,
            http_version: r.http_version,
            user_agent: r.user_agent,
            client_ip: r.client_ip,
            client_port: r.client_port,
            identity_source: r.identity_source,
            chain: r.chain,
            xff: r.xff,
            x_real_ip: r.x_real_ip,
            forwarded: r.forwarded,
            proxy_version: r.proxy_version,
            proxy_src: r.proxy_src,
            proxy_dst: r.proxy_dst,
            spoof_suspect: r.spoof_suspect,
            spoof_reasons: r.spoof_reasons,
            p0f: r.p0f,
            request_on_connection: r.request_on_connection,
            flags: r.flags,
            front_src_ip: front.map(|f| f.src_ip),
            front_src_port: front.map(|f| f.src_port),
            front_dst_ip: front.map(|f| f.dst_ip),
            front_dst_port: front.map(|f| f.dst_port),
            front_syn_time,
            syn_time: s.map(|s| s.time.clone()),
            syn_file: s.map(|s| s.file.clone()),
            syn_packet: s.map(|s| s.packet),
            syn_src_ip: s.map(|s| s.src_ip),
            syn_src_port: s.map(|s| s.src_port),
            syn_dst_ip: s.map(|s| s.dst_ip),
            syn_dst_port: s.map(|s| s.dst_port),
            syn_direction: s.map(|s| s.direction),
            syn_ip_version: s.map(|s| s.ip_version),
            syn_ttl: s.map(|s| s.ttl),
            syn_initial_ttl: s.map(|s| s.initial_ttl),
            syn_distance: s.and_then(|s| s.distance),
            syn_ip_options_len: s.map(|s| s.ip_options_len),
            syn_mss: s.and_then(|s| s.mss),
            syn_window: s.map(|s| s.window),
            syn_window_form: s.map(|s| s.window_form.clone()),
            syn_window_scale: s.and_then(|s| s.window_scale),
            syn_olayout: s.map(|s| s.olayout.clone()),
            syn_option_kinds: s.map(|s| s.option_kinds.clone()),
            syn_quirks: s.map(|s| s.quirks.clone()),
            syn_pclass: s.map(|s| s.pclass),
            syn_signature: s.map(|s| s.signature.clone()),
            syn_df: s.map(|s| s.df),
            syn_ip_id: s.and_then(|s| s.ip_id),
            syn_ip_ecn: s.map(|s| s.ip_ecn),
            syn_tcp_ecn: s.map(|s| s.tcp_ecn),
            syn_ts_val: s.and_then(|s| s.ts_val),
            syn_ts_ecr: s.and_then(|s| s.ts_ecr),
            syn_payload_len: s.map(|s| s.payload_len),
            syn_link_mtu: s.and_then(|s| s.link_mtu),
            syn_link: s.and_then(|s| s.link.clone()),
            syn_syn_to_synack_ns: s.and_then(|s| s.syn_to_synack_ns),
            syn_synack_to_ack_ns: s.and_then(|s| s.synack_to_ack_ns),
            syn_retransmits: s.map(|s| s.retransmits),
            syn_p0f_ignores: s.and_then(|s| s.p0f_ignores),
            syn_uptime_hint_s: s.and_then(|s| s.uptime_hint_s),
            syn_ts_clock_hz: s.and_then(|s| s.ts_clock_hz),
            syn_os_label: s.and_then(|s| s.os_label.clone()),
            syn_os_class: s.and_then(|s| s.os_class.clone()),
            syn_os_name: s.and_then(|s| s.os_name.clone()),
            syn_os_flavor: s.and_then(|s| s.os_flavor.clone()),
            syn_match_quality: s.map(|s| s.match_quality),
            syn_match_distance: s.and_then(|s| s.match_distance),
            join_method: o.method.name(),
            join_confidence: o.confidence.name(),
            join_candidates: o.candidates,
            join_delta_ns: o.delta_ns,
            ts_ns: r.ts_ns,
        }
    }
}

/// Counters of a whole join run, for the end-of-run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JoinSummary {
    /// The last read of the back side (the one that produced the rows).
    pub back: RequestsSummary,
    pub index: IndexStats,
    /// Client addresses the first pass found (`--two-pass`).
    pub two_pass_clients: Option<u64>,
    /// The offset used, ns (back = front + offset).
    pub offset_ns: i64,
    /// The estimate, when it was estimated (None: given, or no pairs found).
    pub estimate: Option<OffsetEstimate>,
    pub offset_given: bool,
    /// Rows by method and by confidence.
    pub by_method: std::collections::BTreeMap<&'static str, u64>,
    pub by_confidence: std::collections::BTreeMap<&'static str, u64>,
}

/// Run the join: front index, clock offset, then every back-side request to `emit`.
/// Unreadable files are reported through `on_error` and the run goes on.
/// The captures of a join: FRONT (clients -> proxy) and BACK (proxy -> backends) files.
#[derive(Debug, Clone)]
pub struct JoinInputs {
    pub front: Vec<Input>,
    pub back: Vec<Input>,
    pub open: OpenOptions,
}

pub fn run(
    engine: &Engine,
    inputs: JoinInputs,
    cfg: &JoinConfig,
    db: &Database,
    emit: &mut dyn FnMut(JoinRow) -> ControlFlow<()>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> Result<JoinSummary, JoinError> {
    let JoinInputs {
        front,
        back,
        open: opts,
    } = inputs;
    if front.contains(&Input::Stdin) {
        return Err(JoinError::FrontStdin);
    }
    if back.contains(&Input::Stdin) && (cfg.two_pass || cfg.clock_offset_ns.is_none()) {
        return Err(JoinError::BackStdin);
    }
    let front_names: Vec<String> = front
        .iter()
        .map(|i| i.display().display().to_string())
        .collect();
    let mut summary = JoinSummary::default();
    let only = if cfg.two_pass {
        let mut set = HashSet::default();
        let _ = requests::run(
            engine,
            back.clone(),
            opts,
            &cfg.requests,
            &mut |r| {
                if let Some(c) = r.client_ip {
                    set.insert(canon(c));
                }
                ControlFlow::Continue(())
            },
            &mut |_| {},
        );
        summary.two_pass_clients = Some(set.len() as u64);
        Some(set)
    } else {
        None
    };
    let index = FrontIndex::build(
        engine,
        front,
        opts,
        &cfg.requests,
        db,
        only.as_ref(),
        on_error,
    );
    drop(only);
    if index.stats.front_files == 0 {
        return Err(JoinError::NoFrontCapture {
            files: front_names.join(", "),
        });
    }
    summary.index = index.stats.clone();
    let offset = match cfg.clock_offset_ns {
        Some(o) => {
            summary.offset_given = true;
            o
        }
        None => {
            summary.estimate = estimate_offset(
                engine,
                back.clone(),
                opts,
                &cfg.requests,
                &index,
                &mut |_| {},
            );
            summary.estimate.as_ref().map_or(0, |e| e.offset_ns)
        }
    };
    summary.offset_ns = offset;
    let joiner = Joiner {
        index: &index,
        offset_ns: offset,
        window_ns: cfg.window_ns,
        match_window_ns: cfg.match_window_ns,
    };
    let (mut by_method, mut by_conf) = (
        std::collections::BTreeMap::new(),
        std::collections::BTreeMap::new(),
    );
    summary.back = requests::run(
        engine,
        back,
        opts,
        &cfg.requests,
        &mut |r| {
            let o = joiner.join(&r);
            *by_method.entry(o.method.name()).or_insert(0) += 1;
            *by_conf.entry(o.confidence.name()).or_insert(0) += 1;
            emit(joiner.row(r, &o))
        },
        on_error,
    );
    summary.by_method = by_method;
    summary.by_confidence = by_conf;
    Ok(summary)
}

/// One `--summary` row: what the join found for one client address.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientJoinRow {
    pub client_ip: IpAddr,
    pub requests: u64,
    /// Distinct back-side 5-tuples that carried its requests.
    pub back_flows: u64,
    /// Distinct front connections its requests were joined to.
    pub front_connections: u64,
    /// Distinct p0f signatures of those connections' SYNs.
    pub fingerprints: u64,
    /// Distinct OS matches (`name flavor`, `???` none), sorted, `;`-separated.
    pub oses: String,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Default)]
struct ClientAcc {
    requests: u64,
    back: HashSet<(IpAddr, u16, IpAddr, u16)>,
    front: HashSet<(IpAddr, u16, IpAddr, u16, String)>,
    sigs: HashSet<String>,
    oses: std::collections::BTreeSet<String>,
    first: (i64, String),
    last: (i64, String),
}

/// Aggregates join rows per client, in order of first request.
#[derive(Default)]
pub struct ClientJoinSummary {
    order: Vec<IpAddr>,
    by_ip: HashMap<IpAddr, ClientAcc>,
}

impl ClientJoinSummary {
    pub fn add(&mut self, r: &JoinRow) {
        let Some(ip) = r.client_ip else {
            return;
        };
        let acc = self.by_ip.entry(ip).or_insert_with(|| {
            self.order.push(ip);
            ClientAcc {
                first: (r.ts_ns, r.time.clone()),
                last: (r.ts_ns, r.time.clone()),
                ..ClientAcc::default()
            }
        });
        acc.requests += 1;
        acc.back
            .insert((r.src_ip, r.src_port, r.dst_ip, r.dst_port));
        if let (Some(a), Some(b), Some(c), Some(d), Some(t)) = (
            r.front_src_ip,
            r.front_src_port,
            r.front_dst_ip,
            r.front_dst_port,
            &r.front_syn_time,
        ) {
            acc.front.insert((a, b, c, d, t.clone()));
        }
        if let Some(s) = &r.syn_signature {
            acc.sigs.insert(s.clone());
            acc.oses.insert(match (&r.syn_os_name, &r.syn_os_flavor) {
                (Some(n), Some(f)) if !f.is_empty() => format!("{n} {f}"),
                (Some(n), _) => n.clone(),
                _ => "???".to_string(),
            });
        }
        if r.ts_ns < acc.first.0 {
            acc.first = (r.ts_ns, r.time.clone());
        }
        if r.ts_ns >= acc.last.0 {
            acc.last = (r.ts_ns, r.time.clone());
        }
    }

    pub fn rows(self) -> Vec<ClientJoinRow> {
        let mut by_ip = self.by_ip;
        self.order
            .into_iter()
            .filter_map(|ip| {
                let a = by_ip.remove(&ip)?;
                Some(ClientJoinRow {
                    client_ip: ip,
                    requests: a.requests,
                    back_flows: a.back.len() as u64,
                    front_connections: a.front.len() as u64,
                    fingerprints: a.sigs.len() as u64,
                    oses: a.oses.into_iter().collect::<Vec<_>>().join(";"),
                    first_seen: a.first.1,
                    last_seen: a.last.1,
                })
            })
            .collect()
    }
}

/// Parse a duration: a signed decimal number and a unit, `ns`, `us`, `ms`, `s`, `m`/`min`,
/// `h` (`-1.5s`, `250ms`, `30min`). Returns nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("{s:?}: a duration needs a unit (ns, us, ms, s, min, h)"))?;
    let (num, unit) = t.split_at(split);
    let mul: i64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (ns, us, ms, s, min, h)"
            ))
        }
    };
    let (neg, digits) = match num.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
        return Err(format!("{s:?} is not a duration"));
    }
    let too_big = || format!("{s:?}: duration out of range");
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    let mut ns = whole.checked_mul(mul).ok_or_else(too_big)?;
    // Fraction digits, exactly, to the nanosecond (beyond it they are dropped).
    let mut scale = mul;
    for b in frac.bytes() {
        scale /= 10;
        ns = ns
            .checked_add(i64::from(b - b'0') * scale)
            .ok_or_else(too_big)?;
    }
    Ok(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_as_small_as_documented() {
        assert_eq!(std::mem::size_of::<FrontSyn>(), 32);
        assert_eq!(std::mem::size_of::<SynVar>(), 64);
        assert_eq!(std::mem::size_of::<FrontReq>(), 24);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(parse_duration_ns("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration_ns("30min"), Ok(1_800_000_000_000));
        assert_eq!(parse_duration_ns("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration_ns("+7us"), Ok(7_000));
        assert_eq!(parse_duration_ns("0.000000001s"), Ok(1));
        assert_eq!(parse_duration_ns(".5ms"), Ok(500_000));
        assert!(parse_duration_ns("5").is_err());
        assert!(parse_duration_ns("s").is_err());
        assert!(parse_duration_ns("1.2.3s").is_err());
        assert!(parse_duration_ns("5 parsecs").is_err());
        assert!(parse_duration_ns("99999999999999h").is_err());
    }

    use crate::decode::TcpFlags;
    use crate::fingerprint::{OptionLayout, Quirks};
    use proptest::prelude::*;

    fn entry<'db>(ip: u8, port: u16, ts_ns: i64, window: u16) -> SynEntry<'db> {
        let obs = SynObservation {
            kind: SynKind::Syn,
            ts_ns,
            p0f_ignores: None,
            ip_version: 4,
            ttl: 60,
            ip_options_len: 0,
            df: true,
            ip_id: Some(u32::from(port)),
            ip_ecn: 0,
            tcp_flags: TcpFlags(TcpFlags::SYN),
            seq: 1,
            ack: 0,
            window,
            mss: Some(1460),
            window_scale: None,
            timestamp: Some((ts_ns as u32, 0)),
            options: OptionLayout::default(),
            quirks: Quirks::default(),
            payload_len: 0,
            header_len: 40,
            peer_syn_mss: None,
        };
        SynEntry {
            file: 0,
            index: 1,
            src: SocketAddr::new(IpAddr::from([192, 0, 2, ip]), port),
            dst: SocketAddr::new(IpAddr::from([203, 0, 113, 10]), 443),
            obs,
            retransmits: 0,
            syn_to_synack_ns: None,
            synack_to_ack_ns: None,
            uptime: None,
            os: None,
        }
    }

    proptest! {
        /// The index's binary searches give what filtering the whole list gives: the
        /// latest SYN of an (ip, port) in a range (ties: the last added), an IP's SYNs in
        /// a range, front requests of a key and IP in a range, and the fingerprint count.
        #[test]
        fn lookups_match_naive_filtering(
            syns in prop::collection::vec((0u8..4, 1u16..4, 0i64..60, 0u16..3), 0..80),
            reqs in prop::collection::vec((0u64..3, 0u8..5, 1u16..4, 0i64..60), 0..40),
            queries in prop::collection::vec((0u8..5, 1u16..4, 0i64..70, 0i64..30), 1..30),
        ) {
            let db = Database::default();
            let mut b = IndexBuilder::new(&db);
            for &(ip, port, ts, w) in &syns {
                b.add(&entry(ip, port, ts, 1000 + w));
            }
            let mut index = b.finish(vec![FileMeta { name: "f".into(), precision: Precision::NANO }]);
            let ipaddr = |i: u8| IpAddr::from([192, 0, 2, i]);
            index.add_requests(
                reqs.iter().map(|&(k, ip, port, ts)| (k, ipaddr(ip), port, ts)).collect(),
            );
            for &(qip, qport, hi, len) in &queries {
                let lo = hi - len;
                let Some(id) = index.ip_id(ipaddr(qip)) else {
                    prop_assert!(!syns.iter().any(|s| s.0 == qip));
                    continue;
                };
                // (insertion order, ts) of SYNs of this ip in range.
                let naive: Vec<(usize, i64)> = syns
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.0 == qip && (lo..=hi).contains(&s.2))
                    .map(|(i, s)| (i, s.2))
                    .collect();
                let mut got: Vec<usize> =
                    index.syns_between(id, lo, hi).iter().map(|s| s.detail as usize).collect();
                got.sort_unstable();
                prop_assert_eq!(&got, &naive.iter().map(|n| n.0).collect::<Vec<_>>());
                let of_port: Vec<(i64, usize)> = naive
                    .iter()
                    .filter(|n| syns[n.0].1 == qport)
                    .map(|n| (n.1, n.0))
                    .collect();
                let (latest, n) = index.latest_port(id, qport, lo, hi);
                prop_assert_eq!(n, of_port.len());
                prop_assert_eq!(
                    latest.map(|s| (s.ts_ns, s.detail as usize)),
                    of_port.iter().max().copied()
                );
                let mut sigs: Vec<u16> = naive.iter().map(|n| syns[n.0].3).collect();
                sigs.sort_unstable();
                sigs.dedup();
                let mut isigs: Vec<u32> =
                    index.syns_between(id, lo, hi).iter().map(|s| s.sig).collect();
                isigs.sort_unstable();
                isigs.dedup();
                prop_assert_eq!(isigs.len(), sigs.len());
                for key in 0..3 {
                    let mut want: Vec<(i64, u16)> = reqs
                        .iter()
                        .filter(|r| r.0 == key && r.1 == qip && (lo..=hi).contains(&r.3))
                        .map(|r| (r.3, r.2))
                        .collect();
                    want.sort_unstable();
                    let got: Vec<(i64, u16)> = index
                        .requests_between(key, id, lo, hi)
                        .iter()
                        .map(|r| (r.ts_ns, r.port))
                        .collect();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn estimate_is_median_and_iqr() {
        let e = estimate_from(vec![5, 1, 3, 2, 4], "request_match").unwrap();
        // Sorted 1..5: q1 = 2, median = 3, q3 = 4.
        assert_eq!((e.offset_ns, e.iqr_ns, e.pairs), (3, 2, 5));
        assert!(estimate_from(Vec::new(), "x").is_none());
    }
}
