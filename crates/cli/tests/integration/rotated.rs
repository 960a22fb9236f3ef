//! Rotated back captures (`gen_fleet`'s layout): a PROXY preamble that ends one file
//! gives its request's identity only when the file before is read too.

use crate::util::run;
use proxytrace_synth::fleet::{write_fleet, FleetConfig};
use proxytrace_synth::rotate::BoundaryKind;
use serde_json::Value;

fn rows(files: &[&str], port: u64) -> Vec<Value> {
    let mut args = vec!["requests", "--format", "jsonl"];
    args.extend_from_slice(files);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["src_port"] == port)
        .collect()
}

#[test]
fn preamble_at_the_end_of_a_file_needs_that_file() {
    let dir = std::env::temp_dir().join(format!("proxytrace-fleet-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = FleetConfig {
        sensors: 1,
        back_bytes: 2_000_000,
        rotate_seconds: 1,
        ..FleetConfig::default()
    };
    let out = write_fleet(&cfg, &dir).unwrap();
    let truth: Vec<Value> = std::fs::read_to_string(&out.sensors[0].truth)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut checked = 0;
    for b in out.boundaries.iter().filter(|b| b.side == "back") {
        if b.kind != BoundaryKind::PreambleEnd {
            continue;
        }
        let before = dir.join(&b.file_before);
        let after = dir.join(&b.file_after);
        let (before, after) = (before.to_str().unwrap(), after.to_str().unwrap());
        let port = u64::from(b.src_port);
        // The connection's first request, per the truth file.
        let want = truth
            .iter()
            .find(|t| t["back"]["src_port"] == port && t["back"]["dst_ip"] == b.dst_ip.to_string())
            .unwrap();
        let alone = rows(&[after], port);
        let first = alone
            .iter()
            .find(|r| r["target"] == want["target"])
            .unwrap();
        assert_eq!(first["identity_source"], "", "{first}");
        assert_eq!(first["client_ip"], Value::Null, "{first}");
        assert!(
            first["flags"].as_str().unwrap().contains("midstream_start"),
            "{first}"
        );
        let both = rows(&[before, after], port);
        let first = both.iter().find(|r| r["target"] == want["target"]).unwrap();
        assert_eq!(first["identity_source"], "proxy_protocol", "{first}");
        let v = if want["identity"] == "proxy_v1" { 1 } else { 2 };
        assert_eq!(first["proxy_version"], v, "{first}");
        assert_eq!(first["client_ip"], want["client_ip"], "{first}");
        assert_eq!(first["client_port"], want["client_port"], "{first}");
        checked += 1;
    }
    assert!(checked > 0, "no preamble_end boundary");
    let _ = std::fs::remove_dir_all(&dir);
}
