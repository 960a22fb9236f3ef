//! Several sensors' FRONT/BACK pairs, each side rotated into files like
//! `tcpdump -G SECONDS -w back-%Y%m%d%H%M%S.pcap`, with boundaries placed on purpose
//! where a rotation breaks a connection (see [`rotate::BoundaryKind`]).
//!
//! Layout under the output directory, for sensor `k` (seed `seed + k`, [`SensorAddrs`]
//! of sensor `k`, all sensors starting at the same time so their captures overlap):
//!
//! ```text
//! sensor-k/front/front-YYYYmmddHHMMSS.pcap   (name: the file's nominal start, UTC)
//! sensor-k/back/back-YYYYmmddHHMMSS.pcap
//! sensor-k/truth.jsonl
//! boundaries.jsonl                           (one rotate::BoundaryLine per placed boundary)
//! ```
//!
//! [`SensorAddrs`]: crate::scenario::SensorAddrs

use crate::rotate::{self, BoundaryKind, BoundaryLine};
use crate::scenario::{self, Bodies, OutFormat, ScenarioConfig, ScenarioStats};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Sensor `k` uses seed `seed + k`.
    pub seed: u64,
    /// Number of sensors (1..=[`scenario::MAX_SENSOR`] + 1).
    pub sensors: u8,
    /// Minimum size of each sensor's (unsplit) back capture.
    pub back_bytes: u64,
    /// Nominal capture time per file, whole seconds (file names have 1 s resolution).
    pub rotate_seconds: u32,
    pub format: OutFormat,
    pub bodies: Bodies,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            seed: 5,
            sensors: 3,
            back_bytes: 4 << 20,
            rotate_seconds: 2,
            format: OutFormat::Pcap,
            bodies: Bodies::Decoy,
        }
    }
}

impl FleetConfig {
    /// The scenario of sensor `k`: its seed and addresses, preambles sometimes alone.
    pub fn sensor_config(&self, k: u8) -> ScenarioConfig {
        ScenarioConfig {
            seed: self.seed.wrapping_add(u64::from(k)),
            back_bytes: self.back_bytes,
            format: self.format,
            bodies: self.bodies,
            sensor: k,
            preamble_alone: true,
            ..ScenarioConfig::default()
        }
    }
}

/// One sensor's files.
#[derive(Debug, Clone)]
pub struct SensorFiles {
    pub front: Vec<PathBuf>,
    pub back: Vec<PathBuf>,
    pub truth: PathBuf,
    pub stats: ScenarioStats,
}

/// What [`write_fleet`] wrote.
#[derive(Debug, Clone)]
pub struct FleetFiles {
    pub sensors: Vec<SensorFiles>,
    pub boundaries: Vec<BoundaryLine>,
    pub boundaries_path: PathBuf,
}

/// Generate the fleet into `dir` (created if needed).
pub fn write_fleet(cfg: &FleetConfig, dir: &Path) -> io::Result<FleetFiles> {
    if cfg.sensors == 0 || cfg.sensors > scenario::MAX_SENSOR + 1 || cfg.rotate_seconds == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sensors must be 1..=201 and rotate_seconds at least 1",
        ));
    }
    let ext = match cfg.format {
        OutFormat::Pcap => "pcap",
        OutFormat::PcapNg => "pcapng",
    };
    let mut out = FleetFiles {
        sensors: Vec::new(),
        boundaries: Vec::new(),
        boundaries_path: dir.join("boundaries.jsonl"),
    };
    for k in 0..cfg.sensors {
        let sc = cfg.sensor_config(k);
        let sdir = format!("sensor-{k}");
        std::fs::create_dir_all(dir.join(&sdir))?;
        let truth = dir.join(&sdir).join("truth.jsonl");
        let tw = io::BufWriter::new(std::fs::File::create(&truth)?);
        let (stats, front, back, _) = scenario::generate(&sc, Vec::new(), Vec::new(), tw)?;
        // Every sensor shares the same start, so nominal boundaries line up across them.
        let base = sc.start_ns.div_euclid(1_000_000_000) * 1_000_000_000;
        let rot = i64::from(cfg.rotate_seconds) * 1_000_000_000;
        let mut sides = Vec::new();
        for (side, bytes, kinds) in [
            ("front", &front, &[BoundaryKind::Syn][..]),
            (
                "back",
                &back,
                &[BoundaryKind::PreambleEnd, BoundaryKind::SplitHead][..],
            ),
        ] {
            let cap = rotate::read(bytes)?;
            // The generator writes each side in time order (one clock, units one after
            // the other); rotating by time relies on it.
            if !rotate::in_time_order(&cap) {
                return Err(io::Error::other(format!(
                    "sensor {k}: {side} not in time order"
                )));
            }
            let (cuts, nominal) = rotate::plan(bytes, &cap, base, rot, kinds);
            let rel =
                |i: usize| format!("{sdir}/{side}/{side}-{}.{ext}", rotate::stamp(nominal[i]));
            std::fs::create_dir_all(dir.join(&sdir).join(side))?;
            let mut paths = Vec::new();
            for (i, f) in rotate::files(bytes, &cap, &cuts).iter().enumerate() {
                let p = dir.join(rel(i));
                std::fs::write(&p, f)?;
                paths.push(p);
            }
            for (i, c) in cuts.iter().enumerate() {
                if let Some((kind, t, _)) = c.event {
                    out.boundaries.push(BoundaryLine {
                        sensor: k,
                        side,
                        kind,
                        file_before: rel(i),
                        file_after: rel(i + 1),
                        src_ip: t.src_ip,
                        src_port: t.src_port,
                        dst_ip: t.dst_ip,
                        dst_port: t.dst_port,
                    });
                }
            }
            sides.push(paths);
        }
        let back_files = sides.pop().unwrap_or_default();
        let front_files = sides.pop().unwrap_or_default();
        out.sensors.push(SensorFiles {
            front: front_files,
            back: back_files,
            truth,
            stats,
        });
    }
    let mut w = io::BufWriter::new(std::fs::File::create(&out.boundaries_path)?);
    for b in &out.boundaries {
        serde_json::to_writer(&mut w, b).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(out)
}
