//! Inputs, outputs and evidence safety: directory walks that end, outputs that never
//! destroy an input or a previous result, duplicate inputs read once, and failures that
//! are never silent.

use crate::util::run;
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig, ScenarioFiles};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("proxytrace-safety-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small generated FRONT/BACK pair in `dir`, and the number of requests its truth
/// file lists (counted from the truth, not from our output).
fn pair(dir: &Path, seed: u64) -> (ScenarioFiles, usize) {
    let cfg = ScenarioConfig {
        seed,
        back_bytes: 96 << 10,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, dir).unwrap();
    let truth = std::fs::read_to_string(&files.truth).unwrap();
    let n = truth.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(n > 0);
    (files, n)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Run the binary with a hang guard: a walk that never ends fails the test instead of
/// blocking the suite. Returns (status, stdout, stderr); status -1 when it was killed.
fn run_bounded(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        if killed {
            -1
        } else {
            out.status.code().unwrap_or(-1)
        },
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Files in `dir` whose name marks them as our temporary outputs.
fn temp_outputs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".proxytrace-"))
        .collect()
}

/// A `..` link and a `.` link inside a capture directory: the walk ends, the one capture
/// is read once, and the README, PROVENANCE.md, compressed notes and empty file beside it
/// are skipped and counted, not errors.
#[cfg(unix)]
#[test]
fn symlink_loops_end_and_each_capture_is_read_once() {
    let root = Scratch::new("loops");
    let caps = root.path("caps");
    let (files, n) = pair(&caps, 31);
    std::fs::remove_file(&files.front).unwrap();
    std::fs::remove_file(&files.truth).unwrap();
    std::fs::write(caps.join("README"), "captures from the incident\n").unwrap();
    std::fs::write(caps.join("PROVENANCE.md"), "# where these came from\n").unwrap();
    // Compressed text is not a capture either (the magic is read after decompressing).
    std::fs::write(caps.join("notes.gz"), gzip(b"analyst notes\n")).unwrap();
    std::fs::write(caps.join("being-written.pcap"), b"").unwrap();
    std::os::unix::fs::symlink("..", caps.join("up")).unwrap();
    std::os::unix::fs::symlink(".", caps.join("self")).unwrap();
    for follow in [false, true] {
        let mut args = vec!["requests", "-c", s(&caps)];
        if follow {
            args.push("--follow");
        }
        let (code, out, err) = run_bounded(&args);
        assert_eq!(code, 0, "follow {follow}: {err}");
        assert_eq!(out.trim(), n.to_string(), "follow {follow}: {err}");
        assert!(!err.contains("README:"), "no error per skipped file: {err}");
        assert!(err.contains("not a capture 3"), "{err}");
        assert!(err.contains("empty file 1"), "{err}");
        if !follow {
            assert!(err.contains("directory symlink not followed"), "{err}");
        }
    }
    // Named explicitly, a file that is not a capture stays an error.
    let readme = caps.join("README");
    let (code, _, err) = run_bounded(&["requests", "-c", s(&readme)]);
    assert_eq!(code, 2);
    assert!(err.contains("not a pcap or pcapng"), "{err}");
}

/// A directory that holds no capture is an error, not an empty result.
#[test]
fn directory_without_captures_is_an_error() {
    let root = Scratch::new("nocaps");
    std::fs::write(root.path("README"), "nothing here\n").unwrap();
    let (code, out, err) = run_bounded(&["requests", "-c", s(&root.0)]);
    assert_eq!(code, 2, "{out} {err}");
    assert!(err.contains("no capture"), "{err}");
}

/// `-o` naming an input, directly, through a hard link or through a symlink, is refused
/// by every command that writes `-o`, and the capture keeps every byte.
#[cfg(unix)]
#[test]
fn output_that_is_an_input_is_refused() {
    let root = Scratch::new("victim");
    let (files, _) = pair(&root.0, 32);
    let victim = root.path("victim.pcap");
    std::fs::copy(&files.back, &victim).unwrap();
    let original = std::fs::read(&victim).unwrap();
    let hard = root.path("hard.pcap");
    std::fs::hard_link(&victim, &hard).unwrap();
    let soft = root.path("soft.pcap");
    std::os::unix::fs::symlink(&victim, &soft).unwrap();
    for out in [&victim, &hard, &soft] {
        for cmd in ["requests", "flows", "syns", "info"] {
            let (code, _, err) = run(&[cmd, s(&victim), "-o", s(out)]);
            assert_eq!(code, 2, "{cmd} -o {out:?}: {err}");
            assert!(err.contains("refusing to write output"), "{err}");
            assert_eq!(
                std::fs::read(&victim).unwrap(),
                original,
                "{cmd} -o {out:?}"
            );
        }
        let (code, _, err) = run(&[
            "join",
            "--front",
            s(&files.front),
            "--back",
            s(&victim),
            "--clock-offset",
            "0s",
            "-o",
            s(out),
        ]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), original);
    }
    // Through a directory input too.
    let (code, _, err) = run(&["requests", s(&root.0), "-o", s(&victim)]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), original);
    assert!(temp_outputs(&root.0).is_empty());
}

/// A run that fails leaves the previous output under its name, byte for byte, and no
/// temporary file behind.
#[test]
fn failed_run_keeps_the_previous_output() {
    let root = Scratch::new("failed");
    let (files, _) = pair(&root.0, 33);
    let notes = root.path("notes.txt");
    std::fs::write(&notes, "analyst notes, not a capture\n").unwrap();
    let out = root.path("out.csv");
    std::fs::write(&out, "previous results\n").unwrap();
    let (code, _, err) = run(&[
        "join",
        "--front",
        s(&notes),
        "--back",
        s(&files.back),
        "-o",
        s(&out),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
    assert!(
        temp_outputs(&root.0).is_empty(),
        "{:?}",
        temp_outputs(&root.0)
    );
    // A successful run replaces it and leaves no temporary file either.
    let (code, _, err) = run(&["requests", "-c", s(&files.back), "-o", s(&out)]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
    assert!(temp_outputs(&root.0).is_empty());
}

/// A run killed in the middle (reading a pipe that has not ended) leaves the previous
/// output under its name.
#[cfg(unix)]
#[test]
fn interrupted_run_keeps_the_previous_output() {
    let root = Scratch::new("interrupted");
    let (files, _) = pair(&root.0, 34);
    let out = root.path("out.csv");
    std::fs::write(&out, "previous results\n").unwrap();
    let capture = std::fs::read(&files.back).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", "-", "-o", s(&out)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&capture[..capture.len() / 2]).unwrap();
    stdin.flush().unwrap();
    // Wait until the run has opened its output (a temporary file appears, or the output
    // changes), then kill it while it waits for the rest of the pipe.
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_outputs(&root.0).is_empty()
        && std::fs::read_to_string(&out).unwrap_or_default() == "previous results\n"
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    let _ = child.wait();
    drop(stdin);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
}

/// The same capture given twice (by name twice, compressed and plain, through a directory
/// and by name, through a hard link) is read once: rows are not doubled, a warning names
/// the skipped input and the summary counts it.
#[cfg(unix)]
#[test]
fn same_capture_twice_is_read_once() {
    let root = Scratch::new("dups");
    let caps = root.path("caps");
    let (files, n) = pair(&caps, 35);
    std::fs::remove_file(&files.truth).unwrap();
    let front = root.path("front.pcap");
    std::fs::rename(&files.front, &front).unwrap();
    let back = &files.back;
    let gz = root.path("back.pcap.gz");
    std::fs::write(&gz, gzip(&std::fs::read(back).unwrap())).unwrap();
    let hard = root.path("hard.pcap");
    std::fs::hard_link(back, &hard).unwrap();
    let dir = s(&caps);
    for twice in [
        vec![s(back), s(back)],
        vec![s(back), s(&gz)],
        vec![s(&gz), s(back)],
        vec![dir, s(back)],
        vec![s(back), s(&hard)],
    ] {
        let mut args = vec!["requests", "-c"];
        args.extend(&twice);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{twice:?}: {err}");
        assert_eq!(out.trim(), n.to_string(), "{twice:?}: {err}");
        assert_eq!(
            err.matches("skipped as a duplicate input").count(),
            1,
            "{twice:?}: {err}"
        );
        assert!(err.contains("duplicate inputs skipped: 1"), "{err}");
    }
    // The same for syns and for each side of a join.
    let (_, once, _) = run(&["syns", "-c", s(&front)]);
    let front_gz = root.path("front.pcap.gz");
    std::fs::write(&front_gz, gzip(&std::fs::read(&front).unwrap())).unwrap();
    let (code, twice, err) = run(&["syns", "-c", s(&front), s(&front_gz)]);
    assert_eq!((code, &twice), (0, &once), "{err}");
    let (code, out, err) = run(&[
        "join",
        "-c",
        "--front",
        s(&front),
        s(&front_gz),
        "--back",
        s(back),
        s(&gz),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), n.to_string(), "{err}");
    // Two different captures are not duplicates: their rows add up.
    let (_, from_front, _) = run(&["requests", "-c", s(&front)]);
    let (_, both, err) = run(&["requests", "-c", s(back), s(&front)]);
    let sum = n + from_front.trim().parse::<usize>().unwrap_or(0);
    assert_eq!(both.trim(), sum.to_string(), "{err}");
    assert!(!err.contains("duplicate"), "{err}");
}

/// A join none of whose front files can be read is an error naming them, with no rows
/// that would look like a result; with some front files readable it goes on, names the
/// bad one and exits 2.
#[test]
fn join_without_any_readable_front_file_is_an_error() {
    let root = Scratch::new("nofront");
    let (files, n) = pair(&root.0, 36);
    let notes = root.path("notes.txt");
    std::fs::write(&notes, "not a capture\n").unwrap();
    let missing = root.path("missing.pcap");
    let (code, out, err) = run(&[
        "join",
        "--front",
        s(&notes),
        s(&missing),
        "--back",
        s(&files.back),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "", "no rows without a front side");
    assert!(err.contains("no front capture could be read"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("notes.txt") && last.contains("missing.pcap"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "join",
        "-c",
        "--front",
        s(&files.front),
        s(&notes),
        "--back",
        s(&files.back),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out.trim(), n.to_string());
    assert!(err.contains("notes.txt"), "{err}");
}

/// Write errors name the output: the `-o` path, or stdout.
#[cfg(target_os = "linux")]
#[test]
fn output_errors_name_the_output() {
    let root = Scratch::new("full");
    let (files, _) = pair(&root.0, 37);
    for cmd in ["requests", "flows", "syns", "info"] {
        let (code, _, err) = run(&[cmd, s(&files.back), "-o", "/dev/full"]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("/dev/full"), "{cmd}: {err}");
        assert!(err.contains("No space left on device"), "{cmd}: {err}");
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", s(&files.back)])
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("stdout"), "{err}");
}

/// Empty strings and header names that are not HTTP tokens are refused when the
/// arguments are parsed, naming the flag.
#[test]
fn empty_and_invalid_flag_values_are_rejected() {
    let root = Scratch::new("flags");
    let (files, _) = pair(&root.0, 38);
    let back = s(&files.back);
    for (args, flag) in [
        (vec!["requests", "--header", "", back], "--header"),
        (vec!["requests", "--header", "X Client", back], "--header"),
        (vec!["requests", "--header", "X-Client:", back], "--header"),
        (vec!["flows", "--header", "", back], "--header"),
        (vec!["requests", "-o", "", back], "--output"),
        (vec!["info", "-o", "", back], "--output"),
        (vec!["syns", "--db", "", back], "--db"),
        (vec!["requests", ""], "FILE"),
        (vec!["join", "--front", "", "--back", back], "--front"),
        (vec!["join", "--front", back, "--back", ""], "--back"),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("invalid value"), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    // A header name made of token characters is fine.
    let (code, _, err) = run(&["requests", "-c", "--header", "X-Original-Client", back]);
    assert!(code == 0 || code == 1, "{err}");
}

/// Records to write: (time in ns, bytes).
type Records = Vec<(i64, Vec<u8>)>;

/// 100 made-up records (the bytes need not decode), 1 ms apart.
fn records() -> Records {
    (0..100u8)
        .map(|i| {
            let ts = 1_767_225_600_000_000_000 + i64::from(i) * 1_000_000;
            (ts, vec![i; 60 + usize::from(i)])
        })
        .collect()
}

fn write_pcap(path: &Path, recs: &[(i64, Vec<u8>)]) {
    use proxytrace_synth::writer::{PcapConfig, PcapWriter};
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    for (ts, data) in recs {
        w.packet(*ts, data).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

fn write_pcapng(path: &Path, recs: &[(i64, Vec<u8>)]) {
    use proxytrace::capture::ByteOrder;
    use proxytrace_synth::writer::{NgInterface, NgWriter};
    let mut w = NgWriter::new(Vec::new(), ByteOrder::Big).unwrap();
    let iface = w.interface(NgInterface::new(1)).unwrap();
    for (ts, data) in recs {
        w.epb(iface, *ts, data, data.len() as u32).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// The duplicate rule, case by case: the same first 64 records (time, link type,
/// lengths, bytes) make a duplicate whatever the file format; one byte or one
/// microsecond of difference among them, or fewer records, do not.
#[test]
fn duplicate_rule_compares_the_first_64_records() {
    let root = Scratch::new("rule");
    let recs = records();
    let original = root.path("a.pcap");
    write_pcap(&original, &recs);
    let mut cases: Vec<(&str, Records, bool, bool)> = Vec::new();
    // (name, records, pcapng, duplicate)
    cases.push(("copy", recs.clone(), false, true));
    cases.push(("as pcapng", recs.clone(), true, true));
    let mut byte = recs.clone();
    byte[5].1[10] ^= 1;
    cases.push(("one byte in record 6", byte, false, false));
    let mut time = recs.clone();
    time[63].0 += 1_000;
    cases.push(("1 us later in record 64", time, false, false));
    let mut late = recs.clone();
    late[64].1[0] ^= 1;
    cases.push(("one byte in record 65", late, false, true));
    cases.push(("first 10 records", recs[..10].to_vec(), false, false));
    let mut longer = recs.clone();
    longer[9].1.push(0);
    cases.push(("record 10 one byte longer", longer, false, false));
    for (i, (name, recs, ng, duplicate)) in cases.into_iter().enumerate() {
        let other = root.path(&format!("b{i}.{}", if ng { "pcapng" } else { "pcap" }));
        if ng {
            write_pcapng(&other, &recs);
        } else {
            write_pcap(&other, &recs);
        }
        let (_, _, err) = run(&["requests", "-c", s(&original), s(&other)]);
        let warned = err.matches("skipped as a duplicate input").count();
        assert_eq!(warned, usize::from(duplicate), "{name}: {err}");
        if duplicate {
            assert!(
                err.contains(&format!(
                    "{}: starts with the same records as",
                    other.display()
                )),
                "{name}: {err}"
            );
        }
    }
}

/// A FIFO among several inputs (`<(zcat x.pcap.gz)`) is read once, by the real read:
/// neither time ordering nor the duplicate check may peek at it first.
#[cfg(unix)]
#[test]
fn fifo_input_is_read_once() {
    let root = Scratch::new("fifo");
    let (files, n) = pair(&root.0, 39);
    let fifo = root.path("pipe.pcap");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo not available; skipped");
        return;
    }
    let (_, from_front, _) = run(&["requests", "-c", s(&files.front)]);
    let front_rows: usize = from_front.trim().parse().unwrap();
    let capture = std::fs::read(&files.back).unwrap();
    let writer_path = fifo.clone();
    // Writes the capture once, to the first reader.
    let writer = std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&writer_path) {
            let _ = f.write_all(&capture);
        }
    });
    let (code, out, err) = run_bounded(&["requests", "-c", s(&fifo), s(&files.front)]);
    // If no reader came, the writer still waits in open: a read-write open (which does
    // not block on Linux) lets it through.
    if !writer.is_finished() {
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo);
    }
    let _ = writer.join();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), (n + front_rows).to_string(), "{err}");
}
