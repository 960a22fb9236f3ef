//! Ctrl-C (SIGINT) and SIGTERM. The first one sets a flag the engine looks at: the run
//! ends as if its input ended there, the rows still held are released, the output is
//! written whole (with `-o FILE`, still put in place), the summary says `interrupted`, and
//! the exit status is 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). A second one
//! ends the process at once, by the signal's default action: the output may then end in
//! the middle of a row (and `-o FILE` keeps its old contents).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag, and the signal that set it.
struct State {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

static STATE: OnceLock<State> = OnceLock::new();

/// Install the handlers. Without them (the registration failed) a signal kills the
/// process, as it would any program.
pub fn install() -> std::io::Result<()> {
    let state = State {
        flag: Arc::new(AtomicBool::new(false)),
        signal: Arc::new(AtomicUsize::new(0)),
    };
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // In this order: the second signal finds the flag set by the first and takes
        // the default action; the first finds it clear, records itself, then sets it.
        signal_hook::flag::register_conditional_default(sig, state.flag.clone())?;
        let value = usize::try_from(sig).unwrap_or_default();
        signal_hook::flag::register_usize(sig, state.signal.clone(), value)?;
        signal_hook::flag::register(sig, state.flag.clone())?;
    }
    let _ = STATE.set(state);
    Ok(())
}

/// The flag the engine watches, once the handlers are installed.
pub fn flag() -> Option<Arc<AtomicBool>> {
    STATE.get().map(|s| s.flag.clone())
}

/// The exit status of an interrupted run (128 + the signal), `None` when no signal came.
pub fn status() -> Option<ExitCode> {
    let s = STATE.get()?;
    if !s.flag.load(Ordering::SeqCst) {
        return None;
    }
    let signal = s.signal.load(Ordering::SeqCst);
    Some(ExitCode::from(u8::try_from(128 + signal).unwrap_or(130)))
}
