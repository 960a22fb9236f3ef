//! `proxytrace requests` and `proxytrace flows`: every HTTP/1.x request head in a BACK
//! capture, who its client is, and which back-side TCP conversation carried it.
//!
//! Per packet: decode -> TCP segment -> [`HeadAssembler`] (bounded reassembly, body
//! skipping) -> head parsing -> identity extraction -> row. Rows leave in the order of
//! their first byte's timestamp (ties: file order, then packet order), through a reorder
//! buffer that releases a row once no pending head can start earlier.

use crate::capture::{self, Capture, CaptureError, Input, OpenOptions, Record, WalkStats};
use crate::decode::{self, Decoded, FiveTuple, TcpFlags};
use crate::engine::{Engine, Job};
use crate::http1::head::{parse_request_head, HeaderKind, RequestHead};
use crate::identity::{
    extract_identity, is_trusted, Chain, ClientFilter, Identity, IdentitySource,
};
use crate::info::Outcomes;
use crate::output::push_escaped_char;
use crate::proxy_protocol::{parse_proxy, ProxyHeader};
use crate::tcp::reassembly::{
    HeadAssembler, HeadEvent, ReassemblyConfig, ReassemblyStats, SegmentMeta,
};
use crate::timefmt::{write_rfc3339, Precision};
use ipnet::IpNet;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

/// What to extract and keep.
#[derive(Debug, Clone, Default)]
pub struct RequestsConfig {
    /// Trusted proxy networks, skipped when walking a chain from the right.
    pub trusted: Vec<IpNet>,
    /// Additional identity header names (`--header NAME`).
    pub extra_headers: Vec<Vec<u8>>,
    /// The back-side source address is the client (HAProxy `usesrc clientip`), unless it
    /// is a trusted proxy address.
    pub transparent: bool,
    /// Keep only requests whose client is in one of these networks (empty: all).
    pub clients: ClientFilter,
    /// Drop requests without any client identity.
    pub identified_only: bool,
    pub reassembly: ReassemblyConfig,
}

/// One request, flat: the CSV schema. Field order is column order (README documents it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRow {
    /// First byte of the request head: RFC 3339 UTC, at the capture's precision.
    pub time: String,
    pub file: String,
    /// 1-based packet number (as Wireshark numbers frames) holding the first byte.
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
    /// Which source named the client: proxy_protocol, forwarded, x_forwarded_for,
    /// x_real_ip, x_client_ip, true_client_ip, cf_connecting_ip, custom_N, transparent.
    pub identity_source: String,
    /// The chosen source's whole chain, entries as written, joined with ", ".
    pub chain: String,
    /// Every X-Forwarded-For value, in order, joined with ", ".
    pub xff: String,
    pub x_real_ip: String,
    pub forwarded: String,
    /// PROXY protocol version (1 or 2) when the connection began with a preamble.
    pub proxy_version: Option<u8>,
    pub proxy_src: Option<SocketAddr>,
    pub proxy_dst: Option<SocketAddr>,
    pub spoof_suspect: bool,
    /// Why, joined with `|`.
    pub spoof_reasons: String,
    /// p0f SPOE agent headers, `name=value` joined with `|`.
    pub p0f: String,
    /// 1-based position of this request on its connection.
    pub request_on_connection: u32,
    /// Reassembly and parsing flags, joined with `|`.
    pub flags: String,
    #[serde(skip)]
    pub ts_ns: i64,
    /// The PROXY header, for JSON output (TLVs included).
    #[serde(skip)]
    pub proxy: Option<ProxyHeader>,
}

/// The JSON and JSON Lines form: the flat row plus the parsed PROXY header with its TLVs.
#[derive(Serialize)]
pub struct RequestJson {
    #[serde(flatten)]
    pub row: RequestRow,
    pub proxy: Option<ProxyHeader>,
}

/// Counters of a whole run, for the end-of-run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestsSummary {
    pub files: u64,
    pub walk: WalkStats,
    pub packets: Outcomes,
    pub reassembly: ReassemblyStats,
    pub heads: u64,
    /// Heads whose request line could not be parsed, by reason.
    pub heads_unparsed: BTreeMap<String, u64>,
    pub preambles_unparsed: u64,
    pub rows: u64,
    pub rows_filtered: u64,
    /// Rows released from the reorder buffer because it held [`MAX_REORDER_ROWS`]: an
    /// older row completed later can follow them (output then not sorted by time).
    pub rows_released_reorder_cap: u64,
    /// Files that could not be read (their errors were reported).
    pub failed_files: Vec<String>,
}

/// Rows may leave the reorder buffer once they are this much older than the newest packet
/// seen, so captures whose timestamps step back a little still come out sorted.
const REORDER_SLACK_NS: i64 = 10_000_000_000;
/// Rows the reorder buffer holds at most (about 1 KiB each with their strings). Without it,
/// a flood of connections leaving heads unfinished holds back every row completed after
/// the oldest unfinished head, up to the whole capture's.
pub const MAX_REORDER_ROWS: usize = 1 << 15;
/// How often (records) the reorder buffer asks the assembler for its oldest pending head.
const RELEASE_EVERY: u64 = 8192;

struct Pending {
    key: (i64, u32, u64, u32, u64),
    /// Boxed: the heap moves entries as it sifts, and a row is several hundred bytes.
    row: Box<RequestRow>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// Escape bytes for text output: valid UTF-8 stays as is except control characters and
/// backslash, which become `\xNN` (per UTF-8 byte) and `\\`; invalid bytes become `\xNN`;
/// bidirectional controls and invisible format characters (see [`crate::output::is_hidden_format`])
/// become `\u{XXXX}`. Reversible (a backslash is always followed by `\`, `x` or `u{`), so
/// nothing a hostile header carries is lost, breaks a CSV line or terminal, or makes a
/// viewer display text in another order than it has (Trojan Source, CVE-2021-42574).
pub fn escape_bytes(b: &[u8]) -> String {
    // Nearly every value is plain printable ASCII: take it whole.
    if b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\') {
        return String::from_utf8_lossy(b).into_owned();
    }
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_char(&mut s, c, true);
        }
        for byte in chunk.invalid() {
            s.push_str(&format!("\\x{byte:02x}"));
        }
    }
    s
}

/// The chosen source's chain as the `chain` column shows it: entries as written
/// (escaped), joined with `, `, prefixed `(+N dropped), ` when capped.
fn chain_text(chain: &Chain<'_>) -> String {
    let mut s = String::new();
    if chain.dropped_left > 0 {
        s.push_str(&format!("(+{} dropped)", chain.dropped_left));
    }
    for e in &chain.entries {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&escape_bytes(e.raw));
    }
    s
}

/// The `p0f` column: `name=value` (escaped) joined with `|`.
fn p0f_text(id: &Identity<'_>) -> String {
    let mut s = String::new();
    for (i, f) in id.p0f.iter().enumerate() {
        if i > 0 {
            s.push('|');
        }
        s.push_str(&escape_bytes(f.name));
        s.push('=');
        s.push_str(&escape_bytes(f.value));
    }
    s
}

/// `RequestLineIncomplete` -> `request_line_incomplete` (stable counter names).
fn snake_case(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

fn join_values<'a>(it: impl Iterator<Item = &'a [u8]>) -> String {
    let mut s = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&escape_bytes(v));
    }
    s
}

/// One TCP segment as a worker saw it, with its payload in the chunk's arena.
struct Seg {
    ts_ns: i64,
    index: u64,
    flow: FiveTuple,
    seq: u32,
    flags: crate::decode::TcpFlags,
    /// Where the payload is in the chunk's source bytes (`ChunkInfo::source`): workers
    /// hand over offsets, not copies (copying every payload cost a fifth of the run).
    payload_at: u64,
    payload_len: u32,
}

/// A chunk's TCP segments and packet outcomes.
#[derive(Default)]
struct SegmentChunk {
    segs: Vec<Seg>,
    outcomes: Outcomes,
}

/// The parallel half of `requests`: decode every record, keep TCP segments.
struct SegmentJob;

impl Job for SegmentJob {
    type Chunk = SegmentChunk;
    type Out = SegmentChunk;

    fn start(&self) -> SegmentChunk {
        SegmentChunk::default()
    }

    fn record(&self, c: &mut SegmentChunk, rec: &Record<'_>) {
        let decoded = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns);
        c.outcomes.count(&decoded);
        let Ok(Decoded::Ip(pkt)) = &decoded else {
            return;
        };
        let Some(seg) = SegmentMeta::from_packet(pkt, rec.index) else {
            return;
        };
        // A pure ACK moves no stream byte and opens or closes nothing: the assembler has
        // nothing to do with it, so it is not handed over (a third of a capture's packets).
        if seg.payload.is_empty()
            && seg.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) == 0
        {
            return;
        }
        // The payload is a sub-slice of the record's data.
        let within = seg.payload.as_ptr() as usize - rec.data.as_ptr() as usize;
        c.segs.push(Seg {
            ts_ns: seg.ts_ns,
            index: seg.packet_index,
            flow: seg.flow,
            seq: seg.seq,
            flags: seg.flags,
            payload_at: rec.data_offset + within as u64,
            // A record holds at most 16 MiB (capture::MAX_RECORD_LEN).
            payload_len: seg.payload.len() as u32,
        });
    }

    fn finish(&self, c: SegmentChunk, _stats: &WalkStats) -> SegmentChunk {
        c
    }

    fn rebase(&self, out: &mut SegmentChunk, index_base: u64) {
        for s in &mut out.segs {
            s.index += index_base;
        }
    }
}

/// Processes packets of one run (all files) into rows.
pub struct RequestExtractor<'c> {
    cfg: &'c RequestsConfig,
    extra: Vec<&'c [u8]>,
    assembler: HeadAssembler,
    heap: BinaryHeap<Reverse<Pending>>,
    files: Vec<FileCtx>,
    seq: u64,
    max_ts: i64,
    pub summary: RequestsSummary,
}

/// Per-file context for rows.
struct FileCtx {
    name: String,
    precision: Precision,
}

/// One assembler serves all files (rotated captures continue each other's connections),
/// so the packet index it carries also says which file the packet came from.
const FILE_SHIFT: u32 = 40;

fn tag_index(file_ord: u32, index: u64) -> u64 {
    (u64::from(file_ord) << FILE_SHIFT) | (index & ((1 << FILE_SHIFT) - 1))
}

fn untag_index(tagged: u64) -> (u32, u64) {
    (
        (tagged >> FILE_SHIFT) as u32,
        tagged & ((1 << FILE_SHIFT) - 1),
    )
}

impl<'c> RequestExtractor<'c> {
    pub fn new(cfg: &'c RequestsConfig) -> Self {
        RequestExtractor {
            cfg,
            extra: cfg.extra_headers.iter().map(Vec::as_slice).collect(),
            assembler: HeadAssembler::new(cfg.reassembly.clone()),
            heap: BinaryHeap::new(),
            files: Vec::new(),
            seq: 0,
            max_ts: i64::MIN,
            summary: RequestsSummary::default(),
        }
    }

    fn on_event(&mut self, mut ev: HeadEvent) {
        self.summary.heads += 1;
        let (file_ord, index) = untag_index(ev.packet_index);
        ev.packet_index = index;
        let head = match parse_request_head(&ev.head, &self.extra) {
            Ok(h) => h,
            Err(e) => {
                *self
                    .summary
                    .heads_unparsed
                    .entry(snake_case(&format!("{e:?}")))
                    .or_default() += 1;
                return;
            }
        };
        let proxy = match ev.proxy_preamble.as_deref().map(parse_proxy) {
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => {
                // Addresses of a header that does not parse are not believed; the rows
                // say so, whatever the reassembly thought of the preamble's framing.
                self.summary.preambles_unparsed += 1;
                ev.flags.preamble_invalid = true;
                None
            }
            None => None,
        };
        let proxy_src = proxy.as_ref().and_then(|p| p.src);
        let identity = extract_identity(Some(&head), proxy_src, &self.cfg.trusted);
        let Some(file) = self.files.get(file_ord as usize) else {
            return;
        };
        // Filter before formatting: `-c --client` on a big capture keeps few rows.
        if !self.keep(self.client_of(&ev.flow, &identity)) {
            self.summary.rows_filtered += 1;
            return;
        }
        let row = self.row(&ev, &head, &identity, proxy, file);
        self.seq += 1;
        let key = (row.ts_ns, file_ord, row.packet_index, ev.ordinal, self.seq);
        self.heap.push(Reverse(Pending {
            key,
            row: Box::new(row),
        }));
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
        let mut source = id
            .identity_source
            .map(|s| s.name().into_owned())
            .unwrap_or_default();
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
                spoof_reasons.push_str(&format!("transparent_vs_{source}:{named}"));
            }
            client_ip = Some(src_ip);
            client_port = None;
            source = "transparent".into();
            chain = src_ip.to_string();
        }
        let header_named = id
            .identity_source
            .is_some_and(|s| s != IdentitySource::ProxyProtocol);
        if ev.flags.preamble_invalid && header_named && source != "transparent" {
            // The preamble that should have named the client is broken, so a header the
            // client may have written names it instead: never silently.
            spoof = true;
            if !spoof_reasons.is_empty() {
                spoof_reasons.push('|');
            }
            spoof_reasons.push_str("preamble_invalid");
        }
        if let Some(p) = proxy.as_ref().filter(|_| source == "proxy_protocol") {
            chain = p.src.map(|s| s.to_string()).unwrap_or_default();
        }
        let mut flags: Vec<&str> = Vec::new();
        let f = &ev.flags;
        for (on, name) in [
            (f.partial, "partial"),
            (f.capped, "capped"),
            (f.gap_before, "gap_before"),
            (f.out_of_order_repaired, "out_of_order_repaired"),
            (f.retransmission_seen, "retransmission_seen"),
            (f.midstream_start, "midstream_start"),
            (f.preamble_invalid, "preamble_invalid"),
            (f.overlap_conflict, "overlap_conflict"),
        ] {
            if on {
                flags.push(name);
            }
        }
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
            packet_index: ev.packet_index,
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            method: escape_bytes(head.method),
            host: head.host.map(escape_bytes).unwrap_or_default(),
            target: escape_bytes(head.target),
            http_version: head.version.as_str(),
            user_agent: head.user_agent.map(escape_bytes).unwrap_or_default(),
            client_ip,
            client_port,
            identity_source: source,
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
            proxy,
        }
    }

    /// Hand rows that can no longer be preceded by another to `emit`, in order.
    fn release(
        &mut self,
        all: bool,
        emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let bound = if all {
            i64::MAX
        } else {
            let slack = self.max_ts.saturating_sub(REORDER_SLACK_NS);
            self.assembler
                .oldest_pending_ts()
                .map_or(slack, |p| p.min(slack))
        };
        while let Some(Reverse(top)) = self.heap.peek() {
            let over = self.heap.len() > MAX_REORDER_ROWS;
            if top.key.0 >= bound && !over {
                break;
            }
            if top.key.0 >= bound {
                self.summary.rows_released_reorder_cap += 1;
            }
            let Some(Reverse(p)) = self.heap.pop() else {
                break;
            };
            self.summary.rows += 1;
            emit(*p.row)?;
        }
        ControlFlow::Continue(())
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
        let mut stopped = ControlFlow::Continue(());
        let mut events = Vec::new();
        let mut since_release = 0u64;
        let run = engine.run(&mut cap, &SegmentJob, |chunk: SegmentChunk, info| {
            self.summary.packets.merge(&chunk.outcomes);
            for seg in &chunk.segs {
                // Always in range: the offsets came from records of this source.
                let at = seg.payload_at as usize;
                let payload = info
                    .source
                    .get(at..at + seg.payload_len as usize)
                    .unwrap_or_default();
                if seg.ts_ns > self.max_ts {
                    self.max_ts = seg.ts_ns;
                }
                let meta = SegmentMeta {
                    ts_ns: seg.ts_ns,
                    packet_index: tag_index(ord, seg.index),
                    flow: seg.flow,
                    seq: seg.seq,
                    flags: seg.flags,
                    payload,
                };
                self.assembler.push(meta, &mut |ev| events.push(ev));
                for ev in events.drain(..) {
                    self.on_event(ev);
                }
            }
            since_release += chunk.segs.len() as u64;
            if since_release >= RELEASE_EVERY {
                since_release = 0;
                if self.release(false, emit).is_break() {
                    stopped = ControlFlow::Break(());
                }
            }
            stopped
        })?;
        self.summary.files += 1;
        self.summary.walk.merge(&run.stats);
        if stopped.is_break() {
            return Ok(stopped);
        }
        Ok(self.release(false, emit))
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
        self.summary.reassembly = self.assembler.stats().clone();
        self.release(true, emit)
    }
}

fn capture_precision(cap: &Capture) -> Precision {
    match &cap.parser {
        capture::Parser::Legacy(p) => match p.resolution {
            capture::TimeResolution::Micro => Precision::MICRO,
            capture::TimeResolution::Nano => Precision::NANO,
        },
        capture::Parser::Ng(_) => Precision::NANO,
    }
}

/// Order inputs as capture times go: rotated files whose names do not sort in time order
/// (`x.pcap9`, `x.pcap10`) still continue each other's connections. Each file's first
/// record is read to learn its start; stdin, a FIFO or a device cannot be re-read, so
/// with one among the inputs the given order is kept.
pub fn order_inputs(inputs: Vec<Input>, opts: OpenOptions) -> Vec<Input> {
    if inputs.len() < 2 || inputs.iter().any(Input::is_read_once) {
        return inputs;
    }
    let mut keyed: Vec<(Option<i64>, usize, Input)> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| (first_ts(&input, opts), i, input))
        .collect();
    // Unreadable files sort last; their errors surface when they are processed.
    keyed.sort_by_key(|(ts, i, _)| (ts.is_none(), *ts, *i));
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

fn first_ts(input: &Input, opts: OpenOptions) -> Option<i64> {
    let mut cap = capture::open(input, opts).ok()?;
    let mut ts = None;
    let mut stats = WalkStats::default();
    cap.walk(&mut stats, |r| {
        ts = Some(r.ts_ns);
        ControlFlow::Break(())
    })
    .ok()?;
    ts
}

/// Run `requests` over inputs. Errors opening or reading a file are reported through
/// `on_error` and the run goes on; the summary lists the failed files.
pub fn run(
    engine: &Engine,
    inputs: Vec<Input>,
    opts: OpenOptions,
    cfg: &RequestsConfig,
    emit: &mut dyn FnMut(RequestRow) -> ControlFlow<()>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> RequestsSummary {
    let mut ex = RequestExtractor::new(cfg);
    for input in order_inputs(inputs, opts) {
        let name = input.display().display().to_string();
        let cap = match capture::open(&input, opts) {
            Ok(c) => c,
            Err(e) => {
                on_error(&e);
                ex.summary.failed_files.push(name);
                continue;
            }
        };
        match ex.walk_capture(engine, cap, name.clone(), emit) {
            Ok(ControlFlow::Break(())) => {
                let mut s = ex.summary;
                s.reassembly = ex.assembler.stats().clone();
                return s;
            }
            Ok(ControlFlow::Continue(())) => {}
            Err(e) => {
                on_error(&e);
                ex.summary.failed_files.push(name);
            }
        }
    }
    let _ = ex.finish(emit);
    ex.summary
}

/// One back-side conversation of one client (`proxytrace flows`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlowRow {
    pub client_ip: Option<IpAddr>,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub first_time: String,
    pub last_time: String,
    pub requests: u64,
    /// Identity sources seen on this conversation for this client, joined with `|`.
    pub identity_sources: String,
    pub file: String,
}

/// Group request rows into flows: one row per (client, back-side 5-tuple), ordered by
/// first request time, then client and 5-tuple.
#[derive(Default)]
pub struct FlowAggregator {
    flows: BTreeMap<(Option<IpAddr>, IpAddr, u16, IpAddr, u16), FlowAcc>,
}

struct FlowAcc {
    first_ns: i64,
    first: String,
    last_ns: i64,
    last: String,
    requests: u64,
    sources: Vec<String>,
    file: String,
}

impl FlowAggregator {
    pub fn add(&mut self, r: &RequestRow) {
        let key = (r.client_ip, r.src_ip, r.src_port, r.dst_ip, r.dst_port);
        let acc = self.flows.entry(key).or_insert_with(|| FlowAcc {
            first_ns: r.ts_ns,
            first: r.time.clone(),
            last_ns: r.ts_ns,
            last: r.time.clone(),
            requests: 0,
            sources: Vec::new(),
            file: r.file.clone(),
        });
        acc.requests += 1;
        if r.ts_ns < acc.first_ns {
            acc.first_ns = r.ts_ns;
            acc.first = r.time.clone();
        }
        if r.ts_ns >= acc.last_ns {
            acc.last_ns = r.ts_ns;
            acc.last = r.time.clone();
        }
        if !r.identity_source.is_empty() && !acc.sources.contains(&r.identity_source) {
            acc.sources.push(r.identity_source.clone());
        }
    }

    pub fn rows(self) -> Vec<FlowRow> {
        let mut v: Vec<(i64, FlowRow)> = self
            .flows
            .into_iter()
            .map(|((client_ip, src_ip, src_port, dst_ip, dst_port), a)| {
                (
                    a.first_ns,
                    FlowRow {
                        client_ip,
                        src_ip,
                        src_port,
                        dst_ip,
                        dst_port,
                        first_time: a.first,
                        last_time: a.last,
                        requests: a.requests,
                        identity_sources: a.sources.join("|"),
                        file: a.file,
                    },
                )
            })
            .collect();
        // The BTreeMap order breaks ties; a stable sort keeps it.
        v.sort_by_key(|(t, _)| *t);
        v.into_iter().map(|(_, r)| r).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut ex = RequestExtractor::new(&cfg);
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
            ex.heap.len() <= MAX_REORDER_ROWS,
            "{} rows held",
            ex.heap.len()
        );
        assert!(ex.summary.rows_released_reorder_cap > 0);
        let _ = ex.finish(&mut emit);
        assert_eq!(times.len(), n as usize);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn counter_names_are_snake_case() {
        assert_eq!(
            snake_case("RequestLineIncomplete"),
            "request_line_incomplete"
        );
        assert_eq!(snake_case("Empty"), "empty");
    }

    #[test]
    fn file_tags_round_trip() {
        assert_eq!(untag_index(tag_index(3, 12345)), (3, 12345));
        assert_eq!(untag_index(tag_index(0, (1 << 40) - 1)), (0, (1 << 40) - 1));
    }

    #[test]
    fn escaping_is_reversible_and_safe() {
        assert_eq!(escape_bytes(b"plain text"), "plain text");
        assert_eq!(escape_bytes(b"a\\b"), "a\\\\b");
        assert_eq!(escape_bytes(b"nul\0cr\r"), "nul\\x00cr\\x0d");
        assert_eq!(escape_bytes(&[0x66, 0xff, 0x6f]), "f\\xffo");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
        // C1 controls are controls too: NEL (U+0085) is c2 85.
        assert_eq!(escape_bytes("a\u{85}b".as_bytes()), "a\\xc2\\x85b");
    }

    /// Hidden format characters by their UTF-8 bytes (written out, not via `char`).
    #[test]
    fn bidi_and_invisible_characters_escape_as_code_points() {
        let cases: [(&[u8], &str); 8] = [
            (b"\xe2\x80\xae", "\\u{202e}"),
            (b"\xe2\x80\x8b", "\\u{200b}"),
            (b"\xe2\x80\x8f", "\\u{200f}"),
            (b"\xe2\x80\xaa", "\\u{202a}"),
            (b"\xe2\x81\xa6", "\\u{2066}"),
            (b"\xe2\x81\xa9", "\\u{2069}"),
            (b"\xef\xbb\xbf", "\\u{feff}"),
            (b"\xe2\x80\xa8", "\\u{2028}"),
        ];
        for (bytes, want) in cases {
            assert_eq!(escape_bytes(bytes), want);
        }
        // Neighbours stay: U+2010 HYPHEN (e2 80 90), U+2030 PER MILLE (e2 80 b0).
        assert_eq!(
            escape_bytes(b"\xe2\x80\x90\xe2\x80\xb0"),
            "\u{2010}\u{2030}"
        );
        // A forged address that displays as 1.2.3.4 but holds 4.3.2.1 stays readable.
        assert_eq!(
            escape_bytes("\u{202e}4.3.2.1".as_bytes()),
            "\\u{202e}4.3.2.1"
        );
    }

    /// Inverse of [`escape_bytes`], written independently of it from the documented rules.
    fn unescape(s: &str) -> Option<Vec<u8>> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'\\' {
                out.push(b[i]);
                i += 1;
                continue;
            }
            match b.get(i + 1)? {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'x' => {
                    let h = std::str::from_utf8(b.get(i + 2..i + 4)?).ok()?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 4;
                }
                b'u' => {
                    let end = i + s[i..].find('}')?;
                    let cp = u32::from_str_radix(s.get(i + 3..end)?, 16).ok()?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(char::from_u32(cp)?.encode_utf8(&mut buf).as_bytes());
                    i = end + 1;
                }
                _ => return None,
            }
        }
        Some(out)
    }

    proptest::proptest! {
        /// Any bytes: the escaped form unescapes to them, and shows no control or hidden
        /// format character.
        #[test]
        fn escaping_round_trips(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..8),
                proptest::sample::select(vec![
                    "\u{202e}".as_bytes().to_vec(), "\u{2066}".as_bytes().to_vec(),
                    "\u{200b}".as_bytes().to_vec(), "\u{feff}".as_bytes().to_vec(),
                    "\u{85}".as_bytes().to_vec(), b"\\u{202e}".to_vec(), b"\\x41".to_vec(),
                    "é".as_bytes().to_vec(), b"\\".to_vec(), b"1.2.3.4".to_vec(),
                ]),
            ], 0..12)
        ) {
            let bytes: Vec<u8> = parts.concat();
            let e = escape_bytes(&bytes);
            proptest::prop_assert_eq!(unescape(&e), Some(bytes));
            proptest::prop_assert!(!e
                .chars()
                .any(|c| c.is_control() || crate::output::is_hidden_format(c)));
        }
    }
}
