//! Hostile packets inside a well-formed capture: every command exits normally and counts
//! them, on a mapped file and with `--no-mmap`.

use crate::util::{run, TempFile};
use proxytrace::synth::writer::{PcapConfig, PcapWriter};

/// Extension headers of the chain in order: (protocol number, bytes with a placeholder
/// next-header byte). Hop-by-hop, routing and destination options are (len + 1) * 8
/// bytes, the fragment header 8, AH (len + 2) * 4 (RFC 8200, RFC 4302).
const CHAIN: [(u8, &[u8]); 5] = [
    (0, &[0, 0, 1, 4, 0, 0, 0, 0]),
    (43, &[0, 0, 0, 0, 0, 0, 0, 0]),
    (44, &[0, 0, 0, 0, 1, 2, 3, 4]),
    (60, &[0, 0, 1, 4, 0, 0, 0, 0]),
    (51, &[0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]),
];

/// Raw IPv6 (LINKTYPE_RAW) whose extension chain ends with header `bad` declaring more
/// bytes than the packet holds (length byte 255; the fragment header, fixed at 8 bytes,
/// cut after 4). The IPv6 payload length matches the bytes present, and the record is
/// not cut by the snap length: the packet is malformed, not truncated.
fn broken_chain(bad: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (number, bytes)) in CHAIN[..=bad].iter().enumerate() {
        let mut b = bytes.to_vec();
        b[0] = CHAIN.get(i + 1).map_or(6, |e| e.0);
        if i == bad {
            if *number == 44 {
                b.truncate(4);
            } else {
                b[1] = 255;
                b.truncate(8);
            }
        }
        body.extend_from_slice(&b);
    }
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(body.len() as u16).to_be_bytes());
    p.push(CHAIN[0].0);
    p.push(64);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.extend_from_slice(&body);
    p
}

fn pcap_with(packet: &[u8]) -> Vec<u8> {
    let cfg = PcapConfig {
        link_type: 101,
        ..PcapConfig::default()
    };
    let mut w = PcapWriter::new(Vec::new(), cfg).unwrap();
    w.packet(1_700_000_000_000_000_000, packet).unwrap();
    w.finish().unwrap()
}

#[test]
fn broken_ipv6_extension_chain_is_counted_by_every_command_mapped_and_streamed() {
    for bad in 0..CHAIN.len() {
        let bytes = pcap_with(&broken_chain(bad));
        let file = TempFile::with_bytes(".pcap", &bytes);
        let path = file.0.to_str().unwrap();
        for no_mmap in [false, true] {
            let with = |args: &[&str]| -> (i32, String, String) {
                let mut v = args.to_vec();
                if no_mmap {
                    v.push("--no-mmap");
                }
                run(&v)
            };
            let what = format!("chain broken at position {bad}, no_mmap {no_mmap}");

            let (code, out, err) = with(&["info", "--format", "json", path]);
            assert_eq!(code, 0, "info, {what}: {err}");
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            let file_info = &json[0];
            assert_eq!(file_info["records"], 1, "{what}: {out}");
            assert_eq!(
                file_info["packets"]["undecodable"]["bad_ip_extension_header"], 1,
                "{what}: {out}"
            );
            assert_eq!(file_info["packets"]["ipv6"], 0, "{what}: {out}");

            let (code, out, err) = with(&["requests", "--format", "csv", path]);
            assert_eq!(code, 0, "requests, {what}: {err}");
            assert!(out.lines().count() <= 1, "no rows, {what}: {out}");
            assert!(
                err.contains("undecodable bad_ip_extension_header: 1"),
                "requests, {what}: {err}"
            );

            let (code, out, err) = with(&["syns", "--format", "csv", path]);
            assert_eq!(code, 0, "syns, {what}: {err}");
            assert!(out.lines().count() <= 1, "no rows, {what}: {out}");

            let (code, _, err) = with(&[
                "join",
                "--front",
                path,
                "--back",
                path,
                "--clock-offset",
                "0s",
                "--format",
                "csv",
            ]);
            assert_eq!(code, 0, "join, {what}: {err}");
            assert!(
                err.contains("undecodable bad_ip_extension_header: 1"),
                "join, {what}: {err}"
            );
        }
    }
}
