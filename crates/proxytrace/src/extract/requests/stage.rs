//! [`RequestStage`]: the sequential half of `requests`, as a pipeline [`Stage`].
//!
//! Per packet: decode -> TCP segment (workers, [`super::segments`]) -> [`HeadAssembler`]
//! (bounded reassembly, body skipping) -> head parsing -> identity extraction -> row ->
//! reorder buffer. One stage serves every file of a run: rotated captures continue each
//! other's connections.

use super::reorder::{ReorderBuffer, REORDER_SLACK_NS};
use super::segments::{walk_segments, SegmentJob, SegmentStage};
use super::text::{chain_text, join_values, p0f_text};
use super::{RequestRow, RequestsConfig};
use crate::capture::{self, Capture, CaptureError, WalkStats};
use crate::decode::{FiveTuple, Outcomes};
use crate::engine::Engine;
use crate::http1::head::{parse_request_head, HeadError, HeaderKind, RequestHead};
use crate::http1::{HeadAssembler, HeadEvent, HeadFlags, ReassemblyStats, SegmentMeta};
use crate::identity::{
    extract_identity, extract_identity_with, is_trusted, special_range, ChoicePolicy, Identity,
    IdentityBasis, IdentitySource, ProfileTable, ProxyPair,
};
use crate::pipeline::{Counter, CounterKind, Counters, Report, RowEmitter, Stage};
use crate::proxy_protocol::{parse_proxy, ProxyHeader};
use crate::timefmt::{write_rfc3339, Precision};
use crate::vocab::escape::escape_bytes;
use serde::Serialize;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::sync::Arc;

/// What the stage made of the request heads it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestStats {
    /// Request heads the reassembly delivered.
    pub heads: u64,
    /// PROXY preambles that did not parse (their addresses are not believed).
    pub preambles_unparsed: u64,
    /// Rows left out by `--client` or `--identified-only`.
    pub rows_filtered: u64,
    /// Rows released from the reorder buffer because it held
    /// [`MAX_REORDER_ROWS`](super::MAX_REORDER_ROWS): an older row completed later can
    /// follow them (output then not sorted by time).
    pub rows_released_reorder_cap: u64,
}

impl Counters for RequestStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        vec![
            Counter::new("heads", self.heads, Volume),
            Counter::new("preambles_unparsed", self.preambles_unparsed, Loss),
            Counter::new("rows_filtered", self.rows_filtered, Volume),
            Counter::new(
                "rows_released_reorder_cap",
                self.rows_released_reorder_cap,
                Cap,
            ),
        ]
    }
}

/// Heads whose request line could not be parsed, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnparsedHeads([u64; HeadError::ALL.len()]);

impl UnparsedHeads {
    fn add(&mut self, e: HeadError) {
        if let Some(i) = HeadError::ALL.iter().position(|x| *x == e) {
            if let Some(n) = self.0.get_mut(i) {
                *n += 1;
            }
        }
    }

    /// Unparsed heads by reason name, the zero ones left out.
    pub fn by_reason(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        HeadError::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(e, n)| (e.name(), n))
    }
}

impl Counters for UnparsedHeads {
    fn counters(&self) -> Vec<Counter> {
        HeadError::ALL
            .iter()
            .zip(self.0)
            .map(|(e, n)| Counter::new(e.name(), n, CounterKind::Loss))
            .collect()
    }
}

/// Most request heads a stream's warm-up holds before deciding the profiles.
pub const WARM_UP_HEADS: usize = 4096;
/// Most head bytes a stream's warm-up holds.
pub const WARM_UP_BYTES: usize = 16 << 20;
/// Longest stretch of capture time a stream's warm-up holds (from its first head), so a
/// live pipeline's rows are not held back for long.
pub const WARM_UP_NS: i64 = 5_000_000_000;

/// What the stage does with per-proxy identity profiles.
enum Profiling {
    /// Build rows with the profiles of the config (if any).
    Use,
    /// Only tally every head into `learned`; build no row (the first pass).
    Learn,
    /// A stream: tally and hold the first heads, then decide and build their rows.
    WarmUp {
        held: Vec<HeadEvent>,
        bytes: usize,
        first_ts: Option<i64>,
    },
}

/// Turns the packets of one run (all files, in order) into request rows.
pub struct RequestStage<'c> {
    cfg: &'c RequestsConfig,
    profiling: Profiling,
    /// Tallies while learning or warming up.
    learned: ProfileTable,
    /// The profiles rows are built with: the config's, or the warm-up's once decided.
    profiles: Option<Arc<ProfileTable>>,
    extra: Vec<&'c [u8]>,
    assembler: HeadAssembler,
    /// The assembler's events of one segment (kept to reuse its allocation).
    events: Vec<HeadEvent>,
    reorder: ReorderBuffer<RequestRow>,
    files: Vec<FileCtx>,
    max_ts: i64,
    /// Counters of the heads and rows.
    pub stats: RequestStats,
    /// Unparsed heads by reason.
    pub unparsed: UnparsedHeads,
    /// Walk counters of every file read (to its end or to a stop).
    pub walk: WalkStats,
    /// What the records decoded to.
    pub packets: Outcomes,
    /// Files read.
    pub files_read: u64,
}

/// Per-file context for rows.
struct FileCtx {
    name: String,
    precision: Precision,
}

/// One assembler serves all files (rotated captures continue each other's connections),
/// so the packet index it carries also says which file the packet came from.
const FILE_SHIFT: u32 = 40;

pub(crate) fn tag_index(file_ord: u32, index: u64) -> u64 {
    (u64::from(file_ord) << FILE_SHIFT) | (index & ((1 << FILE_SHIFT) - 1))
}

pub(crate) fn untag_index(tagged: u64) -> (u32, u64) {
    (
        (tagged >> FILE_SHIFT) as u32,
        tagged & ((1 << FILE_SHIFT) - 1),
    )
}

impl<'c> RequestStage<'c> {
    /// A stage extracting what `cfg` asks for.
    pub fn new(cfg: &'c RequestsConfig) -> Self {
        let profiling = if cfg.warm_up && cfg.profiles.is_none() && cfg.identity_sources.is_empty()
        {
            Profiling::WarmUp {
                held: Vec::new(),
                bytes: 0,
                first_ts: None,
            }
        } else {
            Profiling::Use
        };
        RequestStage {
            cfg,
            profiling,
            learned: ProfileTable::default(),
            profiles: cfg.profiles.clone(),
            extra: cfg.extra_headers.iter().map(Vec::as_slice).collect(),
            assembler: HeadAssembler::new(cfg.reassembly.clone()),
            events: Vec::new(),
            reorder: ReorderBuffer::default(),
            files: Vec::new(),
            max_ts: i64::MIN,
            stats: RequestStats::default(),
            unparsed: UnparsedHeads::default(),
            walk: WalkStats::default(),
            packets: Outcomes::default(),
            files_read: 0,
        }
    }

    /// A stage that only learns the per-proxy profiles of `cfg`'s run (the first pass):
    /// it builds no row; [`RequestStage::into_profiles`] gives the decided table.
    pub fn learner(cfg: &'c RequestsConfig) -> Self {
        let mut stage = RequestStage::new(cfg);
        stage.profiling = Profiling::Learn;
        stage.profiles = None;
        stage
    }

    /// The profiles learned by a [`RequestStage::learner`], decided.
    pub fn into_profiles(mut self) -> ProfileTable {
        self.learned.decide();
        self.learned
    }

    /// The profiles rows were built with (the config's, or those a stream's warm-up
    /// decided).
    pub fn profiles(&self) -> Option<&ProfileTable> {
        self.profiles.as_deref()
    }

    /// The reassembly's counters so far.
    pub fn reassembly(&self) -> &ReassemblyStats {
        self.assembler.stats()
    }

    fn on_event(&mut self, ev: HeadEvent) {
        let full = match &mut self.profiling {
            Profiling::Use => return self.build(ev),
            Profiling::Learn => {
                self.stats.heads += 1;
                return self.tally(&ev);
            }
            Profiling::WarmUp {
                held,
                bytes,
                first_ts,
            } => {
                *bytes += ev.head.len() + ev.proxy_preamble.as_ref().map_or(0, Vec::len);
                let first = *first_ts.get_or_insert(ev.ts_ns);
                held.len() + 1 >= WARM_UP_HEADS
                    || *bytes >= WARM_UP_BYTES
                    || ev.ts_ns.saturating_sub(first) >= WARM_UP_NS
            }
        };
        self.tally(&ev);
        if let Profiling::WarmUp { held, .. } = &mut self.profiling {
            held.push(ev);
        }
        if full {
            self.end_warm_up();
        }
    }

    /// Decide the profiles from the held heads and build their rows.
    fn end_warm_up(&mut self) {
        let Profiling::WarmUp { held, .. } = std::mem::replace(&mut self.profiling, Profiling::Use)
        else {
            return;
        };
        let mut table = std::mem::take(&mut self.learned);
        table.decide();
        self.profiles = Some(Arc::new(table));
        for ev in held {
            self.build(ev);
        }
    }

    /// Count one head into the profile tallies of its proxy/backend pair.
    fn tally(&mut self, ev: &HeadEvent) {
        let Ok(head) = parse_request_head(&ev.head, &self.extra) else {
            return;
        };
        let proxy_src = match ev.proxy_preamble.as_deref().map(parse_proxy) {
            Some(Ok(p)) => Some(p.src),
            _ => None,
        };
        let id = extract_identity(Some(&head), proxy_src.flatten(), &self.cfg.trusted);
        let sources: Vec<(IdentitySource, bool)> = id
            .sources
            .iter()
            .filter_map(|c| {
                let a = c.selected_entry()?.addr?;
                Some((c.source, special_range(a).is_some()))
            })
            .collect();
        let Some(t) = self.learned.tally_mut(pair_of(&ev.flow)) else {
            return;
        };
        if ev.ordinal == 1 && !ev.flags.contains(HeadFlags::MIDSTREAM_START) {
            t.connections += 1;
            t.preambles += u64::from(proxy_src.is_some());
        }
        t.add_request(&sources, head.user_agent.is_some());
    }

    /// How to choose the client on `flow`: the user's sources, the pair's profile, or the
    /// default order.
    fn policy(&self, flow: &FiveTuple) -> ChoicePolicy<'_> {
        let profile = self
            .profiles
            .as_deref()
            .and_then(|t| t.profile(&pair_of(flow)));
        let front_public = profile.and_then(|p| p.front_public).unwrap_or(false);
        if !self.cfg.identity_sources.is_empty() {
            return ChoicePolicy {
                trusted: &self.cfg.trusted,
                basis: IdentityBasis::Configured,
                sources: &self.cfg.identity_sources,
                front_public,
            };
        }
        match profile.filter(|p| !p.written.is_empty()) {
            Some(p) => ChoicePolicy {
                trusted: &self.cfg.trusted,
                basis: IdentityBasis::Profile,
                sources: &p.written,
                front_public,
            },
            None => ChoicePolicy {
                front_public,
                ..ChoicePolicy::default_order(&self.cfg.trusted)
            },
        }
    }

    fn build(&mut self, mut ev: HeadEvent) {
        self.stats.heads += 1;
        let (file_ord, index) = untag_index(ev.packet_index);
        ev.packet_index = index;
        let head = match parse_request_head(&ev.head, &self.extra) {
            Ok(h) => h,
            Err(e) => {
                self.unparsed.add(e);
                return;
            }
        };
        let proxy = match ev.proxy_preamble.as_deref().map(parse_proxy) {
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => {
                // Addresses of a header that does not parse are not believed; the rows
                // say so, whatever the reassembly thought of the preamble's framing.
                self.stats.preambles_unparsed += 1;
                ev.flags.set(HeadFlags::PREAMBLE_INVALID);
                None
            }
            None => None,
        };
        let proxy_src = proxy.as_ref().and_then(|p| p.src);
        let identity = extract_identity_with(Some(&head), proxy_src, &self.policy(&ev.flow));
        let Some(file) = self.files.get(file_ord as usize) else {
            return;
        };
        // Filter before formatting: `-c --client` on a big capture keeps few rows.
        if !self.keep(self.client_of(&ev.flow, &identity)) {
            self.stats.rows_filtered += 1;
            return;
        }
        let row = self.row(&ev, &head, &identity, proxy, file);
        let key = (row.ts_ns, file_ord, row.packet, ev.ordinal, 0);
        self.reorder.push(key, row);
    }

    /// The client a row will name: the transparent source, else the identity's choice.
    fn client_of(&self, flow: &FiveTuple, id: &Identity<'_>) -> Option<IpAddr> {
        if self.transparent_source(flow.src_ip) {
            Some(flow.src_ip)
        } else {
            id.client_ip
        }
    }

    /// With `--transparent`, a source address that is not a trusted proxy is the client
    /// itself; connections from the proxy's own (trusted) address still use headers.
    fn transparent_source(&self, src: IpAddr) -> bool {
        self.cfg.transparent && !is_trusted(src, &self.cfg.trusted)
    }

    fn keep(&self, client: Option<IpAddr>) -> bool {
        if self.cfg.identified_only && client.is_none() {
            return false;
        }
        self.cfg.clients.matches_opt(client)
    }

    fn row(
        &self,
        ev: &HeadEvent,
        head: &RequestHead<'_>,
        id: &Identity<'_>,
        proxy: Option<ProxyHeader>,
        file: &FileCtx,
    ) -> RequestRow {
        let FiveTuple {
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            ..
        } = ev.flow;
        let mut time = String::with_capacity(32);
        write_rfc3339(&mut time, ev.ts_ns, file.precision);
        let (mut client_ip, mut client_port) = (id.client_ip, id.client_port);
        let mut source = id.identity_source;
        let mut basis = id.basis;
        let mut chain = id
            .identity_source
            .and_then(|s| id.source(s))
            .map(|c| chain_text(&c.chain))
            .unwrap_or_default();
        let mut spoof_reasons = id.spoof_reasons_string();
        let mut spoof = id.spoof_suspect;
        if self.transparent_source(src_ip) {
            // The proxy spoofed the client's own address as the source: nothing the client
            // wrote can override that. The port is the proxy's choice under `usesrc clientip`.
            if let Some(named) = client_ip.filter(|c| c.to_canonical() != src_ip.to_canonical()) {
                spoof = true;
                if !spoof_reasons.is_empty() {
                    spoof_reasons.push('|');
                }
                let named_by = source.map(|s| s.name()).unwrap_or_default();
                spoof_reasons.push_str(&format!("transparent_vs_{named_by}:{named}"));
            }
            client_ip = Some(src_ip);
            client_port = None;
            source = Some(IdentitySource::Transparent);
            basis = IdentityBasis::Configured;
            chain = src_ip.to_string();
        }
        let header_named = id
            .identity_source
            .is_some_and(|s| s != IdentitySource::ProxyProtocol);
        if ev.flags.contains(HeadFlags::PREAMBLE_INVALID)
            && header_named
            && source != Some(IdentitySource::Transparent)
        {
            // The preamble that should have named the client is broken, so a header the
            // client may have written names it instead: never silently.
            spoof = true;
            if !spoof_reasons.is_empty() {
                spoof_reasons.push('|');
            }
            spoof_reasons.push_str("preamble_invalid");
        }
        if let Some(p) = proxy
            .as_ref()
            .filter(|_| source == Some(IdentitySource::ProxyProtocol))
        {
            chain = p.src.map(|s| s.to_string()).unwrap_or_default();
        }
        let mut flags: Vec<&str> = ev.flags.names().collect();
        flags.extend(head.anomalies.names());
        let anomalies = id.anomalies_string();
        let mut flags = flags.join("|");
        if !anomalies.is_empty() {
            if !flags.is_empty() {
                flags.push('|');
            }
            flags.push_str(&anomalies);
        }
        RequestRow {
            time,
            file: file.name.clone(),
            packet: ev.packet_index,
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            method: escape_bytes(head.method),
            host: head.host.map(escape_bytes).unwrap_or_default(),
            target: escape_bytes(head.target),
            http_version: head.version.name(),
            user_agent: head.user_agent.map(escape_bytes).unwrap_or_default(),
            client_ip,
            client_port,
            identity_source: source,
            identity_basis: basis,
            chain,
            xff: join_values(head.fields(HeaderKind::XForwardedFor).map(|f| f.value)),
            x_real_ip: join_values(head.fields(HeaderKind::XRealIp).map(|f| f.value)),
            forwarded: join_values(head.fields(HeaderKind::Forwarded).map(|f| f.value)),
            proxy_version: proxy.as_ref().map(|p| p.version),
            proxy_src: proxy.as_ref().and_then(|p| p.src),
            proxy_dst: proxy.as_ref().and_then(|p| p.dst),
            spoof_suspect: spoof,
            spoof_reasons,
            p0f: p0f_text(id),
            request_on_connection: ev.ordinal,
            flags,
            ts_ns: ev.ts_ns,
            source_addrs: if self.cfg.source_addresses {
                source_addrs(id)
            } else {
                Vec::new()
            },
            proxy,
        }
    }

    /// Hand rows that can no longer be preceded by another to `emit`, in order.
    fn release(
        &mut self,
        all: bool,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if !matches!(self.profiling, Profiling::Use) {
            // Held heads have no row yet; rows built from them later may be older than
            // any released now.
            return ControlFlow::Continue(());
        }
        let bound = if all {
            i64::MAX
        } else {
            let slack = self.max_ts.saturating_sub(REORDER_SLACK_NS);
            self.assembler
                .oldest_pending_ts()
                .map_or(slack, |p| p.min(slack))
        };
        self.reorder
            .release(bound, &mut self.stats.rows_released_reorder_cap, emit)
    }

    /// Walk one capture (the next file of the run) on `engine`: workers decode packets
    /// into compact TCP segments in parallel; reassembly, parsing and rows follow here, in
    /// packet order. Returns `Break` when `emit` asked to stop.
    pub fn walk_capture(
        &mut self,
        engine: &Engine,
        mut cap: Capture,
        name: String,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let ord = self.files.len() as u32;
        self.files.push(FileCtx {
            name,
            precision: capture_precision(&cap),
        });
        let (stopped, walk) = walk_segments(engine, &mut cap, &SegmentJob, ord, self, emit)?;
        self.files_read += 1;
        self.walk.merge(&walk);
        Ok(stopped)
    }

    /// End of all input: flush unfinished heads and every held row.
    pub fn finish(
        &mut self,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut events = Vec::new();
        self.assembler.finish(&mut |ev| events.push(ev));
        for ev in events {
            self.on_event(ev);
        }
        self.end_warm_up();
        self.release(true, emit)
    }
}

/// The address each source of `id` names (IPv4-mapped as IPv4).
fn source_addrs(id: &Identity<'_>) -> Vec<(IdentitySource, IpAddr)> {
    let proxy = id
        .proxy_src
        .map(|p| (IdentitySource::ProxyProtocol, p.ip().to_canonical()));
    proxy
        .into_iter()
        .chain(
            id.sources
                .iter()
                .filter_map(|c| Some((c.source, c.selected_entry()?.addr?.to_canonical()))),
        )
        .collect()
}

impl SegmentStage for RequestStage<'_> {
    type Row = RequestRow;

    fn segment(&mut self, seg: SegmentMeta<'_>) {
        self.max_ts = self.max_ts.max(seg.ts_ns);
        let mut events = std::mem::take(&mut self.events);
        self.assembler.push(seg, &mut |ev| events.push(ev));
        for ev in events.drain(..) {
            self.on_event(ev);
        }
        self.events = events;
    }

    fn release(&mut self, emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>) -> ControlFlow<()> {
        RequestStage::release(self, false, emit)
    }

    fn outcomes(&mut self) -> &mut Outcomes {
        &mut self.packets
    }
}

/// The profile key of a back-side flow (source = proxy).
fn pair_of(flow: &FiveTuple) -> ProxyPair {
    ProxyPair {
        proxy: flow.src_ip,
        backend: flow.dst_ip,
        backend_port: flow.dst_port,
    }
}

pub(crate) fn capture_precision(cap: &Capture) -> Precision {
    match &cap.parser {
        capture::Parser::Legacy(p) => match p.resolution {
            capture::TimeResolution::Micro => Precision::MICRO,
            capture::TimeResolution::Nano => Precision::NANO,
        },
        capture::Parser::Ng(_) => Precision::NANO,
    }
}

impl Stage for RequestStage<'_> {
    type Row = RequestRow;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, RequestRow>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let name = capture.path.display().to_string();
        self.walk_capture(engine, capture, name, emit)
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, RequestRow>) -> ControlFlow<()> {
        RequestStage::finish(self, emit)
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.walk);
        report.packets.merge(&self.packets);
        report.section("requests", &self.stats);
        report.section("unparsed_heads", &self.unparsed);
        report.section("reassembly", self.assembler.stats());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Input, OpenOptions};
    use crate::extract::requests::MAX_REORDER_ROWS;

    /// Many complete heads within the reorder slack (10 s of capture time): the reorder
    /// buffer releases the oldest beyond its cap instead of holding every row, and every
    /// row still comes out once, in time order here (nothing older arrives later).
    #[test]
    fn reorder_buffer_is_capped() {
        use proxytrace_synth::packet::{TcpFlags, TcpPacket};
        use proxytrace_synth::writer::{PcapConfig, PcapWriter};
        let n = MAX_REORDER_ROWS as u32 + 5_000;
        let path = std::env::temp_dir().join(format!(
            "proxytrace-reorder-cap-{}.pcap",
            std::process::id()
        ));
        {
            let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            let mut w = PcapWriter::new(f, PcapConfig::default()).unwrap();
            let mut frame = Vec::new();
            for i in 0..n {
                // A SYN first: a head found without one waits for corroboration in the
                // assembler, not in the reorder buffer.
                frame.clear();
                TcpPacket {
                    src: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    seq: 0,
                    flags: TcpFlags::SYN,
                    ..TcpPacket::default()
                }
                .build(&mut frame);
                w.packet(1_000_000_000 + i64::from(i) * 10_000, &frame)
                    .unwrap();
                frame.clear();
                TcpPacket {
                    src: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    flags: TcpFlags::ACK | TcpFlags::PSH,
                    payload: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                    ..TcpPacket::default()
                }
                .build(&mut frame);
                w.packet(1_000_000_000 + i64::from(i) * 10_000, &frame)
                    .unwrap();
            }
            w.finish().unwrap();
        }
        let engine = Engine::new(crate::engine::EngineOptions::default()).unwrap();
        let cfg = RequestsConfig::default();
        let mut ex = RequestStage::new(&cfg);
        let cap = capture::open(&Input::Path(path.clone()), OpenOptions { mmap: true }).unwrap();
        let mut times = Vec::new();
        let mut emit = |r: RequestRow| {
            times.push(r.ts_ns);
            ControlFlow::Continue(())
        };
        let _ = ex
            .walk_capture(&engine, cap, "x".into(), &mut emit)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            ex.reorder.len() <= MAX_REORDER_ROWS,
            "{} rows held",
            ex.reorder.len()
        );
        assert!(ex.stats.rows_released_reorder_cap > 0);
        let _ = ex.finish(&mut emit);
        assert_eq!(times.len(), n as usize);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn every_serialized_counter_is_listed() {
        crate::vocab::counters::assert_counters_cover(&RequestStats::default());
        crate::vocab::counters::assert_counters_cover(&ReassemblyStats::default());
    }

    #[test]
    fn file_tags_round_trip() {
        assert_eq!(untag_index(tag_index(3, 12345)), (3, 12345));
        assert_eq!(untag_index(tag_index(0, (1 << 40) - 1)), (0, (1 << 40) - 1));
    }
}
