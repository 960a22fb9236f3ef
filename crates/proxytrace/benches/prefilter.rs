//! Throughput of the identity-header prefilter over synthetic HTTP traffic.
//! Needs in Cargo.toml: [[bench]] name = "prefilter", harness = false.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
// Its tests run from tests/prefilter.rs; built here under `--all-targets` (cfg(test), no
// test harness) they and `names()`, which only they use, would be dead code.
#[allow(dead_code)]
#[path = "prefilter/needles.rs"]
mod needles;

use needles::Prefilter;

fn main() {
    divan::main();
}

/// 8 MiB of request heads and bodies; with `xff`, one identity header per 12 KiB or so.
fn corpus(xff: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 << 20);
    let mut i = 0u32;
    while v.len() < 8 << 20 {
        v.extend_from_slice(b"GET /index.html?q=forward HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n");
        if xff && i.is_multiple_of(4) {
            v.extend_from_slice(b"X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n");
        }
        v.extend_from_slice(b"\r\n");
        // A body of mostly text with dashes (worst-ish case for the '-' pair).
        for _ in 0..48 {
            v.extend_from_slice(b"lorem-ipsum dolor sit-amet, consectetur adipiscing elit ");
        }
        i += 1;
    }
    v
}

#[divan::bench]
fn find_all(bencher: Bencher) {
    let hay = corpus(true);
    let p = Prefilter::new(&[]);
    let mut out = Vec::new();
    bencher.counter(BytesCount::of_slice(&hay)).bench_local(|| {
        out.clear();
        p.find_all(black_box(&hay), &mut out);
        out.len()
    });
}

#[divan::bench]
fn contains_any_miss(bencher: Bencher) {
    let hay = corpus(false);
    let p = Prefilter::new(&[]);
    bencher
        .counter(BytesCount::of_slice(&hay))
        .bench_local(|| p.contains_any(black_box(&hay)));
}

/// Baseline: one exact-case memmem finder.
#[divan::bench]
fn memmem_one_exact(bencher: Bencher) {
    let hay = corpus(true);
    let f = memchr::memmem::Finder::new(b"X-Forwarded-For");
    bencher
        .counter(BytesCount::of_slice(&hay))
        .bench_local(|| f.find_iter(black_box(&hay)).count());
}
