//! `requests` over 65,536 flows whose 5-tuples all collided under the former unseeded flow
//! hash (one IPv6 /64, closed form in `synth::flood`), beside the same number of random
//! clients. With a seeded hash the two take about the same time; with the old one the
//! crafted capture took ~60x longer (every lookup scanned one probe chain).
//! Needs in Cargo.toml: [[bench]] name = "hashdos", harness = false.

use divan::{black_box, Bencher};
use proxytrace::capture::{Input, OpenOptions};
use proxytrace::commands::requests;
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::extract::requests::RequestsConfig;
use proxytrace::pipeline::{from_fn, Inputs};
use proxytrace_synth::flood::{write_flood, FloodKind};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::path::PathBuf;

const FLOWS: u64 = 1 << 16;

fn main() {
    divan::main();
    for kind in ["fx-colliding", "random-v6"] {
        let _ = std::fs::remove_file(path(kind));
    }
}

fn path(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "proxytrace-bench-hashdos-{kind}-{}.pcap",
        std::process::id()
    ))
}

fn capture(kind: &str) -> PathBuf {
    let p = path(kind);
    if !p.exists() {
        let k = match kind {
            "fx-colliding" => FloodKind::FxColliding,
            _ => FloodKind::RandomV6,
        };
        let f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        write_flood(f, k, FLOWS, 1).unwrap();
    }
    p
}

#[divan::bench(args = ["fx-colliding", "random-v6"], sample_count = 10)]
fn requests_65536_flows(bencher: Bencher, kind: &str) {
    let file = capture(kind);
    let engine = Engine::new(EngineOptions::default()).unwrap();
    let cfg = RequestsConfig::default();
    let inputs = Inputs::from_files(vec![Input::Path(file)], OpenOptions { mmap: true });
    bencher.bench_local(|| {
        let mut sink = from_fn(|r| {
            black_box(&r);
            Ok::<_, Infallible>(ControlFlow::Continue(()))
        });
        let report =
            requests::run(&engine, &inputs, &cfg, &mut sink).unwrap_or_else(|never| match never {});
        assert_eq!(report.rows, FLOWS);
        black_box(report)
    });
}
