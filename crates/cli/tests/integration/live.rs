//! Live pipelines and Ctrl-C: `tcpdump -w - | proxytrace requests -` shows rows while the
//! pipe stays open, and SIGINT / SIGTERM end a run with whole rows, the held rows
//! released, the summary saying so and exit status 130 / 143, on standard output or
//! `-o FILE`. Also the library side: an interrupted `pipeline::run` reads no further file
//! and still releases what its stage holds.

use crate::util::{repo_root, TempFile};
use proxytrace::commands::requests;
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::extract::requests::{RequestRow, RequestsConfig};
use proxytrace::pipeline::{InputOptions, Inputs};
use proxytrace_synth::packet::{TcpFlags, TcpPacket};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const T0: i64 = 1_767_225_600_000_000_000;

/// How long a test waits for what should take a fraction of a second.
const PATIENCE: Duration = Duration::from_secs(10);

/// The packets of `n` back-side requests from the proxy 10.0.0.2 to 10.0.1.9:8080, one
/// connection each, a second apart from `t0`, each forwarding client 81.2.0.(i+1).
pub(crate) fn requests_pcap(n: u32, t0: i64, header: bool) -> Vec<u8> {
    pcap_of_requests(n, t0, header, false)
}

/// [`requests_pcap`] with each request answered (`204 No Content`, 1 ms later), so each
/// row leaves with its response instead of waiting for one.
fn answered_requests_pcap(n: u32, t0: i64) -> Vec<u8> {
    pcap_of_requests(n, t0, true, true)
}

fn pcap_of_requests(n: u32, t0: i64, header: bool, answered: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut w = PcapWriter::new(&mut bytes, PcapConfig::default()).unwrap();
    let mut frame = Vec::new();
    for i in 0..n {
        let t = t0 + i64::from(i) * 1_000_000_000;
        let payload = format!(
            "GET /r/{i} HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 81.2.0.{}\r\n\r\n",
            i % 250 + 1
        );
        let base = TcpPacket {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 9)),
            src_port: 40000 + i as u16,
            dst_port: 8080,
            ..TcpPacket::default()
        };
        for (k, (flags, seq, payload)) in [
            (TcpFlags::SYN, 1000, &b""[..]),
            (TcpFlags::ACK | TcpFlags::PSH, 1001, payload.as_bytes()),
        ]
        .into_iter()
        .enumerate()
        {
            frame.clear();
            TcpPacket {
                flags,
                seq,
                payload,
                ..base
            }
            .build(&mut frame);
            w.packet(t + k as i64 * 1_000_000, &frame).unwrap();
        }
        if answered {
            frame.clear();
            TcpPacket {
                src: base.dst,
                dst: base.src,
                src_port: base.dst_port,
                dst_port: base.src_port,
                flags: TcpFlags::ACK | TcpFlags::PSH,
                seq: 7000,
                payload: b"HTTP/1.1 204 No Content\r\n\r\n",
                ..base
            }
            .build(&mut frame);
            w.packet(t + 2_000_000, &frame).unwrap();
        }
    }
    w.finish().unwrap();
    if header {
        bytes
    } else {
        bytes.split_off(24)
    }
}

/// Client SYNs and the server's SYN+ACKs, as p0f would see them on the FRONT side: client
/// 81.2.0.(i+1) at `T0 + i * gap_ns`.
fn handshakes_pcap(n: u8, gap_ns: i64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut w = PcapWriter::new(&mut bytes, PcapConfig::default()).unwrap();
    let mut frame = Vec::new();
    let mut opts = Vec::new();
    proxytrace_synth::packet::LINUX.options(12345, &mut opts);
    let server = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    for i in 0..n {
        let t = T0 + i64::from(i) * gap_ns;
        let client = IpAddr::V4(Ipv4Addr::new(81, 2, 0, i + 1));
        frame.clear();
        TcpPacket {
            src: client,
            dst: server,
            src_port: 40000,
            dst_port: 443,
            flags: TcpFlags::SYN,
            seq: 1000,
            window: proxytrace_synth::packet::LINUX.window_value(),
            options: &opts,
            ..TcpPacket::default()
        }
        .build(&mut frame);
        w.packet(t, &frame).unwrap();
        frame.clear();
        TcpPacket {
            src: server,
            dst: client,
            src_port: 443,
            dst_port: 40000,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            seq: 5000,
            ack: 1001,
            options: &opts,
            ..TcpPacket::default()
        }
        .build(&mut frame);
        w.packet(t + 20_000_000, &frame).unwrap();
    }
    w.finish().unwrap();
    bytes
}

/// The binary on a pipe: stdin written by the test, stdout read line by line as it
/// comes, stderr collected.
struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Live {
    fn spawn(args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
            .args(args)
            .current_dir(repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Live {
            child,
            stdin,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Wait until a line of stdout contains `needle`; false after `limit`.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            if self.stdout.iter().any(|l| l.contains(needle)) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.stdout.push(l),
                Err(_) => return false,
            }
        }
    }

    /// Wait until the binary has read everything written to its stdin (the pipe is
    /// empty), plus a moment for its reader thread to hand the last block over.
    fn wait_drained(&self) {
        let fd = self.stdin.as_ref().unwrap().as_raw_fd();
        let until = Instant::now() + PATIENCE;
        loop {
            let mut queued: libc::c_int = 0;
            // SAFETY: FIONREAD writes one c_int through the pointer, which points to a
            // live local; the fd is our open write end of the pipe (Linux answers
            // FIONREAD on either end of a pipe with the bytes queued in it).
            let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut queued) };
            assert_eq!(r, 0, "FIONREAD: {}", std::io::Error::last_os_error());
            if queued == 0 {
                break;
            }
            assert!(Instant::now() < until, "the binary does not read its input");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill has no memory effects; the pid is our child, not yet waited for.
        let r = unsafe { libc::kill(pid, sig) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Wait for the exit (killing the child after `PATIENCE`); returns the status, the
    /// whole stdout and stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        let until = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the binary did not end within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(self.stdin.take());
        self.stdout.extend(self.lines.iter());
        let err = self.stderr.take().unwrap().join().unwrap();
        (status, self.stdout.concat(), err)
    }
}

/// The same arguments over the same bytes with the input closed: the reference output.
fn at_eof(args: &[&str], bytes: &[u8]) -> String {
    let mut live = Live::spawn(args);
    live.write(bytes);
    drop(live.stdin.take());
    let (status, out, err) = live.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    out
}

/// Field counts of the records of a CSV text (quoted fields may hold commas, quotes and
/// line ends); `None` when the text ends inside a record (a row cut in half).
fn csv_field_counts(text: &str) -> Option<Vec<usize>> {
    let mut counts = Vec::new();
    let (mut fields, mut quoted, mut at_start) = (1, false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        at_start = false;
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields += 1,
            '\n' if !quoted => {
                counts.push(fields);
                fields = 1;
                at_start = true;
            }
            _ => {}
        }
    }
    at_start.then_some(counts)
}

/// Every line a whole CSV row with the header's number of columns; the data rows.
fn whole_rows(out: &str) -> usize {
    let counts = csv_field_counts(out).unwrap_or_else(|| panic!("a row cut in half: {out:?}"));
    let header = counts[0];
    assert!(header > 5, "{out}");
    assert!(counts.iter().all(|&n| n == header), "{counts:?}");
    counts.len() - 1
}

const REQUESTS: &[&str] = &[
    "requests",
    "--identity-header",
    "X-Forwarded-For",
    "--format",
    "csv",
    "-",
];

/// `args` over a pipe that stays open after `bytes`: a line containing `needle` shows
/// within 2 s, and the run ends well once the writer leaves.
fn row_shows_while_the_pipe_stays_open(args: &[&str], bytes: &[u8], needle: &str) {
    let mut live = Live::spawn(args);
    live.write(bytes);
    let shown = live.wait_for_line(needle, Duration::from_secs(2));
    drop(live.stdin.take());
    let (status, out, err) = live.finish();
    assert!(
        shown,
        "no row within 2 s while the pipe was open: {out}{err}"
    );
    assert_eq!(status.code(), Some(0), "{err}");
}

#[test]
fn requests_rows_of_a_live_pipeline_appear_while_the_pipe_stays_open() {
    row_shows_while_the_pipe_stays_open(REQUESTS, &requests_pcap(1, T0, true), "/r/0");
}

/// Without `--identity-header` a stream first learns the identity profiles from its
/// first heads (the warm-up, up to 5 s of capture time): a pause of the input ends it, so
/// the row still shows while the writer waits.
#[test]
fn requests_rows_of_a_live_pipeline_appear_during_the_warm_up() {
    row_shows_while_the_pipe_stays_open(
        &["requests", "--format", "csv", "-"],
        &requests_pcap(1, T0, true),
        "/r/0",
    );
}

/// `syns` holds a handshake's rows for its window (130 s of capture time, for late
/// retransmissions): the second handshake, 131 s later, releases the first's.
#[test]
fn syns_rows_of_a_live_pipeline_appear_while_the_pipe_stays_open() {
    row_shows_while_the_pipe_stays_open(
        &["syns", "--format", "csv", "-"],
        &handshakes_pcap(2, 131_000_000_000),
        "81.2.0.1",
    );
}

/// Ctrl-C (and SIGTERM) on a pipeline whose writer is still there: exit 130 (143), the
/// rows of everything read, each whole (the reorder buffer's held rows released), the
/// summary saying the run was interrupted.
#[test]
fn a_signal_ends_a_live_run_with_whole_rows() {
    let bytes = requests_pcap(30, T0, true);
    let want = at_eof(REQUESTS, &bytes);
    assert_eq!(whole_rows(&want), 30);
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut live = Live::spawn(REQUESTS);
        live.write(&bytes);
        live.wait_drained();
        live.signal(sig);
        let (status, out, err) = live.finish();
        assert_eq!(status.code(), Some(code), "signal {sig}: {err}");
        assert_eq!(whole_rows(&out), 30, "signal {sig}");
        assert_eq!(out, want, "signal {sig}");
        assert!(
            err.contains("interrupted: the input was read until then"),
            "signal {sig}: {err}"
        );
    }
    // With nothing written yet: the header alone, still exit 130.
    let live = Live::spawn(REQUESTS);
    std::thread::sleep(Duration::from_millis(300));
    live.signal(libc::SIGINT);
    let (status, out, err) = live.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(out, want.lines().next().unwrap().to_owned() + "\n");
}

/// `-o FILE` on an interrupted run: the rows are put in place under FILE (whole, those
/// of the input read), no temporary file is left, stderr says FILE is partial.
#[test]
fn an_interrupted_run_puts_its_output_file_in_place() {
    let bytes = requests_pcap(30, T0, true);
    let want = at_eof(REQUESTS, &bytes);
    let dir = std::env::temp_dir().join(format!("proxytrace-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("rows.csv");
    std::fs::write(&out_file, "old contents\n").unwrap();
    let path = out_file.to_str().unwrap();
    let mut args = REQUESTS.to_vec();
    args.extend(["-o", path]);
    let mut live = Live::spawn(&args);
    live.write(&bytes);
    live.wait_drained();
    live.signal(libc::SIGINT);
    let (status, out, err) = live.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(out.is_empty(), "{out}");
    let got = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(whole_rows(&got), 30);
    assert_eq!(got, want);
    assert!(
        err.contains(&format!(
            "interrupted: {path} holds the rows of the input read until then"
        )),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("rows.csv")]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `join` interrupted while its FRONT capture (a FIFO) has no writer yet: an interrupted
/// run (exit 130), not the error of a join without a front capture.
#[test]
fn a_join_interrupted_before_its_front_side_is_read_is_not_an_error() {
    let dir = std::env::temp_dir().join(format!("proxytrace-live-join-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("front.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: the path is a NUL-terminated string that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let back = TempFile::with_bytes(".pcap", &requests_pcap(3, T0, true));
    let live = Live::spawn(&[
        "join",
        "--front",
        fifo.to_str().unwrap(),
        "--back",
        back.0.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    live.signal(libc::SIGINT);
    let (status, out, err) = live.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(out.is_empty() || whole_rows(&out) == 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The library: an interrupt during the first capture of a run reads no further capture,
/// still releases the rows the stage holds, and says so in the report. The rows are
/// exactly those of a run over the first capture alone.
#[test]
fn an_interrupted_pipeline_reads_no_further_file_and_releases_held_rows() {
    // Answered: a row leaves with its response, not at the end of input.
    let first = TempFile::with_bytes(".pcap", &answered_requests_pcap(40, T0));
    let second = TempFile::with_bytes(".pcap", &answered_requests_pcap(40, T0 + 3_600_000_000_000));
    let gather = |files: &[&TempFile]| {
        let names: Vec<String> = files
            .iter()
            .map(|f| f.0.to_str().unwrap().to_string())
            .collect();
        Inputs::gather(&names, InputOptions::default()).unwrap()
    };
    let mut config = RequestsConfig::default();
    config.add_identity_header(b"X-Forwarded-For").unwrap();
    let engine = |flag: Option<Arc<AtomicBool>>| {
        let e = Engine::new(EngineOptions {
            threads: 2,
            ..EngineOptions::default()
        })
        .unwrap();
        match flag {
            Some(f) => e.with_interrupt(f),
            None => e,
        }
    };
    let mut want: Vec<RequestRow> = Vec::new();
    let alone = requests::run(&engine(None), &gather(&[&first]), &config, &mut want).unwrap();
    assert_eq!((alone.rows, alone.interrupted), (40, false));

    // The flag is set when the first row reaches the sink: the first capture's run ends
    // (it is read whole: one chunk), the second is not opened.
    let flag = Arc::new(AtomicBool::new(false));
    let mut got: Vec<RequestRow> = Vec::new();
    let mut sink = proxytrace::pipeline::from_fn(|row: RequestRow| {
        flag.store(true, Ordering::Relaxed);
        got.push(row);
        Ok::<_, std::convert::Infallible>(std::ops::ControlFlow::Continue(()))
    });
    let report = requests::run(
        &engine(Some(flag.clone())),
        &gather(&[&first, &second]),
        &config,
        &mut sink,
    )
    .unwrap();
    drop(sink);
    assert!(report.interrupted);
    assert_eq!(report.files, 1);
    assert_eq!(report.rows, 40);
    let targets =
        |rows: &[RequestRow]| -> Vec<String> { rows.iter().map(|r| r.target.clone()).collect() };
    assert_eq!(targets(&got), targets(&want));
    assert!(serde_json::to_string(&report)
        .unwrap()
        .contains("\"interrupted\":true"));
    assert!(!serde_json::to_string(&alone)
        .unwrap()
        .contains("interrupted"));
}
