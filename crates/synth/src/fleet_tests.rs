//! Sensors' addresses and the rotated fleet, read back through `proxytrace::capture`
//! (not through `rotate`'s own reader) and `proxytrace::decode`.

use super::fleet::{self, FleetConfig};
use super::rotate;
use super::scenario::{self, ScenarioConfig};
use super::tests::{read_bytes, read_file, temp_path, Rec};
use proxytrace::decode::{self, Decoded, FiveTuple, TcpView};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn tcp(r: &Rec) -> Option<(FiveTuple, TcpView<'_>)> {
    match decode::decode(r.link_type, &r.data, r.orig_len, r.ts_ns) {
        Ok(Decoded::Ip(p)) => Some((p.five_tuple()?, *p.tcp()?)),
        _ => None,
    }
}

/// Directed 5-tuples of every TCP packet, and the servers (SYN destinations).
fn tuples(cap: &[u8], tag: &str) -> (BTreeSet<FiveTuple>, BTreeSet<IpAddr>) {
    let (recs, _) = read_bytes(cap, tag);
    let (mut all, mut servers) = (BTreeSet::new(), BTreeSet::new());
    for r in &recs {
        let (t, h) = tcp(r).expect("every generated packet is TCP");
        all.insert(t);
        if h.flags.syn() && !h.flags.ack() {
            servers.insert(t.dst_ip);
        }
    }
    (all, servers)
}

/// The same seed at three sensors: the same clients, yet no 5-tuple or server address in
/// common; each sensor's servers are the documented ones, in the captures and the truth.
#[test]
fn sensors_never_share_an_address() {
    let mut seen_tuples: BTreeSet<FiveTuple> = BTreeSet::new();
    let mut seen_servers: BTreeSet<IpAddr> = BTreeSet::new();
    for s in 0..3u8 {
        let cfg = ScenarioConfig {
            seed: 31,
            back_bytes: 300_000,
            sensor: s,
            ..ScenarioConfig::default()
        };
        let (_, f, b, t) = scenario::generate(&cfg, Vec::new(), Vec::new(), Vec::new()).unwrap();
        let lb = [
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10 + s)),
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0xffff,
                0,
                0,
                0,
                0,
                0x10 + u16::from(s),
            )),
        ];
        let backend = |ip: IpAddr| match ip {
            IpAddr::V4(v) => v.octets()[..3] == [10, s, 1] && (1..=16).contains(&v.octets()[3]),
            IpAddr::V6(_) => false,
        };
        let (ft, fs) = tuples(&f, "sensor-front");
        let (bt, bs) = tuples(&b, "sensor-back");
        assert!(fs.iter().all(|ip| lb.contains(ip)), "{s}: {fs:?}");
        assert!(bs.iter().all(|&ip| backend(ip)), "{s}: {bs:?}");
        assert!(!fs.is_empty() && !bs.is_empty());
        // The LB's back address is the source of every non-transparent back connection.
        let lb_back = IpAddr::V4(Ipv4Addr::new(10, s, 0, 2));
        assert!(bt.iter().any(|t| t.src_ip == lb_back));
        for line in String::from_utf8(t).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ip = |x: &serde_json::Value| x.as_str().unwrap().parse::<IpAddr>().unwrap();
            assert!(backend(ip(&v["back"]["dst_ip"])), "{line}");
            if !v["front"].is_null() {
                assert!(lb.contains(&ip(&v["front"]["dst_ip"])), "{line}");
            }
        }
        for t in ft.iter().chain(&bt) {
            assert!(seen_tuples.insert(*t), "sensor {s} repeats {t:?}");
        }
        for ip in fs.iter().chain(&bs).chain([&lb_back]) {
            assert!(seen_servers.insert(*ip), "sensor {s} repeats {ip}");
        }
    }
}

#[test]
fn stamps_are_tcpdump_names() {
    // Checked with `date -u -d @SECS +%Y%m%d%H%M%S`.
    assert_eq!(rotate::stamp(1_767_225_600_000_000_000), "20260101000000");
    assert_eq!(rotate::stamp(951_868_799_999_999_999), "20000229235959");
    assert_eq!(rotate::stamp(4_102_444_799_000_000_000), "20991231235959");
}

/// Where the record bytes of a capture start: after the pcap global header or the
/// pcapng section and interface blocks (as the generator writes them).
fn header_len(cap: &[u8]) -> usize {
    if cap.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let shb = u32::from_le_bytes(cap[4..8].try_into().unwrap()) as usize;
        let idb = u32::from_le_bytes(cap[shb + 4..shb + 8].try_into().unwrap()) as usize;
        shb + idb
    } else {
        24
    }
}

fn is_method(p: &[u8]) -> bool {
    [&b"GET "[..], b"POST ", b"PUT ", b"DELETE "]
        .iter()
        .any(|m| p.starts_with(m))
}

fn check_fleet(format: scenario::OutFormat) {
    let dir = temp_path("fleet");
    let cfg = FleetConfig {
        sensors: 2,
        back_bytes: 2_000_000,
        rotate_seconds: 1,
        format,
        ..FleetConfig::default()
    };
    let out = fleet::write_fleet(&cfg, &dir).unwrap();
    assert_eq!(out.sensors.len(), 2);
    for (k, s) in out.sensors.iter().enumerate() {
        let sc = cfg.sensor_config(k as u8);
        let (_, f, b, _) = scenario::generate(&sc, Vec::new(), Vec::new(), Vec::new()).unwrap();
        for (files, whole) in [(&s.front, &f), (&s.back, &b)] {
            assert!(files.len() > 1, "sensor {k}: {files:?}");
            // The generator writes each side in time order (no sort needed), and
            // rotate's reader sees the records proxytrace sees.
            let (whole_recs, _) = read_bytes(whole, "fleet-order");
            assert!(whole_recs.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
            let cap = rotate::read(whole).unwrap();
            assert!(rotate::in_time_order(&cap));
            let ts: Vec<i64> = cap.records.iter().map(|r| r.ts_ns).collect();
            assert_eq!(ts, whole_recs.iter().map(|r| r.ts_ns).collect::<Vec<_>>());
            // Records, as proxytrace reads them, and bytes: the files' concatenation.
            let mut recs = Vec::new();
            let mut bytes = whole[..header_len(whole)].to_vec();
            for p in files {
                let (r, _) = read_file(p);
                assert!(!r.is_empty(), "{p:?}");
                recs.extend(r);
                let fb = std::fs::read(p).unwrap();
                assert_eq!(fb[..header_len(&fb)], whole[..header_len(whole)]);
                bytes.extend_from_slice(&fb[header_len(&fb)..]);
            }
            assert!(bytes == *whole, "sensor {k}: bytes differ");
            assert_eq!(recs, read_bytes(whole, "fleet-whole").0);
        }
        // tcpdump-style names, one per nominal period, starting at the scenario's start.
        let name = |p: &std::path::PathBuf| p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name(&s.back[0]).starts_with("back-20260101000000."));
        assert!(name(&s.front[1]).starts_with("front-20260101000001."));
    }
    let mut kinds = BTreeSet::new();
    let lines = std::fs::read_to_string(&out.boundaries_path).unwrap();
    assert_eq!(lines.lines().count(), out.boundaries.len());
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = v["kind"].as_str().unwrap().to_string();
        let ip = |f: &str| v[f].as_str().unwrap().parse::<IpAddr>().unwrap();
        let port = |f: &str| v[f].as_u64().unwrap() as u16;
        let want = (
            ip("src_ip"),
            port("src_port"),
            ip("dst_ip"),
            port("dst_port"),
        );
        let (before, _) = read_file(&dir.join(v["file_before"].as_str().unwrap()));
        let (after, _) = read_file(&dir.join(v["file_after"].as_str().unwrap()));
        // The named packet is the last one of file_before.
        let (t, last) = tcp(before.last().unwrap()).unwrap();
        assert_eq!((t.src_ip, t.src_port, t.dst_ip, t.dst_port), want, "{line}");
        let next_seq = last.seq.wrapping_add(last.payload.len() as u32);
        // Nothing of the connection before the continuation in file_after.
        let cont = after
            .iter()
            .filter_map(tcp)
            .find(|(u, _)| *u == t || *u == t.reversed())
            .unwrap_or_else(|| panic!("no continuation: {line}"));
        match kind.as_str() {
            "syn" => {
                assert!(v["side"] == "front");
                assert!(last.flags.syn() && !last.flags.ack(), "{line}");
                assert_eq!(cont.0, t.reversed(), "{line}");
                assert!(cont.1.flags.syn() && cont.1.flags.ack(), "{line}");
                assert!(before
                    .iter()
                    .filter_map(tcp)
                    .all(|(u, h)| u != t.reversed() || !h.flags.syn()));
            }
            "preamble_end" | "split_head" => {
                assert!(v["side"] == "back");
                let p = last.payload;
                if kind == "preamble_end" {
                    let v2 = p.starts_with(b"\r\n\r\n\0\r\nQUIT\n");
                    assert!(
                        v2 || (p.starts_with(b"PROXY ") && p.ends_with(b"\r\n")),
                        "{line}"
                    );
                } else {
                    assert!(
                        is_method(p) && !p.windows(4).any(|w| w == b"\r\n\r\n"),
                        "{line}"
                    );
                }
                // The next client bytes of the connection open file_after.
                let (u, h) = after
                    .iter()
                    .filter_map(tcp)
                    .find(|(u, h)| *u == t && !h.payload.is_empty())
                    .unwrap_or_else(|| panic!("no continuation: {line}"));
                assert_eq!((u, h.seq), (t, next_seq), "{line}");
                if kind == "preamble_end" {
                    assert!(is_method(h.payload), "{line}");
                }
            }
            other => panic!("kind {other}"),
        }
        kinds.insert((v["sensor"].as_u64().unwrap(), kind));
    }
    let all: Vec<_> = kinds.iter().map(|(s, k)| format!("{s}:{k}")).collect();
    assert_eq!(
        all,
        [
            "0:preamble_end",
            "0:split_head",
            "0:syn",
            "1:preamble_end",
            "1:split_head",
            "1:syn"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fleet_pcap_files_rejoin_and_boundaries_hold() {
    check_fleet(scenario::OutFormat::Pcap);
}

#[test]
fn fleet_pcapng_files_rejoin_and_boundaries_hold() {
    check_fleet(scenario::OutFormat::PcapNg);
}
