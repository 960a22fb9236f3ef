//! The terminal: how wide standard output is (the table fits it) and whether to colour
//! the table (standard output) and the summary (standard error).

use crate::flags::ColorWhen;
use std::io::{self, IsTerminal};

/// The width the table fits, in columns: the terminal's (TIOCGWINSZ on standard output),
/// else `COLUMNS`, else 80 on a terminal that does not say; `None` (no limit) for a file
/// or a pipe without `COLUMNS`, and always for `-o FILE`.
pub fn stdout_width(to_file: bool) -> Option<usize> {
    if to_file {
        return None;
    }
    let tty = io::stdout().is_terminal();
    if tty {
        if let Some(w) = window_columns(libc::STDOUT_FILENO) {
            return Some(w);
        }
    }
    let env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    env.or(tty.then_some(80))
}

/// Whether standard output is a terminal a person reads (and not `-o FILE`).
pub fn stdout_is_terminal(to_file: bool) -> bool {
    !to_file && io::stdout().is_terminal()
}

/// The terminal's columns, when `fd` is one and says.
fn window_columns(fd: libc::c_int) -> Option<usize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points to a live
    // local of that type; on a descriptor that is not a terminal it fails and writes nothing.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// `NO_COLOR` set to anything but the empty string (no-color.org).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Colour the table on standard output: `always`, or `auto` on a terminal (not `-o FILE`)
/// without `NO_COLOR`.
pub fn color_stdout(when: ColorWhen, to_file: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => stdout_is_terminal(to_file) && !no_color(),
    }
}

/// Colour the summary on standard error: `always`, or `auto` when standard error is a
/// terminal and `NO_COLOR` is unset or empty.
pub fn color_stderr(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => io::stderr().is_terminal() && !no_color(),
    }
}
