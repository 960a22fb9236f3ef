//! Record-walk speed on a mapped capture, beside a plain memchr scan of the same bytes.
//!
//! cargo run --release --example walk_speed -- FILE [--threads N] [--runs 3]
//!
//! Prints one line per measurement: name, median seconds, GB/s (10^9 bytes/s). Run it on a
//! warm page cache (the first line warms it).

use proxytrace::capture::{self, Input, OpenOptions, Record, WalkStats};
use proxytrace::engine::{Engine, EngineOptions, Job};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

/// Touches each record's length only: the walk itself is what is measured.
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

fn median(mut f: impl FnMut() -> u64, runs: usize) -> (f64, u64) {
    let mut times = Vec::new();
    let mut v = 0;
    for _ in 0..runs {
        let t = Instant::now();
        v = f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], v)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut threads = 0usize;
    let mut runs = 3usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            _ => file = Some(PathBuf::from(a)),
        }
    }
    let input = Input::Path(file.ok_or("usage: walk_speed FILE [--threads N] [--runs N]")?);
    let open = || capture::open(&input, OpenOptions { mmap: true });
    let len = open()?.mapped_bytes().map_or(0, |b| b.len()) as f64;
    let report = |name: &str, (secs, v): (f64, u64)| {
        println!(
            "{name:<28} {secs:>8.3} s {:>7.2} GB/s  ({v})",
            len / secs / 1e9
        );
    };
    open()?.mapped_bytes().ok_or("not a mappable file")?;
    // Every measurement maps the file afresh, so each pays the same page faults.
    let finder = memchr::memmem::Finder::new(b"X-Forwarded-For");
    report(
        "memmem count (1 thread)",
        median(
            || {
                let cap = open().unwrap();
                finder
                    .find_iter(cap.mapped_bytes().unwrap_or_default())
                    .count() as u64
            },
            runs,
        ),
    );
    report(
        "memchr count 0x00 (1 thread)",
        median(
            || {
                let cap = open().unwrap();
                memchr::memchr_iter(0, cap.mapped_bytes().unwrap_or_default()).count() as u64
            },
            runs,
        ),
    );
    report(
        "walk sequential",
        median(
            || {
                let mut cap = open().unwrap();
                let mut n = 0u64;
                cap.walk(&mut WalkStats::default(), |r| {
                    n += u64::from(r.caplen);
                    ControlFlow::Continue(())
                })
                .unwrap();
                n
            },
            runs,
        ),
    );
    for t in [1, threads] {
        let e = Engine::new(EngineOptions {
            threads: t,
            ..EngineOptions::default()
        })?;
        let name = format!("walk engine ({} threads)", e.threads());
        report(
            &name,
            median(
                || {
                    let mut cap = open().unwrap();
                    let mut n = 0;
                    e.run(&mut cap, &Count, |c, _| {
                        n += c;
                        ControlFlow::Continue(())
                    })
                    .unwrap();
                    n
                },
                runs,
            ),
        );
    }
    Ok(())
}
