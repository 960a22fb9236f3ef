//! `--since`/`--until` and the request field filters: hand-checked windows on the sample,
//! counted skips, the early stop past `--until` (same rows and counters for any chunking,
//! and the same rows as a capture on which it cannot stop), `join` with a window on both
//! sides.

use crate::util::{run, TempFile};
use proxytrace::capture::{self, Input, OpenOptions, WalkStats};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use serde_json::Value;
use std::ops::ControlFlow;
use std::path::Path;

const SAMPLE: &str = "testdata/sample/back.pcap";
const ID: [&str; 3] = ["--trusted", "10.0.0.2", "--transparent"];

/// The `--stats json` report of a run.
fn stats(err: &str) -> Value {
    let line = err
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON report in {err}"));
    serde_json::from_str(line).unwrap()
}

/// The value of `name` in every JSON Lines row of `out`, as text.
fn column(out: &str, name: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            match &v[name] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        })
        .collect()
}

fn requests(extra: &[&str]) -> (i32, String, String) {
    run(&[
        &["requests", "--format", "jsonl"],
        &ID[..],
        extra,
        &[SAMPLE],
    ]
    .concat())
}

/// The sample's frames 1..288 run from 00:00:00.019344 to 00:00:00.282935 (tshark
/// `frame.time_epoch`). `--since 00:00:00.1Z --until +200ms` is [0.100, 0.219344):
/// tshark -Y 'frame.time_epoch >= 1767225600.1 && frame.time_epoch < 1767225600.219344'
/// gives 129 frames, so 159 are outside; the request heads starting in it (tshark's
/// http.request frames, by their first segment) are at frames 137, 147, 186, 187 and 212
/// (241 starts at 0.221545, after `until`).
#[test]
fn sample_window_by_hand() {
    let (code, out, err) = requests(&[
        "--since",
        "2026-01-01T00:00:00.1Z",
        "--until",
        "+200ms",
        "--stats",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(column(&out, "packet"), ["137", "147", "186", "187", "212"]);
    let s = stats(&err);
    assert_eq!(s["records"], 288);
    assert_eq!(s["skipped"]["outside_time_window"], 159);
    assert_eq!(s["packets"]["ipv4"], 129);
    // Connections that began before `since` say so in the row.
    let flags = column(&out, "flags");
    assert!(flags[0].contains("midstream_start"), "{flags:?}");
    // The same window written with an offset, and as a relative start.
    let (_, same, _) = requests(&[
        "--since",
        "2026-01-01T01:00:00.1+01:00",
        "--until",
        "2025-12-31T23:00:00.219344-01:00",
    ]);
    assert_eq!(same, out);
    let (_, rel, _) = requests(&["--since", "+80.656ms", "--until", "+200ms"]);
    assert_eq!(rel, out);
}

/// Every record read is decoded or skipped, on every command, with a window.
#[test]
fn skipped_records_are_counted() {
    for cmd in ["info", "requests", "connections", "syns"] {
        let (code, _, err) = run(&[
            cmd,
            "--since",
            "2026-01-01T00:00:00.1Z",
            "--until",
            "+200ms",
            "--stats",
            "json",
            SAMPLE,
        ]);
        assert!(code == 0 || code == 1, "{cmd}: {err}");
        let s = stats(&err);
        let p = &s["packets"];
        let decoded = p["ipv4"].as_u64().unwrap()
            + p["ipv6"].as_u64().unwrap()
            + p["non_ip"].as_u64().unwrap();
        let skipped = s["skipped"]["outside_time_window"].as_u64().unwrap();
        assert_eq!(decoded, 129, "{cmd}");
        assert_eq!(decoded + skipped, s["records"].as_u64().unwrap(), "{cmd}");
    }
}

/// A bare date is its UTC midnight: the sample (2026-01-01T00:00:00.019) is after it.
#[test]
fn bare_dates_and_refusals() {
    let (_, all, _) = requests(&["-c", "--since", "2026-01-01"]);
    assert_eq!(all.trim(), "11");
    let (code, none, _) = requests(&["-c", "--until", "2026-01-01"]);
    assert_eq!((code, none.trim()), (1, "0"));
    let (code, _, err) = requests(&["--since", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a time"), "{err}");
    let (code, _, err) = requests(&["--since", "+1s", "--until", "+1s"]);
    assert_eq!(code, 2);
    assert!(err.contains("--since must be before --until"), "{err}");
    // Standard input cannot be read twice to find its first packet.
    let (code, _, err) = run(&["requests", "--since", "+1s", "-"]);
    assert_eq!(code, 2);
    assert!(err.contains("first packet"), "{err}");
}

/// GET requests to a Host containing example.org (any case): frames 93, 212 and 252 of
/// tshark's `http.request.method == "GET" && http.host contains "example.org"`; targets
/// starting /static: 109, 187 (the second head of that segment) and 241.
#[test]
fn field_filters_by_hand() {
    let (_, out, _) = requests(&["--method", "get", "--host", "EXAMPLE.org"]);
    assert_eq!(column(&out, "packet"), ["93", "212", "252"]);
    let (_, out, _) = requests(&["--target", "re:^/static/"]);
    assert_eq!(column(&out, "packet"), ["109", "187", "241"]);
    // Case-sensitive substrings for targets and agents; patterns of one flag: any.
    let (_, out, _) = requests(&["--target", "/STATIC", "--target", "/login"]);
    assert_eq!(column(&out, "packet"), ["147"]);
    let (_, out, _) = requests(&["-c", "--user-agent", "curl/"]);
    assert_eq!(out.trim(), "2");
    let (code, out, _) = requests(&["-c", "--user-agent", "CURL/"]);
    assert_eq!((code, out.trim()), (1, "0"));
    // Counted before `-q` and `-c`, and combined with a window.
    // GETs starting before 0.119344: frames 93 and 137.
    let (_, out, _) = requests(&["--method", "GET", "--until", "+100ms"]);
    assert_eq!(column(&out, "packet"), ["93", "137"]);
    let (code, _, err) = requests(&["--target", "re:("]);
    assert_eq!(code, 2);
    assert!(err.contains("not a regular expression"), "{err}");
    // The same filter on join's back side.
    let (_, out, err) = run(&[
        "join",
        "--format",
        "jsonl",
        "--trusted",
        "10.0.0.2",
        "--transparent",
        "--method",
        "get",
        "--host",
        "EXAMPLE.org",
        "--front",
        "testdata/sample/front.pcap",
        "--back",
        SAMPLE,
    ]);
    assert_eq!(column(&out, "packet"), ["93", "212", "252"], "{err}");
}

/// (ts_ns, data) of every record.
fn records(path: &Path) -> Vec<(i64, Vec<u8>)> {
    let mut cap = capture::open(&Input::Path(path.to_path_buf()), OpenOptions::default()).unwrap();
    let mut out = Vec::new();
    cap.walk(&mut WalkStats::default(), |r| {
        out.push((r.ts_ns, r.data.to_vec()));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

fn write(recs: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    for (ts, d) in recs {
        w.packet(*ts, d).unwrap();
    }
    w.finish().unwrap()
}

/// A generated FRONT/BACK pair with its capture times stretched `factor`-fold from the
/// scenario's start (order kept): spans of tens of seconds, for windows well inside them
/// and the 5 s margin of the early stop.
fn scenario(seed: u64, back_bytes: u64, factor: i64) -> (TempFile, TempFile) {
    let dir = std::env::temp_dir().join(format!("proxytrace-window-{seed}-{}", std::process::id()));
    let cfg = ScenarioConfig {
        seed,
        back_bytes,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let stretch = |p: &Path| {
        let recs: Vec<(i64, Vec<u8>)> = records(p)
            .into_iter()
            .map(|(t, d)| (cfg.start_ns + (t - cfg.start_ns) * factor, d))
            .collect();
        TempFile::with_bytes(".pcap", &write(&recs))
    };
    let pair = (stretch(&files.front), stretch(&files.back));
    let _ = std::fs::remove_dir_all(&dir);
    pair
}

/// The report's reading counters that must not depend on threads or chunks.
fn reading(s: &Value) -> (Value, Value, Value, Value) {
    (
        s["records"].clone(),
        s["skipped"].clone(),
        s["packets"].clone(),
        s["stopped_at_until"].clone(),
    )
}

/// The walk stops past `until` when the capture is in time order; rows and counters are
/// the same for 1 thread, N threads, tiny chunks and the streaming reader; and the rows are
/// those of the same capture with one record before the window moved 10 s back in time,
/// on which no walk may stop (its workers that stopped are redone).
#[test]
fn early_stop_changes_no_row() {
    let (_front, back) = scenario(41, 2 << 20, 10);
    let recs = records(&back.0);
    let span = recs.last().unwrap().0 - recs[0].0;
    assert!(span > 15_000_000_000, "a capture of {span} ns");
    let mut shuffled = recs.clone();
    shuffled[20].0 = recs[0].0 - 10_000_000_000;
    let ordered = TempFile::with_bytes(".pcap", &write(&recs));
    let unordered = TempFile::with_bytes(".pcap", &write(&shuffled));
    // The middle fifth of the capture; it stops 5 s of capture time past it.
    let since = format!("+{}ms", span * 2 / 5 / 1_000_000);
    let until = format!("+{}ms", span * 3 / 5 / 1_000_000);
    let window = ["--since", &since, "--until", &until, "--stats", "json"];
    let go = |extra: &[&str], file: &Path| {
        let (global, streamed) = match extra.split_last() {
            Some((&"--no-mmap", rest)) => (rest, &["--no-mmap"][..]),
            _ => (extra, &[][..]),
        };
        let (code, out, err) = run(&[
            global,
            &["requests", "--format", "jsonl"],
            streamed,
            &ID[..],
            &window[..],
            &[file.to_str().unwrap()],
        ]
        .concat());
        assert_eq!(code, 0, "{err}");
        // The two captures differ in name only.
        let out = out.replace(file.to_str().unwrap(), "FILE");
        (out, reading(&stats(&err)))
    };
    let variants: [&[&str]; 5] = [
        &["--threads", "1"],
        &["--threads", "2"],
        &["--threads", "2", "--chunk-size", "4096"],
        &["--threads", "3", "--chunk-size", "300"],
        &["--threads", "2", "--chunk-size", "4096", "--no-mmap"],
    ];
    let (want, want_stats) = go(variants[0], &ordered.0);
    assert!(column(&want, "packet").len() > 3, "{want}");
    assert_eq!(want_stats.3, 1, "the ordered capture stops past --until");
    // The text summary says so too.
    let (_, _, text) = run(&[
        &["requests", "-c"][..],
        &window[..4],
        &[ordered.0.to_str().unwrap()],
    ]
    .concat());
    assert!(
        text.contains("files read only up to --until (in time order so far): 1"),
        "{text}"
    );
    let read = want_stats.0.as_u64().unwrap();
    assert!(read < recs.len() as u64, "{read} of {} read", recs.len());
    for v in variants {
        let (rows, s) = go(v, &ordered.0);
        assert!(rows == want, "{v:?}: rows differ");
        // The streaming reader (`--no-mmap` is the last variant) stops at the same record.
        assert_eq!(s, want_stats, "{v:?}");
        let (rows, s) = go(v, &unordered.0);
        assert!(
            rows == want,
            "{v:?}: rows differ on the capture out of order"
        );
        assert_eq!(s.0, recs.len() as u64, "{v:?}: read to the end");
        assert!(s.3.is_null(), "{v:?}");
    }
}

/// `join` with a window: the back rows in the window, each paired with the same front
/// connection and SYN as without a window, although the front side is read only around
/// the window (given clock offset: the back window opened by the join window and 1 s).
#[test]
fn join_window_on_both_sides() {
    // Not stretched: a stretched SYN retransmission would move a connection's first SYN
    // seconds away from its second.
    let (front, back) = scenario(31, 3 << 20, 1);
    let (front, back) = (&front.0, &back.0);
    let base = [
        "join",
        "--format",
        "jsonl",
        "--trusted",
        "10.0.0.2",
        "--transparent",
        "--clock-offset",
        "0s",
        "--window",
        "2s",
        // Configured sources: the client does not depend on profiles learned from what
        // the window leaves (the learning reads only the window).
        "--identity-header",
        "X-Forwarded-For",
        "--identity-header",
        "X-Real-IP",
        "--identity-header",
        "Forwarded",
        "--stats",
        "json",
        "--front",
        front.to_str().unwrap(),
        "--back",
        back.to_str().unwrap(),
    ];
    let (code, all, err) = run(&base);
    assert_eq!(code, 0, "{err}");
    let all_reads = stats(&err)["records"].as_u64().unwrap();
    let first = records(back)[0].0;
    let span = records(back).last().unwrap().0 - first;
    let (since, until) = (first + span * 2 / 5, first + span * 4 / 5);
    let (code, some, err) = run(&[
        &base[..],
        &[
            "--since",
            &format!("+{}ms", (since - first) / 1_000_000),
            "--until",
            &format!("+{}ms", (until - first) / 1_000_000),
        ],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    let s = stats(&err);
    assert!(err.contains("front side read from"), "{err}");
    // The report counts the back side's row pass and the front side's read: the front
    // side skipped records too.
    let (_, _, back_err) = run(&[
        "info",
        "--stats",
        "json",
        "--since",
        &format!("+{}ms", (since - first) / 1_000_000),
        "--until",
        &format!("+{}ms", (until - first) / 1_000_000),
        back.to_str().unwrap(),
    ]);
    let back_skipped = stats(&back_err)["skipped"]["outside_time_window"]
        .as_u64()
        .unwrap();
    let skipped = s["skipped"]["outside_time_window"].as_u64().unwrap();
    assert!(skipped > back_skipped, "{skipped} {back_skipped}");
    assert_eq!(s["records"], all_reads, "every record is read or skipped");
    let key = |out: &str| {
        let cols = [
            "packet",
            "client_ip",
            "front_src_port",
            "syn_packet",
            "join_method",
            "join_confidence",
        ];
        let c: Vec<Vec<String>> = cols.iter().map(|n| column(out, n)).collect();
        let times = column(out, "time");
        (0..times.len())
            .map(|i| {
                (
                    times[i].clone(),
                    c.iter().map(|v| v[i].clone()).collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    let windowed = key(&some);
    assert!(windowed.len() > 3, "{some}");
    // `+Nms` cuts to whole milliseconds after the first packet.
    let (since, until) = (
        first + (since - first) / 1_000_000 * 1_000_000,
        first + (until - first) / 1_000_000 * 1_000_000,
    );
    let in_window = |t: &str| {
        let ns = t.parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64;
        ns >= since && ns < until
    };
    let expected: Vec<_> = key(&all)
        .into_iter()
        .filter(|(t, _)| in_window(t))
        .collect();
    assert_eq!(windowed, expected);
}
