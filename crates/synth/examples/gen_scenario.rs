//! Generate a FRONT/BACK capture pair with a truth file.
//!
//! cargo run --release --example gen_scenario -- --seed 7 --out DIR --back-bytes 2G
//!     [--front-bytes 100M] [--format pcap|pcapng] [--link ethernet|vlan|sll2]
//!     [--clock-offset-ms N] [--bodies decoy|plain]
//!
//! With `--stdout back` (or `front`) instead of `--out`, that one capture is written to
//! standard output and nothing else is kept: captures larger than the disk can be piped
//! straight into `proxytrace ... -`. Two generators with the same arguments write the
//! same pair, so `--stdout front` and `--stdout back` into two FIFOs feed `join`.

use clap::Parser;
use proxytrace_synth::scenario::{self, Bodies, LinkKind, OutFormat, ScenarioConfig};
use std::io;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Write a synthetic FRONT/BACK capture pair and its truth file")]
struct Args {
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output directory.
    #[arg(long, required_unless_present = "stdout")]
    out: Option<PathBuf>,
    /// Write only this capture, to standard output (no files, no truth).
    #[arg(long, conflicts_with = "out", value_parser = ["back", "front"])]
    stdout: Option<String>,
    /// Body filler: `decoy` (identity-like header lines in bodies, adversarial) or
    /// `plain` (text, JSON and random bytes without header-like lines, realistic).
    #[arg(long, default_value = "decoy", value_parser = ["decoy", "plain"])]
    bodies: String,
    /// Minimum size of the back capture (K/M/G suffixes).
    #[arg(long, default_value = "64M", value_parser = size)]
    back_bytes: u64,
    /// Minimum size of the front capture (default: whatever the back side needs).
    #[arg(long, default_value = "0", value_parser = size)]
    front_bytes: u64,
    #[arg(long, default_value = "pcap", value_parser = ["pcap", "pcapng"])]
    format: String,
    #[arg(long, default_value = "ethernet", value_parser = ["ethernet", "vlan", "sll2"])]
    link: String,
    /// Offset added to every back-capture timestamp, in milliseconds (may be negative).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_ms: i64,
}

fn size(s: &str) -> Result<u64, String> {
    scenario::parse_size(s).ok_or_else(|| format!("bad size {s:?} (e.g. 500M, 2G)"))
}

fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let cfg = ScenarioConfig {
        seed: a.seed,
        back_bytes: a.back_bytes,
        front_bytes: a.front_bytes,
        format: if a.format == "pcapng" {
            OutFormat::PcapNg
        } else {
            OutFormat::Pcap
        },
        link: match a.link.as_str() {
            "vlan" => LinkKind::Vlan,
            "sll2" => LinkKind::Sll2,
            _ => LinkKind::Ethernet,
        },
        clock_offset_ns: a.clock_offset_ms.saturating_mul(1_000_000),
        bodies: if a.bodies == "plain" {
            Bodies::Plain
        } else {
            Bodies::Decoy
        },
        ..ScenarioConfig::default()
    };
    let t0 = Instant::now();
    if let Some(side) = a.stdout.as_deref() {
        let out = io::BufWriter::with_capacity(8 << 20, io::stdout().lock());
        let st = if side == "back" {
            scenario::generate(&cfg, io::sink(), out, io::sink())?.0
        } else {
            scenario::generate(&cfg, out, io::sink(), io::sink())?.0
        };
        let (bytes, packets) = if side == "back" {
            (st.back_bytes, st.back_packets)
        } else {
            (st.front_bytes, st.front_packets)
        };
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "{side} to stdout: {packets} packets, {bytes} bytes, {} requests, {secs:.2} s, {:.1} MB/s",
            st.requests,
            bytes as f64 / 1e6 / secs.max(1e-9)
        );
        return Ok(());
    }
    let dir = a
        .out
        .ok_or_else(|| io::Error::other("--out DIR or --stdout SIDE is required"))?;
    let (st, files) = scenario::generate_to_dir(&cfg, &dir)?;
    let secs = t0.elapsed().as_secs_f64();
    let truth_len = std::fs::metadata(&files.truth)?.len();
    println!(
        "front  {}: {} packets, {} bytes, {} connections",
        files.front.display(),
        st.front_packets,
        st.front_bytes,
        st.front_connections
    );
    println!(
        "back   {}: {} packets, {} bytes, {} connections",
        files.back.display(),
        st.back_packets,
        st.back_bytes,
        st.back_connections
    );
    println!(
        "truth  {}: {} requests, {} bytes",
        files.truth.display(),
        st.requests,
        truth_len
    );
    let total = st.front_bytes + st.back_bytes + truth_len;
    println!(
        "{:.2} s, {:.1} MB/s",
        secs,
        total as f64 / 1e6 / secs.max(1e-9)
    );
    Ok(())
}
