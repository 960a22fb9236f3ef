//! `proxytrace carve`: every packet of the selected TCP connections, copied into a new
//! capture of the input's format.
//!
//! Workers decode each record and copy the selected ones whole, byte for byte (pcap:
//! record header and data; pcapng: the packet block with its options); pcapng non-packet
//! blocks (section headers, interface descriptions, statistics, name resolution, custom)
//! are all copied, so interface numbers and options stay valid. The engine delivers each
//! chunk's bytes in file order, so the output is the same for any thread count, mapped or
//! streamed. A pcap input's global header starts its output ([`CarvedFile::header`]).
//!
//! What is selected is a set of 4-tuples ([`Selection`]), each in either direction: every
//! TCP segment of that 4-tuple is written whenever it was sent, so a 4-tuple reused by a
//! later connection (port reuse) has every one of its connections written; the run counts
//! such 4-tuples (`connections_reused`: their SYNs carried more than one initial sequence
//! number) and says so in a note. A first IP fragment holding the TCP header is matched by
//! its ports and written; later fragments (no ports), packets whose transport header is
//! cut, and non-TCP packets (ICMP, UDP) between the two hosts of a selected connection are
//! not written, only counted.

mod select;
#[cfg(test)]
mod tests;

pub use select::{parse_tuple, ConnKey, CsvSelection, Selection, SelectionError, MAX_SELECTED};

use crate::capture::{Capture, CaptureError, Compression, FileFormat, Record, WalkStats};
use crate::decode::{self, Decoded, Outcomes, Transport};
use crate::engine::{Engine, Job};
use crate::pipeline::{self, Inputs, Report, RowEmitter, Sink, Stage};
use crate::vocab::counters::{Counter, CounterKind, Counters};
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// A capture whose carved records follow: what its output starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarvedFile {
    /// The input as named.
    pub input: PathBuf,
    /// Its format (a carved capture keeps it).
    pub format: FileFormat,
    /// The compression it was read through: the carved capture is written uncompressed.
    pub compression: Compression,
    /// The bytes an output of this capture starts with: a pcap input's global header,
    /// byte for byte; empty for pcapng, whose section header comes as a block.
    pub header: Vec<u8>,
}

/// Why two captures cannot be carved into one output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incompatible {
    /// One is pcap, the other pcapng.
    #[error("{0} is pcap and {1} is pcapng")]
    Format(PathBuf, PathBuf),
    /// Two pcap global headers differ.
    #[error("the pcap headers of {first} and {other} differ in their {field}")]
    PcapHeader {
        /// The capture the output started with.
        first: PathBuf,
        /// The capture that differs.
        other: PathBuf,
        /// The field that differs.
        field: &'static str,
    },
}

impl CarvedFile {
    /// Whether this capture's records may follow `first`'s in one output: both pcapng
    /// (each input's sections follow each other: a valid pcapng), or both pcap with the
    /// same global header, byte for byte (byte order, time precision, version, time zone,
    /// snap length, link type).
    pub fn can_follow(&self, first: &CarvedFile) -> Result<(), Incompatible> {
        let pcap = |f: &CarvedFile| matches!(f.format, FileFormat::Pcap { .. });
        match (pcap(first), pcap(self)) {
            (false, false) => Ok(()),
            (true, false) => Err(Incompatible::Format(
                first.input.clone(),
                self.input.clone(),
            )),
            (false, true) => Err(Incompatible::Format(
                self.input.clone(),
                first.input.clone(),
            )),
            (true, true) => {
                const FIELDS: [(usize, usize, &str); 5] = [
                    (0, 4, "magic (byte order and time precision)"),
                    (4, 8, "version"),
                    (8, 16, "time zone and accuracy"),
                    (16, 20, "snap length"),
                    (20, 24, "link type"),
                ];
                let field = FIELDS
                    .iter()
                    .find(|(a, b, _)| first.header.get(*a..*b) != self.header.get(*a..*b))
                    .map(|f| f.2);
                match field {
                    None => Ok(()),
                    Some(field) => Err(Incompatible::PcapHeader {
                        first: first.input.clone(),
                        other: self.input.clone(),
                        field,
                    }),
                }
            }
        }
    }
}

/// What `carve` hands its sink, in order: for each capture a [`CarvePiece::Begin`], then
/// its carved bytes.
#[derive(Debug)]
pub enum CarvePiece {
    /// The next capture of the run begins.
    Begin(CarvedFile),
    /// Whole records and blocks of the current capture, in file order, to append.
    Bytes(Vec<u8>),
}

/// What a carve wrote and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CarveStats {
    /// Connections (4-tuples) selected.
    pub connections_selected: u64,
    /// Selected connections that had at least one packet in the inputs.
    pub connections_found: u64,
    /// Selected 4-tuples whose SYNs carried more than one initial sequence number: a
    /// later connection reused the 4-tuple (port reuse); all of them were written.
    pub connections_reused: u64,
    /// Packet records written.
    pub records_written: u64,
    /// Packet records read and not written (other traffic, undecodable and damaged
    /// records).
    pub records_skipped: u64,
    /// Bytes written (records, blocks and pcap headers).
    pub bytes_written: u64,
    /// pcapng non-packet blocks written.
    pub blocks_written: u64,
    /// Later IP fragments between the two hosts of a selected connection: no TCP
    /// header names their connection, so they are not written.
    pub fragments_same_hosts: u64,
    /// Packets between the two hosts of a selected connection whose TCP header is cut
    /// (snap length, a short first fragment): not written.
    pub transport_cut_same_hosts: u64,
    /// Non-TCP packets (ICMP, UDP, ...) between the two hosts of a selected connection:
    /// not written.
    pub other_protocols_same_hosts: u64,
}

impl Counters for CarveStats {
    fn counters(&self) -> Vec<Counter> {
        use CounterKind::{Loss, Volume};
        let s = self;
        vec![
            Counter::new("connections_selected", s.connections_selected, Volume),
            Counter::new("connections_found", s.connections_found, Volume),
            Counter::new("connections_reused", s.connections_reused, Loss),
            Counter::new("records_written", s.records_written, Volume),
            Counter::new("records_skipped", s.records_skipped, Volume),
            Counter::new("bytes_written", s.bytes_written, Volume),
            Counter::new("blocks_written", s.blocks_written, Volume),
            Counter::new("fragments_same_hosts", s.fragments_same_hosts, Loss),
            Counter::new("transport_cut_same_hosts", s.transport_cut_same_hosts, Loss),
            Counter::new(
                "other_protocols_same_hosts",
                s.other_protocols_same_hosts,
                Loss,
            ),
        ]
    }
}

impl CarveStats {
    fn merge(&mut self, o: &CarveStats) {
        self.records_written += o.records_written;
        self.bytes_written += o.bytes_written;
        self.blocks_written += o.blocks_written;
        self.fragments_same_hosts += o.fragments_same_hosts;
        self.transport_cut_same_hosts += o.transport_cut_same_hosts;
        self.other_protocols_same_hosts += o.other_protocols_same_hosts;
    }
}

/// One chunk's carving: the bytes to write and what was seen.
struct Carved {
    bytes: Vec<u8>,
    stats: CarveStats,
    outcomes: Outcomes,
    /// Ordinals of the selected connections written (consecutive repeats dropped).
    hits: Vec<u32>,
    /// (ordinal, sequence number) of each SYN without ACK of a selected connection.
    syns: Vec<(u32, u32)>,
}

/// Decides per record and copies the selected ones.
struct CarveJob<'s> {
    sel: &'s Selection,
}

impl Job for CarveJob<'_> {
    type Chunk = Carved;
    type Out = Carved;

    fn start(&self) -> Carved {
        Carved {
            bytes: Vec::new(),
            stats: CarveStats::default(),
            outcomes: Outcomes::default(),
            hits: Vec::new(),
            syns: Vec::new(),
        }
    }

    fn record(&self, c: &mut Carved, rec: &Record<'_>) {
        let decoded = decode::decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns);
        c.outcomes.count(&decoded);
        let Ok(Decoded::Ip(p)) = decoded else { return };
        let (src, dst) = (p.ip.src, p.ip.dst);
        match &p.transport {
            Transport::Tcp(t) => {
                let Some(i) = self.sel.find((src, t.src_port), (dst, t.dst_port)) else {
                    return;
                };
                c.bytes.extend_from_slice(rec.raw);
                c.stats.records_written += 1;
                c.stats.bytes_written += rec.raw.len() as u64;
                if c.hits.last() != Some(&i) {
                    c.hits.push(i);
                }
                if t.flags.syn() && !t.flags.ack() {
                    c.syns.push((i, t.seq));
                }
            }
            _ if !self.sel.joins_hosts(src, dst) => {}
            Transport::Fragment => c.stats.fragments_same_hosts += 1,
            Transport::Truncated => c.stats.transport_cut_same_hosts += 1,
            Transport::Udp(_) | Transport::Other => c.stats.other_protocols_same_hosts += 1,
        }
    }

    fn block(&self, c: &mut Carved, _offset: u64, raw: &[u8]) {
        c.bytes.extend_from_slice(raw);
        c.stats.blocks_written += 1;
        c.stats.bytes_written += raw.len() as u64;
    }

    fn finish(&self, c: Carved, _: &WalkStats) -> Carved {
        c
    }
}

/// Carves each capture of a run in turn.
struct CarveStage<'s> {
    sel: &'s Selection,
    stats: CarveStats,
    walk: WalkStats,
    outcomes: Outcomes,
    /// Per selected connection: the first SYN's sequence number.
    first_syn: Vec<Option<u32>>,
    found: Vec<bool>,
    reused: Vec<bool>,
    /// Compressed inputs, for the note that says their output is not.
    compressed: Vec<(PathBuf, Compression)>,
}

impl Stage for CarveStage<'_> {
    type Row = CarvePiece;

    fn file(
        &mut self,
        engine: &Engine,
        mut capture: Capture,
        emit: &mut RowEmitter<'_, CarvePiece>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let header = capture.file_header().to_vec();
        self.stats.bytes_written += header.len() as u64;
        if capture.compression != Compression::None {
            self.compressed
                .push((capture.path.clone(), capture.compression));
        }
        let begin = CarvedFile {
            input: capture.path.clone(),
            format: capture.format,
            compression: capture.compression,
            header,
        };
        if emit(CarvePiece::Begin(begin)).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        let job = CarveJob { sel: self.sel };
        let mut flow = ControlFlow::Continue(());
        let run = engine.run(&mut capture, &job, |out, _| {
            self.stats.merge(&out.stats);
            self.outcomes.merge(&out.outcomes);
            for &i in &out.hits {
                if let Some(f) = self.found.get_mut(i as usize) {
                    *f = true;
                }
            }
            for &(i, seq) in &out.syns {
                let i = i as usize;
                match self.first_syn.get(i).copied().flatten() {
                    None => {
                        if let Some(s) = self.first_syn.get_mut(i) {
                            *s = Some(seq);
                        }
                    }
                    Some(first) if first != seq => {
                        if let Some(r) = self.reused.get_mut(i) {
                            *r = true;
                        }
                    }
                    Some(_) => {}
                }
            }
            if !out.bytes.is_empty() {
                flow = emit(CarvePiece::Bytes(out.bytes));
            }
            flow
        })?;
        self.walk.merge(&run.stats);
        Ok(flow)
    }

    fn finish(&mut self, _: &mut RowEmitter<'_, CarvePiece>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn report(&self, report: &mut Report) {
        let mut stats = self.stats.clone();
        stats.connections_selected = self.sel.len() as u64;
        stats.connections_found = self.found.iter().filter(|f| **f).count() as u64;
        stats.connections_reused = self.reused.iter().filter(|r| **r).count() as u64;
        stats.records_skipped = self.walk.records.saturating_sub(stats.records_written);
        report.add_walk(&self.walk);
        report.packets.merge(&self.outcomes);
        report.section("carve", &stats);
        for (path, c) in &self.compressed {
            report.notes.push(format!(
                "{} is {c}-compressed: its carved packets are written uncompressed",
                path.display()
            ));
        }
        if stats.connections_reused > 0 {
            report.notes.push(format!(
                "{} selected 4-tuples carried more than one connection (port reuse: their SYNs \
                 have different sequence numbers); every connection of those 4-tuples was written",
                stats.connections_reused
            ));
        }
    }
}

/// Carve every capture of `inputs` (in their run order) into `sink`: for each, a
/// [`CarvePiece::Begin`] then its selected records and non-packet blocks, in file order.
/// The report's `carve` section counts what was written and left out; its `rows` are
/// the records written.
pub fn run<S: Sink<CarvePiece> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    selection: &Selection,
    sink: &mut S,
) -> Result<Report, S::Error> {
    let n = selection.len();
    let mut stage = CarveStage {
        sel: selection,
        stats: CarveStats::default(),
        walk: WalkStats::default(),
        outcomes: Outcomes::default(),
        first_syn: vec![None; n],
        found: vec![false; n],
        reused: vec![false; n],
        compressed: Vec::new(),
    };
    let mut report = pipeline::run(engine, inputs, &mut stage, sink)?;
    report.rows = stage.stats.records_written;
    Ok(report)
}
