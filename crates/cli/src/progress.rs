//! The progress bar on standard error (indicatif stays in the binary; the library reports
//! phases, files and bytes through `engine::Progress`).
//!
//! - Drawn only when standard error is a terminal (not in CI), and only once the run has
//!   lasted [`DELAY`]: a short run leaves the terminal as it found it.
//! - One bar per phase (`requests`: learning identity profiles, then rows; `join`: front
//!   index, front requests, offset estimate, back pass), over the phase's bytes on disk,
//!   with the file being read. A compressed file advances by its compressed bytes, so the
//!   bar ends at 100 %; standard input or a FIFO gets a spinner with bytes and rate, no
//!   total and no ETA.
//! - Taken off the terminal before the summary, on every return from a command (error or
//!   Ctrl-C included: the bar's `Drop`), and around every line of rows that reaches the
//!   same terminal on standard output ([`Gated`]): rows never share a line with it.

use proxytrace::capture::Input;
use proxytrace::engine::{Phase, Progress};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a run goes before the bar appears.
pub const DELAY: Duration = Duration::from_millis(300);

/// Environment variable overriding [`DELAY`] in milliseconds (tests draw at once with 0).
pub const DELAY_ENV: &str = "PROXYTRACE_PROGRESS_DELAY_MS";

/// File names longer than this are shown by their end.
const NAME_WIDTH: usize = 40;

/// Where the bar is in its life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Not drawn yet: the run has not lasted [`DELAY`].
    Waiting,
    /// On the terminal.
    Shown,
    /// Taken off for good.
    Done,
}

/// The bar and its state, shared with the thread that shows it after the delay.
#[derive(Clone)]
struct Handle {
    pb: indicatif::ProgressBar,
    show: Arc<Mutex<Show>>,
}

impl Handle {
    fn show(&self) -> MutexGuard<'_, Show> {
        self.show.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Put the bar on the terminal, unless it was taken off meanwhile.
    fn appear(&self) {
        let mut show = self.show();
        if *show == Show::Waiting {
            self.pb
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.pb.enable_steady_tick(Duration::from_millis(100));
            self.pb.force_draw();
            *show = Show::Shown;
        }
    }

    /// Take the bar off the terminal for good.
    fn retire(&self) {
        let mut show = self.show();
        if *show != Show::Done {
            self.pb.finish_and_clear();
            *show = Show::Done;
        }
    }
}

/// A bar over the bytes of a run's inputs.
pub struct Bar(Handle);

/// The bar standard output's rows must go around, while there is one and standard output
/// is a terminal ([`Gated`]).
static STDOUT_GATE: Mutex<Option<Handle>> = Mutex::new(None);

fn gate() -> MutexGuard<'static, Option<Handle>> {
    STDOUT_GATE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        // A file may grow while it is read: grow the total rather than show more than
        // 100 %.
        let b = &self.0.pb;
        let pos = b.position().saturating_add(bytes);
        if b.length().is_some_and(|l| pos > l) {
            b.set_length(pos);
        }
        b.inc(bytes);
    }

    fn phase(&self, phase: Phase, total: Option<u64>) {
        // Each setter may draw: the position goes back to 0 first, so that no frame
        // shows the old position against the new total.
        let b = &self.0.pb;
        b.reset();
        b.set_prefix(phase.name());
        b.set_message("");
        b.set_style(style(total.is_some()));
        match total {
            Some(t) => b.set_length(t),
            None => b.unset_length(),
        }
        // Each phase is seen, however short: the steady tick alone may skip one.
        if *self.0.show() == Show::Shown {
            b.force_draw();
        }
    }

    fn file(&self, name: &Path, _size: Option<u64>) {
        let shown = if name == Path::new("-") {
            "standard input".to_string()
        } else {
            short_name(name)
        };
        self.0.pb.set_message(shown);
    }
}

impl Bar {
    /// A bar over the inputs' total size (a spinner when one is a stream), or `None` when
    /// standard error is not a terminal or we run in CI. It appears after [`DELAY`]
    /// (indicatif draws nothing when `TERM` is unset or `dumb`).
    pub fn new(inputs: &[Input]) -> Option<Arc<Bar>> {
        if !io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
            return None;
        }
        let total = inputs.iter().try_fold(0u64, |sum, i| match i {
            Input::Path(p) => match std::fs::metadata(p) {
                Ok(m) if m.is_file() => Some(sum.saturating_add(m.len())),
                Ok(_) => None,
                Err(_) => Some(sum),
            },
            Input::Stdin => None,
        });
        let pb = indicatif::ProgressBar::with_draw_target(
            total,
            indicatif::ProgressDrawTarget::hidden(),
        );
        pb.set_style(style(total.is_some()));
        let handle = Handle {
            pb,
            show: Arc::new(Mutex::new(Show::Waiting)),
        };
        if io::stdout().is_terminal() {
            *gate() = Some(handle.clone());
        }
        let delay = std::env::var(DELAY_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DELAY, Duration::from_millis);
        if delay.is_zero() {
            handle.appear();
        } else {
            let later = handle.clone();
            // Holds the bar, not the `Bar`: dropping the `Bar` still takes it off.
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                later.appear();
            });
        }
        Some(Arc::new(Bar(handle)))
    }

    /// Take the bar off the terminal (before the summary); it is not drawn again.
    pub fn finish(&self) {
        let mut gate = gate();
        if gate
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(&h.show, &self.0.show))
        {
            *gate = None;
        }
        drop(gate);
        self.0.retire();
    }
}

impl Drop for Bar {
    /// A command that returns early (an error) takes the bar off before main prints why.
    fn drop(&mut self) {
        self.finish();
    }
}

/// The bar's look: a bar with total and ETA, or a spinner with bytes and rate.
fn style(known_total: bool) -> indicatif::ProgressStyle {
    let template = if known_total {
        "{prefix} {wide_msg} [{bar:25}] {binary_bytes}/{binary_total_bytes} \
         {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{spinner} {prefix} {wide_msg} {binary_bytes} {binary_bytes_per_sec}"
    };
    match indicatif::ProgressStyle::with_template(template) {
        Ok(s) => s.progress_chars("=> "),
        Err(_) => indicatif::ProgressStyle::default_bar(),
    }
}

/// A file name that fits the bar: the path as given, or its last [`NAME_WIDTH`]
/// characters after `…` (the end names the file); control characters escaped, as in
/// every cell that reaches a terminal.
fn short_name(p: &Path) -> String {
    let name: String = p
        .display()
        .to_string()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let n = name.chars().count();
    if n <= NAME_WIDTH {
        return name;
    }
    let tail: String = name.chars().skip(n - (NAME_WIDTH - 1)).collect();
    format!("…{tail}")
}

/// Print without tearing the bar.
pub fn suspend(bar: Option<&Arc<Bar>>, f: impl FnOnce()) {
    match bar {
        Some(b) => b.0.pb.suspend(f),
        None => f(),
    }
}

/// Most bytes of one line held back while a bar is on the same terminal; a longer line
/// takes the bar off for good and is written as it comes.
const MAX_HELD_LINE: usize = 1 << 16;

/// Standard output when it may be the bar's terminal: while a bar is up, only whole lines
/// are written, each batch with the bar cleared first and drawn again after, below them;
/// the start of a line waits for its end. Without a bar, bytes pass straight through.
pub struct Gated<W: Write> {
    inner: W,
    /// The start of a line not yet written.
    held: Vec<u8>,
}

impl<W: Write> Gated<W> {
    /// Standard output (or any writer to the bar's terminal).
    pub fn new(inner: W) -> Gated<W> {
        Gated {
            inner,
            held: Vec::new(),
        }
    }

    /// Write what is held, after taking the bar off for good: the line is left open on
    /// the terminal, and a bar drawn now would share it.
    fn release_held(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let bar = gate().take();
        if let Some(b) = bar {
            b.retire();
        }
        let held = std::mem::take(&mut self.held);
        self.inner.write_all(&held)
    }
}

impl<W: Write> Write for Gated<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = gate().clone();
        let Some(bar) = bar else {
            self.release_held()?;
            return self.inner.write(buf);
        };
        self.held.extend_from_slice(buf);
        if let Some(end) = self.held.iter().rposition(|&b| b == b'\n') {
            let lines = &self.held[..=end];
            let inner = &mut self.inner;
            bar.pb
                .suspend(|| inner.write_all(lines).and_then(|()| inner.flush()))?;
            self.held.drain(..=end);
        }
        if self.held.len() > MAX_HELD_LINE {
            self.release_held()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.release_held()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Gated<W> {
    fn drop(&mut self) {
        // An early return (an error) drops the output unflushed: what is held still goes.
        let _ = self.release_held();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(short_name(Path::new("a/b.pcap")), "a/b.pcap");
        let long = format!("/captures/{}/back-2026-01-01.pcap.gz", "x".repeat(60));
        let s = short_name(Path::new(&long));
        assert_eq!(s.chars().count(), NAME_WIDTH);
        assert!(s.starts_with('…') && s.ends_with("back-2026-01-01.pcap.gz"));
        assert_eq!(short_name(Path::new("a\u{1b}[2Kb")), "a?[2Kb");
    }
}
