//! Per-row cost of formatting: `requests` rows (`RequestRow`) and `syns` rows (`SynRow`)
//! through the printers to CSV and JSON Lines (requests in their JSON form, `RequestJson`,
//! as the binary prints them), into `io::sink`. Rows come from running the commands on a
//! generated FRONT/BACK pair (plain bodies), outside the measurement; each iteration
//! formats all of them with a fresh printer (the CSV header once). Reported per row.
//! Needs in Cargo.toml: [[bench]] name = "format", harness = false.
//!
//! `PROXYTRACE_BENCH_BYTES` sets the BACK capture size (default 32 MiB).

use divan::counter::ItemsCount;
use divan::Bencher;
use proxytrace::capture::{Input, OpenOptions};
use proxytrace::commands::{requests, syns};
use proxytrace::engine::{Engine, EngineOptions};
use proxytrace::extract::handshakes::SynRow;
use proxytrace::extract::requests::{RequestJson, RequestRow, RequestsConfig};
use proxytrace::fingerprint::builtin;
use proxytrace::pipeline::{Inputs, Sink};
use proxytrace::printers::{self, Format};
use proxytrace_synth::scenario::{self, Bodies, ScenarioConfig};
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

struct Rows {
    requests: Vec<RequestRow>,
    syns: Vec<SynRow>,
}

fn rows() -> &'static Rows {
    static R: OnceLock<Rows> = OnceLock::new();
    R.get_or_init(|| {
        let size = std::env::var("PROXYTRACE_BENCH_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(32u64 << 20);
        let dir: PathBuf =
            std::env::temp_dir().join(format!("proxytrace-bench-format-{}", std::process::id()));
        let cfg = ScenarioConfig {
            seed: 1,
            back_bytes: size,
            bodies: Bodies::Plain,
            ..ScenarioConfig::default()
        };
        let (_, files) = scenario::generate_to_dir(&cfg, &dir).unwrap();
        let engine = Engine::new(EngineOptions::default()).unwrap();
        let open = OpenOptions { mmap: true };
        let mut requests = Vec::new();
        let back = Inputs::from_files(vec![Input::Path(files.back.clone())], open);
        requests::run(&engine, &back, &RequestsConfig::default(), &mut requests).unwrap();
        let mut syns = Vec::new();
        let front = Inputs::from_files(vec![Input::Path(files.front.clone())], open);
        let config = syns::SynsConfig {
            db: builtin::database(),
            clients: Default::default(),
        };
        syns::run(&engine, &front, &config, &mut syns).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        Rows { requests, syns }
    })
}

/// Formats clones of `rows` (cloned outside the measurement) as `J` in `format`.
fn format_rows<R, J>(bencher: Bencher, rows: &'static [R], format: Format)
where
    R: Clone + Sync,
    J: From<R> + serde::Serialize,
{
    bencher
        .counter(ItemsCount::new(rows.len()))
        .with_inputs(|| rows.to_vec())
        .bench_local_values(|rows| {
            let mut p = printers::printer::<J>(format, Box::new(std::io::sink()), true);
            for r in rows {
                let _ = p.row(J::from(r)).unwrap();
            }
            p.finish().unwrap();
        });
}

#[divan::bench]
fn request_csv(bencher: Bencher) {
    format_rows::<RequestRow, RequestRow>(bencher, &rows().requests, Format::Csv);
}

#[divan::bench]
fn request_jsonl(bencher: Bencher) {
    format_rows::<RequestRow, RequestJson>(bencher, &rows().requests, Format::Jsonl);
}

#[divan::bench]
fn syn_csv(bencher: Bencher) {
    format_rows::<SynRow, SynRow>(bencher, &rows().syns, Format::Csv);
}

#[divan::bench]
fn syn_jsonl(bencher: Bencher) {
    format_rows::<SynRow, SynRow>(bencher, &rows().syns, Format::Jsonl);
}
