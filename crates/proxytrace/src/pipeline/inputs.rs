//! [`Inputs`]: the captures a command reads, expanded, de-duplicated and ordered once.

use crate::capture::{
    self, CaptureError, DuplicateInput, ExpandOptions, ExpandSkip, Input, OpenOptions, TimeWindow,
    WalkStats,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// How to turn arguments into inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputOptions {
    /// How to open each capture (mapped or streamed).
    pub open: OpenOptions,
    /// Follow symlinks to directories inside walked directories.
    pub follow_dir_symlinks: bool,
    /// Leave out a capture whose first records equal an earlier input's. Commands that
    /// emit rows per record set it: the same capture twice would double every row.
    pub drop_same_records: bool,
    /// Read files in capture-time order (by their first record), so rotated files whose
    /// names do not sort in time order (`x.pcap9`, `x.pcap10`) continue each other's
    /// connections. `info`, which describes files one by one, keeps the given order.
    pub time_order: bool,
}

/// What expanding and de-duplicating the arguments left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputReport {
    /// Paths met in directory walks that are not inputs, by reason.
    pub skipped_paths: BTreeMap<&'static str, u64>,
    /// Inputs left out as duplicates of earlier ones.
    pub duplicates: u64,
    /// Directories that could not be listed (the run goes on without them, and fails).
    pub unlisted_directories: u64,
}

impl InputReport {
    /// One line of what was left out, or `None` when nothing was.
    pub fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.duplicates > 0 {
            parts.push(format!("duplicate inputs skipped: {}", self.duplicates));
        }
        if !self.skipped_paths.is_empty() {
            let by: Vec<String> = self
                .skipped_paths
                .iter()
                .map(|(why, n)| format!("{why} {n}"))
                .collect();
            parts.push(format!("paths skipped in directories: {}", by.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Arguments that yield nothing to read.
#[derive(Debug, thiserror::Error)]
pub enum InputsError {
    /// Every argument was empty, a duplicate or a directory without captures.
    #[error("no capture to read in {args}{}", .left_out.as_deref().map(|l| format!(" ({l})")).unwrap_or_default())]
    NoCapture {
        /// The arguments, space-separated.
        args: String,
        /// What was left out, when anything was.
        left_out: Option<String>,
    },
}

/// The captures of a run, in the order they are read.
#[derive(Debug, Clone)]
pub struct Inputs {
    files: Vec<Input>,
    open: OpenOptions,
    report: InputReport,
    /// Duplicates left out and directories that could not be listed, for the front end
    /// to show before the run (one line each).
    warnings: Vec<String>,
    /// Every file the arguments name, duplicates included: an output must be none of them.
    named: Vec<PathBuf>,
    /// The time window every capture is read with (`--since`/`--until`).
    window: TimeWindow,
}

impl Inputs {
    /// Expand `args` (`-` is standard input; directories are walked once per real
    /// directory, non-captures in them skipped and counted), leave out the same file met
    /// twice and, with `drop_same_records`, a capture whose first records equal an
    /// earlier one's, then order them. An argument list that yields no input is an error.
    pub fn gather(args: &[String], opts: InputOptions) -> Result<Inputs, InputsError> {
        let expansion = capture::expand_inputs_with(
            args,
            ExpandOptions {
                follow_dir_symlinks: opts.follow_dir_symlinks,
            },
        );
        let mut report = InputReport::default();
        let mut warnings: Vec<String> = Vec::new();
        for e in &expansion.errors {
            warnings.push(e.to_string());
            report.unlisted_directories += 1;
        }
        for (why, n) in &expansion.skipped {
            *report.skipped_paths.entry(skip_name(*why)).or_default() += n;
        }
        let mut named: Vec<PathBuf> = expansion
            .inputs
            .iter()
            .filter_map(|i| match i {
                Input::Path(p) => Some(p.clone()),
                Input::Stdin => None,
            })
            .collect();
        let mut duplicates: Vec<DuplicateInput> = expansion.same_file;
        let files = if opts.drop_same_records {
            let (kept, dropped) = capture::drop_duplicate_captures(expansion.inputs, opts.open);
            duplicates.extend(dropped);
            kept
        } else {
            expansion.inputs
        };
        for d in &duplicates {
            warnings.push(format!("warning: {d}"));
            named.push(d.skipped.clone());
        }
        report.duplicates = duplicates.len() as u64;
        if files.is_empty() {
            return Err(InputsError::NoCapture {
                args: args.join(" "),
                left_out: report.line(),
            });
        }
        let files = if opts.time_order {
            in_time_order(files, opts.open)
        } else {
            files
        };
        Ok(Inputs {
            files,
            open: opts.open,
            report,
            warnings,
            named,
            window: TimeWindow::default(),
        })
    }

    /// Inputs taken as given: no expansion, no duplicate check, no reordering.
    pub fn from_files(files: Vec<Input>, open: OpenOptions) -> Inputs {
        let named = files
            .iter()
            .filter_map(|i| match i {
                Input::Path(p) => Some(p.clone()),
                Input::Stdin => None,
            })
            .collect();
        Inputs {
            files,
            open,
            report: InputReport::default(),
            warnings: Vec::new(),
            named,
            window: TimeWindow::default(),
        }
    }

    /// Read every capture keeping only records in `window` (see `capture::TimeWindow`).
    pub fn with_window(mut self, window: TimeWindow) -> Inputs {
        self.window = window;
        self
    }

    /// The time window the captures are read with.
    pub fn window(&self) -> TimeWindow {
        self.window
    }

    /// The time of the first packet record of the earliest input (by its first record),
    /// ns since the epoch: what `+DURATION` times are relative to. `None` when an input
    /// can be read only once (standard input, a FIFO) or no input has a packet.
    pub fn first_packet_ns(&self) -> Option<i64> {
        if self.files.iter().any(Input::is_read_once) {
            return None;
        }
        self.files
            .iter()
            .filter_map(|i| first_timestamp(i, self.open))
            .min()
    }

    /// The captures, in reading order.
    pub fn files(&self) -> &[Input] {
        &self.files
    }

    /// How each capture is opened.
    pub fn open_options(&self) -> OpenOptions {
        self.open
    }

    /// What was left out.
    pub fn report(&self) -> &InputReport {
        &self.report
    }

    /// Lines to show before the run: duplicates left out, directories not listed.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A directory could not be listed: the run goes on, and ends with an error status.
    pub fn incomplete(&self) -> bool {
        self.report.unlisted_directories > 0
    }

    /// Every file the arguments named (duplicates too): an output must be none of them.
    pub fn named_files(&self) -> &[PathBuf] {
        &self.named
    }

    /// The captures' size on disk (compressed sizes for compressed files), for a
    /// progress display's total; `None` when one is standard input, a FIFO or a device
    /// (its length is unknown). A file that cannot be read counts as 0 bytes.
    pub fn total_bytes(&self) -> Option<u64> {
        self.files.iter().try_fold(0u64, |sum, input| match input {
            Input::Stdin => None,
            Input::Path(p) => match std::fs::metadata(p) {
                Ok(m) if m.is_file() => Some(sum.saturating_add(m.len())),
                Ok(_) => None,
                Err(_) => Some(sum),
            },
        })
    }

    /// Whether standard input is among the inputs (it can be read only once).
    pub fn has_stdin(&self) -> bool {
        self.files.contains(&Input::Stdin)
    }
}

/// The user-visible name of a directory-walk skip.
fn skip_name(why: ExpandSkip) -> &'static str {
    why.name()
}

/// Order inputs as capture times go. Each file's first record is read to learn its start;
/// stdin, a FIFO or a device cannot be re-read, so with one among the inputs the given
/// order is kept. Unreadable files sort last; their errors surface when they are read.
pub(crate) fn in_time_order(inputs: Vec<Input>, opts: OpenOptions) -> Vec<Input> {
    if inputs.len() < 2 || inputs.iter().any(Input::is_read_once) {
        return inputs;
    }
    let mut keyed: Vec<(Option<i64>, usize, Input)> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| (first_timestamp(&input, opts), i, input))
        .collect();
    keyed.sort_by_key(|(ts, i, _)| (ts.is_none(), *ts, *i));
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

fn first_timestamp(input: &Input, opts: OpenOptions) -> Option<i64> {
    let mut cap = capture::open(input, opts).ok()?;
    let mut ts = None;
    let mut stats = WalkStats::default();
    let walked: Result<_, CaptureError> = cap.walk(&mut stats, |r| {
        ts = Some(r.ts_ns);
        ControlFlow::Break(())
    });
    walked.ok()?;
    ts
}
