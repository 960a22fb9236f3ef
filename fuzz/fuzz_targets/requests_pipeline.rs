//! The whole `requests` pipeline on a generated-then-mutated BACK capture: a small valid
//! capture from the scenario generator (fuzz-chosen seed, size, format and link), then
//! fuzz-chosen byte changes and a cut. Read mapped with one worker, mapped with tiny
//! parallel chunks, and streamed from a reader in tiny batches: rows and every counter of
//! the summary must be identical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::capture::{Input, OpenOptions};
use proxytrace::commands::requests;
use proxytrace::engine::Engine;
use proxytrace::extract::requests::{RequestRow, RequestStage, RequestsConfig};
use proxytrace::pipeline::{Inputs, Report, Stage};
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

/// The report's counters as JSON, without what differs by how the run was driven (time,
/// files, rows and notes come from the run loop; the streamed side drives the stage itself).
fn counters(report: &Report) -> String {
    let mut v = serde_json::to_value(report).unwrap();
    let m = v.as_object_mut().unwrap();
    // `notes` say how the run learned its profiles (a first read, or the stage's own).
    for k in ["seconds", "files", "rows", "inputs", "failed_files", "aggregated", "notes"] {
        m.remove(k);
    }
    v.to_string()
}

fn mapped(engine: &Engine, path: &std::path::Path) -> (Vec<RequestRow>, String) {
    let inputs = Inputs::from_files(
        vec![Input::Path(path.to_path_buf())],
        OpenOptions { mmap: true },
    );
    let mut rows = Vec::new();
    let report = requests::run(engine, &inputs, &config(), &mut rows)
        .unwrap_or_else(|never| match never {});
    assert!(
        report.failed_files.is_empty(),
        "a generated capture's header is never mutated: {:?}",
        report.failed_files
    );
    (rows, counters(&report))
}

fn streamed(engine: &Engine, bytes: &[u8], path: &std::path::Path) -> (Vec<RequestRow>, String) {
    // The identity profiles come from a first read, as `requests::run` learns them for a
    // file (the bytes are in memory, so the stream can be read twice).
    let mut cfg = config();
    let mut learner = RequestStage::learner(&cfg);
    let cap = open_stream(bytes).expect("the header is not mutated");
    let _ = learner
        .file(engine, cap, &mut |_| ControlFlow::Continue(()))
        .expect("in-memory reads do not fail");
    let _ = Stage::finish(&mut learner, &mut |_| ControlFlow::Continue(()));
    cfg.profiles = Some(std::sync::Arc::new(learner.into_profiles()));
    let mut stage = RequestStage::new(&cfg);
    let mut rows = Vec::new();
    let mut emit = |r: RequestRow| {
        rows.push(r);
        ControlFlow::Continue(())
    };
    let mut cap = open_stream(bytes).expect("the header is not mutated");
    // Named like the mapped file so rows compare equal.
    cap.path = path.to_path_buf();
    // A stop request cannot come: `emit` always continues.
    let _ = stage
        .file(engine, cap, &mut emit)
        .expect("in-memory reads do not fail");
    let _ = Stage::finish(&mut stage, &mut emit);
    let mut report = Report::default();
    stage.report(&mut report);
    (rows, counters(&report))
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
