//! The table on a real terminal: the binary's standard output (and standard error) on a
//! pseudo-terminal of 80 and 200 columns (openpty with its window size set, the child on
//! the slave side, the test reading the master). No line is wider than the terminal, the
//! compact columns show, rows show before a live input ends, and colour is on on a
//! terminal and off with NO_COLOR, `--color never` or into a pipe.

use crate::util::repo_root;
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use unicode_width::UnicodeWidthStr;

const BACK: &str = "testdata/sample/back.pcap";
const FRONT: &str = "testdata/sample/front.pcap";

/// A pseudo-terminal of `cols` columns: (master, slave).
fn pty(cols: u16) -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let ws = libc::winsize {
        ws_row: 50,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes the two descriptors through the pointers (live locals); the
    // name and termios pointers may be null; the winsize pointer points to a live local.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Read a pty master until the slave side is closed everywhere (EIO on Linux), in a
/// thread; chunks are sent as they come.
fn reader(mut master: File) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// What a terminal received, as text: the line discipline's CR LF made LF.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

/// `s` without ANSI escape sequences (CSI ... letter).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where a child's output goes in these tests.
#[derive(Clone, Copy)]
enum To {
    /// A terminal of this many columns.
    Tty(u16),
    /// A pipe.
    Pipe,
}

/// Run the binary with stdout and stderr as `out` and `err` say (stdin closed),
/// `env` set (`CI=1`: no progress bar; no `COLUMNS`, no `NO_COLOR` unless given); returns
/// (status, stdout, stderr).
fn run_on(args: &[&str], out: To, err: To, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proxytrace"));
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env("CI", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut masters = Vec::new();
    for (i, to) in [out, err].into_iter().enumerate() {
        let stdio = match to {
            To::Tty(cols) => {
                let (m, s) = pty(cols);
                masters.push((i, reader(m)));
                Stdio::from(s)
            }
            To::Pipe => Stdio::piped(),
        };
        if i == 0 {
            cmd.stdout(stdio);
        } else {
            cmd.stderr(stdio);
        }
    }
    let child = cmd.spawn().unwrap();
    // The slaves' only other copies were in `cmd`: drop it so EOF reaches the readers.
    drop(cmd);
    let output = child.wait_with_output().unwrap();
    let mut got = [output.stdout, output.stderr];
    for (i, rx) in masters {
        got[i] = rx.iter().flatten().collect();
    }
    (
        output.status.code().unwrap_or(-1),
        text(&got[0]),
        text(&got[1]),
    )
}

/// The header's cells (split at runs of two spaces).
fn header_cells(table: &str) -> Vec<String> {
    let first = plain(table.lines().next().unwrap_or_default());
    first
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Each shown header names one of `compact` in its order (a cut header ends in `…`).
fn shows_in_order(cells: &[String], compact: &[&str]) -> bool {
    let mut rest = compact.iter();
    cells.iter().all(|c| {
        let stem = c.trim_end_matches('…');
        rest.any(|n| {
            if c.ends_with('…') {
                n.starts_with(stem)
            } else {
                *n == stem
            }
        })
    })
}

fn widest(s: &str) -> usize {
    s.lines().map(|l| plain(l).width()).max().unwrap_or(0)
}

const REQUESTS: &[&str] = &[
    "time",
    "client_ip",
    "identity_source",
    "method",
    "host",
    "target",
    "flags",
];
const SYNS: &[&str] = &[
    "time",
    "direction",
    "src_ip",
    "dst_ip",
    "os_name",
    "os_flavor",
    "match_quality",
    "signature",
];
const JOIN: &[&str] = &[
    "time",
    "client_ip",
    "join_confidence",
    "syn_os_name",
    "syn_os_flavor",
    "front_src_ip",
    "front_src_port",
    "method",
    "target",
];

/// The default table of `requests`, `syns` and `join` on a terminal: at 200 columns the
/// whole compact set, at 80 what fits (in order, the first columns always there) with a
/// note on stderr naming what was left out; never a line wider than the terminal.
#[test]
fn default_tables_fit_80_and_200_columns() {
    let join = [
        "join",
        "--front",
        FRONT,
        "--back",
        BACK,
        "--trusted",
        "10.0.0.2",
    ];
    let cases: [(&[&str], &[&str], &[&str]); 3] = [
        (&["requests", BACK], REQUESTS, &["time", "client_ip"]),
        (&["syns", FRONT], SYNS, &["time", "direction", "src_ip"]),
        (&join, JOIN, &["time", "client_ip"]),
    ];
    for (args, compact, always) in cases {
        let (code, out, err) = run_on(args, To::Tty(200), To::Pipe, &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(header_cells(&out), *compact, "{args:?}: {out}");
        assert!(widest(&out) <= 200, "{args:?}: {out}");
        assert!(!err.contains("left out"), "{err}");
        let (code, out, err) = run_on(args, To::Tty(80), To::Pipe, &[]);
        assert_eq!(code, 0, "{err}");
        let cells = header_cells(&out);
        assert!(shows_in_order(&cells, compact), "{args:?}: {cells:?}");
        assert_eq!(cells[..always.len()], *always, "{args:?}: {out}");
        assert!(
            widest(&out) <= 80,
            "{args:?}: widest {}: {out}",
            widest(&out)
        );
        if cells.len() < compact.len() {
            assert!(err.contains("left out to fit 80 columns"), "{err}");
        }
        // As many rows as the CSV has.
        let mut csv = args.to_vec();
        csv.extend(["--format", "csv"]);
        let (_, rows, _) = run_on(&csv, To::Pipe, To::Pipe, &[]);
        assert_eq!(out.lines().count(), rows.lines().count(), "{args:?}");
    }
}

/// A generated capture: more than a page of rows (widths from the first page, later
/// rows cut or a new header when an address is wider), IPv6 clients, long targets:
/// still no line wider than the terminal, whatever the columns chosen.
#[test]
fn generated_capture_never_overflows_the_terminal() {
    let dir = std::env::temp_dir().join(format!("proxytrace-tty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ScenarioConfig {
        seed: 5,
        back_bytes: 2 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let back = files.back.to_str().unwrap();
    let front = files.front.to_str().unwrap();
    for cols in [80, 200] {
        for args in [
            vec!["requests", back],
            vec!["connections", back],
            vec!["flows", back],
            vec!["syns", front],
            vec!["syns", "--summary", front],
            vec!["join", "--front", front, "--back", back],
            vec!["proxies", back],
        ] {
            let (code, out, err) = run_on(&args, To::Tty(cols), To::Pipe, &[]);
            assert_eq!(code, 0, "{err}");
            assert!(out.lines().count() > 1, "{args:?}");
            let w = widest(&out);
            assert!(w <= usize::from(cols), "{args:?} at {cols}: {w}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Colour: on a terminal by default (header bold, the summary's totals bold on a terminal
/// stderr); off with NO_COLOR (but not with an empty NO_COLOR), with --color never, and
/// into a pipe; --color always colours a pipe too, but never CSV or JSON.
#[test]
fn colour_on_a_terminal_and_off_with_no_color_or_a_pipe() {
    let bold_header = "\x1b[1mtime\x1b[0m";
    let bold_totals = "\x1b[1mproxytrace: 1 file";
    let args = ["requests", BACK];
    let (_, out, err) = run_on(&args, To::Tty(200), To::Tty(200), &[]);
    assert!(out.starts_with(bold_header), "{out:?}");
    assert!(err.starts_with(bold_totals), "{err:?}");
    let (_, out, err) = run_on(&args, To::Tty(200), To::Tty(200), &[("NO_COLOR", "")]);
    assert!(out.starts_with(bold_header), "{out:?}");
    assert!(err.starts_with(bold_totals), "{err:?}");
    for env in [&[("NO_COLOR", "1")][..], &[]] {
        let mut a = args.to_vec();
        if env.is_empty() {
            a.extend(["--color", "never"]);
        }
        let (_, out, err) = run_on(&a, To::Tty(200), To::Tty(200), env);
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(!err.contains('\x1b'), "{err:?}");
        assert!(out.starts_with("time "), "{out:?}");
    }
    let table = ["requests", "--format", "table", BACK];
    let (_, out, err) = run_on(&table, To::Pipe, To::Pipe, &[]);
    assert!(
        !out.contains('\x1b') && !err.contains('\x1b'),
        "{out:?}{err:?}"
    );
    let mut always = table.to_vec();
    always.extend(["--color", "always"]);
    let (_, out, err) = run_on(&always, To::Pipe, To::Pipe, &[]);
    assert!(out.starts_with(bold_header), "{out:?}");
    assert!(err.starts_with(bold_totals), "{err:?}");
    for format in ["csv", "jsonl", "json"] {
        let a = ["requests", "--color", "always", "--format", format, BACK];
        let (_, out, _) = run_on(&a, To::Tty(200), To::Pipe, &[]);
        assert!(!out.contains('\x1b'), "{format}: {out:?}");
    }
}

/// A live input on a terminal: `tcpdump -w - | proxytrace requests -` shows its table's
/// rows while the pipe stays open (the first page ends at the first flush).
#[test]
fn table_rows_show_before_a_live_input_ends() {
    let (master, slave) = pty(120);
    let rx = reader(master);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proxytrace"));
    cmd.args(["requests", "--identity-header", "X-Forwarded-For", "-"])
        .current_dir(repo_root())
        .env_remove("COLUMNS")
        .env("CI", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&crate::live::requests_pcap(
            1,
            1_767_225_600_000_000_000,
            true,
        ))
        .unwrap();
    stdin.flush().unwrap();
    let until = Instant::now() + Duration::from_secs(2);
    let mut seen = Vec::new();
    while !text(&seen).contains("/r/0") {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => break,
        }
    }
    let shown = text(&seen);
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(shown.contains("/r/0"), "no row within 2 s: {shown:?}");
    assert!(plain(&shown).starts_with("time "), "{shown:?}");
    assert!(status.success());
}
