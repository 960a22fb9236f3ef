//! Helpers shared by the fuzz targets: capture framing, walks in comparable form, and
//! engines with tiny chunks so every chunk hand-off is exercised.

use proxytrace::capture::{self, Capture, CaptureError, Input, OpenOptions, Record, WalkStats};
use proxytrace::engine::{Engine, EngineOptions, Job};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Name given to every source, so error messages compare equal whatever the source.
pub const NAME: &str = "fuzz-input";

/// (index, offset, ts_ns, interface, link_type, caplen, orig_len, data hash)
pub type Rec = (u64, u64, i64, u32, u16, u32, u32, u64);

pub fn rec(r: &Record<'_>) -> Rec {
    let mut h = DefaultHasher::new();
    r.data.hash(&mut h);
    (
        r.index,
        r.offset,
        r.ts_ns,
        r.interface,
        r.link_type,
        r.caplen,
        r.orig_len,
        h.finish(),
    )
}

/// A walk's records and counters, or its error message with the file name neutralised.
#[derive(Debug, PartialEq)]
pub struct Walked {
    pub records: Vec<Rec>,
    pub stats: WalkStats,
}

fn neutral(e: &CaptureError, path: &str) -> String {
    e.to_string().replace(path, NAME)
}

/// Walk a capture sequentially (the reference).
pub fn sequential(cap: Result<Capture, CaptureError>, path: &str) -> Result<Walked, String> {
    let mut cap = cap.map_err(|e| neutral(&e, path))?;
    let mut stats = WalkStats::default();
    let mut records = Vec::new();
    cap.walk(&mut stats, |r| {
        records.push(rec(r));
        ControlFlow::Continue(())
    })
    .map_err(|e| neutral(&e, path))?;
    check_invariants(&stats, records.len());
    Ok(Walked { records, stats })
}

/// `records = emitted + skipped`, and the emitted count is what the callback saw.
pub fn check_invariants(stats: &WalkStats, seen: usize) {
    assert_eq!(stats.records, stats.emitted + stats.skipped_records());
    assert_eq!(stats.emitted, seen as u64);
}

/// Collects each chunk's records; `rebase` makes indexes file-wide.
pub struct Collect;

impl Job for Collect {
    type Chunk = Vec<Rec>;
    type Out = Vec<Rec>;
    fn start(&self) -> Vec<Rec> {
        Vec::new()
    }
    fn record(&self, c: &mut Vec<Rec>, r: &Record<'_>) {
        c.push(rec(r));
    }
    fn finish(&self, c: Vec<Rec>, _: &WalkStats) -> Vec<Rec> {
        c
    }
    fn rebase(&self, out: &mut Vec<Rec>, base: u64) {
        for r in out {
            r.0 += base;
        }
    }
}

/// Walk through the engine (parallel chunks for a mapped file, batches for a stream).
pub fn chunked(
    engine: &Engine,
    cap: Result<Capture, CaptureError>,
    path: &str,
) -> Result<Walked, String> {
    let mut cap = cap.map_err(|e| neutral(&e, path))?;
    let mut records = Vec::new();
    let run = engine
        .run(&mut cap, &Collect, |out, _| {
            records.extend(out);
            ControlFlow::Continue(())
        })
        .map_err(|e| neutral(&e, path))?;
    check_invariants(&run.stats, records.len());
    Ok(Walked {
        records,
        stats: run.stats,
    })
}

/// Two workers and 64-byte chunks / batches: many hand-offs on small inputs.
pub fn tiny_chunk_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        Engine::new(EngineOptions {
            threads: 2,
            chunk_size: 64,
            batch_size: 64,
        })
        .expect("thread pool")
    })
}

/// One worker, default chunk sizes: the whole input in one chunk.
pub fn one_thread_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        Engine::new(EngineOptions {
            threads: 1,
            ..EngineOptions::default()
        })
        .expect("thread pool")
    })
}

/// A per-process scratch file holding `bytes` (the mapped source needs a real file).
pub fn scratch_file(bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("proxytrace-fuzz-{}.cap", std::process::id()));
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

pub fn open_mapped(p: &Path) -> Result<Capture, CaptureError> {
    capture::open(&Input::Path(p.to_path_buf()), OpenOptions { mmap: true })
}

pub fn open_stream(bytes: &[u8]) -> Result<Capture, CaptureError> {
    capture::from_reader(PathBuf::from(NAME), Box::new(Cursor::new(bytes.to_vec())))
}

/// Frame arbitrary bytes as a capture: selector 0 keeps them as they are (they carry
/// their own magic), 1-4 prepend a legacy pcap header (µs/ns, little/big endian) of link
/// type `lt`, 5-6 a pcapng section and interface of link type `lt` and resolution `res`.
pub fn frame(selector: u8, lt: u16, res: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    match selector % 7 {
        0 => {}
        s @ 1..=4 => {
            let magic: u32 = if s % 2 == 1 { 0xa1b2_c3d4 } else { 0xa1b2_3c4d };
            let words = [magic, 0x0004_0002, 0, 0, 262_144, u32::from(lt)];
            for (i, w) in words.iter().enumerate() {
                if s <= 2 {
                    if i == 1 {
                        // version 2.4 as two u16s
                        out.extend_from_slice(&2u16.to_le_bytes());
                        out.extend_from_slice(&4u16.to_le_bytes());
                    } else {
                        out.extend_from_slice(&w.to_le_bytes());
                    }
                } else if i == 1 {
                    out.extend_from_slice(&2u16.to_be_bytes());
                    out.extend_from_slice(&4u16.to_be_bytes());
                } else {
                    out.extend_from_slice(&w.to_be_bytes());
                }
            }
        }
        s => {
            let big = s == 6;
            let w32 = |out: &mut Vec<u8>, v: u32| {
                out.extend_from_slice(&if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                })
            };
            let w16 = |out: &mut Vec<u8>, v: u16| {
                out.extend_from_slice(&if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                })
            };
            // SHB: type, length 28, byte-order magic, version 1.0, section length -1.
            w32(&mut out, 0x0a0d_0d0a);
            w32(&mut out, 28);
            w32(&mut out, 0x1a2b_3c4d);
            w16(&mut out, 1);
            w16(&mut out, 0);
            out.extend_from_slice(&[0xff; 8]);
            w32(&mut out, 28);
            // IDB with if_tsresol = res and opt_endofopt: 20 + 8 + 4 = 32 bytes.
            w32(&mut out, 1);
            w32(&mut out, 32);
            w16(&mut out, lt);
            w16(&mut out, 0);
            w32(&mut out, 262_144);
            w16(&mut out, 9);
            w16(&mut out, 1);
            out.extend_from_slice(&[res, 0, 0, 0]);
            w32(&mut out, 0);
            w32(&mut out, 32);
        }
    }
    out.extend_from_slice(body);
    out
}
