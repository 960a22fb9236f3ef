//! Per-segment cost of the request reassembly: `HeadAssembler::push` over the TCP segments
//! of a generated BACK capture (handshakes, request heads and bodies, server responses,
//! closes: the generator's realistic mix), plus `finish`. Reported per segment.
//! Needs in Cargo.toml: [[bench]] name = "reassembly", harness = false.
//!
//! `PROXYTRACE_BENCH_BYTES` sets the capture size (default 64 MiB).

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use proxytrace::capture::{self, WalkStats};
use proxytrace::decode::{self, Decoded, FiveTuple, TcpFlags};
use proxytrace::http1::{HeadAssembler, ReassemblyConfig, SegmentMeta};
use proxytrace_synth::scenario::{self, Bodies, ScenarioConfig};
use std::ops::{ControlFlow, Range};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

/// A decoded segment with its payload in [`Segments::bytes`].
struct Seg {
    ts_ns: i64,
    index: u64,
    flow: FiveTuple,
    seq: u32,
    flags: TcpFlags,
    payload: Range<usize>,
}

/// Every TCP segment of a capture, decoded once, outside the measurement.
struct Segments {
    segs: Vec<Seg>,
    bytes: Vec<u8>,
}

impl Segments {
    fn iter(&self) -> impl Iterator<Item = SegmentMeta<'_>> {
        self.segs.iter().map(|s| SegmentMeta {
            ts_ns: s.ts_ns,
            packet_index: s.index,
            flow: s.flow,
            seq: s.seq,
            flags: s.flags,
            payload: &self.bytes[s.payload.clone()],
        })
    }
}

fn segments(bodies: Bodies) -> Segments {
    let size = std::env::var("PROXYTRACE_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64u64 << 20);
    let cfg = ScenarioConfig {
        seed: 1,
        back_bytes: size,
        bodies,
        ..ScenarioConfig::default()
    };
    let (_, _, back, _) =
        scenario::generate(&cfg, std::io::sink(), Vec::new(), std::io::sink()).unwrap();
    let mut cap =
        capture::from_reader("bench".into(), Box::new(std::io::Cursor::new(back))).unwrap();
    let mut out = Segments {
        segs: Vec::new(),
        bytes: Vec::new(),
    };
    let mut stats = WalkStats::default();
    cap.walk(&mut stats, |r| {
        if let Ok(Decoded::Ip(p)) = decode::decode(r.link_type, r.data, r.orig_len, r.ts_ns) {
            if let Some(s) = SegmentMeta::from_packet(&p, r.index) {
                let at = out.bytes.len();
                out.bytes.extend_from_slice(s.payload);
                out.segs.push(Seg {
                    ts_ns: s.ts_ns,
                    index: r.index,
                    flow: s.flow,
                    seq: s.seq,
                    flags: s.flags,
                    payload: at..out.bytes.len(),
                });
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

fn plain() -> &'static Segments {
    static S: OnceLock<Segments> = OnceLock::new();
    S.get_or_init(|| segments(Bodies::Plain))
}

fn decoy() -> &'static Segments {
    static S: OnceLock<Segments> = OnceLock::new();
    S.get_or_init(|| segments(Bodies::Decoy))
}

/// A fresh assembler per iteration (as per capture), every segment pushed, then finished.
fn reassemble(bencher: Bencher, s: &'static Segments) {
    bencher.counter(ItemsCount::new(s.segs.len())).bench(|| {
        let mut a = HeadAssembler::new(ReassemblyConfig::default());
        let mut events = 0usize;
        let mut out = |e| {
            black_box(e);
            events += 1;
        };
        for seg in s.iter() {
            a.push(black_box(seg), &mut out);
        }
        a.finish(&mut out);
        events
    });
}

/// Plain bodies (text, JSON, random bytes): the realistic case.
#[divan::bench]
fn push_plain_bodies(bencher: Bencher) {
    reassemble(bencher, plain());
}

/// The generator's decoy bodies (identity-like lines in bodies): framing skips them, so
/// this should cost the same as plain bodies.
#[divan::bench]
fn push_decoy_bodies(bencher: Bencher) {
    reassemble(bencher, decoy());
}
