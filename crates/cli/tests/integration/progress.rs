//! The progress bar. What the library reports (phases, files, bytes: a compressed file by
//! its compressed bytes), and what reaches a terminal: the binary is run with standard
//! error on a pseudo-terminal (libc::openpty) and the bytes it wrote are played on a small
//! terminal model; the final screen must hold no bar text, rows must never share a line
//! with the bar, and nothing is drawn when standard error is not a terminal.

use crate::util::{repo_root, testdata};
use proxytrace::commands::{join, requests};
use proxytrace::engine::{Engine, EngineOptions, Phase, Progress};
use proxytrace::extract::requests::{RequestRow, RequestsConfig};
use proxytrace::pipeline::{InputOptions, Inputs};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig, ScenarioFiles};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What a run told its progress display, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Phase(Phase, Option<u64>),
    File(PathBuf),
    Bytes(u64),
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Progress for Recorder {
    fn advance(&self, bytes: u64) {
        self.0.lock().unwrap().push(Event::Bytes(bytes));
    }
    fn phase(&self, phase: Phase, total: Option<u64>) {
        self.0.lock().unwrap().push(Event::Phase(phase, total));
    }
    fn file(&self, name: &Path, _size: Option<u64>) {
        self.0.lock().unwrap().push(Event::File(name.to_path_buf()));
    }
}

impl Recorder {
    /// Per phase: its total, the files opened and the bytes reported.
    fn phases(&self) -> Vec<(Phase, Option<u64>, Vec<PathBuf>, u64)> {
        let mut out: Vec<(Phase, Option<u64>, Vec<PathBuf>, u64)> = Vec::new();
        for e in self.0.lock().unwrap().iter() {
            match e {
                Event::Phase(p, t) => out.push((*p, *t, Vec::new(), 0)),
                Event::File(f) => out.last_mut().unwrap().2.push(f.clone()),
                Event::Bytes(n) => out.last_mut().unwrap().3 += n,
            }
        }
        out
    }
}

/// A generated pair, made once for the tests of this file (about 4 MB a side) and kept
/// for later runs under a fixed name (the generator is deterministic): made beside it and
/// renamed into place, so concurrent runs never see half a pair.
fn pair() -> &'static ScenarioFiles {
    static PAIR: OnceLock<ScenarioFiles> = OnceLock::new();
    PAIR.get_or_init(|| {
        let cfg = ScenarioConfig {
            seed: 5,
            back_bytes: 4 << 20,
            ..ScenarioConfig::default()
        };
        let dir = std::env::temp_dir().join("proxytrace-progress-pair-seed5-4M");
        if !dir.join("truth.jsonl").is_file() {
            let tmp =
                std::env::temp_dir().join(format!("proxytrace-progress-{}", std::process::id()));
            generate_to_dir(&cfg, &tmp).unwrap();
            if std::fs::rename(&tmp, &dir).is_err() {
                // Another run put its (identical) pair in place first.
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        ScenarioFiles {
            front: dir.join("front.pcap"),
            back: dir.join("back.pcap"),
            truth: dir.join("truth.jsonl"),
        }
    })
}

/// The generated back capture, gzipped beside it.
fn back_gz() -> &'static PathBuf {
    static GZ: OnceLock<PathBuf> = OnceLock::new();
    GZ.get_or_init(|| {
        let back = &pair().back;
        let gz = back.with_extension("pcap.gz");
        let tmp = back.with_extension(format!("{}.gz.tmp", std::process::id()));
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&tmp).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&std::fs::read(back).unwrap()).unwrap();
        enc.finish().unwrap();
        std::fs::rename(&tmp, &gz).unwrap();
        gz
    })
}

fn inputs(files: &[&Path]) -> Inputs {
    let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    Inputs::gather(
        &files,
        InputOptions {
            time_order: true,
            drop_same_records: true,
            ..InputOptions::default()
        },
    )
    .unwrap()
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// A gzip file's progress is its compressed bytes: each phase's total is the file's size
/// on disk and the bytes reported add up to exactly that (they used to add up to the
/// decompressed size, over a total of the compressed one: a bar stuck near 100 %).
#[test]
fn a_compressed_file_advances_by_its_compressed_bytes() {
    let gz = back_gz();
    let len = size(gz);
    assert!(
        len * 2 < size(&pair().back),
        "the test needs a real compression"
    );
    let rec = Arc::new(Recorder::default());
    let engine = Engine::new(EngineOptions::default())
        .unwrap()
        .with_progress(rec.clone());
    let mut rows: Vec<RequestRow> = Vec::new();
    let report = requests::run(
        &engine,
        &inputs(&[gz]),
        &RequestsConfig::default(),
        &mut rows,
    )
    .unwrap_or_else(|never| match never {});
    assert!(report.rows > 100);
    assert_eq!(
        rec.phases(),
        vec![
            (Phase::LearningProfiles, Some(len), vec![gz.clone()], len),
            (Phase::Rows, Some(len), vec![gz.clone()], len),
        ]
    );
}

/// The same for plain files read in place and with `--no-mmap` (streamed), over two files.
#[test]
fn every_phase_reports_its_files_and_all_their_bytes() {
    let (front, back) = (&pair().front, &pair().back);
    let total = size(front) + size(back);
    for mmap in [true, false] {
        let rec = Arc::new(Recorder::default());
        let engine = Engine::new(EngineOptions::default())
            .unwrap()
            .with_progress(rec.clone());
        let mut ins = inputs(&[back, front]);
        if !mmap {
            let files = vec![back.display().to_string(), front.display().to_string()];
            ins = Inputs::gather(
                &files,
                InputOptions {
                    open: proxytrace::capture::OpenOptions { mmap: false },
                    time_order: true,
                    drop_same_records: true,
                    ..InputOptions::default()
                },
            )
            .unwrap();
        }
        let mut rows: Vec<RequestRow> = Vec::new();
        requests::run(&engine, &ins, &RequestsConfig::default(), &mut rows)
            .unwrap_or_else(|never| match never {});
        let phases = rec.phases();
        assert_eq!(phases.len(), 2, "mmap {mmap}: {phases:?}");
        for (k, (phase, t, files, bytes)) in phases.into_iter().enumerate() {
            assert_eq!(phase, [Phase::LearningProfiles, Phase::Rows][k]);
            assert_eq!(t, Some(total), "mmap {mmap} {phase}");
            assert_eq!(files.len(), 2, "mmap {mmap} {phase}");
            assert_eq!(bytes, total, "mmap {mmap} {phase}");
        }
    }
}

/// `join` names each of its reads.
#[test]
fn join_reports_its_phases() {
    let (front, back) = (&pair().front, &pair().back);
    let rec = Arc::new(Recorder::default());
    let engine = Engine::new(EngineOptions::default())
        .unwrap()
        .with_progress(rec.clone());
    let ins = join::JoinInputs {
        front: inputs(&[front]),
        back: inputs(&[back]),
    };
    let mut rows: Vec<join::JoinRow> = Vec::new();
    let db = proxytrace::fingerprint::builtin::database();
    join::run(&engine, &ins, &join::JoinConfig::default(), db, &mut rows).unwrap();
    let phases: Vec<(Phase, Option<u64>)> = rec
        .phases()
        .into_iter()
        .map(|(p, t, _, _)| (p, t))
        .collect();
    let (f, b) = (Some(size(front)), Some(size(back)));
    assert_eq!(
        phases,
        vec![
            (Phase::LearningProfiles, b),
            (Phase::FrontIndex, f),
            (Phase::FrontRequests, f),
            (Phase::OffsetEstimate, b),
            (Phase::BackPass, b),
        ]
    );
}

// ---- the binary on a pseudo-terminal ----

/// What a run on a pseudo-terminal wrote.
struct PtyRun {
    status: i32,
    /// Every byte written to the terminal (stderr, and stdout when it is there too).
    tty: String,
    /// Standard output when it is a pipe.
    stdout: String,
    /// Standard error when it is a pipe.
    stderr: String,
}

/// Where the child's standard output and error go.
#[derive(Clone, Copy, PartialEq)]
enum Wiring {
    /// stderr on the terminal, stdout a pipe.
    StderrOnly,
    /// Both on the terminal.
    Both,
    /// stdout on the terminal, stderr a pipe.
    StdoutOnly,
}

fn cloexec(fd: i32) {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// Run the binary with `wiring` on a new pseudo-terminal of 120 x 40, `delay_ms` as the
/// bar's delay (None: the default), `stdin` fed to it (then closed).
fn on_pty(args: &[&str], wiring: Wiring, delay_ms: Option<u64>, stdin: &[u8]) -> PtyRun {
    on_term(args, wiring, delay_ms, stdin, "xterm-256color")
}

/// [`on_pty`] with `TERM=term`.
fn on_term(
    args: &[&str],
    wiring: Wiring,
    delay_ms: Option<u64>,
    stdin: &[u8],
    term: &str,
) -> PtyRun {
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers are valid; no name buffer or termios is passed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Other tests spawn children meanwhile: they must not keep the terminal open.
    cloexec(master);
    cloexec(slave);
    // SAFETY: openpty returned these two descriptors, owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proxytrace"));
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("CI")
        .env("TERM", term)
        // The summary's colour (`--color auto` on a terminal) is not what these tests read.
        .env("NO_COLOR", "1")
        .env_remove(proxytrace_cli_delay_env())
        .stdin(Stdio::piped());
    if let Some(ms) = delay_ms {
        cmd.env(proxytrace_cli_delay_env(), ms.to_string());
    }
    let tty = || Stdio::from(slave.try_clone().unwrap());
    match wiring {
        Wiring::StderrOnly => cmd.stderr(tty()).stdout(Stdio::piped()),
        Wiring::Both => cmd.stderr(tty()).stdout(tty()),
        Wiring::StdoutOnly => cmd.stdout(tty()).stderr(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap();
    drop(slave);
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let pipe_reader = |p: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut p) = p {
                p.read_to_end(&mut s).unwrap();
            }
            s
        })
    };
    let out = pipe_reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = pipe_reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut tty_bytes = Vec::new();
    let mut buf = [0u8; 65536];
    let started = Instant::now();
    let mut exited = false;
    loop {
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 50) };
        if ready > 0 {
            // SAFETY: reading into a buffer of its length from an open descriptor.
            let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                tty_bytes.extend_from_slice(&buf[..n as usize]);
                continue;
            }
            // EIO: every slave descriptor is closed.
            if exited {
                break;
            }
        } else if exited {
            // Exited and the terminal is quiet: everything it wrote has been read.
            break;
        }
        if !exited {
            exited = child.try_wait().unwrap().is_some();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run did not end"
        );
    }
    feeder.join().unwrap();
    // Already reaped by try_wait: this returns its status.
    let status = child.wait().unwrap();
    PtyRun {
        status: status.code().unwrap_or(-1),
        tty: String::from_utf8_lossy(&tty_bytes).into_owned(),
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

/// The binary's name for the delay override (crates/cli/src/progress.rs `DELAY_ENV`).
fn proxytrace_cli_delay_env() -> &'static str {
    "PROXYTRACE_PROGRESS_DELAY_MS"
}

/// The screen after `bytes`: what indicatif and the rows write (text, CR, LF, erase line,
/// cursor up, cursor show/hide). One entry per line ever written; long lines are kept
/// whole (no wrapping: the bar is drawn to fit the width).
fn screen(bytes: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = bytes.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                assert_eq!(chars.next(), Some('['), "only CSI sequences: {bytes:?}");
                let mut arg = String::new();
                let cmd = loop {
                    match chars.next() {
                        Some(c) if c.is_ascii_digit() || c == ';' || c == '?' => arg.push(c),
                        Some(c) => break c,
                        None => panic!("cut escape sequence"),
                    }
                };
                match cmd {
                    'K' if arg == "2" => lines[row].clear(),
                    'K' => lines[row].truncate(col),
                    'A' => row = row.saturating_sub(arg.parse().unwrap_or(1)),
                    'B' => row += arg.parse().unwrap_or(1),
                    'G' => col = arg.parse::<usize>().unwrap_or(1) - 1,
                    'h' | 'l' if arg.starts_with('?') => {}
                    'J' => lines.truncate(row + 1),
                    other => panic!("unexpected CSI {arg}{other}"),
                }
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            c => {
                let line = &mut lines[row];
                if line.len() < col {
                    line.resize(col, ' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut out: Vec<String> = lines.into_iter().map(|l| l.into_iter().collect()).collect();
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out
}

/// Text only the bar writes.
fn bar_text(line: &str) -> bool {
    line.contains("ETA ") || line.contains("iB/s") || line.contains(" B/s")
}

/// The bar was drawn (text of it reached the terminal) with these phase names.
fn drawn(tty: &str, phases: &[&str]) {
    assert!(bar_text(tty), "no bar was drawn: {tty:?}");
    for p in phases {
        assert!(tty.contains(p), "phase {p:?} never shown: {tty:?}");
    }
}

/// The screen holds no bar text, and its last line is the summary's.
fn cleared(run: &PtyRun) -> Vec<String> {
    let screen = screen(&run.tty);
    for line in &screen {
        assert!(
            !bar_text(line),
            "bar text left on screen: {line:?}\n{:?}",
            run.tty
        );
    }
    assert!(
        screen.last().is_some_and(|l| l.starts_with("proxytrace: ")),
        "{screen:?}"
    );
    screen
}

/// A gzip file (learning identity profiles, then rows): the bar is drawn and then
/// cleared; the final line is the summary's.
#[test]
fn a_gzip_run_ends_with_the_bar_cleared() {
    let gz = back_gz().display().to_string();
    let run = on_pty(&["requests", "-c", &gz], Wiring::StderrOnly, Some(0), b"");
    assert_eq!(run.status, 0, "{}", run.tty);
    drawn(
        &run.tty,
        &["learning identity profiles", "rows", "back.pcap.gz"],
    );
    cleared(&run);
    assert!(run.stdout.trim().parse::<u64>().unwrap() > 100);
}

/// Several files: each is named on the bar, which ends cleared.
#[test]
fn a_run_over_several_files_ends_with_the_bar_cleared() {
    let sample = testdata("sample/back.pcap").display().to_string();
    let back = pair().back.display().to_string();
    let run = on_pty(
        &["requests", "-c", &back, &sample],
        Wiring::StderrOnly,
        Some(0),
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.tty);
    drawn(&run.tty, &["sample/back.pcap", "pair-seed5-4M/back.pcap"]);
    let screen = cleared(&run);
    assert!(screen[0].starts_with("proxytrace: 2 files"), "{screen:?}");
}

/// `join` shows its phases, and ends cleared.
#[test]
fn join_shows_its_phases_and_ends_cleared() {
    let (front, back) = (pair().front.display(), pair().back.display());
    let (front, back) = (front.to_string(), back.to_string());
    let run = on_pty(
        &["join", "-c", "--front", &front, "--back", &back],
        Wiring::StderrOnly,
        Some(0),
        b"",
    );
    assert_eq!(run.status, 0, "{}", run.tty);
    drawn(
        &run.tty,
        &[
            "learning identity profiles",
            "front index",
            "front requests",
            "offset estimate",
            "back pass",
        ],
    );
    cleared(&run);
}

/// Standard input: a spinner with bytes and rate, no total and no ETA.
#[test]
fn standard_input_gets_a_spinner_without_total_or_eta() {
    let bytes = std::fs::read(&pair().back).unwrap();
    let run = on_pty(
        &["requests", "-c", "-"],
        Wiring::StderrOnly,
        Some(0),
        &bytes,
    );
    assert_eq!(run.status, 0, "{}", run.tty);
    drawn(&run.tty, &["rows standard input"]);
    assert!(!run.tty.contains("ETA"), "{:?}", run.tty);
    cleared(&run);
}

/// Rows on the same terminal: every line of the screen is a whole CSV row (as written to
/// a pipe) or the summary; the bar never shares a line with a row, and is cleared.
#[test]
fn rows_on_the_same_terminal_never_share_a_line_with_the_bar() {
    let back = pair().back.display().to_string();
    let args = ["requests", "--format", "csv", back.as_str()];
    let run = on_pty(&args, Wiring::Both, Some(0), b"");
    assert_eq!(run.status, 0, "{}", run.tty);
    drawn(&run.tty, &["rows"]);
    let screen = cleared(&run);
    let piped = crate::util::run(&args);
    let rows: Vec<&str> = piped.1.lines().collect();
    assert!(rows.len() > 100);
    let summary = screen.len() - piped.2.lines().count();
    assert_eq!(&screen[..summary], &rows[..], "{:?}", run.tty);
}

/// Standard error not a terminal (stdout is): nothing is drawn anywhere.
#[test]
fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
    let back = pair().back.display().to_string();
    let run = on_pty(&["requests", "-c", &back], Wiring::StdoutOnly, Some(0), b"");
    assert_eq!(run.status, 0);
    for text in [&run.tty, &run.stderr] {
        assert!(!text.contains('\x1b') && !bar_text(text), "{text:?}");
    }
    assert!(
        run.stderr.starts_with("proxytrace: 1 file"),
        "{}",
        run.stderr
    );
    assert!(run.tty.trim().parse::<u64>().unwrap() > 100);
}

/// A run shorter than the delay draws nothing (the sample takes milliseconds).
#[test]
fn a_short_run_draws_nothing() {
    let sample = testdata("sample/back.pcap").display().to_string();
    let run = on_pty(&["requests", "-c", &sample], Wiring::Both, None, b"");
    assert_eq!(run.status, 0);
    assert!(!run.tty.contains('\x1b'), "{:?}", run.tty);
}

/// A terminal that cannot move its cursor (`TERM=dumb`: an editor's shell buffer) gets no
/// bar: its escape sequences would show as text. (indicatif sees to it; this guards it.)
#[test]
fn a_dumb_terminal_gets_no_bar() {
    let back = pair().back.display().to_string();
    let run = on_term(
        &["requests", "-c", &back],
        Wiring::Both,
        Some(0),
        b"",
        "dumb",
    );
    assert_eq!(run.status, 0);
    assert!(
        !run.tty.contains('\x1b') && !bar_text(&run.tty),
        "{:?}",
        run.tty
    );
}
