//! The one pipeline, seen from the command line (issue 10): every command prints the same
//! end-of-run summary (text or JSON, or none), `-q` is exit-status-only, an aggregate's
//! summary counts the rows it printed, rotated captures are read in capture-time order,
//! and a bad `--db` is reported once.

use crate::util::{run, TempFile};
use proxytrace::decode::TcpFlags;
use proxytrace_synth::packet::TcpPacket;
use proxytrace_synth::writer::{PcapConfig, PcapFlavor, PcapWriter};
use std::net::IpAddr;

const BACK: &str = "testdata/sample/back.pcap";
const FRONT: &str = "testdata/sample/front.pcap";

/// The totals line every command starts its summary with.
fn totals_line(err: &str) -> Option<&str> {
    err.lines().find(|l| {
        l.starts_with("proxytrace: ")
            && l.contains(" records, ")
            && l.contains(" bytes, ")
            && l.contains(" GB/s; ")
    })
}

/// The row count the totals line states.
fn summary_rows(err: &str) -> u64 {
    let line = totals_line(err).unwrap_or_else(|| panic!("no totals line in {err}"));
    let after = line.rsplit("GB/s; ").next().unwrap_or_default();
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no row count in {line}"))
}

#[test]
fn every_command_prints_the_same_summary() {
    let commands: [&[&str]; 5] = [
        &["info", "--format", "json", BACK],
        &["requests", "--format", "csv", BACK],
        &["flows", "--format", "csv", BACK],
        &["syns", "--format", "csv", FRONT],
        &["join", "--format", "csv", "--front", FRONT, "--back", BACK],
    ];
    for args in commands {
        let (code, _, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(totals_line(&err).is_some(), "{args:?}: {err}");
        // --no-summary and --stats none: rows, nothing on stderr.
        for quiet in ["--no-summary", "--stats=none"] {
            let mut with: Vec<&str> = args.to_vec();
            with.insert(1, quiet);
            let (code, out, err) = run(&with);
            assert_eq!(code, 0, "{with:?}: {err}");
            assert!(!out.is_empty(), "{with:?}: rows expected");
            assert_eq!(err, "", "{with:?}");
        }
        // --stats json: one JSON object, the same report.
        let mut json: Vec<&str> = args.to_vec();
        json.insert(1, "--stats=json");
        let (code, _, err) = run(&json);
        assert_eq!(code, 0, "{json:?}: {err}");
        let last = err.lines().last().unwrap_or_default();
        let report: serde_json::Value =
            serde_json::from_str(last).unwrap_or_else(|e| panic!("{json:?}: {e}: {err}"));
        assert!(report["files"].as_u64().is_some_and(|n| n >= 1), "{report}");
        assert!(
            report["records"].as_u64().is_some_and(|n| n > 0),
            "{report}"
        );
    }
}

#[test]
fn quiet_is_exit_status_only_on_row_commands() {
    for args in [
        vec!["requests", "-q", BACK],
        vec!["flows", "-q", BACK],
        vec!["syns", "-q", FRONT],
    ] {
        assert_eq!(run(&args), (0, String::new(), String::new()), "{args:?}");
    }
    // info lists every file, so -q there keeps meaning "no bar, no summary".
    let (code, out, err) = run(&["info", "-q", "--format", "json", BACK]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("\"records\""), "{out}");
}

#[test]
fn aggregate_summaries_count_the_rows_printed() {
    let (code, out, err) = run(&["flows", "--format", "csv", "--no-header", BACK]);
    assert_eq!(code, 0, "{err}");
    let printed = out.lines().count() as u64;
    let (_, requests, _) = run(&["requests", "-c", BACK]);
    let requests: u64 = requests.trim().parse().unwrap();
    assert!(printed < requests, "{printed} flows of {requests} requests");
    assert_eq!(summary_rows(&err), printed, "{err}");
    assert!(
        err.contains(&format!("from {requests} matches")),
        "the requests are shown apart: {err}"
    );
    let (code, out, err) = run(&[
        "join",
        "--summary",
        "--format",
        "csv",
        "--no-header",
        "--front",
        FRONT,
        "--back",
        BACK,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary_rows(&err), out.lines().count() as u64, "{err}");
    let (_, summary, _) = run(&["syns", "--summary", "-c", FRONT]);
    let (_, out, err) = run(&["syns", "--summary", "--format", "csv", "--no-header", FRONT]);
    assert_eq!(summary_rows(&err), out.lines().count() as u64, "{err}");
    assert_eq!(summary.trim(), out.lines().count().to_string());
}

#[test]
fn a_bad_database_is_reported_once() {
    let missing = "/nonexistent/proxytrace-test.fp";
    for args in [
        vec!["syns", "--db", missing, FRONT],
        vec!["join", "--db", missing, "--front", FRONT, "--back", BACK],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert_eq!(err.matches(missing).count(), 1, "{args:?}: {err}");
    }
    let bad = TempFile::with_bytes(".fp", b"[tcp:request]\nsig = nonsense\n");
    let (code, _, err) = run(&["syns", "--db", bad.0.to_str().unwrap(), FRONT]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches(bad.0.to_str().unwrap()).count(), 1, "{err}");
    assert!(err.contains("line "), "{err}");
}

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

/// One pcap of `packets`.
fn capture(packets: &[(i64, TcpPacket<'_>)]) -> Vec<u8> {
    let cfg = PcapConfig {
        flavor: PcapFlavor::Nano,
        ..PcapConfig::default()
    };
    let mut w = PcapWriter::new(Vec::new(), cfg).unwrap();
    let mut frame = Vec::new();
    for (ts, p) in packets {
        frame.clear();
        p.build(&mut frame);
        w.packet(*ts, &frame).unwrap();
    }
    w.finish().unwrap()
}

/// A handshake split over two rotated files: the SYN in `x.pcap9`, the SYN+ACK and ACK in
/// `x.pcap10`. Named in directory order (`x.pcap10` first), `syns` must still read
/// `x.pcap9` first, so the SYN row gets its handshake timing.
#[test]
fn syns_reads_rotated_files_in_capture_time_order() {
    let (client, server) = (
        IpAddr::from([198, 51, 100, 20]),
        IpAddr::from([203, 0, 113, 10]),
    );
    let syn = TcpPacket {
        src: client,
        dst: server,
        src_port: 40100,
        dst_port: 443,
        seq: 5000,
        flags: TcpFlags::SYN,
        window: 64240,
        options: &[2, 4, 0x05, 0xb4],
        ..TcpPacket::default()
    };
    let synack = TcpPacket {
        src: server,
        dst: client,
        src_port: 443,
        dst_port: 40100,
        seq: 9000,
        ack: 5001,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65160,
        options: &[2, 4, 0x05, 0xb4],
        ..TcpPacket::default()
    };
    let ack = TcpPacket {
        src: client,
        dst: server,
        src_port: 40100,
        dst_port: 443,
        seq: 5001,
        ack: 9001,
        flags: TcpFlags::ACK,
        ..TcpPacket::default()
    };
    let dir = std::env::temp_dir().join(format!("proxytrace-rotated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("x.pcap9");
    let second = dir.join("x.pcap10");
    std::fs::write(&first, capture(&[(T0, syn)])).unwrap();
    std::fs::write(
        &second,
        capture(&[(T0 + 1_000_000, synack), (T0 + 3_000_000, ack)]),
    )
    .unwrap();
    let (code, out, err) = run(&[
        "syns",
        "--format",
        "jsonl",
        second.to_str().unwrap(),
        first.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["direction"], "syn", "{out}");
    assert!(
        rows[0]["file"].as_str().unwrap().ends_with("x.pcap9"),
        "{out}"
    );
    assert_eq!(rows[0]["syn_to_synack_ns"], 1_000_000, "{out}");
    assert_eq!(rows[1]["synack_to_ack_ns"], 2_000_000, "{out}");
}

/// `--clock-offset` takes microseconds written with the micro sign.
#[test]
fn clock_offset_takes_microseconds() {
    for offset in ["5µs", "5us", "-5µs"] {
        let (code, _, err) = run(&[
            "join",
            "-c",
            "--clock-offset",
            offset,
            "--front",
            FRONT,
            "--back",
            BACK,
        ]);
        assert_eq!(code, 0, "{offset}: {err}");
        assert!(err.contains("clock offset "), "{offset}: {err}");
    }
}
