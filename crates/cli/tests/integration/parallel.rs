//! `requests`, `flows`, `connections`, `syns` and `join` give the same bytes for 1 thread, N threads, tiny
//! chunks (many boundaries) and the streaming reader, also on captures built to trip the
//! chunk splitter: pcap records copied into payloads, a damaged middle, and pcapng with
//! several sections in both byte orders.

use crate::util::{run, TempFile};
use proxytrace::capture::{self, ByteOrder, Input, OpenOptions, WalkStats};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use proxytrace_synth::writer::{NgInterface, NgWriter, PcapConfig, PcapWriter};
use std::ops::ControlFlow;
use std::path::Path;

/// (ts_ns, data, orig_len) of every record of a capture.
fn records(path: &Path) -> Vec<(i64, Vec<u8>, u32)> {
    let mut cap = capture::open(&Input::Path(path.to_path_buf()), OpenOptions::default()).unwrap();
    let mut out = Vec::new();
    cap.walk(&mut WalkStats::default(), |r| {
        out.push((r.ts_ns, r.data.to_vec(), r.orig_len));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

/// A UDP frame carrying `payload` (for the copied-records trap).
fn udp(payload: &[u8]) -> Vec<u8> {
    use proxytrace_synth::packet::{IpParams, Link, UdpPacket, MAC_A, MAC_B};
    let mut f = Vec::new();
    UdpPacket {
        link: Link::Ethernet {
            dst: MAC_A,
            src: MAC_B,
            vlans: &[],
        },
        src: "192.0.2.1".parse().unwrap(),
        dst: "192.0.2.2".parse().unwrap(),
        ip: IpParams::default(),
        src_port: 9,
        dst_port: 9,
        payload,
    }
    .build(&mut f);
    f
}

/// The capture again, with every 40th record followed by a UDP packet whose payload is
/// a byte copy of a stretch of the file written so far (record headers included).
fn with_copied_records(recs: &[(i64, Vec<u8>, u32)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    for (i, (ts, data, _)) in recs.iter().enumerate() {
        w.packet(*ts, data).unwrap();
        if i % 40 == 39 {
            let so_far = w.get_ref();
            let from = 24 + (i * 7919) % (so_far.len() / 2);
            let copy = so_far[from..(from + 3000).min(so_far.len())].to_vec();
            w.packet(*ts, &udp(&copy)).unwrap();
        }
    }
    w.finish().unwrap()
}

/// The capture as pcapng: three sections (little, big, little endian), the records split
/// evenly, a second interface declared in the middle of the second section.
fn as_pcapng(recs: &[(i64, Vec<u8>, u32)]) -> Vec<u8> {
    let mut w = NgWriter::new(Vec::new(), ByteOrder::Little).unwrap();
    let mut iface = w.interface(NgInterface::new(1)).unwrap();
    let third = recs.len() / 3;
    for (i, (ts, data, orig)) in recs.iter().enumerate() {
        if i == third {
            w.section(ByteOrder::Big).unwrap();
            iface = w.interface(NgInterface::new(1)).unwrap();
        }
        if i == third + third / 2 {
            iface = w.interface(NgInterface::new(1)).unwrap();
        }
        if i == 2 * third {
            w.section(ByteOrder::Little).unwrap();
            iface = w.interface(NgInterface::new(1)).unwrap();
        }
        w.epb(iface, *ts, data, *orig).unwrap();
    }
    w.finish().unwrap()
}

/// Garbage over a record header in the middle of a legacy pcap.
fn damaged(mut bytes: Vec<u8>) -> Vec<u8> {
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b = 0xee;
    }
    bytes
}

fn same_everywhere(args: &[&str], file: &str) {
    let mut base = args.to_vec();
    base.push(file);
    let (code, want, err) = run(&[&["--threads", "1"], &base[..]].concat());
    assert!(code == 0 || code == 1, "{base:?}: {err}");
    for (extra, streamed) in [
        (&["--threads", "2"][..], false),
        (&["--threads", "2", "--chunk-size", "4096"], false),
        (&["--threads", "3", "--chunk-size", "300"], false),
        (&["--threads", "2", "--chunk-size", "4096"], true),
    ] {
        let mut sub = base.clone();
        if streamed {
            sub.insert(1, "--no-mmap");
        }
        let (c, got, _) = run(&[extra, &sub[..]].concat());
        assert_eq!(c, code, "{extra:?} {base:?}");
        assert!(got == want, "{extra:?} {base:?}: output differs");
    }
}

#[test]
fn requests_syns_and_join_are_identical_across_threads_chunks_and_streaming() {
    let dir = std::env::temp_dir().join(format!("proxytrace-par-{}", std::process::id()));
    let cfg = ScenarioConfig {
        seed: 31,
        back_bytes: 600 << 10,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let back_recs = records(&files.back);
    let trap = TempFile::with_bytes(".pcap", &with_copied_records(&back_recs));
    let ng = TempFile::with_bytes(".pcapng", &as_pcapng(&back_recs));
    let hurt = TempFile::with_bytes(".pcap", &damaged(std::fs::read(&files.back).unwrap()));
    let req = [
        "requests",
        "--format",
        "csv",
        "--transparent",
        "--trusted",
        "10.0.0.2",
    ];
    let back = files.back.to_str().unwrap();
    for f in [
        back,
        trap.0.to_str().unwrap(),
        ng.0.to_str().unwrap(),
        hurt.0.to_str().unwrap(),
    ] {
        same_everywhere(&req, f);
    }
    // The variants carry the same requests as the original (the damaged one loses some).
    let rows = |f: &str| {
        let (_, out, _) = run(&[&req[..], &["--threads", "2", "--chunk-size", "4096", f]].concat());
        out.lines().count()
    };
    assert_eq!(rows(back), rows(ng.0.to_str().unwrap()));
    assert_eq!(rows(back), rows(trap.0.to_str().unwrap()));
    assert!(rows(hurt.0.to_str().unwrap()) <= rows(back));

    same_everywhere(&["flows", "--format", "csv"], back);
    for f in [back, trap.0.to_str().unwrap(), ng.0.to_str().unwrap()] {
        same_everywhere(&["connections", "--format", "csv"], f);
    }
    let lab = crate::util::testdata("lab/haproxy-tcp-proxy/back.pcap");
    same_everywhere(&["connections", "--format", "jsonl"], lab.to_str().unwrap());
    let front = files.front.to_str().unwrap();
    same_everywhere(&["syns", "--format", "csv"], front);
    same_everywhere(&["syns", "--summary", "--format", "csv"], front);
    // `same_everywhere` appends the back file after `--back`.
    same_everywhere(
        &[
            "join",
            "--format",
            "csv",
            "--transparent",
            "--trusted",
            "10.0.0.2",
            "--front",
            front,
            "--back",
        ],
        back,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
