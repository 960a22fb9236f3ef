//! `proxytrace info`: what a capture file is and what its packets decode to, one
//! [`FileInfo`] per capture (`text.rs` is its human-readable form).

mod text;

pub use text::write_text;

use crate::capture::{
    ByteOrder, Capture, CaptureError, Compression, FileFormat, Interface, Parser, Record, WalkStats,
};
use crate::decode::Outcomes;
use crate::decode::{self, link_type_name};
use crate::engine::{Engine, Job};
use crate::pipeline::{self, Inputs, Report, RowEmitter, Sink, Stage};
use crate::timefmt::{rfc3339, Precision};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// One capture interface (pcap: the file's one link type).
#[derive(Debug, Clone, Serialize)]
pub struct InterfaceInfo {
    /// Index of the interface in the file (pcapng: in its section).
    pub index: u32,
    /// The pcapng section it belongs to (0 for pcap).
    pub section: u32,
    /// Link type number (LINKTYPE_*).
    pub link_type: u16,
    /// Link type name.
    pub link_type_name: &'static str,
    /// Snap length: bytes kept per packet at most.
    pub snaplen: u32,
    /// Timestamp resolution as units per second (1000000 = microseconds).
    pub ts_units_per_sec: u64,
    /// Offset added to the interface's timestamps, seconds (pcapng if_tsoffset).
    pub ts_offset_s: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Interface name, when the capture gives one.
    pub name: Option<String>,
}

/// Everything `info` reports about one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// The capture as named (`-` for standard input).
    pub file: String,
    /// `pcap` or `pcapng`.
    pub format: &'static str,
    /// Compression of the file (none, gzip, zstd).
    pub compression: Compression,
    /// `little-endian`, `big-endian`, or `mixed` (pcapng sections of both orders).
    pub byte_order: &'static str,
    /// `microsecond`, `nanosecond`, or for pcapng the interfaces' resolutions.
    pub time_resolution: String,
    /// Legacy pcap: format version and whether it is the modified (Kuznetzov) variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether the pcap is the modified (Kuznetzov) variant.
    pub modified: bool,
    /// pcapng sections (1 for pcap).
    pub sections: u32,
    /// The interfaces.
    pub interfaces: Vec<InterfaceInfo>,
    /// Bytes of the file (decompressed bytes for compressed inputs).
    pub bytes: u64,
    /// Size on disk, when known (compressed size for .gz/.zst).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    /// Records read.
    pub records: u64,
    /// Bytes of packet data captured.
    pub captured_bytes: u64,
    /// Earliest and latest record timestamps (RFC 3339, UTC, file precision).
    pub first_time: Option<String>,
    /// Latest record timestamp (RFC 3339, UTC, file precision).
    pub last_time: Option<String>,
    /// Records cut by the snap length (captured < original length).
    pub truncated_records: u64,
    /// What the records decoded to.
    pub packets: Outcomes,
    /// Records read but skipped, and damaged regions, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Bytes passed over while resynchronising after damage.
    pub damaged_bytes: u64,
    /// Offsets of the first damaged regions.
    pub damage: Vec<crate::capture::Damage>,
    /// The compressed stream ended before its end marker.
    pub compressed_stream_cut: bool,
}

/// Counts packet outcomes per chunk; chunks' counts add up.
struct InfoJob;

impl Job for InfoJob {
    type Chunk = Outcomes;
    type Out = Outcomes;
    fn start(&self) -> Outcomes {
        Outcomes::default()
    }
    fn record(&self, o: &mut Outcomes, rec: &Record<'_>) {
        o.count(&decode::decode(
            rec.link_type,
            rec.data,
            rec.orig_len,
            rec.ts_ns,
        ));
    }
    fn finish(&self, o: Outcomes, _: &WalkStats) -> Outcomes {
        o
    }
}

/// Read a whole capture with the process-wide engine and describe it.
pub fn describe(cap: Capture) -> Result<FileInfo, CaptureError> {
    match Engine::shared() {
        Ok(engine) => describe_with(engine, cap),
        // No worker threads to be had: walk on this thread.
        Err(_) => describe_sequential(cap),
    }
}

/// Read a whole capture with `engine` and describe it.
pub fn describe_with(engine: &Engine, cap: Capture) -> Result<FileInfo, CaptureError> {
    describe_run(engine, cap).map(|(info, _)| info)
}

/// [`describe_with`], with the walk's counters for the run's report.
fn describe_run(engine: &Engine, mut cap: Capture) -> Result<(FileInfo, WalkStats), CaptureError> {
    let mut outcomes = Outcomes::default();
    let run = engine.run(&mut cap, &InfoJob, |o, _| {
        outcomes.merge(&o);
        ControlFlow::Continue(())
    })?;
    Ok((summarize(&cap, &run.stats, outcomes), run.stats))
}

/// Describes each capture of a run, one [`FileInfo`] row per file.
#[derive(Default)]
pub struct InfoStage {
    walk: WalkStats,
    packets: Outcomes,
}

impl Stage for InfoStage {
    type Row = FileInfo;

    fn file(
        &mut self,
        engine: &Engine,
        capture: Capture,
        emit: &mut RowEmitter<'_, FileInfo>,
    ) -> Result<ControlFlow<()>, CaptureError> {
        let (info, walk) = describe_run(engine, capture)?;
        self.walk.merge(&walk);
        self.packets.merge(&info.packets);
        Ok(emit(info))
    }

    fn finish(&mut self, _: &mut RowEmitter<'_, FileInfo>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn report(&self, report: &mut Report) {
        report.add_walk(&self.walk);
        report.packets.merge(&self.packets);
    }
}

/// Describe every capture of `inputs` (in the given order) to `sink`.
pub fn run<S: Sink<FileInfo> + ?Sized>(
    engine: &Engine,
    inputs: &Inputs,
    sink: &mut S,
) -> Result<Report, S::Error> {
    engine.phase(crate::engine::Phase::Reading, inputs.total_bytes());
    pipeline::run(engine, inputs, &mut InfoStage::default(), sink)
}

/// The sequential walk, without the engine (the reference the engine must equal).
pub fn describe_sequential(mut cap: Capture) -> Result<FileInfo, CaptureError> {
    let mut stats = WalkStats::default();
    let mut outcomes = InfoJob.start();
    cap.walk(&mut stats, |rec: &Record<'_>| {
        InfoJob.record(&mut outcomes, rec);
        ControlFlow::Continue(())
    })?;
    Ok(summarize(&cap, &stats, outcomes))
}

/// Describe a capture from a finished walk's counters and outcomes.
pub fn summarize(cap: &Capture, stats: &WalkStats, packets: Outcomes) -> FileInfo {
    let (format, byte_order, time_resolution, version, modified, sections, interfaces, precision) =
        match (&cap.format, &cap.parser) {
            (
                FileFormat::Pcap {
                    order,
                    resolution,
                    modified,
                },
                Parser::Legacy(p),
            ) => {
                let iface = InterfaceInfo {
                    index: 0,
                    section: 0,
                    link_type: p.link_type,
                    link_type_name: link_type_name(p.link_type),
                    snaplen: p.snaplen,
                    ts_units_per_sec: match resolution {
                        crate::capture::TimeResolution::Micro => 1_000_000,
                        crate::capture::TimeResolution::Nano => 1_000_000_000,
                    },
                    ts_offset_s: 0,
                    name: None,
                };
                let precision = match resolution {
                    crate::capture::TimeResolution::Micro => Precision::MICRO,
                    crate::capture::TimeResolution::Nano => Precision::NANO,
                };
                (
                    "pcap",
                    order.name(),
                    resolution.name().to_string(),
                    Some(format!("{}.{}", p.version.0, p.version.1)),
                    *modified,
                    1,
                    vec![iface],
                    precision,
                )
            }
            (_, Parser::Ng(p)) => {
                let ifaces: Vec<InterfaceInfo> = p
                    .interfaces
                    .iter()
                    .enumerate()
                    .map(|(i, f)| iface_info(i, f))
                    .collect();
                let orders: Vec<ByteOrder> = p.interfaces.iter().map(|i| i.order).collect();
                let order = if orders.iter().all(|o| *o == ByteOrder::Big) && !orders.is_empty() {
                    "big-endian"
                } else if orders.contains(&ByteOrder::Big) {
                    "mixed"
                } else {
                    p.order.name()
                };
                let mut res: Vec<String> = p
                    .interfaces
                    .iter()
                    .map(|i| resolution_name(i.units_per_sec))
                    .collect();
                res.dedup();
                let finest = p
                    .interfaces
                    .iter()
                    .map(|i| i.units_per_sec)
                    .max()
                    .unwrap_or(1_000_000);
                let precision = if finest > 1_000_000 {
                    Precision::NANO
                } else {
                    Precision::MICRO
                };
                (
                    "pcapng",
                    order,
                    res.join(","),
                    None,
                    false,
                    p.sections,
                    ifaces,
                    precision,
                )
            }
            // The parser always matches the detected format.
            _ => (
                "unknown",
                "unknown",
                String::new(),
                None,
                false,
                0,
                Vec::new(),
                Precision::NANO,
            ),
        };
    let mut skipped = BTreeMap::new();
    for (reason, n) in &stats.skipped {
        skipped.insert(reason.name(), *n);
    }
    FileInfo {
        file: cap.path.display().to_string(),
        format,
        compression: cap.compression,
        byte_order,
        time_resolution,
        version,
        modified,
        sections,
        interfaces,
        bytes: stats.bytes,
        file_bytes: cap.file_len,
        records: stats.records,
        captured_bytes: stats.captured_bytes,
        first_time: stats.min_ts_ns.map(|t| rfc3339(t, precision)),
        last_time: stats.max_ts_ns.map(|t| rfc3339(t, precision)),
        truncated_records: stats.truncated,
        packets,
        skipped,
        damaged_bytes: stats.damaged_bytes,
        damage: stats.damage.clone(),
        compressed_stream_cut: stats.stream_cut,
    }
}

fn iface_info(i: usize, f: &Interface) -> InterfaceInfo {
    InterfaceInfo {
        index: i as u32,
        section: f.section,
        link_type: f.link_type,
        link_type_name: link_type_name(f.link_type),
        snaplen: f.snaplen,
        ts_units_per_sec: f.units_per_sec,
        ts_offset_s: f.offset_s,
        name: f.name.clone(),
    }
}

fn resolution_name(units: u64) -> String {
    match units {
        1 => "second".into(),
        1_000 => "millisecond".into(),
        1_000_000 => "microsecond".into(),
        1_000_000_000 => "nanosecond".into(),
        u => format!("1/{u}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Undecodable;

    #[test]
    fn undecodable_reasons_are_counted_and_written_by_name() {
        let mut o = Outcomes::default();
        for e in [
            Undecodable::TruncatedIp,
            Undecodable::UnsupportedLinkType(147),
            Undecodable::TruncatedIp,
        ] {
            o.count(&Err(e));
        }
        assert_eq!(o.undecodable_total(), 3);
        assert_eq!(o.decoded(), 0);
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["undecodable"]["truncated_ip_header"], 2);
        assert_eq!(json["undecodable"]["unsupported_link_type_147"], 1);
        let mut merged = o.clone();
        merged.merge(&o);
        assert_eq!(merged.undecodable_names()["truncated_ip_header"], 4);
    }
}
