//! [`ConnectionStage`]: the sequential half of `connections`, as a pipeline [`Stage`].
//!
//! Per segment, in packet order: the request reassembly of `requests` ([`HeadAssembler`],
//! unchanged) finds the HTTP/1 request heads, and a second tracker with the accounting
//! protocol ([`super::track`]) follows every connection; the heads are counted on the
//! connection they belong to (same 5-tuple, looked up among the connections the same
//! segment closed first, then the live ones). A connection's row is made when the
//! tracker closes it and leaves through the reorder buffer in first-packet order.

use super::row::{ConnEnd, ConnectionRow, FirstProtocol};
use super::track::{ConnProtocol, ConnState, FirstBytesStats};
use super::ConnectionsConfig;
use crate::capture::{Capture, CaptureError, WalkStats};
use crate::decode::{FiveTuple, Outcomes, TcpFlags};
use crate::engine::Engine;
use crate::extract::requests::reorder::{ReorderBuffer, REORDER_SLACK_NS};
use crate::extract::requests::segments::{walk_segments, AllSegmentsJob, SegmentStage};
use crate::extract::requests::stage::{capture_precision, untag_index};
use crate::http1::{HeadAssembler, HeadEvent, SegmentMeta};
use crate::identity::{extract_identity, is_trusted, IdentitySource};
use crate::pipeline::{Counter, CounterKind, Counters, Report, RowEmitter, Stage};
use crate::tcp::segment::SegPos;
use crate::tcp::stats::TcpStats;
use crate::tcp::tracker::Tracker;
use crate::timefmt::{write_rfc3339, Precision};
use crate::vocab::escape::escape_bytes;
use serde::Serialize;
use std::ops::ControlFlow;

/// What the stage made of the connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionStats {
    /// Connections closed (rows made before `--client`).
    pub connections: u64,
    /// Rows left out by `--client`.
    pub rows_filtered: u64,
    /// Request heads counted on their connection.
    pub heads: u64,
    /// Request heads whose connection the accounting tracker did not follow (a flow the
    /// two trackers saw differently, e.g. evicted by one of them): not counted in any
    /// row's `http_requests`.
    pub heads_unattributed: u64,
    /// Rows released early because the reorder buffer was full (output then not sorted).
    pub rows_released_reorder_cap: u64,
}

impl Counters for ConnectionStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        vec![
            Counter::new("connections", self.connections, Volume),
            Counter::new("rows_filtered", self.rows_filtered, Volume),
            Counter::new("heads", self.heads, Volume),
            Counter::new("heads_unattributed", self.heads_unattributed, Loss),
            Counter::new(
                "rows_released_reorder_cap",
                self.rows_released_reorder_cap,
                Cap,
            ),
        ]
    }
}

impl Counters for FirstBytesStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Cap, Loss, Volume};
        let s = self;
        vec![
            Counter::new("client_hellos", s.client_hellos, Volume),
            Counter::new("client_hello_malformed", s.client_hello_malformed, Loss),
            Counter::new("client_hello_incomplete", s.client_hello_incomplete, Loss),
            Counter::new("first_bytes_capped", s.first_bytes_capped, Cap),
            Counter::new("first_bytes_gap", s.first_bytes_gap, Loss),
            Counter::new("preambles_unparsed", s.preambles_unparsed, Loss),
            Counter::new(
                "response_segments_ignored",
                s.response_segments_ignored,
                Volume,
            ),
        ]
    }
}

/// Per-file context for rows.
struct FileCtx {
    name: String,
    precision: Precision,
}

/// Turns the packets of one run (all files, in order) into connection rows.
pub struct ConnectionStage<'c> {
    cfg: &'c ConnectionsConfig,
    heads: HeadAssembler,
    tracker: Tracker<ConnState>,
    tcp: TcpStats,
    first: FirstBytesStats,
    reorder: ReorderBuffer<ConnectionRow>,
    files: Vec<FileCtx>,
    max_ts: i64,
    events: Vec<HeadEvent>,
    closed: Vec<(FiveTuple, ConnState)>,
    /// Counters of the connections and rows.
    pub stats: ConnectionStats,
    /// Walk counters of every file read.
    pub walk: WalkStats,
    /// What the records decoded to.
    pub packets: Outcomes,
}

impl<'c> ConnectionStage<'c> {
    /// A stage with these settings.
    pub fn new(cfg: &'c ConnectionsConfig) -> Self {
        ConnectionStage {
            cfg,
            heads: HeadAssembler::new(cfg.reassembly.clone()),
            tracker: Tracker::new(cfg.reassembly.tracker_limits()),
            tcp: TcpStats::default(),
            first: FirstBytesStats::default(),
            reorder: ReorderBuffer::default(),
            files: Vec::new(),
            max_ts: i64::MIN,
            events: Vec::new(),
            closed: Vec::new(),
            stats: ConnectionStats::default(),
            walk: WalkStats::default(),
            packets: Outcomes::default(),
        }
    }

    /// One segment through both trackers, then the heads onto their connections and the
    /// closed connections into rows.
    fn push(&mut self, seg: SegmentMeta<'_>) {
        let pure_ack = seg.payload.is_empty()
            && seg.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) == 0;
        if !pure_ack {
            // `requests` never sees pure ACKs: neither does its reassembly here, so the
            // heads are the ones `requests` finds.
            let events = &mut self.events;
            self.heads.push(seg, &mut |ev| events.push(ev));
        }
        let mut proto = ConnProtocol {
            at: seg.pos(),
            stats: &mut self.first,
            closed: &mut self.closed,
        };
        self.tracker.push(seg, &mut proto, &mut self.tcp);
        self.settle();
    }

    /// Counts the pending heads on their connections and turns closed ones into rows.
    fn settle(&mut self) {
        for ev in self.events.drain(..) {
            self.stats.heads += 1;
            let closed = self.closed.iter_mut().find(|(f, _)| *f == ev.flow);
            let state = match closed {
                Some((_, s)) => Some(s),
                None => self.tracker.live_mut(&ev.flow).map(|c| &mut c.app),
            };
            match state {
                Some(s) => s.http_requests = s.http_requests.saturating_add(1),
                None => self.stats.heads_unattributed += 1,
            }
        }
        let closed = std::mem::take(&mut self.closed);
        for (flow, state) in closed {
            self.row(flow, state);
        }
    }

    fn row(&mut self, flow: FiveTuple, s: ConnState) {
        self.stats.connections += 1;
        let (file_ord, packet) = untag_index(s.first_packet);
        let Some(file) = self.files.get(file_ord as usize) else {
            return;
        };
        let proxy_src = s.proxy.as_ref().and_then(|p| p.src);
        let id = extract_identity(None, proxy_src, &self.cfg.trusted);
        let (mut client_ip, mut client_port, mut source) =
            (id.client_ip, id.client_port, id.identity_source);
        if self.cfg.transparent && !is_trusted(flow.src_ip, &self.cfg.trusted) {
            client_ip = Some(flow.src_ip);
            client_port = None;
            source = Some(IdentitySource::Transparent);
        }
        if !self.cfg.clients.matches_opt(client_ip) {
            self.stats.rows_filtered += 1;
            return;
        }
        let mut time = String::with_capacity(32);
        write_rfc3339(&mut time, s.first_ts, file.precision);
        let mut last_time = String::with_capacity(32);
        write_rfc3339(&mut last_time, s.last_ts, file.precision);
        let end_time = s.end_ts.map(|t| {
            let mut e = String::with_capacity(32);
            write_rfc3339(&mut e, t, file.precision);
            e
        });
        let end = if s.rst {
            ConnEnd::Rst
        } else if s.fin {
            ConnEnd::Fin
        } else {
            ConnEnd::Open
        };
        let (tls_sni, tls_alpn) = match &s.hello {
            Some(h) => (
                h.sni.as_deref().map(escape_bytes).unwrap_or_default(),
                h.alpn
                    .iter()
                    .map(|a| escape_bytes(a).replace(',', "\\x2c"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None => Default::default(),
        };
        let proxy = s.proxy.map(|p| *p);
        let row = ConnectionRow {
            time,
            last_time,
            file: file.name.clone(),
            packet,
            src_ip: flow.src_ip,
            src_port: flow.src_port,
            dst_ip: flow.dst_ip,
            dst_port: flow.dst_port,
            client_packets: s.client_packets,
            client_bytes: s.client_bytes,
            server_packets: s.server_packets,
            server_bytes: s.server_bytes,
            end,
            end_time,
            proxy_version: proxy.as_ref().map(|p| p.version),
            proxy_src,
            proxy_dst: proxy.as_ref().and_then(|p| p.dst),
            client_ip,
            client_port,
            identity_source: source,
            protocol: s.protocol.unwrap_or(FirstProtocol::None),
            tls_sni,
            tls_alpn,
            http_requests: s.http_requests,
            flags: s.flags.to_string(),
            ts_ns: s.first_ts,
            proxy,
        };
        let key = (row.ts_ns, file_ord, row.packet, 0, 0);
        self.reorder.push(key, row);
    }

    /// Hands rows that can no longer be preceded by another to `emit`, in order.
    fn release(
        &mut self,
        all: bool,
        emit: &mut dyn FnMut(ConnectionRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let bound = if all {
            i64::MAX
        } else {
            // A live connection's row will come with its first packet's time.
            let slack = self.max_ts.saturating_sub(REORDER_SLACK_NS);
            self.tracker
                .connections()
                .map(|c| c.app.first_ts)
                .min()
                .map_or(slack, |t| t.min(slack))
        };
        self.reorder
            .release(bound, &mut self.stats.rows_released_reorder_cap, emit)
    }

    /// Walks one capture (the next file of the run) on `engine`.
    pub fn walk_capture(
        &mut self,
        engine: &Engine,
        mut cap: Capture,
        name: String,
        emit: &mut dyn FnMut(ConnectionRow) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let ord = self.files.len() as u32;
        self.files.push(FileCtx {
            name,
            precision: capture_precision(&cap),
        });
        let (stopped, walk) = walk_segments(engine, &mut cap, &AllSegmentsJob, ord, self, emit)?;
        self.walk.merge(&walk);
        Ok(stopped)
    }

    /// End of all input: every connection still open is closed (`end` = open).
    pub fn finish(
        &mut self,
        emit: &mut dyn FnMut(ConnectionRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let events = &mut self.events;
        self.heads.finish(&mut |ev| events.push(ev));
        let mut proto = ConnProtocol {
            at: SegPos {
                ts_ns: self.max_ts,
                packet_index: 0,
            },
            stats: &mut self.first,
            closed: &mut self.closed,
        };
        self.tracker.finish(&mut proto, &mut self.tcp);
        self.settle();
        self.release(true, emit)
    }
}

impl SegmentStage for ConnectionStage<'_> {
    type Row = ConnectionRow;

    fn segment(&mut self, seg: SegmentMeta<'_>) {
        self.max_ts = self.max_ts.max(seg.ts_ns);
        self.push(seg);
    }

    fn release(
        &mut self,
        emit: &mut dyn FnMut(ConnectionRow) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        ConnectionStage::release(self, false, emit)
    }

    fn outcomes(&mut self) -> &mut Outcomes {
        &mut self.packets
    }
}

impl Stage for ConnectionStage<'_> {
    type Row = ConnectionRow;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, ConnectionRow>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let name = capture.path.display().to_string();
        self.walk_capture(engine, capture, name, emit)
    }

    fn finish(&mut self, emit: &mut RowEmitter<'_, ConnectionRow>) -> ControlFlow<()> {
        ConnectionStage::finish(self, emit)
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.walk);
        report.packets.merge(&self.packets);
        report.section("connections", &self.stats);
        report.section("first_bytes", &self.first);
        report.section("tcp", &self.tcp);
        report.section("reassembly", self.heads.stats());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_serialized_counter_is_listed() {
        crate::vocab::counters::assert_counters_cover(&ConnectionStats::default());
        crate::vocab::counters::assert_counters_cover(&FirstBytesStats::default());
    }
}
