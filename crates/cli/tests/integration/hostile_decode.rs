//! Hostile packets inside a well-formed capture: every command exits normally and counts
//! them, on a mapped file and with `--no-mmap`.

use crate::util::{run, TempFile};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};

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

/// An EPB body written by hand, so the raw timestamp units can be anything.
fn epb_body(iface: u32, units: u64, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(units as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// pcapng with two interfaces whose if_tsresol gives no usable resolution (10^-127 and
/// 2^-127), one at nanoseconds, and a packet whose time does not fit i64 nanoseconds.
fn pcapng_with_time_damage() -> Vec<u8> {
    use proxytrace::capture::ByteOrder;
    use proxytrace_synth::writer::{NgInterface, NgWriter, BT_EPB};
    let mut w = NgWriter::new(Vec::new(), ByteOrder::Little).unwrap();
    for res in [0x7f, 0xff, 9] {
        let mut i = NgInterface::new(101);
        i.tsresol = Some(res);
        w.interface(i).unwrap();
    }
    let packet = [
        0x45u8, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    // Interface 0 (bad resolution, read as microseconds): 1.5 s after the epoch.
    w.block(BT_EPB, &epb_body(0, 1_500_000, &packet)).unwrap();
    // Interface 2 (nanoseconds): 2^64 - 1 ns is past 2262-04-11.
    w.block(BT_EPB, &epb_body(2, u64::MAX, &packet)).unwrap();
    w.finish().unwrap()
}

#[test]
fn pcapng_bad_tsresol_and_out_of_range_times_are_damage_with_offsets() {
    let file = TempFile::with_bytes(".pcapng", &pcapng_with_time_damage());
    let path = file.0.to_str().unwrap();
    let mut seen = Vec::new();
    for no_mmap in [false, true] {
        let mut args = vec!["info", "--format", "json", path];
        if no_mmap {
            args.push("--no-mmap");
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        let f = &json[0];
        assert_eq!(f["records"], 2, "{out}");
        assert_eq!(f["skipped"]["bad_if_tsresol"], 2, "{out}");
        assert_eq!(f["skipped"]["timestamp_out_of_range"], 1, "{out}");
        assert_eq!(f["damaged_bytes"], 0, "nothing was skipped: {out}");
        // SHB 28 bytes; each IDB 32 (16 fixed, if_tsresol 8, end of options 4, length 4);
        // the first EPB 52 (28 fixed, 20 data, length 4).
        let damage: Vec<(u64, u64, String)> = f["damage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["offset"].as_u64().unwrap(),
                    d["bytes"].as_u64().unwrap(),
                    d["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            damage,
            vec![
                (28, 32, "bad_if_tsresol".to_string()),
                (60, 32, "bad_if_tsresol".to_string()),
                (28 + 96 + 52, 52, "timestamp_out_of_range".to_string()),
            ],
            "{out}"
        );
        // Microseconds on the bad interface; the nearest representable time (i64::MAX ns)
        // for the other.
        assert_eq!(f["first_time"], "1970-01-01T00:00:01.500000000Z", "{out}");
        assert_eq!(f["last_time"], "2262-04-11T23:47:16.854775807Z", "{out}");
        seen.push(out);

        let mut args = vec!["requests", "--format", "csv", path];
        if no_mmap {
            args.push("--no-mmap");
        }
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("bad_if_tsresol: 2"), "{err}");
        assert!(err.contains("timestamp_out_of_range: 1"), "{err}");
    }
    assert_eq!(seen[0], seen[1], "mapped and streamed info differ");
}
