//! The end-of-run summary on standard error, the same for every command: the run's
//! [`Report`] as text (one totals line, every non-zero loss and cap counter by section,
//! then what the inputs left out and the notes) or as one JSON object (`--stats json`).

use crate::flags::StatsFormat;
use proxytrace::pipeline::{CounterKind, Report};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;

/// Whether the text summary is coloured (`--color`, decided for standard error once).
static COLOR: OnceLock<bool> = OnceLock::new();

/// Colour the text summary (or not) from now on; the first call decides.
pub fn set_color(on: bool) {
    let _ = COLOR.set(on);
}

/// Print `report` on standard error in `format`.
pub fn print(report: &Report, format: StatsFormat) {
    let text = match format {
        StatsFormat::None => return,
        StatsFormat::Json => match serde_json::to_string(report) {
            Ok(json) => json + "\n",
            Err(e) => format!("proxytrace: cannot write the summary as JSON: {e}\n"),
        },
        StatsFormat::Text if COLOR.get().copied().unwrap_or(false) => colorize(&text(report)),
        StatsFormat::Text => text(report),
    };
    // A summary that cannot be written (stderr closed) is not worth failing the run.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The text form in colour: the totals bold, an unreadable file red, every other loss,
/// cap or skip and an interruption yellow (the words are the same: colour only helps).
pub fn colorize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in text.lines().enumerate() {
        let style = if i == 0 {
            "\x1b[1m"
        } else if line.starts_with("  unreadable files") {
            "\x1b[31m"
        } else if line.starts_with("  ") || line.starts_with("proxytrace: interrupted") {
            "\x1b[33m"
        } else {
            ""
        };
        if style.is_empty() {
            out.push_str(line);
        } else {
            let _ = write!(out, "{style}{line}\x1b[0m");
        }
        out.push('\n');
    }
    out
}

/// The text form.
pub fn text(r: &Report) -> String {
    let mut s = format!(
        "proxytrace: {} file{}, {} records, {} bytes, {:.2} s, {:.2} GB/s; {} row{}",
        r.files,
        if r.files == 1 { "" } else { "s" },
        r.records,
        r.bytes,
        r.seconds,
        r.gigabytes_per_second(),
        r.rows,
        if r.rows == 1 { "" } else { "s" },
    );
    if let Some(n) = r.aggregated {
        let _ = write!(s, " from {n} match{}", if n == 1 { "" } else { "es" });
    }
    s.push('\n');
    if r.interrupted {
        s.push_str("proxytrace: interrupted: the input was read until then, the rows are whole\n");
    }
    if !r.failed_files.is_empty() {
        let _ = writeln!(s, "  unreadable files: {}", r.failed_files.len());
    }
    for (reason, n) in &r.skipped {
        let _ = writeln!(s, "  skipped {reason}: {n}");
    }
    if r.damaged_bytes > 0 {
        let _ = writeln!(s, "  damaged bytes: {}", r.damaged_bytes);
    }
    if r.compressed_streams_cut > 0 {
        let _ = writeln!(s, "  cut compressed streams: {}", r.compressed_streams_cut);
    }
    if r.stopped_at_until > 0 {
        let _ = writeln!(
            s,
            "  files read only up to --until (in time order so far): {}",
            r.stopped_at_until
        );
    }
    for (reason, n) in r.packets.undecodable_names() {
        if n > 0 {
            let _ = writeln!(s, "  undecodable {reason}: {n}");
        }
    }
    for section in &r.sections {
        for c in &section.counters {
            if c.value > 0 && c.kind != CounterKind::Volume {
                let _ = writeln!(s, "  {} {}: {}", section.name, c.name, c.value);
            }
        }
    }
    if let Some(line) = r.inputs.line() {
        let _ = writeln!(s, "proxytrace: inputs: {line}");
    }
    for note in &r.notes {
        let _ = writeln!(s, "proxytrace: {note}");
    }
    s
}
