//! `requests` and `flows` against the scenario generator's truth files and real captures.

use crate::util::{run, testdata, TempFile};
use proxytrace_synth::scenario::{
    generate_to_dir, LinkKind, OutFormat, ScenarioConfig, ScenarioFiles,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("proxytrace-req-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The truth's identity names, as `requests` spells them.
fn source_name(truth: &str) -> &str {
    match truth {
        "proxy_v1" | "proxy_v2" => "proxy_protocol",
        "none" => "",
        other => other,
    }
}

/// Every request the generator wrote is found once, with the client the truth names.
fn check_against_truth(dir: &Path, back: &Path, extra: &[&str]) {
    let truth = jsonl(&std::fs::read_to_string(dir.join("truth.jsonl")).unwrap());
    let mut args = vec!["requests", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(back.to_str().unwrap());
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), truth.len(), "one row per request written");
    let key = |src: &Value, sp: &Value, dst: &Value, dp: &Value, target: &Value| {
        format!("{src} {sp} {dst} {dp} {target}")
    };
    let mut by_key: HashMap<String, &Value> = HashMap::new();
    for r in &rows {
        let k = key(
            &r["src_ip"],
            &r["src_port"],
            &r["dst_ip"],
            &r["dst_port"],
            &r["target"],
        );
        assert!(
            by_key.insert(k, r).is_none(),
            "targets are unique per request"
        );
    }
    let mut prev_time = String::new();
    for r in &rows {
        let t = r["time"].as_str().unwrap().to_string();
        assert!(t >= prev_time, "rows sorted by time");
        prev_time = t;
    }
    for t in &truth {
        let b = &t["back"];
        let k = key(
            &b["src_ip"],
            &b["src_port"],
            &b["dst_ip"],
            &b["dst_port"],
            &t["target"],
        );
        let r = by_key.get(&k).unwrap_or_else(|| panic!("missing {t}"));
        let ident = t["identity"].as_str().unwrap();
        assert_eq!(r["method"], t["method"], "{t}");
        assert_eq!(r["host"], t["host"], "{t}");
        assert_eq!(r["identity_source"], source_name(ident), "{t}\n{r}");
        assert_eq!(r["client_ip"], t["client_ip"], "{t}\n{r}");
        if ident != "transparent" {
            // Under `usesrc clientip` the back-side port is the proxy's choice; we never
            // claim it as the client's.
            assert_eq!(r["client_port"], t["client_port"], "{t}\n{r}");
        }
        // The first byte's time, to the nanosecond.
        let ts = t["ts_ns"].as_i64().unwrap();
        let want = proxytrace::timefmt::rfc3339(ts, proxytrace::timefmt::Precision::NANO);
        let got = r["time"].as_str().unwrap();
        assert_eq!(&want[..got.len() - 1], &got[..got.len() - 1], "{t}\n{r}");
    }
}

#[test]
fn generated_back_captures_match_truth() {
    for (seed, format, link) in [
        (1, OutFormat::Pcap, LinkKind::Ethernet),
        (2, OutFormat::PcapNg, LinkKind::Vlan),
        (3, OutFormat::Pcap, LinkKind::Sll2),
    ] {
        let dir = scratch_dir(&format!("truth{seed}"));
        let cfg = ScenarioConfig {
            seed,
            back_bytes: 3 << 20,
            format,
            link,
            ..ScenarioConfig::default()
        };
        let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
        // The generator's proxy talks to the backends from 10.0.0.2; transparent
        // connections carry the client's own address.
        check_against_truth(
            &dir,
            &files.back,
            &["--transparent", "--trusted", "10.0.0.2"],
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn output_is_identical_mapped_streamed_and_across_formats() {
    let dir = scratch_dir("formats");
    let cfg = ScenarioConfig {
        seed: 9,
        back_bytes: 1 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let back = files.back.to_str().unwrap();
    let (_, mapped, _) = run(&["requests", "--format", "csv", back]);
    let (_, streamed, _) = run(&["requests", "--format", "csv", "--no-mmap", back]);
    assert_eq!(mapped, streamed);
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&std::fs::read(back).unwrap()).unwrap();
        TempFile::with_bytes(".pcap.gz", &e.finish().unwrap())
    };
    let (_, zipped, _) = run(&["requests", "--format", "csv", gz.0.to_str().unwrap()]);
    // Same rows but for the file column.
    let strip = |s: &str| {
        s.lines()
            .map(|l| l.replace(back, "F").replace(gz.0.to_str().unwrap(), "F"))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&mapped), strip(&zipped));
    // CSV and JSON Lines carry the same rows.
    let (_, jl, _) = run(&["requests", "--format", "jsonl", back]);
    assert_eq!(jl.lines().count() + 1, mapped.lines().count());
    let (_, json, _) = run(&["requests", "--format", "json", back]);
    let arr: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(arr, jsonl(&jl));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 1 MiB seed-5 scenario in a scratch directory: the directory, its files, the truth
/// rows, and the first IPv4 client the truth names.
fn seed5_with_ipv4_client(tag: &str) -> (PathBuf, ScenarioFiles, Vec<Value>, String) {
    let dir = scratch_dir(tag);
    let cfg = ScenarioConfig {
        seed: 5,
        back_bytes: 1 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let truth = jsonl(&std::fs::read_to_string(&files.truth).unwrap());
    let client = truth
        .iter()
        .find_map(|t| t["client_ip"].as_str().filter(|c| c.contains('.')))
        .unwrap()
        .to_string();
    (dir, files, truth, client)
}

#[test]
fn count_quiet_and_client_filters_follow_grep() {
    let (dir, files, truth, client) = seed5_with_ipv4_client("grep");
    let back = files.back.to_str().unwrap();
    let want = truth
        .iter()
        .filter(|t| t["client_ip"] == client.as_str())
        .count();
    let (code, out, _) = run(&["requests", "-c", "--client", &client, back]);
    assert_eq!((code, out.trim()), (0, want.to_string().as_str()));
    let (code, out, _) = run(&["requests", "-q", "--client", &client, back]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = run(&["requests", "-c", "--client", "192.0.2.99", back]);
    assert_eq!((code, out.trim()), (1, "0"));
    let (code, _, _) = run(&["requests", "-q", "--client", "192.0.2.0/24", back]);
    assert_eq!(code, 1);
    let prefix = format!("{}/16", client);
    let (code, out, _) = run(&["requests", "-c", "--client", &prefix, back]);
    assert_eq!(code, 0);
    assert!(out.trim().parse::<usize>().unwrap() >= want);
    let (code, _, err) = run(&["requests", "-c", "--client", "not-an-ip", back]);
    assert_eq!(code, 2);
    assert!(err.contains("neither an IP address nor a CIDR"), "{err}");
    let (code, _, _) = run(&["requests", "-q", "/nonexistent.pcap"]);
    assert_eq!(code, 2);

    // flows: one row per (client, back-side 5-tuple), request counts add up.
    let (code, out, _) = run(&["flows", "--format", "jsonl", "--client", &client, back]);
    assert_eq!(code, 0);
    let flows = jsonl(&out);
    let total: u64 = flows.iter().map(|f| f["requests"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, want);
    let mut expect_tuples: Vec<String> = truth
        .iter()
        .filter(|t| t["client_ip"] == client.as_str())
        .map(|t| format!("{} {}", t["back"]["src_port"], t["back"]["dst_ip"]))
        .collect();
    expect_tuples.sort();
    expect_tuples.dedup();
    assert_eq!(flows.len(), expect_tuples.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn broken_pipe_ends_quietly() {
    let dir = scratch_dir("pipe");
    let cfg = ScenarioConfig {
        seed: 4,
        back_bytes: 2 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["requests", "--format", "csv", files.back.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("time,"));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real capture with HTTP requests and no proxy headers: every request appears, with
/// an empty identity. Checked against `tshark -Y http.request -T fields -e frame.number
/// -e http.request.method -e http.request.uri -e http.host`.
#[test]
fn real_capture_requests_without_identity() {
    let f = testdata("captures/http-simple-get.pcap");
    let (code, out, _) = run(&["requests", "--format", "jsonl", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    let rows = jsonl(&out);
    // tshark: frame 4, GET /, Host: www.example.com... (values below from tshark)
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["packet"], 4);
    assert_eq!(rows[0]["method"], "GET");
    assert_eq!(rows[0]["client_ip"], Value::Null);
    assert_eq!(rows[0]["identity_source"], "");
    let (code, out, _) = run(&["requests", "-c", "--identified-only", f.to_str().unwrap()]);
    assert_eq!((code, out.trim()), (1, "0"));
}

/// Real captures with plain HTTP requests: packet of the first byte, method, host, target,
/// version and user agent. Expected values read off
/// `tshark -Y http.request -T fields -e frame.number -e tcp.segment -e http.request.method
///  -e http.host -e http.request.uri -e http.user_agent` (first listed segment when the head
/// spans several); the HTTP version from the request line in the tshark packet view.
#[test]
fn real_captures_agree_with_tshark() {
    let cases: [(&str, u64, &str, &str, &str, &str, &str); 7] = [
        (
            "http-vlan-0.pcap",
            4,
            "GET",
            "bro.org",
            "/download/CHANGES.bro-aux.txt",
            "HTTP/1.1",
            "Wget/1.14 (darwin12.2.0)",
        ),
        (
            "http-qinq-0.pcap",
            4,
            "GET",
            "bro.org",
            "/download/CHANGES.bro-aux.txt",
            "HTTP/1.1",
            "Wget/1.14 (darwin12.2.0)",
        ),
        (
            "v6-http.pcap",
            49,
            "GET",
            "cl-1985.ham-01.de.sixxs.net",
            "/",
            "HTTP/1.0",
            "Lynx/2.8.6rel.2 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/0.9.8b",
        ),
        (
            "http-empty-useragent.pcap",
            5,
            "GET",
            "",
            "/",
            "HTTP/1.0",
            "",
        ),
        (
            "nflog-http.pcap",
            6,
            "GET",
            "www.example.net",
            "/",
            "HTTP/1.1",
            "curl/7.50.1",
        ),
        // The request rides in the SYN itself.
        (
            "payload-syn.pcap",
            1,
            "GET",
            "",
            "//index.php?page=../../../etc/passwd",
            "HTTP/1.1",
            "czxt2s",
        ),
        (
            "testmyids.pcap",
            4,
            "GET",
            "testmyids.com",
            "/",
            "HTTP/1.1",
            "curl/8.5.0",
        ),
    ];
    for (file, packet, method, host, target, version, ua) in cases {
        let f = testdata(&format!("captures/{file}"));
        let (code, out, err) = run(&["requests", "--format", "jsonl", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        let rows = jsonl(&out);
        assert_eq!(rows.len(), 1, "{file}");
        let r = &rows[0];
        assert_eq!(r["packet"], packet, "{file}");
        assert_eq!(r["method"], method, "{file}");
        assert_eq!(r["host"], host, "{file}");
        assert_eq!(r["target"], target, "{file}");
        assert_eq!(r["http_version"], version, "{file}");
        assert_eq!(r["user_agent"], ua, "{file}");
    }
}

/// CSV and JSON Lines of a small generated capture, byte for byte. The rows were checked
/// against the scenario's truth file (this test checks that again before comparing), so the
/// golden files pin the schema and formatting, not unverified values.
#[test]
fn golden_csv_and_jsonl_of_a_generated_capture() {
    let dir = scratch_dir("golden");
    let cfg = ScenarioConfig {
        seed: 21,
        back_bytes: 200 << 10,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let flags = ["--transparent", "--trusted", "10.0.0.2"];
    check_against_truth(&dir, &files.back, &flags);
    let bless = std::env::var_os("PROXYTRACE_BLESS").is_some();
    for (format, ext) in [("csv", "csv"), ("jsonl", "jsonl")] {
        let mut args = vec!["requests", "--format", format];
        args.extend_from_slice(&flags);
        args.push(files.back.to_str().unwrap());
        let (code, out, _) = run(&args);
        assert_eq!(code, 0);
        let out = out.replace(files.back.to_str().unwrap(), "back.pcap");
        let golden = testdata(&format!("golden/requests/seed21.{ext}"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &out).unwrap();
        }
        assert_eq!(out, std::fs::read_to_string(&golden).unwrap(), "{ext}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;
    use proxytrace_synth::packet::TcpPacket;
    use proxytrace_synth::writer::{PcapConfig, PcapWriter};
    use std::net::{IpAddr, Ipv4Addr};

    /// Pieces that steer the parsers into their corners: request lines, identity headers
    /// with hostile values, PROXY signatures, body framing, and junk.
    const PIECES: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n",
        b"POST /x HTTP/1.0\r\n",
        b"X-Forwarded-For: ",
        b"x-forwarded-FOR:1.2.3.4, [2001:db8::1]:80, unknown, _hid, 10.000.000.03,,\r\n",
        b"Forwarded: for=\"[2001:db8::1%eth0]:4711\";by=_x, for=unknown\r\n",
        b"Content-Length: 5\r\n",
        b"Content-Length: 99999999999999999999\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY UNKNOWN\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c",
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff",
        b"HTTP/1.1 200 OK\r\n",
        b"\0\xff\xfe",
        b" obs-fold\r\n",
        b"Host : a\r\n",
    ];

    fn capture(segments: &[(u8, u8, u32, Vec<usize>)]) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
        let mut frame = Vec::new();
        for (i, (port, flags, seq, pieces)) in segments.iter().enumerate() {
            let payload: Vec<u8> = pieces
                .iter()
                .flat_map(|p| PIECES[p % PIECES.len()].iter().copied())
                .collect();
            frame.clear();
            TcpPacket {
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
                src_port: 40000 + u16::from(port % 4),
                dst_port: 8080,
                seq: *seq,
                flags: u16::from(*flags),
                payload: &payload,
                ..TcpPacket::default()
            }
            .build(&mut frame);
            w.packet(1_700_000_000_000_000_000 + i as i64 * 1000, &frame)
                .unwrap();
        }
        w.finish().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Random segments built from hostile pieces: never a panic, the same rows
        /// mapped and streamed.
        #[test]
        fn hostile_streams_never_panic(segments in prop::collection::vec(
            (any::<u8>(), prop::sample::select(vec![0x02u8, 0x10, 0x18, 0x11, 0x04, 0x12]),
             prop::sample::select(vec![0u32, 1, 17, 100, 0xffff_fff0]),
             prop::collection::vec(0usize..64, 0..8)),
            1..40)) {
            let bytes = capture(&segments);
            let f = TempFile::with_bytes(".pcap", &bytes);
            let path = f.0.to_str().unwrap();
            let (c1, mapped, e1) = run(&["requests", "--format", "jsonl", path]);
            let (c2, streamed, _) = run(&["requests", "--format", "jsonl", "--no-mmap", path]);
            prop_assert_eq!(c1, 0, "{}", e1);
            prop_assert_eq!(c2, 0);
            prop_assert_eq!(mapped, streamed);
            prop_assert!(!e1.contains("panicked"));
        }
    }
}

/// The sample the README runs first: every request of its truth file, with its client.
#[test]
fn bundled_sample_matches_its_truth() {
    let dir = testdata("sample");
    check_against_truth(
        &dir,
        &dir.join("back.pcap"),
        &["--transparent", "--trusted", "10.0.0.2"],
    );
}

/// Hand-built single connections (10.0.0.2:40000 -> 10.0.1.1:8080) whose bytes the tests
/// below reason about byte by byte.
mod crafted {
    use super::*;
    use proxytrace_synth::packet::TcpPacket;
    use proxytrace_synth::writer::{PcapConfig, PcapWriter};
    use std::net::{IpAddr, Ipv4Addr};

    pub const SYN: u16 = 0x02;
    pub const ACK: u16 = 0x10;
    pub const PSH_ACK: u16 = 0x18;
    /// Initial sequence number of the client; its first data byte is ISN + 1.
    pub const ISN: u32 = 1000;

    /// A capture of one client stream: a SYN, then `(flags, seq, payload)` segments, one
    /// millisecond apart.
    pub fn conversation(segments: &[(u16, u32, &[u8])]) -> TempFile {
        let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
        let mut frame = Vec::new();
        let syn = (SYN, ISN, &b""[..]);
        for (i, (flags, seq, payload)) in std::iter::once(&syn).chain(segments).enumerate() {
            frame.clear();
            TcpPacket {
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
                src_port: 40000,
                dst_port: 8080,
                seq: *seq,
                flags: *flags,
                payload,
                ..TcpPacket::default()
            }
            .build(&mut frame);
            w.packet(1_700_000_000_000_000_000 + i as i64 * 1_000_000, &frame)
                .unwrap();
        }
        TempFile::with_bytes(".pcap", &w.finish().unwrap())
    }

    /// One in-order segment per payload, starting at ISN + 1.
    pub fn in_order(payloads: &[&[u8]]) -> TempFile {
        let mut seq = ISN + 1;
        let segs: Vec<(u16, u32, &[u8])> = payloads
            .iter()
            .map(|p| {
                let s = seq;
                seq += p.len() as u32;
                (PSH_ACK, s, *p)
            })
            .collect();
        conversation(&segs)
    }

    /// `requests --format jsonl` rows of a capture (with extra arguments).
    pub fn rows(f: &TempFile, extra: &[&str]) -> (Vec<Value>, String) {
        let mut args = vec!["requests", "--format", "jsonl"];
        args.extend_from_slice(extra);
        args.push(f.0.to_str().unwrap());
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        (jsonl(&out), err)
    }

    /// Output of one format, with the capture's path replaced by `F`.
    pub fn output(f: &TempFile, format: &str) -> String {
        let path = f.0.to_str().unwrap();
        // Every column of a table, not its compact default set.
        let all: &[&str] = if format == "table" {
            &["-f", "all"]
        } else {
            &[]
        };
        let mut args = vec!["requests", "--format", format, path];
        args.extend(all);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        out.replace(path, "F")
    }
}

mod hostile_text {
    use super::crafted::*;

    /// A CR LF TAB inside a chain entry (obs-fold without a comma), an ESC in a p0f header
    /// and a bare CR in a forwarded value must come out escaped in every column and format:
    /// one line per row in CSV and tables, no raw control byte anywhere.
    #[test]
    fn control_bytes_are_escaped_in_every_column_and_format() {
        let head: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\
X-Forwarded-For: 1.2.3.4\r\n\tevil, 5.6.7.8\r\n\
X-P0f-OS: Linux\x1b[31m\r\n\
Forwarded: for=9.9.9.9\rX\r\n\r\n";
        let f = in_order(&[head]);
        let (rows, _) = rows(&f, &[]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        // The chosen source is XFF (Forwarded names no client: `9.9.9.9\rX` is no
        // address); its entries as written: `1.2.3.4 CR LF TAB evil` and `5.6.7.8`.
        assert_eq!(r["identity_source"], "x_forwarded_for");
        assert_eq!(r["client_ip"], "5.6.7.8");
        assert_eq!(r["chain"], "1.2.3.4\\x0d\\x0a\\x09evil, 5.6.7.8");
        assert_eq!(r["xff"], "1.2.3.4\\x0d\\x0a\\x09evil, 5.6.7.8");
        assert_eq!(r["p0f"], "X-P0f-OS=Linux\\x1b[31m");
        assert_eq!(r["forwarded"], "for=9.9.9.9\\x0dX");
        for format in ["csv", "table", "jsonl", "json"] {
            let out = output(&f, format);
            assert!(
                !out.bytes().any(|b| b < 0x20 && b != b'\n' || b == 0x7f),
                "{format}: raw control byte in {out:?}"
            );
            let lines = out.lines().count();
            let want = match format {
                "csv" | "table" => 2,
                "jsonl" => 1,
                _ => 3,
            };
            assert_eq!(lines, want, "{format}: {out}");
        }
    }

    /// Bidi overrides and invisible format characters in a Host, an XFF entry and the
    /// target: escaped as `\u{XXXX}`, so the report shows what the bytes are, not what
    /// they make a viewer display.
    #[test]
    fn bidi_and_format_characters_are_escaped() {
        // U+202E RIGHT-TO-LEFT OVERRIDE = e2 80 ae; U+200B ZERO WIDTH SPACE = e2 80 8b;
        // U+2066 LEFT-TO-RIGHT ISOLATE = e2 81 a6; U+FEFF = ef bb bf.
        let head: &[u8] = b"GET /\xe2\x80\x8badmin HTTP/1.1\r\nHost: a\xe2\x80\xaemoc.b\r\n\
User-Agent: \xef\xbb\xbfUA\r\n\
X-Forwarded-For: \xe2\x81\xa61.1.1.1, 5.6.7.8\r\n\r\n";
        let f = in_order(&[head]);
        let (rows, _) = rows(&f, &[]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r["target"], "/\\u{200b}admin");
        assert_eq!(r["host"], "a\\u{202e}moc.b");
        assert_eq!(r["user_agent"], "\\u{feff}UA");
        assert_eq!(r["chain"], "\\u{2066}1.1.1.1, 5.6.7.8");
        assert_eq!(r["xff"], "\\u{2066}1.1.1.1, 5.6.7.8");
        for format in ["csv", "table", "jsonl", "json"] {
            let out = output(&f, format);
            for bad in ['\u{200b}', '\u{202e}', '\u{2066}', '\u{feff}'] {
                assert!(!out.contains(bad), "{format}: {bad:?} in {out}");
            }
        }
    }
}

mod framing_conflicts {
    use super::crafted::*;

    /// (target, flags) of every row.
    fn targets_and_flags(payloads: &[&[u8]]) -> Vec<(String, String)> {
        let f = in_order(payloads);
        rows(&f, &[])
            .0
            .iter()
            .map(|r| {
                (
                    r["target"].as_str().unwrap().to_string(),
                    r["flags"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn pair(a: &str, fa: &str, b: &str, fb: &str) -> Vec<(String, String)> {
        vec![(a.into(), fa.into()), (b.into(), fb.into())]
    }

    const NEXT: &[u8] = b"GET /b HTTP/1.1\r\nHost: b\r\n\r\n";

    /// Content-Length 5 and 10: neither is trusted; the next request line is found
    /// whichever length the body really had, in the same segment or the next one. Found by
    /// searching, with no server side in the capture to confirm it: `resync_uncertain`.
    #[test]
    fn differing_content_lengths_flag_and_resynchronise() {
        let head: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 10\r\n\r\n";
        for body in [&b"hello"[..], b"helloworld"] {
            let one = [head, body, NEXT].concat();
            assert_eq!(
                targets_and_flags(&[&one]),
                pair("/a", "conflicting_content_length", "/b", "resync_uncertain"),
                "{}",
                String::from_utf8_lossy(body)
            );
            let body_then_next = [head, body].concat();
            assert_eq!(
                targets_and_flags(&[&body_then_next, NEXT]),
                pair("/a", "conflicting_content_length", "/b", "resync_uncertain"),
            );
        }
        // The list form in one header.
        let list: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 5, 10\r\n\r\nhelloworld";
        assert_eq!(
            targets_and_flags(&[&[list, NEXT].concat()]),
            pair("/a", "conflicting_content_length", "/b", "resync_uncertain"),
        );
        // Counted in the summary.
        let (_, err) = rows(&in_order(&[&[list, NEXT].concat()]), &[]);
        assert!(
            err.contains("reassembly conflicting_content_lengths: 1\n"),
            "{err}"
        );
    }

    /// Identical values are one length (RFC 9110 section 8.6), flagged.
    #[test]
    fn identical_content_lengths_are_one_length_flagged() {
        let head: &[u8] =
            b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            targets_and_flags(&[&[head, NEXT].concat()]),
            pair("/a", "duplicate_content_length", "/b", ""),
        );
        let list: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 5,5\r\n\r\nhello";
        assert_eq!(
            targets_and_flags(&[&[list, NEXT].concat()]),
            pair("/a", "duplicate_content_length", "/b", ""),
        );
    }

    /// Content-Length with Transfer-Encoding: chunked (the smuggling shape): the chunked
    /// framing wins (RFC 9112 section 6.3), and the row says both were there. With the
    /// length believed instead, `GET /b` would be taken for the middle of a body.
    #[test]
    fn content_length_with_chunked_follows_chunked_and_flags() {
        let head: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        assert_eq!(
            targets_and_flags(&[&[head, NEXT].concat()]),
            pair("/a", "content_length_with_transfer_encoding", "/b", ""),
        );
    }
}

mod malformed_preambles {
    use super::crafted::*;
    use serde_json::Value;

    const TWO_REQUESTS: &[u8] = b"GET /1 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n\
GET /2 HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";

    /// (target, flags, identity_source, client_ip, spoof_suspect, spoof_reasons,
    /// proxy_version) of every row of a connection that starts with `preamble`.
    fn summary(preamble: &[u8], requests: &[u8]) -> Vec<String> {
        let f = in_order(&[&[preamble, requests].concat()]);
        rows(&f, &[])
            .0
            .iter()
            .map(|r| {
                let s = |k: &str| match &r[k] {
                    Value::String(s) => s.clone(),
                    Value::Null => "-".into(),
                    v => v.to_string(),
                };
                [
                    "target",
                    "flags",
                    "identity_source",
                    "client_ip",
                    "spoof_suspect",
                    "spoof_reasons",
                    "proxy_version",
                ]
                .map(s)
                .join(" ")
            })
            .collect()
    }

    /// Both requests come out flagged; the client XFF names is taken but marked suspect,
    /// since the preamble that should have named the client is broken.
    fn header_client_suspect() -> Vec<String> {
        ["/1", "/2"]
            .map(|t| {
                format!("{t} preamble_invalid x_forwarded_for 6.6.6.6 true preamble_invalid -")
            })
            .to_vec()
    }

    /// v2 PROXY TCP4 192.0.2.1:51000 -> 10.0.0.2:80 with a TLV block of `tlvs` (the
    /// header length counts them).
    fn v2(len_field: Option<u16>, tlvs: &[u8]) -> Vec<u8> {
        let mut v = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
        let len = len_field.unwrap_or(12 + tlvs.len() as u16);
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&[192, 0, 2, 1, 10, 0, 0, 2, 0xc7, 0x38, 0, 80]);
        v.extend_from_slice(tlvs);
        v
    }

    #[test]
    fn v2_tlv_running_past_the_header() {
        // An authority TLV (0x02) announcing 16 bytes with 2 left in the header.
        let pre = v2(None, b"\x02\x00\x10ab");
        assert_eq!(summary(&pre, TWO_REQUESTS), header_client_suspect());
    }

    #[test]
    fn v2_length_past_the_data() {
        // 65535 announced, 12 address bytes sent, then the requests.
        let pre = v2(Some(0xffff), b"");
        assert_eq!(summary(&pre, TWO_REQUESTS), header_client_suspect());
    }

    #[test]
    fn v1_port_out_of_range() {
        let pre = b"PROXY TCP4 192.0.2.1 10.0.0.2 99999 80\r\n";
        assert_eq!(summary(pre, TWO_REQUESTS), header_client_suspect());
    }

    #[test]
    fn v1_address_out_of_range() {
        let pre = b"PROXY TCP4 256.0.2.1 10.0.0.2 51000 80\r\n";
        assert_eq!(summary(pre, TWO_REQUESTS), header_client_suspect());
    }

    #[test]
    fn v1_line_ended_by_bare_lf() {
        let pre = b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\n";
        assert_eq!(summary(pre, TWO_REQUESTS), header_client_suspect());
    }

    /// A second PROXY line (what a client could send through a proxy that passes bytes):
    /// the first, written by the proxy, names the client; every row is flagged.
    #[test]
    fn duplicated_proxy_line() {
        let pre = b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\nPROXY TCP4 203.0.113.9 10.0.0.2 4444 80\r\n";
        let reqs = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(
            summary(pre, reqs),
            ["/1", "/2"]
                .map(|t| format!("{t} preamble_invalid proxy_protocol 192.0.2.1 false  1"))
                .to_vec()
        );
        // A v2 header after a v1 line, likewise.
        let mut pre2 = b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n".to_vec();
        pre2.extend_from_slice(&v2(None, b""));
        assert_eq!(
            summary(&pre2, reqs),
            ["/1", "/2"]
                .map(|t| format!("{t} preamble_invalid proxy_protocol 192.0.2.1 false  1"))
                .to_vec()
        );
    }

    /// The valid forms stay unflagged (the expectations above are not an artefact).
    #[test]
    fn valid_preambles_name_the_client() {
        let reqs = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(
            summary(b"PROXY TCP4 192.0.2.1 10.0.0.2 51000 80\r\n", reqs),
            vec!["/1  proxy_protocol 192.0.2.1 false  1".to_string()]
        );
        assert_eq!(
            summary(&v2(None, b"\x02\x00\x02ab"), reqs),
            vec!["/1  proxy_protocol 192.0.2.1 false  2".to_string()]
        );
    }
}

mod overlapping_copies {
    use super::crafted::*;

    /// (target, xff, flags) of every row, and the run's summary.
    fn rows_of(segments: &[(u16, u32, &[u8])]) -> (Vec<String>, String) {
        let f = conversation(segments);
        let (rows, err) = rows(&f, &[]);
        let rows = rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["target"].as_str().unwrap(),
                    r["xff"].as_str().unwrap(),
                    r["flags"].as_str().unwrap()
                )
            })
            .collect();
        (rows, err)
    }

    const LINE: &[u8] = b"GET /a HTTP/1.1\r\n";
    const FIRST: &[u8] = b"X-Forwarded-For: 1.1.1.1\r\n";
    const FORGED: &[u8] = b"X-Forwarded-For: 6.6.6.6\r\n";

    /// A retransmission that disagrees with the first copy while the head is still being
    /// assembled: the first copy is kept, the row is flagged, the summary counts it.
    #[test]
    fn disagreeing_retransmission_keeps_the_first_copy() {
        let first = [LINE, FIRST].concat();
        let forged = [LINE, FORGED].concat();
        let end = ISN + 1 + first.len() as u32;
        let (rows, err) = rows_of(&[
            (PSH_ACK, ISN + 1, &first),
            (PSH_ACK, ISN + 1, &forged),
            (PSH_ACK, end, b"\r\n"),
        ]);
        assert_eq!(rows, ["/a 1.1.1.1 retransmission_seen|overlap_conflict"]);
        assert!(err.contains("reassembly overlap_conflicts: 1\n"), "{err}");
        // The same copy again is an ordinary retransmission.
        let (rows, err) = rows_of(&[
            (PSH_ACK, ISN + 1, &first),
            (PSH_ACK, ISN + 1, &first),
            (PSH_ACK, end, b"\r\n"),
        ]);
        assert_eq!(rows, ["/a 1.1.1.1 retransmission_seen"]);
        assert!(!err.contains("overlap_conflicts"), "{err}");
    }

    /// A segment buffered out of order, later overwritten by a longer in-order copy with
    /// other bytes: the buffered copy came first and wins.
    #[test]
    fn out_of_order_copy_is_not_overwritten() {
        let late_half = [FIRST, b"\r\n"].concat();
        let whole_forged = [LINE, FORGED, b"\r\n"].concat();
        let (rows, _) = rows_of(&[
            (PSH_ACK, ISN + 1 + LINE.len() as u32, &late_half),
            (PSH_ACK, ISN + 1, &whole_forged),
        ]);
        assert_eq!(
            rows,
            ["/a 1.1.1.1 out_of_order_repaired|retransmission_seen|overlap_conflict"]
        );
    }

    /// Stray bytes on a pure ACK at the stream start, then the real request at the same
    /// sequence number: the request is kept (flagged), and so is the next one.
    #[test]
    fn stray_bytes_on_a_pure_ack_do_not_lose_the_request() {
        let a: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
        let b: &[u8] = b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        for stray in [&b"\0\0"[..], b"xx", b"\r\n", b"\xff"] {
            let (rows, _) = rows_of(&[
                (ACK, ISN + 1, stray),
                (PSH_ACK, ISN + 1, a),
                (PSH_ACK, ISN + 1 + a.len() as u32, b),
            ]);
            assert_eq!(rows, ["/a  overlap_conflict", "/b  "], "stray {stray:?}");
        }
    }
}

/// Addresses as real proxies write them (issue 12): the mapped IPv4 form, leading-zero
/// octets and nginx's unbracketed `v6:port`, through `requests` and `--client`.
mod addr_forms {
    use super::crafted::*;

    /// (client_ip, client_port, chain, flags) of the single row, and whether `--client
    /// net` keeps it.
    fn row_and_filter(payload: &[u8], net: &str) -> (String, String, String, String, bool) {
        let f = in_order(&[payload]);
        let (rows, _) = rows(&f, &[]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        let s = |k: &str| match &r[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            v => v.to_string(),
        };
        let (kept, _) = super::crafted::rows(&f, &["--client", net]);
        (
            s("client_ip"),
            s("client_port"),
            s("chain"),
            s("flags"),
            kept.len() == 1,
        )
    }

    fn t(ip: &str, port: &str, chain: &str, flags: &str) -> (String, String, String, String, bool) {
        (ip.into(), port.into(), chain.into(), flags.into(), true)
    }

    #[test]
    fn ipv4_mapped_ipv6_names_the_ipv4_client() {
        let xff =
            b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: [::ffff:77.148.90.167]:40001\r\n\r\n";
        assert_eq!(
            row_and_filter(xff, "77.148.90.167"),
            t(
                "77.148.90.167",
                "40001",
                "[::ffff:77.148.90.167]:40001",
                "ipv4_mapped_ipv6:x_forwarded_for"
            )
        );
        let fwd = b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=\"[::ffff:77.148.90.167]\"\r\n\r\n";
        assert_eq!(
            row_and_filter(fwd, "77.148.90.0/24"),
            t(
                "77.148.90.167",
                "-",
                "[::ffff:77.148.90.167]",
                "ipv4_mapped_ipv6:forwarded"
            )
        );
        // PROXY v2, TCP over IPv6, source ::ffff:77.148.90.167 port 0xc738 = 51000.
        let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24".to_vec();
        v2.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 77, 148, 90, 167]);
        v2.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v2.extend_from_slice(&[0xc7, 0x38, 0x01, 0xbb]);
        v2.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            row_and_filter(&v2, "77.148.90.167"),
            t(
                "77.148.90.167",
                "51000",
                "[::ffff:77.148.90.167]:51000",
                "ipv4_mapped_ipv6:proxy_protocol"
            )
        );
    }

    #[test]
    fn leading_zero_ipv4_read_when_octal_and_decimal_agree() {
        let agree = b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.000.000.03\r\n\r\n";
        assert_eq!(
            row_and_filter(agree, "10.0.0.3"),
            t(
                "10.0.0.3",
                "-",
                "10.000.000.03",
                "leading_zero_ipv4:x_forwarded_for"
            )
        );
        // 010 is 8 in octal, 10 in decimal: no address, and so no client to filter on.
        let differ = b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 010.0.0.1\r\n\r\n";
        let (ip, port, chain, flags, kept) = row_and_filter(differ, "10.0.0.1");
        assert_eq!(
            (
                ip.as_str(),
                port.as_str(),
                chain.as_str(),
                flags.as_str(),
                kept
            ),
            ("-", "-", "", "leading_zero_ipv4:x_forwarded_for", false)
        );
    }

    #[test]
    fn nginx_forwarded_unbracketed_ipv6_port() {
        let nginx = b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=\"2001:db8::5:40000\"\r\n\r\n";
        assert_eq!(
            row_and_filter(nginx, "2001:db8::/32"),
            t(
                "2001:db8::5",
                "40000",
                "2001:db8::5:40000",
                "unbracketed_ipv6_port:forwarded"
            )
        );
        // Also a whole IPv6 address: taken as that, and the row says the port may be in it.
        let ambiguous = b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=\"2001:db8::5:8080\"\r\n\r\n";
        assert_eq!(
            row_and_filter(ambiguous, "2001:db8::5:8080"),
            t(
                "2001:db8::5:8080",
                "-",
                "2001:db8::5:8080",
                "ambiguous_ipv6_port:forwarded"
            )
        );
    }
}

/// `--client` has one meaning in every command (identity::ClientFilter): an IPv4-mapped
/// IPv6 address or network names the IPv4 clients it maps, in `requests` and in `syns`
/// alike. Before, `requests` compared the networks as given with the canonical client and
/// `syns` the client as given or canonical, so `::ffff:a.b.c.d` kept nothing in either
/// here and the two disagreed on mapped clients.
#[test]
fn client_filter_reads_mapped_networks_alike_in_requests_and_syns() {
    let (dir, files, _, client) = seed5_with_ipv4_client("mapped-client");
    let back = files.back.to_str().unwrap();
    let front = files.front.to_str().unwrap();
    let count = |cmd: &str, file: &str, filter: &str| {
        let (code, out, err) = run(&[cmd, "-c", "--client", filter, file]);
        assert!(code == 0 || code == 1, "{cmd} {filter}: {err}");
        out.trim().parse::<u64>().unwrap()
    };
    let net = format!("{client}/24");
    let mapped = format!("::ffff:{client}");
    let mapped_net = format!("::ffff:{client}/120");
    for (cmd, file) in [("requests", back), ("syns", front)] {
        let plain = count(cmd, file, &client);
        assert!(plain > 0, "{cmd}: no row for {client}");
        assert_eq!(count(cmd, file, &mapped), plain, "{cmd} {mapped}");
        assert_eq!(
            count(cmd, file, &mapped_net),
            count(cmd, file, &net),
            "{cmd} {mapped_net}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
