//! Replays testdata/fuzz-regressions/: inputs that once crashed proxytrace (see the README
//! there). Each must be read without a panic, with identical results mapped and streamed,
//! with one worker and with tiny parallel chunks.

use crate::util::testdata;
use proxytrace::capture::{self, Input, OpenOptions};
use proxytrace::commands::info;
use proxytrace::commands::requests;
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::extract::requests::{RequestRow, RequestsConfig};
use proxytrace::pipeline::Inputs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata("fuzz-regressions").join(dir))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn rows(engine: &Engine, path: &Path, mmap: bool) -> (Vec<RequestRow>, String) {
    let inputs = Inputs::from_files(vec![Input::Path(path.to_path_buf())], OpenOptions { mmap });
    let mut out = Vec::new();
    let report = requests::run(engine, &inputs, &RequestsConfig::default(), &mut out)
        .unwrap_or_else(|never| match never {});
    assert!(report.failed_files.is_empty(), "{:?}", report.failed_files);
    let mut json = serde_json::to_value(&report).unwrap();
    // Only the time taken may differ between runs.
    json.as_object_mut().unwrap().remove("seconds");
    (out, json.to_string())
}

#[test]
fn crashing_captures_are_read_the_same_every_way() {
    let one = Engine::new(EngineOptions {
        threads: 1,
        ..EngineOptions::default()
    })
    .unwrap();
    let tiny = Engine::new(EngineOptions {
        threads: 2,
        chunk_size: 64,
        batch_size: 64,
    })
    .unwrap();
    let found = files("capture");
    assert!(
        !found.is_empty(),
        "testdata/fuzz-regressions/capture is empty"
    );
    for path in found {
        let bytes = std::fs::read(&path).unwrap();
        let mapped = capture::open(&Input::Path(path.clone()), OpenOptions { mmap: true });
        let streamed = capture::from_reader(path.clone(), Box::new(Cursor::new(bytes)));
        let a = info::describe_sequential(mapped.unwrap()).unwrap();
        let b = info::describe_with(&tiny, streamed.unwrap()).unwrap();
        let json = |f: &info::FileInfo| {
            let mut v = serde_json::to_value(f).unwrap();
            // Only the source differs: the size on disk is known for the file only.
            v.as_object_mut().unwrap().remove("file_bytes");
            v
        };
        assert_eq!(json(&a), json(&b), "{}", path.display());
        assert!(a.packets.decoded() + a.packets.undecodable_total() <= a.records);

        let reference = rows(&one, &path, true);
        assert!(reference == rows(&tiny, &path, true), "{}", path.display());
        assert!(reference == rows(&tiny, &path, false), "{}", path.display());
    }
}
