//! Per-proxy identity profiles end to end: the source a proxy writes beats the ones its
//! clients forge, learned from the capture (first read of a file, warm-up of a stream),
//! stated by `--identity-header` or a config file, and reported by `proxies`.

use crate::util::{run, TempFile};
use proxytrace_synth::packet::{TcpFlags, TcpPacket};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};

/// One back-side request: the proxy 10.0.0.2 -> backend 10.0.1.9:8080, its own connection.
pub(crate) struct Req {
    headers: String,
    /// The client the proxy saw (the truth), if it forwarded a client's request.
    client: Option<IpAddr>,
}

/// HAProxy `set-header X-Client-IP %[src]`: every forwarded request carries it; every
/// fifth client forges XFF, X-Real-IP and Forwarded; three health checks carry nothing.
pub(crate) fn xclientip_requests(n: u32) -> Vec<Req> {
    let mut v = Vec::new();
    for i in 0..n {
        let client = IpAddr::V4(Ipv4Addr::new(81, 2, (i / 200) as u8, (i % 200) as u8 + 1));
        let mut headers = String::from("Host: shop\r\nUser-Agent: curl/8.5.0\r\n");
        if i % 5 == 0 {
            headers.push_str(
                "X-Forwarded-For: 8.8.8.8\r\nX-Real-IP: 8.8.4.4\r\nForwarded: for=\"9.9.9.9:4711\"\r\n",
            );
        }
        headers.push_str(&format!("X-Client-IP: {client}\r\n"));
        v.push(Req {
            headers,
            client: Some(client),
        });
    }
    for _ in 0..3 {
        v.push(Req {
            headers: String::new(),
            client: None,
        });
    }
    v
}

pub(crate) fn capture(reqs: &[Req]) -> TempFile {
    let mut bytes = Vec::new();
    {
        let mut w = PcapWriter::new(&mut bytes, PcapConfig::default()).unwrap();
        let mut frame = Vec::new();
        let mut t = 1_767_225_600_000_000_000i64;
        for (i, r) in reqs.iter().enumerate() {
            let sport = 40000 + i as u16;
            let target = format!("/r/{i}");
            let payload = format!("GET {target} HTTP/1.1\r\n{}\r\n", r.headers);
            let base = TcpPacket {
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 9)),
                src_port: sport,
                dst_port: 8080,
                ..TcpPacket::default()
            };
            for (flags, seq, payload) in [
                (TcpFlags::SYN, 1000, &b""[..]),
                (TcpFlags::ACK | TcpFlags::PSH, 1001, payload.as_bytes()),
            ] {
                frame.clear();
                TcpPacket {
                    flags,
                    seq,
                    payload,
                    ..base
                }
                .build(&mut frame);
                w.packet(t, &frame).unwrap();
                t += 1_000_000;
            }
        }
        w.finish().unwrap();
    }
    TempFile::with_bytes(".pcap", &bytes)
}

fn rows(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn requests(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["requests", "--format", "jsonl"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    assert_eq!(code, 0, "{err}");
    rows(&out)
}

/// Every row names the client the proxy saw; the forged sources are flagged.
fn assert_right(rows: &[Value], reqs: &[Req], basis: &str) {
    assert_eq!(rows.len(), reqs.len());
    for r in rows {
        let i: usize = r["target"].as_str().unwrap()[3..].parse().unwrap();
        let want = reqs[i].client.map(|c| c.to_string());
        assert_eq!(r["client_ip"].as_str().map(str::to_string), want, "{r}");
        assert_eq!(r["identity_basis"], basis, "{r}");
        if want.is_some() {
            assert_eq!(r["identity_source"], "x_client_ip", "{r}");
            let forged = i.is_multiple_of(5);
            assert_eq!(r["spoof_suspect"], forged, "{r}");
            if forged {
                assert_eq!(
                    r["spoof_reasons"],
                    "client_sent:forwarded|client_sent:x_forwarded_for|client_sent:x_real_ip",
                    "{r}"
                );
                assert_eq!(
                    r["client_port"],
                    Value::Null,
                    "the forged port is not taken: {r}"
                );
            }
        }
    }
}

#[test]
fn the_header_the_proxy_writes_is_learned_and_wins() {
    let reqs = xclientip_requests(40);
    let f = capture(&reqs);
    let path = f.0.to_str().unwrap();
    assert_right(&requests(&[path]), &reqs, "profile");
    // The summary says how the profiles were learned.
    let (_, _, err) = run(&["requests", "--format", "csv", path]);
    assert!(
        err.contains("identity profiles: 1 of 1 proxy/backend pairs have one"),
        "{err}"
    );
}

#[test]
fn a_stream_learns_from_its_warm_up_and_prints_the_same() {
    let reqs = xclientip_requests(40);
    let f = capture(&reqs);
    let path = f.0.to_str().unwrap();
    let (_, from_file, _) = run(&["requests", "--format", "csv", path]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", "--format", "csv", "-"])
        .stdin(std::fs::File::open(&f.0).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let from_stdin = String::from_utf8(out.stdout).unwrap();
    assert_eq!(from_stdin.replace(",-,", &format!(",{path},")), from_file);
    assert!(String::from_utf8_lossy(&out.stderr).contains("learned from the first"));
}

#[test]
fn too_few_requests_fall_back_to_the_default_order_and_say_so() {
    // 15 forwarded requests (< 20): no profile; a forged Forwarded wins, as the row says.
    let reqs = xclientip_requests(15);
    let f = capture(&reqs);
    let rows = requests(&[f.0.to_str().unwrap()]);
    let forged = rows.iter().find(|r| r["target"] == "/r/0").unwrap();
    assert_eq!(forged["identity_basis"], "default_order");
    assert_eq!(forged["client_ip"], "9.9.9.9");
}

#[test]
fn the_user_can_name_the_header_on_the_command_line_or_in_a_file() {
    let reqs = xclientip_requests(15);
    let f = capture(&reqs);
    let path = f.0.to_str().unwrap();
    assert_right(
        &requests(&["--identity-header", "X-Client-IP", path]),
        &reqs,
        "configured",
    );
    let conf = TempFile::with_bytes(".conf", b"# case 12\n--identity-header\nx-client-ip\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", "--format", "jsonl", path])
        .env("PROXYTRACE_CONFIG_PATH", &conf.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_right(
        &rows(&String::from_utf8(out.stdout).unwrap()),
        &reqs,
        "configured",
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("identity settings from PROXYTRACE_CONFIG_PATH=")
            && err.contains("x-client-ip"),
        "{err}"
    );
    // A flag the file may not hold is an error naming the line.
    let bad = TempFile::with_bytes(".conf", b"--format=csv\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", path])
        .env("PROXYTRACE_CONFIG_PATH", &bad.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    // A p0f header names no client.
    let (code, _, err) = run(&["requests", "--identity-header", "X-P0f-OS", path]);
    assert_eq!(code, 2);
    assert!(err.contains("p0f header"), "{err}");
}

#[test]
fn proxies_reports_each_pairs_shares_and_choice() {
    let reqs = xclientip_requests(40);
    let f = capture(&reqs);
    let (code, out, err) = run(&["proxies", "--format", "jsonl", f.0.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = rows(&out);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["proxy_ip"], "10.0.0.2");
    assert_eq!(r["backend_ip"], "10.0.1.9");
    assert_eq!(r["backend_port"], 8080);
    // 40 forwarded requests; the 3 without User-Agent or identity are health checks.
    assert_eq!(r["requests"], 40);
    assert_eq!(r["health_check_like"], 3);
    assert_eq!(r["connections"], 43);
    assert_eq!(r["x_client_ip_share"], 100.0);
    // Every fifth (8 of 40) forged the others.
    for s in [
        "x_forwarded_for_share",
        "x_real_ip_share",
        "forwarded_share",
    ] {
        assert_eq!(r[s], 20.0, "{s}");
    }
    assert_eq!(r["written"], "x_client_ip");
    assert_eq!(r["chosen"], "x_client_ip");
    assert_eq!(r["reason"], "written");
    assert_eq!(r["front_certain"], Value::Null);
    let (code, _, err) = run(&["proxies", "--client", "1.2.3.4", f.0.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--client does not apply"), "{err}");
}

/// The address an `X-Forwarded-For` / `X-Real-IP` entry names (port and brackets off).
fn entry_addr(e: &str) -> Option<IpAddr> {
    let e = e.trim();
    if let Some(rest) = e.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    e.parse()
        .ok()
        .or_else(|| e.rsplit_once(':').and_then(|(a, _)| a.parse().ok()))
}

#[test]
fn proxies_with_front_counts_agreement_on_certain_joins() {
    use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
    let dir = std::env::temp_dir().join(format!("proxytrace-proxies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ScenarioConfig {
        seed: 21,
        back_bytes: 200 << 10,
        clock_offset_ns: 1_250_000_000,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let (front, back) = (files.front.to_str().unwrap(), files.back.to_str().unwrap());
    let (code, out, err) = run(&["proxies", "--format", "jsonl", "--front", front, back]);
    assert_eq!(code, 0, "{err}");
    let got = rows(&out);
    // The same evidence computed from join's own rows.
    let (code, out, err) = run(&[
        "join", "--format", "jsonl", "--front", front, "--back", back,
    ]);
    assert_eq!(code, 0, "{err}");
    let mut want: std::collections::BTreeMap<String, (u64, [u64; 4])> = Default::default();
    for j in rows(&out)
        .iter()
        .filter(|j| j["join_confidence"] == "certain")
    {
        let pair = format!("{} {} {}", j["src_ip"], j["dst_ip"], j["dst_port"]);
        let e = want.entry(pair).or_default();
        e.0 += 1;
        let front_ip: IpAddr = j["front_src_ip"].as_str().unwrap().parse().unwrap();
        for (i, col) in ["xff", "x_real_ip"].iter().enumerate() {
            let v = j[*col].as_str().unwrap();
            if let Some(a) = v.rsplit(',').next().and_then(entry_addr) {
                e.1[2 * i] += 1;
                e.1[2 * i + 1] += u64::from(a.to_canonical() == front_ip.to_canonical());
            }
        }
    }
    assert!(!want.is_empty(), "the pair has certain joins");
    let mut seen = 0;
    for r in &got {
        let pair = format!(
            "{} {} {}",
            r["proxy_ip"], r["backend_ip"], r["backend_port"]
        );
        let Some((certain, [xc, xa, rc, ra])) = want.get(&pair) else {
            assert_eq!(r["front_certain"], 0, "{r}");
            continue;
        };
        seen += 1;
        assert_eq!(r["front_certain"], *certain, "{r}");
        let text = r["front_agreement"].as_str().unwrap();
        if *xc > 0 {
            assert!(
                text.contains(&format!("x_forwarded_for={xa}/{xc}")),
                "{text}"
            );
        }
        if *rc > 0 {
            assert!(text.contains(&format!("x_real_ip={ra}/{rc}")), "{text}");
        }
    }
    assert_eq!(
        seen,
        want.len(),
        "every pair with certain joins has its row"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
