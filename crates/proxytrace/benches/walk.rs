//! Record-walk throughput over an in-memory generated capture (and the engine over the
//! same bytes in a file on the page cache), beside a memchr scan of the same bytes.
//! Needs in Cargo.toml: [[bench]] name = "walk", harness = false.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use proxytrace::capture::{self, walk_buffer, Input, OpenOptions, Record, WalkStats};
use proxytrace::engine::{Engine, EngineOptions, Job};
use proxytrace_synth::scenario::{self, ScenarioConfig};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
    let _ = std::fs::remove_file(file_path());
}

/// A generated back capture of 1 GiB (`PROXYTRACE_BENCH_BYTES` overrides), made once:
/// large enough that the walk streams from memory rather than from the CPU caches.
fn capture_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let bytes = std::env::var("PROXYTRACE_BENCH_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1u64 << 30);
        let cfg = ScenarioConfig {
            back_bytes: bytes,
            ..ScenarioConfig::default()
        };
        let (_, _, back, _) =
            scenario::generate(&cfg, std::io::sink(), Vec::new(), std::io::sink()).unwrap();
        back
    })
}

fn file_path() -> PathBuf {
    std::env::temp_dir().join(format!("proxytrace-bench-walk-{}.pcap", std::process::id()))
}

/// The same bytes in a file (removed when the benchmarks end).
fn capture_file() -> &'static PathBuf {
    static F: OnceLock<PathBuf> = OnceLock::new();
    F.get_or_init(|| {
        let p = file_path();
        std::fs::write(&p, capture_bytes()).unwrap();
        p
    })
}

#[divan::bench]
fn memchr_count(bencher: Bencher) {
    let b = capture_bytes();
    bencher
        .counter(BytesCount::of_slice(b))
        .bench(|| memchr::memchr_iter(0, black_box(b)).count());
}

#[divan::bench]
fn walk_buffer_sequential(bencher: Bencher) {
    let b = capture_bytes();
    let head = b[..28].to_vec();
    let parser = capture::from_reader("bench".into(), Box::new(std::io::Cursor::new(head)))
        .unwrap()
        .parser;
    bencher.counter(BytesCount::of_slice(b)).bench(|| {
        let mut p = parser.clone();
        let mut idx = 0;
        let mut stats = WalkStats::default();
        let mut sum = 0u64;
        walk_buffer(
            &mut p,
            black_box(b),
            0,
            24,
            true,
            usize::MAX,
            &mut idx,
            None,
            &mut stats,
            &mut capture::WindowClock::default(),
            &mut |r: &Record<'_>| {
                sum += u64::from(r.caplen);
                ControlFlow::Continue(())
            },
        );
        sum
    });
}

struct Count;

impl Job for Count {
    type Chunk = u64;
    type Out = u64;
    fn start(&self) -> u64 {
        0
    }
    fn record(&self, c: &mut u64, r: &Record<'_>) {
        *c += u64::from(r.caplen);
    }
    fn finish(&self, c: u64, _: &WalkStats) -> u64 {
        c
    }
}

#[divan::bench(args = [1, 2])]
fn engine_mapped(bencher: Bencher, threads: usize) {
    let path = capture_file();
    let e = Engine::new(EngineOptions {
        threads,
        ..EngineOptions::default()
    })
    .unwrap();
    bencher
        .counter(BytesCount::of_slice(capture_bytes()))
        .bench(|| {
            let mut cap =
                capture::open(&Input::Path(path.clone()), OpenOptions { mmap: true }).unwrap();
            let mut n = 0;
            e.run(&mut cap, &Count, |c, _| {
                n += c;
                ControlFlow::Continue(())
            })
            .unwrap();
            n
        });
}
