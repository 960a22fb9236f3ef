//! [`Report`]: the one end-of-run account every command gives, in text or JSON.
//!
//! What was read (files, records, bytes, time), what was left out and why (skipped
//! records, undecodable packets, unreadable files, duplicate inputs) and which limits
//! were hit (caps of the flow table, the reorder buffer, the handshake tracker). Each
//! layer's statistics type lists its own counters through [`Counters`], next to its
//! fields, with the kind of each; no printer picks counters by name.

use super::inputs::InputReport;
use crate::capture::{CaptureError, WalkStats};
use crate::decode::Outcomes;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::vocab::counters::{Counter, CounterKind, Counters};

/// A group of counters from one layer (`reassembly`, `handshakes`, `front index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Stable snake_case name of the layer or phase.
    pub name: String,
    /// Its counters.
    pub counters: Vec<Counter>,
}

/// A capture that could not be opened or read to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedFile {
    /// As the user named it.
    pub file: String,
    /// The error, with its causes.
    pub error: String,
}

/// The account of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Captures read (to their end, or until the run was stopped).
    pub files: u64,
    /// Captures that could not be opened or read to their end.
    pub failed_files: Vec<FailedFile>,
    /// Packet records read, skipped records included.
    pub records: u64,
    /// Bytes of the (decompressed) captures walked through.
    pub bytes: u64,
    /// Bytes passed over while resynchronising after damage.
    pub damaged_bytes: u64,
    /// Records or blocks skipped or kept despite damage, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Compressed inputs that ended before their end marker.
    pub compressed_streams_cut: u64,
    /// Captures read only up to `--until` (in time order so far, the rest is past it; see
    /// `capture::TimeWindow`). Left out of JSON when zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub stopped_at_until: u64,
    /// What the records decoded to, undecodable ones by reason.
    pub packets: Outcomes,
    /// Rows handed to the sink. With an aggregate (`flows`, `--summary`) the front end
    /// sets it to the aggregate rows printed, and [`Report::aggregated`] to the rows
    /// folded into them.
    pub rows: u64,
    /// Rows folded into an aggregate, when the printed rows are aggregate rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregated: Option<u64>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Inputs left out before the run: duplicates, non-captures in directories.
    pub inputs: InputReport,
    /// Counters of the layers the command ran, in order.
    pub sections: Vec<Section>,
    /// Facts a reader needs to trust the rows (the clock offset a join used, and how it
    /// was found), one sentence each.
    pub notes: Vec<String>,
    /// The run was interrupted (Ctrl-C): its inputs were read only up to that moment, and
    /// the rows are those of the input read so far. Left out of JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Report {
    /// Add one capture's walk counters.
    pub fn add_walk(&mut self, w: &WalkStats) {
        self.records += w.records;
        self.bytes += w.bytes;
        self.damaged_bytes += w.damaged_bytes;
        for (reason, n) in &w.skipped {
            *self.skipped.entry(reason.name()).or_default() += n;
        }
        self.compressed_streams_cut += u64::from(w.stream_cut);
        self.stopped_at_until += u64::from(w.stopped_at_until.is_some());
    }

    /// Record a capture that could not be read.
    pub fn file_failed(&mut self, file: &str, error: &CaptureError) {
        self.failed_files.push(FailedFile {
            file: file.to_owned(),
            error: error_chain(error),
        });
    }

    /// Add a section of counters.
    pub fn section(&mut self, name: impl Into<String>, counters: &impl Counters) {
        self.sections.push(Section {
            name: name.into(),
            counters: counters.counters(),
        });
    }

    /// Read throughput, decimal gigabytes per second.
    pub fn gigabytes_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / self.seconds / 1e9
        } else {
            0.0
        }
    }

    /// Fold in the report of an earlier phase of the same run (a join's front pass):
    /// its reading totals add up, its sections are kept under `prefix`.
    pub fn absorb(&mut self, prefix: &str, other: Report) {
        self.files += other.files;
        self.failed_files.extend(other.failed_files);
        self.records += other.records;
        self.bytes += other.bytes;
        self.damaged_bytes += other.damaged_bytes;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.compressed_streams_cut += other.compressed_streams_cut;
        self.stopped_at_until += other.stopped_at_until;
        self.packets.merge(&other.packets);
        for mut s in other.sections {
            s.name = format!("{prefix} {}", s.name);
            self.sections.push(s);
        }
        self.notes.extend(other.notes);
        self.interrupted |= other.interrupted;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An error and its causes, `: `-separated, as the binary prints errors.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}
