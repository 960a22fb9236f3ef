//! Hash maps keyed by capture data are seeded per process, so two runs of one command hash
//! differently: their outputs must still be byte-identical (nothing may follow map order).
//! Captures with many flows, hosts and clients: a generated FRONT/BACK pair, plus floods of
//! colliding-under-the-old-hash IPv6 flows and of timestamped SYN hosts.

use crate::util::run;
use proxytrace_synth::flood::{write_flood, FloodKind};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use std::fs::File;
use std::io::BufWriter;

#[test]
fn two_processes_write_identical_bytes() {
    let dir = std::env::temp_dir().join(format!("proxytrace-seeded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ScenarioConfig {
        seed: 5,
        back_bytes: 4 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let flood = |kind, n, name: &str| {
        let p = dir.join(name);
        write_flood(BufWriter::new(File::create(&p).unwrap()), kind, n, 3).unwrap();
        p
    };
    let fx = flood(FloodKind::FxColliding, 5_000, "fx.pcap");
    let hosts = flood(FloodKind::SynHosts, 5_000, "hosts.pcap");
    let (front, back) = (files.front.to_str().unwrap(), files.back.to_str().unwrap());
    let (fx, hosts) = (fx.to_str().unwrap(), hosts.to_str().unwrap());
    let join = |extra: &[&'static str]| {
        let mut v = vec!["join", "--front", front, "--back", back];
        v.extend_from_slice(&["--transparent", "--trusted", "10.0.0.2"]);
        v.extend_from_slice(extra);
        v
    };
    let commands: Vec<Vec<&str>> = vec![
        vec!["requests", "--format", "jsonl", back],
        vec!["requests", "--format", "jsonl", fx],
        vec!["flows", "--format", "csv", back],
        vec!["flows", "--format", "csv", fx],
        vec!["syns", "--format", "csv", front],
        vec!["syns", "--format", "csv", hosts],
        vec!["syns", "--summary", "--format", "csv", front],
        vec!["syns", "--summary", "--format", "csv", hosts],
        join(&["--format", "csv"]),
        join(&["--summary", "--format", "csv"]),
    ];
    for args in &commands {
        let (c1, out1, err1) = run(args);
        let (c2, out2, _) = run(args);
        assert_eq!(c1, 0, "{args:?}: {err1}");
        assert_eq!(c2, 0, "{args:?}");
        assert!(
            out1.lines().count() > 20,
            "{args:?}: {} lines",
            out1.lines().count()
        );
        assert!(out1 == out2, "{args:?}: two runs differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
