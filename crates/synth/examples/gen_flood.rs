//! Write a hostile flood capture (see `proxytrace_synth::flood`).
//!
//! cargo run --release --example gen_flood -- KIND FLOWS OUT.pcap [--seed N]
//!
//! KIND: `fx-colliding` (IPv6 clients whose 5-tuples all collide under the former unseeded
//! flow hasher, 65,536 at most), `random-v6` (the same shape with random clients),
//! `partial-heads` (distinct IPv4 clients each leaving a request head unfinished) or
//! `syn-hosts` (one timestamped SYN per distinct IPv4 host).

use proxytrace_synth::flood::{write_flood, FloodKind};
use std::fs::File;
use std::io::BufWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage =
        "usage: gen_flood fx-colliding|random-v6|partial-heads|syn-hosts FLOWS OUT.pcap [--seed N]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, flows, out, rest @ ..] = args.as_slice() else {
        return Err(usage.into());
    };
    let kind = match kind.as_str() {
        "fx-colliding" => FloodKind::FxColliding,
        "random-v6" => FloodKind::RandomV6,
        "partial-heads" => FloodKind::PartialHeads,
        "syn-hosts" => FloodKind::SynHosts,
        _ => return Err(usage.into()),
    };
    let seed = match rest {
        [] => 1,
        [flag, n] if flag == "--seed" => n.parse()?,
        _ => return Err(usage.into()),
    };
    let flows: u64 = flows.parse()?;
    let w = write_flood(BufWriter::new(File::create(out)?), kind, flows, seed)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}
