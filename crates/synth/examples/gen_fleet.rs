//! Generate several sensors' FRONT/BACK pairs, each side rotated into files like
//! `tcpdump -G SECONDS -w back-%Y%m%d%H%M%S.pcap`, with a truth file per sensor and
//! `boundaries.jsonl` naming each boundary placed on a connection-breaking packet.
//!
//! cargo run --release --example gen_fleet -- --seed 5 --sensors 3 --back-bytes 4M
//!     --rotate-seconds 2 --out DIR [--format pcap|pcapng] [--bodies decoy|plain]
//!
//! 4M of back capture is 5 to 12 s of capture time, depending on the seed (retransmitted
//! SYNs wait 1-3 s): rotating every 2 s gives 3-7 files per side. The defaults (seed 5)
//! give 5 files per side for each of the 3 sensors and 4 `preamble_end` boundaries.

use clap::Parser;
use proxytrace_synth::fleet::{self, FleetConfig};
use proxytrace_synth::scenario::{self, Bodies, OutFormat};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Write rotated FRONT/BACK captures of several sensors")]
struct Args {
    /// Sensor k uses seed SEED + k.
    #[arg(long, default_value_t = 5)]
    seed: u64,
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=201))]
    sensors: u8,
    /// Minimum size of each sensor's back capture, all files together (K/M/G suffixes).
    #[arg(long, default_value = "4M", value_parser = size)]
    back_bytes: u64,
    /// Capture time per file, whole seconds.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    rotate_seconds: u32,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "pcap", value_parser = ["pcap", "pcapng"])]
    format: String,
    /// Body filler (see gen_scenario).
    #[arg(long, default_value = "decoy", value_parser = ["decoy", "plain"])]
    bodies: String,
}

fn size(s: &str) -> Result<u64, String> {
    scenario::parse_size(s).ok_or_else(|| format!("bad size {s:?} (e.g. 500M, 2G)"))
}

fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let cfg = FleetConfig {
        seed: a.seed,
        sensors: a.sensors,
        back_bytes: a.back_bytes,
        rotate_seconds: a.rotate_seconds,
        format: if a.format == "pcapng" {
            OutFormat::PcapNg
        } else {
            OutFormat::Pcap
        },
        bodies: if a.bodies == "plain" {
            Bodies::Plain
        } else {
            Bodies::Decoy
        },
    };
    let t0 = Instant::now();
    let out = fleet::write_fleet(&cfg, &a.out)?;
    for (k, s) in out.sensors.iter().enumerate() {
        eprintln!(
            "sensor-{k}: front {} files ({} packets), back {} files ({} packets, {} bytes), {} requests",
            s.front.len(),
            s.stats.front_packets,
            s.back.len(),
            s.stats.back_packets,
            s.stats.back_bytes,
            s.stats.requests
        );
    }
    eprintln!(
        "{}: {} boundaries; {:.2} s",
        out.boundaries_path.display(),
        out.boundaries.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
