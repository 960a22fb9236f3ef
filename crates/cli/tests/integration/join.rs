//! `join` against the scenario generator's truth files: every `certain` row must name the
//! truth's front connection and SYN time; the clock offset estimate must land near the
//! generated offset; the SYN columns must equal `syns` rows.

use crate::util::{run, testdata};
use proxytrace::timefmt::{rfc3339, Precision};
use proxytrace_synth::scenario::{generate_to_dir, LinkKind, OutFormat, ScenarioConfig};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("proxytrace-join-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const FLAGS: [&str; 3] = ["--transparent", "--trusted", "10.0.0.2"];

fn join(front: &Path, back: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "join",
        "--front",
        front.to_str().unwrap(),
        "--back",
        back.to_str().unwrap(),
    ];
    args.extend_from_slice(&FLAGS);
    args.extend_from_slice(extra);
    run(&args)
}

fn back_key(src: &Value, sp: &Value, dst: &Value, dp: &Value, target: &Value) -> String {
    format!("{src} {sp} {dst} {dp} {target}")
}

/// Per (truth rule, method, confidence): rows and wrong rows. Panics on any wrong
/// `certain` row, and on rows that are not in the truth.
type Tally = BTreeMap<(String, String, String), (u64, u64)>;

fn check_rows(truth_path: &Path, rows: &[Value], tally: &mut Tally) {
    let truth = jsonl(&std::fs::read_to_string(truth_path).unwrap());
    assert_eq!(rows.len(), truth.len(), "one row per back-side request");
    let by_key: HashMap<String, &Value> = truth
        .iter()
        .map(|t| {
            let b = &t["back"];
            let k = back_key(
                &b["src_ip"],
                &b["src_port"],
                &b["dst_ip"],
                &b["dst_port"],
                &t["target"],
            );
            (k, t)
        })
        .collect();
    for r in rows {
        let k = back_key(
            &r["src_ip"],
            &r["src_port"],
            &r["dst_ip"],
            &r["dst_port"],
            &r["target"],
        );
        let t = by_key
            .get(&k)
            .unwrap_or_else(|| panic!("not in truth: {r}"));
        let f = &t["front"];
        let right = !f.is_null()
            && r["front_src_ip"] == f["src_ip"]
            && r["front_src_port"] == f["src_port"]
            && r["front_dst_ip"] == f["dst_ip"]
            && r["front_dst_port"] == f["dst_port"]
            && r["front_syn_time"]
                == rfc3339(t["front_syn_ts_ns"].as_i64().unwrap(), Precision::NANO).as_str()
            && r["syn_time"] == r["front_syn_time"]
            && r["syn_src_port"] == f["src_port"];
        let conf = r["join_confidence"].as_str().unwrap();
        let method = r["join_method"].as_str().unwrap();
        if conf == "certain" {
            assert!(right, "a certain row is wrong:\n{t}\n{r}");
        }
        if conf == "none" {
            assert!(
                r["front_src_ip"].is_null() && r["syn_signature"].is_null(),
                "{r}"
            );
            assert_eq!(r["join_candidates"], 0, "{r}");
        }
        if t["client_ip"].is_null() {
            assert_eq!(method, "no_identity", "{r}");
        }
        if t["join_rule"] == "no_front" {
            assert_eq!(method, "none", "{t}\n{r}");
        }
        let e = tally
            .entry((
                t["join_rule"].as_str().unwrap().to_string(),
                method.to_string(),
                conf.to_string(),
            ))
            .or_default();
        e.0 += 1;
        if conf != "none" && !right {
            e.1 += 1;
        }
    }
}

fn estimated_offset(stderr: &str) -> i64 {
    let rest = stderr
        .split("clock offset estimated ")
        .nth(1)
        .unwrap_or_else(|| panic!("no estimate in {stderr}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

fn print_tally(tally: &Tally) {
    let total: u64 = tally.values().map(|v| v.0).sum();
    let mut by_method: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_conf: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    eprintln!("truth rule / join method / confidence: rows (wrong)");
    for ((rule, method, conf), (n, wrong)) in tally {
        eprintln!("  {rule:18} {method:14} {conf:9} {n:6} ({wrong})");
        *by_method.entry(method).or_default() += n;
        let c = by_conf.entry(conf).or_default();
        c.0 += n;
        c.1 += wrong;
    }
    for (m, n) in by_method {
        eprintln!("  method {m:14} {:5.1} %", 100.0 * n as f64 / total as f64);
    }
    for (c, (n, w)) in by_conf {
        let share = 100.0 * n as f64 / total as f64;
        if c == "none" {
            eprintln!("  confidence {c:9} {share:5.1} % of rows");
        } else {
            let precision = 100.0 * (n - w) as f64 / n as f64;
            eprintln!("  confidence {c:9} {share:5.1} % of rows, precision {precision:5.1} %");
        }
    }
}

/// Scenarios with clock offsets, NAT, reused back connections, retransmitted SYNs and
/// clients never seen on the front side (the generator makes all of them).
#[test]
fn generated_pairs_join_as_the_truth_says() {
    let mut tally = Tally::new();
    // The last, larger pair has enough NAT addresses active at once for ambiguous rows.
    for (seed, format, link, offset_ms, mib) in [
        (1, OutFormat::Pcap, LinkKind::Ethernet, -1500, 6),
        (2, OutFormat::PcapNg, LinkKind::Vlan, 250, 6),
        (3, OutFormat::Pcap, LinkKind::Sll2, 0, 6),
        (4, OutFormat::Pcap, LinkKind::Ethernet, 42_000, 6),
        (5, OutFormat::Pcap, LinkKind::Ethernet, -90_000, 48),
    ] {
        let dir = scratch_dir(&format!("truth{seed}"));
        let offset_ns = offset_ms * 1_000_000;
        let cfg = ScenarioConfig {
            seed,
            back_bytes: mib << 20,
            format,
            link,
            clock_offset_ns: offset_ns,
            ..ScenarioConfig::default()
        };
        let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
        let (code, out, err) = join(&files.front, &files.back, &["--format", "jsonl"]);
        assert_eq!(code, 0, "{err}");
        // The estimate is the offset plus the proxy's median forwarding delay (front
        // request to back request: a few milliseconds in the generator).
        let est = estimated_offset(&err);
        eprintln!("seed {seed}: offset {offset_ns} ns, estimated {est} ns");
        assert!(
            (0..20_000_000).contains(&(est - offset_ns)),
            "estimate {est} for {offset_ns}"
        );
        let rows = jsonl(&out);
        check_rows(&files.truth, &rows, &mut tally);
        // The given offset joins the same way; two passes change nothing but memory.
        let given = format!("{offset_ms}ms");
        let (_, out2, err2) = join(
            &files.front,
            &files.back,
            &["--format", "jsonl", "--clock-offset", &given, "--two-pass"],
        );
        assert!(
            err2.contains("(given)") && err2.contains("two-pass"),
            "{err2}"
        );
        let rows2 = jsonl(&out2);
        check_rows(&files.truth, &rows2, &mut Tally::new());
        let certain = |rows: &[Value]| {
            rows.iter()
                .filter(|r| r["join_confidence"] == "certain")
                .count()
        };
        assert_eq!(certain(&rows), certain(&rows2));
        let _ = std::fs::remove_dir_all(&dir);
    }
    print_tally(&tally);
    let certain: u64 = tally
        .iter()
        .filter(|(k, _)| k.2 == "certain")
        .map(|(_, v)| v.0)
        .sum();
    // Every ip_port and request_match request of the truth is joined with certainty,
    // but for request matches of clients that also had TLS connections open (the front
    // side cannot see that those did not carry the request; transparent-mode requests,
    // ip_port in the truth, are request-matched first): those are probable or
    // ambiguous, and right.
    let exact: u64 = tally
        .iter()
        .filter(|(k, _)| k.0 == "ip_port" || k.0 == "request_match")
        .map(|(_, v)| v.0)
        .sum();
    let downgraded: Vec<(u64, u64)> = tally
        .iter()
        .filter(|(k, _)| {
            (k.0 == "ip_port" || k.0 == "request_match")
                && k.1 == "request_match"
                && k.2 != "certain"
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(downgraded.iter().all(|v| v.1 == 0), "{tally:?}");
    let downgraded: u64 = downgraded.iter().map(|v| v.0).sum();
    assert_eq!(certain + downgraded, exact, "{tally:?}");
}

/// The `syn_` columns of joined rows equal the `syns` rows of the same packets: the index
/// rebuilds rows from profiles and per-SYN values without losing anything.
#[test]
fn syn_columns_equal_syns_rows() {
    let dir = scratch_dir("syncols");
    let cfg = ScenarioConfig {
        seed: 11,
        back_bytes: 3 << 20,
        clock_offset_ns: 700_000_000,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let (_, syns, _) = run(&["syns", "--format", "jsonl", files.front.to_str().unwrap()]);
    let by_packet: HashMap<u64, Value> = jsonl(&syns)
        .into_iter()
        .map(|r| (r["packet"].as_u64().unwrap(), r))
        .collect();
    let (code, out, err) = join(&files.front, &files.back, &["--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let mut checked = 0;
    for r in jsonl(&out) {
        let Some(p) = r["syn_packet"].as_u64() else {
            continue;
        };
        let want = &by_packet[&p];
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&r[format!("syn_{k}")], v, "{k} of packet {p}");
        }
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The column order: every `requests` column, the front connection, every `syns` column
/// prefixed `syn_`, then the join's own.
#[test]
fn columns_are_requests_front_syns_join() {
    let dir = scratch_dir("cols");
    let cfg = ScenarioConfig {
        seed: 12,
        back_bytes: 100 << 10,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let header = |args: &[&str]| run(args).1.lines().next().unwrap().to_string();
    let req = header(&["requests", "--format", "csv", files.back.to_str().unwrap()]);
    let syn = header(&["syns", "--format", "csv", files.front.to_str().unwrap()]);
    let got = header(&[
        "join",
        "--format",
        "csv",
        "--front",
        files.front.to_str().unwrap(),
        "--back",
        files.back.to_str().unwrap(),
    ]);
    let syn_prefixed: Vec<String> = syn.split(',').map(|c| format!("syn_{c}")).collect();
    let want = format!(
        "{req},front_src_ip,front_src_port,front_dst_ip,front_dst_port,front_syn_time,{},join_method,join_confidence,join_candidates,join_delta_ns,back_protocol",
        syn_prefixed.join(",")
    );
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn count_quiet_client_and_summary() {
    let dir = scratch_dir("grep");
    let cfg = ScenarioConfig {
        seed: 13,
        back_bytes: 1 << 20,
        clock_offset_ns: -3_000_000_000,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let truth = jsonl(&std::fs::read_to_string(&files.truth).unwrap());
    let (code, out, _) = join(&files.front, &files.back, &["-c"]);
    assert_eq!((code, out.trim()), (0, truth.len().to_string().as_str()));
    let client = truth
        .iter()
        .find_map(|t| t["client_ip"].as_str().filter(|_| !t["front"].is_null()))
        .unwrap()
        .to_string();
    let want: Vec<&Value> = truth
        .iter()
        .filter(|t| t["client_ip"] == client.as_str())
        .collect();
    let (code, out, _) = join(&files.front, &files.back, &["-c", "--client", &client]);
    assert_eq!((code, out.trim()), (0, want.len().to_string().as_str()));
    let (code, out, _) = join(&files.front, &files.back, &["-q", "--client", &client]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = join(&files.front, &files.back, &["-c", "--client", "192.0.2.99"]);
    assert_eq!((code, out.trim()), (1, "0"));
    // --summary: one row for the client, its counts from the truth.
    let (code, out, _) = join(
        &files.front,
        &files.back,
        &["--summary", "--format", "jsonl", "--client", &client],
    );
    assert_eq!(code, 0);
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1, "{out}");
    let s = &rows[0];
    assert_eq!(s["client_ip"], client.as_str());
    assert_eq!(s["requests"], want.len() as u64);
    let mut backs: Vec<String> = want.iter().map(|t| t["back"].to_string()).collect();
    backs.sort();
    backs.dedup();
    assert_eq!(s["back_flows"], backs.len() as u64);
    let mut fronts: Vec<String> = want.iter().map(|t| t["front"].to_string()).collect();
    fronts.sort();
    fronts.dedup();
    // Every request of a client seen on the front joins to some connection; ip_time may
    // pick one connection for several, never more connections than requests.
    let n = s["front_connections"].as_u64().unwrap();
    assert!(n >= 1 && n <= want.len() as u64, "{s}");
    assert!(s["fingerprints"].as_u64().unwrap() >= 1, "{s}");
    let (code, _, err) = join(Path::new("/nonexistent.pcap"), &files.back, &["-c"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[
        "join",
        "--front",
        files.front.to_str().unwrap(),
        "--back",
        "-",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--clock-offset"), "{err}");
    let (code, _, err) = join(&files.front, &files.back, &["--clock-offset", "5 parsecs"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown unit"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// CSV and JSON of a small generated pair, byte for byte. The rows are checked against the
/// truth first (certain rows right), so the golden files pin schema and formatting.
#[test]
fn golden_csv_and_json_of_a_generated_pair() {
    let dir = scratch_dir("golden");
    let cfg = ScenarioConfig {
        seed: 21,
        back_bytes: 200 << 10,
        clock_offset_ns: 1_250_000_000,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let (code, out, err) = join(&files.front, &files.back, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    check_rows(&files.truth, &rows, &mut Tally::new());
    let bless = std::env::var_os("PROXYTRACE_BLESS").is_some();
    for (format, ext) in [("csv", "csv"), ("json", "json")] {
        let (code, out, _) = join(&files.front, &files.back, &["--format", format]);
        assert_eq!(code, 0);
        let out = out
            .replace(files.back.to_str().unwrap(), "back.pcap")
            .replace(files.front.to_str().unwrap(), "front.pcap");
        let golden = testdata(&format!("golden/join/seed21.{ext}"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &out).unwrap();
        }
        assert_eq!(out, std::fs::read_to_string(&golden).unwrap(), "{ext}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A back request naming its client in IPv4-mapped IPv6 form joins to that client's IPv4
/// front SYN, and counts as the same client as a request naming the plain IPv4 form.
#[test]
fn mapped_ipv6_client_joins_its_ipv4_syn() {
    use proxytrace_synth::packet::TcpPacket;
    use proxytrace_synth::writer::{PcapConfig, PcapWriter};
    use std::net::IpAddr;
    const T0: i64 = 1_700_000_000_000_000_000;
    let capture = |packets: &[(i64, TcpPacket)]| {
        let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
        let mut frame = Vec::new();
        for (ts, p) in packets {
            frame.clear();
            p.build(&mut frame);
            w.packet(*ts, &frame).unwrap();
        }
        w.finish().unwrap()
    };
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let client = ip("77.148.90.167");
    let front = capture(&[(
        T0,
        TcpPacket {
            src: client,
            dst: ip("203.0.113.10"),
            src_port: 51000,
            dst_port: 443,
            seq: 7,
            flags: 0x02,
            ..TcpPacket::default()
        },
    )]);
    let request = |xff: &str| {
        format!("GET /{xff} HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: {xff}\r\n\r\n").into_bytes()
    };
    let (mapped, plain) = (request("::ffff:77.148.90.167"), request("77.148.90.167"));
    /// A SYN from the proxy, then the request 1 ms later.
    fn back_conn(port: u16, t: i64, payload: &[u8]) -> Vec<(i64, TcpPacket<'_>)> {
        let p = |seq: u32, flags: u16, payload| TcpPacket {
            src: IpAddr::V4([10, 0, 0, 2].into()),
            dst: IpAddr::V4([10, 0, 1, 1].into()),
            src_port: port,
            dst_port: 8080,
            seq,
            flags,
            payload,
            ..TcpPacket::default()
        };
        vec![
            (t, p(1000, 0x02, b"")),
            (t + 1_000_000, p(1001, 0x18, payload)),
        ]
    }
    let mut back_packets = back_conn(40000, T0 + 1_000_000, &mapped);
    back_packets.extend(back_conn(40001, T0 + 3_000_000, &plain));
    let back = capture(&back_packets);
    let dir = scratch_dir("mapped");
    std::fs::create_dir_all(&dir).unwrap();
    let (fp, bp) = (dir.join("front.pcap"), dir.join("back.pcap"));
    std::fs::write(&fp, front).unwrap();
    std::fs::write(&bp, back).unwrap();
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "join".to_string(),
            "--front".into(),
            fp.to_str().unwrap().into(),
            "--back".into(),
            bp.to_str().unwrap().into(),
            "--clock-offset".into(),
            "0s".into(),
            "--format".into(),
            "jsonl".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run_args = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, out, err) = run(&a);
        assert_eq!(code, 0, "{err}");
        jsonl(&out)
    };
    let rows = run_args(args(&[]));
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["client_ip"].to_string(),
                r["front_src_ip"].to_string(),
                r["front_src_port"].to_string(),
            )
        })
        .collect();
    let want = (
        "\"77.148.90.167\"".to_string(),
        "\"77.148.90.167\"".to_string(),
        "51000".to_string(),
    );
    assert_eq!(got, vec![want.clone(), want], "{rows:?}");
    let summary = run_args(args(&["--summary"]));
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0]["client_ip"], "77.148.90.167");
    assert_eq!(summary[0]["requests"], 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A back file that cannot be read during the clock-offset estimate is reported, once,
/// and fails the run, even when the last read gets through it. Here the back "file" is a
/// FIFO whose first reader (the estimate) gets bytes that are not a capture and whose
/// second (the rows) gets the real capture. The estimate used to drop its read errors, so
/// this run printed nothing and exited 0 as if every file had been read.
#[cfg(unix)]
#[test]
fn back_file_unreadable_during_the_estimate_is_reported() {
    use std::io::Write;
    let dir = scratch_dir("estimate-error");
    let cfg = ScenarioConfig {
        seed: 14,
        back_bytes: 100 << 10,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let back = std::fs::read(&files.back).unwrap();
    let fifo = dir.join("back.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // The harness cannot order the run's second open of the FIFO after the writer's first
    // close: when the run reopens it first, it joins the first writer's pipe, reads nothing
    // and never takes the real capture (the writer is then left waiting). That is a race
    // of this harness, seen as the writer unfinished; run again, at most three times. A run
    // that never opens the FIFO twice leaves the writer unfinished every time and fails.
    let mut attempt = 0;
    let (code, out, err) = loop {
        attempt += 1;
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            let back = back.clone();
            move || {
                let open = || std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                // The reader sees these bytes, then the end of the file, and closes its end.
                let _ = open().write_all(b"this is not a capture file at all");
                // Before opening again, let it close: a writer opening while the first
                // reader still holds the FIFO would write into that reader's pipe.
                std::thread::sleep(std::time::Duration::from_secs(2));
                let _ = open().write_all(&back);
            }
        });
        let result = join(&files.front, &fifo, &["-c"]);
        // Should the run end without opening the FIFO a second time, the writer would
        // wait for a reader forever. Be that reader, so the test fails instead of hanging.
        for _ in 0..50 {
            if writer.is_finished() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let raced = !writer.is_finished();
        if raced {
            if let Ok(mut f) = std::fs::File::open(&fifo) {
                let _ = std::io::copy(&mut f, &mut std::io::sink());
            }
        }
        writer.join().unwrap();
        if !raced || attempt == 3 {
            break result;
        }
    };
    let truth = jsonl(&std::fs::read_to_string(&files.truth).unwrap());
    assert_eq!(out.trim(), truth.len().to_string(), "{err}");
    assert_eq!(
        err.matches("not a pcap or pcapng capture").count(),
        1,
        "{err}"
    );
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `join --client X` gives the rows of the whole join whose client is X: its clock offset
/// is estimated from every pair, not from X's alone (on the sample, X's one pair gave
/// 24.011 ms where all three give 5.409 ms, and `ip_time` picks could change with it).
#[test]
fn a_client_filter_keeps_the_whole_joins_clock_offset() {
    let front = testdata("sample/front.pcap");
    let back = testdata("sample/back.pcap");
    let (code, all, err) = join(&front, &back, &["--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let client = "62.5.161.246";
    let (code, one, err_one) = join(&front, &back, &["--format", "jsonl", "--client", client]);
    assert_eq!(code, 0, "{err_one}");
    let expected: Vec<Value> = jsonl(&all)
        .into_iter()
        .filter(|r| r["client_ip"] == client)
        .collect();
    assert_eq!(expected.len(), 3, "{all}");
    assert_eq!(jsonl(&one), expected);
    let offset = |e: &str| {
        e.lines()
            .find(|l| l.contains("clock offset"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert_eq!(offset(&err_one), offset(&err), "{err_one}");
}
