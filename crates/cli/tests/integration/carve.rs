//! `proxytrace carve`: the packets of selected connections copied into a new capture.
//! Expected counts were read off tshark by hand (`tshark -r IN -Y '<the 4-tuple>'`); the
//! ignored tests compare every record with tshark's own carve of the same 4-tuples.

use crate::util::{repo_root, run, testdata};
use proxytrace_synth::packet::{IpParams, Link, TcpFlags, TcpPacket, UdpPacket, MAC_A, MAC_B};
use proxytrace_synth::scenario::{self, OutFormat, ScenarioConfig};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("proxytrace-carve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every record of a capture: (time ns, captured length, original length, bytes), read
/// with the library's walker.
fn records(path: &Path) -> Vec<(i64, u32, u32, Vec<u8>)> {
    let input = proxytrace::capture::Input::Path(path.to_path_buf());
    let mut cap = proxytrace::capture::open(&input, Default::default()).unwrap();
    let mut stats = Default::default();
    let mut out = Vec::new();
    cap.walk(&mut stats, |r: &proxytrace::capture::Record<'_>| {
        out.push((r.ts_ns, r.caplen, r.orig_len, r.data.to_vec()));
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    out
}

/// The sample's first back-side connection (proxy 10.0.0.2:32768 -> backend
/// 10.0.1.9:8080): `tshark -r testdata/sample/back.pcap -Y 'ip.addr==10.0.0.2 &&
/// ip.addr==10.0.1.9 && tcp.port==32768 && tcp.port==8080'` shows 105 frames, and
/// `-w out -F nsecpcap` writes 96,873 bytes that equal ours byte for byte (checked with
/// cmp): the input's header, then its records unchanged.
#[test]
fn a_tuple_in_either_direction_carves_its_connection() {
    let dir = TempDir::new("tuple");
    let back = testdata("sample/back.pcap");
    let input = std::fs::read(&back).unwrap();
    for (i, tuple) in [
        "10.0.0.2:32768-10.0.1.9:8080",
        "10.0.1.9:8080-10.0.0.2:32768",
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path(&format!("{i}.pcap"));
        let (code, _, err) = run(&[
            "carve",
            "--stats",
            "json",
            "--tuple",
            tuple,
            s(&back),
            "-o",
            s(&out),
        ]);
        assert_eq!(code, 0, "{err}");
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len(), 96_873);
        assert_eq!(bytes[..24], input[..24], "the global header is copied");
        let recs = records(&out);
        assert_eq!(recs.len(), 105);
        let report: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
        assert_eq!(report["rows"], 105);
        let carve = counters(&report, "carve");
        assert_eq!(carve["records_written"], 105);
        assert_eq!(carve["records_skipped"], 288 - 105);
        assert_eq!(carve["connections_found"], 1);
        assert_eq!(carve["bytes_written"], 96_873);
    }
    // Every carved record is a record of the input, in the same order.
    let all = records(&back);
    let carved = records(&dir.path("0.pcap"));
    let mut it = all.iter();
    for r in &carved {
        assert!(
            it.any(|a| a == r),
            "record not in the input, or out of order"
        );
    }
}

/// A section of the run report's counters as name -> value.
fn counters(
    report: &serde_json::Value,
    section: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let s = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == section)
        .unwrap_or_else(|| panic!("no section {section}: {report}"));
    s["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["value"].clone()))
        .collect()
}

/// `requests --client X | carve --from-csv -` carves what `carve --client X` does: the
/// sample's client 62.5.161.246 has 3 requests, all on the connection above (105
/// frames by tshark).
#[test]
fn a_requests_csv_piped_in_carves_what_client_does() {
    let dir = TempDir::new("csv");
    let back = testdata("sample/back.pcap");
    let id = ["--trusted", "10.0.0.2", "--transparent"];
    let by_client = dir.path("client.pcap");
    let mut args = vec!["carve", "--client", "62.5.161.246"];
    args.extend(id);
    args.extend([s(&back), "-o", s(&by_client)]);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 requests of the clients, on 1 back-side connections"),
        "{err}"
    );

    let mut args = vec!["requests", "--client", "62.5.161.246"];
    args.extend(id);
    args.push(s(&back));
    let (code, csv, _) = run(&args);
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 4);
    let by_csv = dir.path("csv.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["carve", "--from-csv", "-", s(&back), "-o", s(&by_csv)])
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(csv.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = std::fs::read(&by_client).unwrap();
    assert_eq!(a, std::fs::read(&by_csv).unwrap());
    assert_eq!(records(&by_csv).len(), 105);
}

/// pcapng: every non-packet block is kept byte for byte and only the selected packet
/// blocks. vlan-pcp-dei.pcapng has 9 frames, all of the one connection
/// 192.168.1.100:12345 <-> 192.168.1.200:80 (tshark), so the carve is the whole file;
/// the other direction's port pair selects nothing and leaves the SHB and IDB alone.
#[test]
fn pcapng_keeps_its_blocks_and_copies_packet_blocks() {
    let dir = TempDir::new("ng");
    let input = testdata("captures/vlan-pcp-dei.pcapng");
    let whole = dir.path("whole.pcapng");
    let (code, _, err) = run(&[
        "carve",
        "--tuple",
        "192.168.1.100:12345-192.168.1.200:80",
        s(&input),
        "-o",
        s(&whole),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&whole).unwrap(),
        std::fs::read(&input).unwrap()
    );

    let none = dir.path("none.pcapng");
    let (code, _, err) = run(&[
        "carve",
        "--stats",
        "json",
        "--tuple",
        "192.168.1.100:80-192.168.1.200:12345",
        s(&input),
        "-o",
        s(&none),
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    let carve = counters(&report, "carve");
    assert_eq!(carve["records_written"], 0);
    assert_eq!(carve["records_skipped"], 9);
    let blocks = carve["blocks_written"].as_u64().unwrap();
    assert!(blocks >= 2, "{carve:?}");
    let bytes = std::fs::read(&none).unwrap();
    let original = std::fs::read(&input).unwrap();
    assert_eq!(bytes.len() as u64, carve["bytes_written"].as_u64().unwrap());
    // The SHB and the IDB come first in the input: the output is that prefix.
    assert_eq!(bytes[..], original[..bytes.len()]);
    assert!(records(&none).is_empty());
}

/// One generated BACK capture, carved for a set of connections with 1 and 3 threads,
/// 4 KiB chunks, `--no-mmap` and gzip input: the same bytes every time.
#[test]
fn output_is_identical_for_any_thread_count_chunk_and_source() {
    for (format, seed, ext) in [
        (OutFormat::Pcap, 21, "pcap"),
        (OutFormat::PcapNg, 22, "pcapng"),
    ] {
        let dir = TempDir::new(&format!("eq-{seed}"));
        let cfg = ScenarioConfig {
            seed,
            back_bytes: 1 << 20,
            format,
            ..ScenarioConfig::default()
        };
        let (_, files) = scenario::generate_to_dir(&cfg, &dir.0).unwrap();
        let (code, csv, _) = run(&["requests", s(&files.back)]);
        assert_eq!(code, 0);
        // Every third request's connection.
        let picked: String = csv
            .lines()
            .enumerate()
            .filter(|(i, _)| *i == 0 || i % 3 == 0)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let csv_path = dir.path("picked.csv");
        std::fs::write(&csv_path, picked).unwrap();
        let gz = dir.path(&format!("back.{ext}.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&std::fs::read(&files.back).unwrap()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let mut outputs = Vec::new();
        for (i, extra) in [
            &["--threads", "1"][..],
            &["--threads", "3"],
            &["--threads", "3", "--chunk-size", "4096"],
            &["--threads", "2", "--no-mmap", "--chunk-size", "5000"],
        ]
        .iter()
        .enumerate()
        {
            let out = dir.path(&format!("out{i}.{ext}"));
            let mut args = vec!["carve", "--from-csv", s(&csv_path), s(&files.back)];
            args.extend(*extra);
            args.extend(["-o", s(&out)]);
            let (code, _, err) = run(&args);
            assert_eq!(code, 0, "{err}");
            outputs.push(std::fs::read(&out).unwrap());
        }
        let out = dir.path(&format!("gz.{ext}"));
        let (code, _, err) = run(&["carve", "--from-csv", s(&csv_path), s(&gz), "-o", s(&out)]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("written uncompressed"), "{err}");
        outputs.push(std::fs::read(&out).unwrap());
        let n = records(&dir.path(&format!("out0.{ext}"))).len();
        assert!(n > 100, "{n}");
        for o in &outputs[1..] {
            assert!(*o == outputs[0], "{format:?}: outputs differ");
        }
    }
}

const T0: i64 = 1_767_225_600_000_000_000;

/// A pcap with two connections on one 4-tuple (port reuse: different ISNs), one
/// connection on another port, and a UDP datagram between the same hosts.
fn port_reuse_capture() -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    let c: IpAddr = "192.0.2.1".parse().unwrap();
    let srv: IpAddr = "192.0.2.2".parse().unwrap();
    let mut ts = T0;
    let mut seg = |w: &mut PcapWriter<Vec<u8>>, sport: u16, seq: u32, flags: u16, rev: bool| {
        ts += 1_000_000;
        let (src, dst, sp, dp) = if rev {
            (srv, c, 80, sport)
        } else {
            (c, srv, sport, 80)
        };
        let mut f = Vec::new();
        TcpPacket {
            src,
            dst,
            src_port: sp,
            dst_port: dp,
            seq,
            ack: u32::from(flags & TcpFlags::ACK != 0),
            flags,
            ..TcpPacket::default()
        }
        .build(&mut f);
        w.packet(ts, &f).unwrap();
    };
    for isn in [1000u32, 9000] {
        seg(&mut w, 40000, isn, TcpFlags::SYN, false);
        seg(&mut w, 40000, 5, TcpFlags::SYN | TcpFlags::ACK, true);
        seg(&mut w, 40000, isn + 1, TcpFlags::ACK, false);
        seg(&mut w, 40000, isn + 1, TcpFlags::FIN | TcpFlags::ACK, false);
    }
    // A retransmitted SYN of a third connection is not port reuse.
    seg(&mut w, 40001, 77, TcpFlags::SYN, false);
    seg(&mut w, 40001, 77, TcpFlags::SYN, false);
    let mut u = Vec::new();
    UdpPacket {
        link: Link::Ethernet {
            dst: MAC_A,
            src: MAC_B,
            vlans: &[],
        },
        src: c,
        dst: srv,
        ip: IpParams::default(),
        src_port: 5353,
        dst_port: 5353,
        payload: b"x",
    }
    .build(&mut u);
    w.packet(T0 + 50_000_000, &u).unwrap();
    w.finish().unwrap()
}

/// Port reuse is said, not hidden: both connections of the reused 4-tuple are written
/// (8 segments), `connections_reused` is 1 and a note says it; a retransmitted SYN is not
/// reuse; the UDP datagram between the same hosts is counted, not written.
#[test]
fn port_reuse_and_other_protocols_are_counted() {
    let dir = TempDir::new("reuse");
    let input = dir.path("in.pcap");
    std::fs::write(&input, port_reuse_capture()).unwrap();
    let out = dir.path("out.pcap");
    let (code, _, err) = run(&[
        "carve",
        "--stats",
        "json",
        "--tuple",
        "192.0.2.1:40000-192.0.2.2:80",
        "--tuple",
        "192.0.2.1:40001-192.0.2.2:80",
        s(&input),
        "-o",
        s(&out),
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    let carve = counters(&report, "carve");
    assert_eq!(carve["records_written"], 10);
    assert_eq!(carve["records_skipped"], 1);
    assert_eq!(carve["connections_selected"], 2);
    assert_eq!(carve["connections_found"], 2);
    assert_eq!(carve["connections_reused"], 1);
    assert_eq!(carve["other_protocols_same_hosts"], 1);
    assert!(
        report["notes"].to_string().contains("port reuse"),
        "{report}"
    );
    assert_eq!(records(&out).len(), 10);
}

/// fragmented-syn.pcap: a SYN in two IPv4 fragments. tshark (`-o ip.defragment:FALSE
/// -V`): frame 1 is the first fragment with 24 of the 40 bytes of the TCP header (ports
/// 12345 -> 80, "Unreassembled Packet"), frame 2 the later fragment. Neither carries a
/// whole TCP header: neither is written, each is counted.
#[test]
fn fragmented_syn_pieces_are_counted() {
    let dir = TempDir::new("frag");
    let out = dir.path("out.pcap");
    let (code, _, err) = run(&[
        "carve",
        "--stats",
        "json",
        "--tuple",
        "192.168.1.100:12345-10.0.0.5:80",
        s(&testdata("captures/fragmented-syn.pcap")),
        "-o",
        s(&out),
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    let carve = counters(&report, "carve");
    assert_eq!(carve["records_written"], 0);
    assert_eq!(carve["records_skipped"], 2);
    assert_eq!(carve["transport_cut_same_hosts"], 1);
    assert_eq!(carve["fragments_same_hosts"], 1);
}

/// Refusals: an output that is an input, pcap and pcapng into one file, a capture to a
/// terminal is tested by hand. `-o DIR` writes one capture per input, named after it.
#[test]
fn outputs_never_overwrite_inputs_and_formats_do_not_mix() {
    let dir = TempDir::new("refuse");
    let a = dir.path("a.pcap");
    std::fs::copy(testdata("sample/back.pcap"), &a).unwrap();
    let before = std::fs::read(&a).unwrap();
    let tuple = ["--tuple", "10.0.0.2:32768-10.0.1.9:8080"];
    let (code, _, err) = run(&["carve", tuple[0], tuple[1], s(&a), "-o", s(&a)]);
    assert_eq!(code, 2);
    assert!(err.contains("refusing to write output"), "{err}");
    assert_eq!(std::fs::read(&a).unwrap(), before);
    // -o DIR where the input lives: its own name there is the input itself.
    let (code, _, err) = run(&["carve", tuple[0], tuple[1], s(&a), "-o", s(&dir.0)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refusing to write output"), "{err}");
    assert_eq!(std::fs::read(&a).unwrap(), before);

    let ng = testdata("captures/vlan-pcp-dei.pcapng");
    let mixed = dir.path("mixed.pcap");
    let (code, _, err) = run(&["carve", tuple[0], tuple[1], s(&a), s(&ng), "-o", s(&mixed)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is pcap and") && err.contains("-o DIR"),
        "{err}"
    );
    assert!(!mixed.exists());

    let outdir = dir.path("out");
    std::fs::create_dir_all(&outdir).unwrap();
    let (code, _, err) = run(&["carve", tuple[0], tuple[1], s(&a), s(&ng), "-o", s(&outdir)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(records(&outdir.join("a.pcap")).len(), 105);
    assert!(records(&outdir.join("vlan-pcp-dei.pcapng")).is_empty());
}

/// tshark's view of a capture, one line per frame: time, lengths and an MD5 of the bytes.
fn tshark_frames(path: &Path) -> String {
    let out = Command::new("tshark")
        .args([
            "-r",
            s(path),
            "-o",
            "frame.generate_md5_hash:TRUE",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.len",
            "-e",
            "frame.cap_len",
        ])
        .args(["-e", "frame.md5_hash"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The TCP 4-tuples of a capture as tshark sees them, in order of first appearance.
fn tshark_tuples(path: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .args([
            "-r",
            s(path),
            "-Y",
            "tcp && !icmp && !icmpv6 && !_ws.unreassembled",
        ])
        .args(["-T", "fields"])
        .args(["-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport"])
        .args(["-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"])
        .args(["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let mut seen = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        // Tunnels (several addresses) are left out.
        if f.len() != 6 || f.iter().any(|x| x.contains(',')) {
            continue;
        }
        let (src, dst) = (f[0].to_string() + f[1], f[3].to_string() + f[4]);
        let sock = |ip: &str, port: &str| match ip.contains(':') {
            true => format!("[{ip}]:{port}"),
            false => format!("{ip}:{port}"),
        };
        let t = format!("{}-{}", sock(&src, f[2]), sock(&dst, f[5]));
        let rev = format!("{}-{}", sock(&dst, f[5]), sock(&src, f[2]));
        if !seen.contains(&t) && !seen.contains(&rev) {
            seen.push(t);
        }
    }
    seen
}

/// The display filter for a `SRC:PORT-DST:PORT` 4-tuple, both directions.
fn tshark_filter(tuple: &str) -> String {
    let (a, b) = proxytrace::commands::carve::parse_tuple(tuple).unwrap();
    let side = |x: std::net::SocketAddr, y: std::net::SocketAddr| {
        let ip = if x.is_ipv6() { "ipv6" } else { "ip" };
        format!(
            "({ip}.src=={} && tcp.srcport=={} && {ip}.dst=={} && tcp.dstport=={})",
            x.ip(),
            x.port(),
            y.ip(),
            y.port()
        )
    };
    // A frame whose TCP header a fragment cuts (tshark: unreassembled) is not written by
    // carve, only counted (fragmented_syn_pieces_are_counted).
    format!(
        "tcp && !icmp && !icmpv6 && !_ws.unreassembled && ({} || {})",
        side(a, b),
        side(b, a)
    )
}

/// Carve `tuples` out of `input` with proxytrace and with tshark (defragmentation off, as
/// carve matches first fragments by their TCP header and leaves later ones), and compare
/// every frame: time, lengths, bytes.
fn agrees_with_tshark(input: &Path, tuples: &[String], dir: &TempDir, tag: &str) {
    let ours = dir.path(&format!("{tag}.ours"));
    let theirs = dir.path(&format!("{tag}.tshark"));
    let mut args = vec!["carve".to_string()];
    for t in tuples {
        args.extend(["--tuple".to_string(), t.clone()]);
    }
    args.extend([s(input).to_string(), "-o".into(), s(&ours).to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{tag}: {err}");
    let filter: Vec<String> = tuples
        .iter()
        .map(|t| format!("({})", tshark_filter(t)))
        .collect();
    let status = Command::new("tshark")
        .args([
            "-r",
            s(input),
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
        ])
        .args(["-Y", &filter.join(" || "), "-w", s(&theirs), "-F", "pcapng"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{tag}: tshark failed");
    let (a, b) = (tshark_frames(&ours), tshark_frames(&theirs));
    assert!(
        !b.is_empty(),
        "{tag}: tshark selected nothing for {tuples:?}"
    );
    assert_eq!(a, b, "{tag}: {tuples:?}");
}

/// Every TCP connection of real captures (Ethernet, VLAN, QinQ, MPLS, PPPoE, NFLOG,
/// IPv6, fragments, pcapng), up to 4 per file, carved by proxytrace and by tshark.
#[test]
#[ignore = "needs tshark"]
fn real_captures_agree_with_tshark_frame_by_frame() {
    let dir = TempDir::new("tshark-real");
    let files = [
        "captures/http-simple-get.pcap",
        "captures/http-vlan-0.pcap",
        "captures/http-qinq-0.pcap",
        "captures/mixed-vlan-mpls.pcap",
        "captures/pppoe.pcap",
        "captures/pppoe-over-qinq.pcap",
        "captures/nflog-http.pcap",
        "captures/ipv6.pcap",
        "captures/v6-http.pcap",
        "captures/ipv6-http-atomic-frag.pcap",
        "captures/fragmented-syn.pcap",
        "captures/socks5-http-302-frag.pcap",
        "captures/vlan-pcp-dei.pcapng",
        "captures/tls-alpn-h2.pcap",
        "captures/bigendian.pcap",
        "captures/irc-starttls.pcap",
        "sample/back.pcap",
        "sample/front.pcap",
    ];
    let mut compared = 0;
    for (i, f) in files.iter().enumerate() {
        let path = testdata(f);
        let tuples = tshark_tuples(&path);
        if tuples.is_empty() {
            continue;
        }
        for (k, t) in tuples.iter().take(4).enumerate() {
            agrees_with_tshark(&path, std::slice::from_ref(t), &dir, &format!("{i}-{k}"));
            compared += 1;
        }
        // And all of them at once.
        agrees_with_tshark(&path, &tuples, &dir, &format!("{i}-all"));
    }
    assert!(compared >= 20, "{compared}");
}

/// Generated BACK captures (pcap and pcapng, with decoy bodies): a tenth of their
/// connections, carved by proxytrace and by tshark.
#[test]
#[ignore = "needs tshark"]
fn generated_captures_agree_with_tshark_frame_by_frame() {
    for (format, seed) in [(OutFormat::Pcap, 31), (OutFormat::PcapNg, 32)] {
        let dir = TempDir::new(&format!("tshark-gen-{seed}"));
        let cfg = ScenarioConfig {
            seed,
            back_bytes: 2 << 20,
            format,
            ..ScenarioConfig::default()
        };
        let (_, files) = scenario::generate_to_dir(&cfg, &dir.0).unwrap();
        for (side, path) in [("back", &files.back), ("front", &files.front)] {
            let tuples: Vec<String> = tshark_tuples(path).into_iter().step_by(3).collect();
            assert!(tuples.len() > 5, "{side}: {}", tuples.len());
            agrees_with_tshark(path, &tuples, &dir, side);
        }
    }
}

/// A capture is binary: with standard output a terminal (a pseudo-terminal here) and
/// no -o, carve refuses before reading anything.
#[test]
fn a_capture_is_never_written_to_a_terminal() {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the two ints; the name, termios and
    // winsize pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0);
    // SAFETY: both descriptors were just opened by openpty and are owned here only.
    let (master, tty) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    let out = Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["carve", "--tuple", "10.0.0.2:32768-10.0.1.9:8080"])
        .arg(testdata("sample/back.pcap"))
        .current_dir(repo_root())
        .stdout(Stdio::from(tty))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    drop(master);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refusing to write a capture to a terminal"),
        "{err}"
    );
}
