//! The progress bar on standard error (indicatif stays in the binary; the library reports
//! progress through `engine::Progress`).

use proxytrace::capture::Input;
use proxytrace::engine::Progress;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

/// A bar over the bytes of a run's inputs.
pub struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        // Compressed inputs advance by decompressed bytes: grow the total rather than
        // show more than 100 %.
        let b = &self.0;
        let pos = b.position().saturating_add(bytes);
        if b.length().is_some_and(|l| pos > l) {
            b.set_length(pos);
        }
        b.inc(bytes);
    }
}

impl Bar {
    /// A bar over the inputs' total size, or `None` when standard error is not a
    /// terminal or we run in CI.
    pub fn new(inputs: &[Input]) -> Option<Arc<Bar>> {
        if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
            return None;
        }
        let total: u64 = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                Input::Stdin => None,
            })
            .sum();
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{wide_msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(Arc::new(Bar(bar)))
    }

    /// Take the bar off the terminal (before the summary).
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Print without tearing the bar.
pub fn suspend(bar: Option<&Arc<Bar>>, f: impl FnOnce()) {
    match bar {
        Some(b) => b.0.suspend(f),
        None => f(),
    }
}
