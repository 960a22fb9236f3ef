//! The whole `requests` pipeline on a generated-then-mutated BACK capture: a small valid
//! capture from the scenario generator (fuzz-chosen seed, size, format and link), then
//! fuzz-chosen byte changes and a cut. Read mapped with one worker, mapped with tiny
//! parallel chunks, and streamed from a reader in tiny batches: rows and every counter of
//! the summary must be identical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::capture::{Input, OpenOptions};
use proxytrace::engine::Engine;
use proxytrace::extract::requests::{self, RequestExtractor, RequestRow, RequestsConfig};
use proxytrace_synth::scenario::{self, LinkKind, OutFormat, ScenarioConfig};
use proxytrace_fuzz::{one_thread_engine, open_stream, scratch_file, tiny_chunk_engine};
use std::ops::ControlFlow;

fn config() -> RequestsConfig {
    RequestsConfig {
        trusted: vec!["10.0.0.0/8".parse().unwrap()],
        transparent: true,
        ..RequestsConfig::default()
    }
}

fn mapped(engine: &Engine, path: &std::path::Path) -> (Vec<RequestRow>, String) {
    let mut rows = Vec::new();
    let summary = requests::run(
        engine,
        vec![Input::Path(path.to_path_buf())],
        OpenOptions { mmap: true },
        &config(),
        &mut |r| {
            rows.push(r);
            ControlFlow::Continue(())
        },
        &mut |e| panic!("a generated capture's header is never mutated: {e}"),
    );
    (rows, serde_json::to_string(&summary).unwrap())
}

fn streamed(engine: &Engine, bytes: &[u8], path: &std::path::Path) -> (Vec<RequestRow>, String) {
    let cfg = config();
    let mut ex = RequestExtractor::new(&cfg);
    let mut rows = Vec::new();
    let mut emit = |r: RequestRow| {
        rows.push(r);
        ControlFlow::Continue(())
    };
    let cap = open_stream(bytes).expect("the header is not mutated");
    // Named like the mapped file so rows compare equal.
    let name = path.display().to_string();
    // A stop request cannot come: `emit` always continues.
    let _ = ex
        .walk_capture(engine, cap, name, &mut emit)
        .expect("in-memory reads do not fail");
    let _ = ex.finish(&mut emit);
    (rows, serde_json::to_string(&ex.summary).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let [seed, size, shape, cut, mutations @ ..] = data else {
        return;
    };
    let cfg = ScenarioConfig {
        seed: u64::from(*seed),
        back_bytes: 1024 + u64::from(*size) * 64,
        front_bytes: 0,
        format: if shape & 1 == 0 {
            OutFormat::Pcap
        } else {
            OutFormat::PcapNg
        },
        link: match (shape >> 1) % 3 {
            0 => LinkKind::Ethernet,
            1 => LinkKind::Vlan,
            _ => LinkKind::Sll2,
        },
        ..ScenarioConfig::default()
    };
    let (_, _, mut bytes, _) =
        scenario::generate(&cfg, std::io::sink(), Vec::new(), std::io::sink()).unwrap();
    // Keep the file header so every run opens the file: pcap 24 bytes; pcapng SHB (28)
    // and the IDB (40: link type, snap length, if_name "back", if_tsresol, end of options).
    let keep = if shape & 1 == 0 { 24 } else { 68 };
    let body = bytes.len() - keep;
    for m in mutations.chunks_exact(3) {
        let at = keep + usize::from(u16::from_le_bytes([m[0], m[1]])) * body / 65536;
        bytes[at] ^= m[2];
    }
    let cut_to = bytes.len() - usize::from(*cut) * body / 1024;
    bytes.truncate(cut_to.max(keep));

    let path = scratch_file(&bytes);
    let reference = mapped(one_thread_engine(), &path);
    let parallel = mapped(tiny_chunk_engine(), &path);
    assert!(
        reference == parallel,
        "one worker and tiny parallel chunks differ"
    );
    let stream = streamed(tiny_chunk_engine(), &bytes, &path);
    assert!(reference == stream, "mapped and streamed differ");
});
