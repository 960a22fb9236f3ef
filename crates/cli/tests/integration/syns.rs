//! `proxytrace syns`: golden outputs on real captures, p0f's own values, hand-checked
//! handshake timings, retransmissions, filters, exit statuses and the NAT summary.

use crate::util::{run, testdata, TempFile};
use proxytrace::decode::TcpFlags;
use proxytrace_synth::packet::{self, IpParams, SynPreset, TcpPacket};
use proxytrace_synth::writer::{PcapConfig, PcapFlavor, PcapWriter};
use serde_json::Value;
use std::net::IpAddr;

const P0F_DB: &str = "testdata/fingerprint/p0f.fp";

fn jsonl(args: &[&str]) -> Vec<Value> {
    let mut a = vec!["syns", "--format", "jsonl"];
    a.extend_from_slice(args);
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{args:?}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The client endpoint of a row: source of a SYN, destination of a SYN+ACK.
fn client(r: &Value) -> (IpAddr, u64) {
    let (ip, port) = if r["direction"] == "syn" {
        ("src_ip", "src_port")
    } else {
        ("dst_ip", "dst_port")
    };
    (
        r[ip].as_str().unwrap().parse().unwrap(),
        r[port].as_u64().unwrap(),
    )
}

/// Every capture under testdata/captures and testdata/fingerprint against
/// testdata/golden/syns/<dir>__<name>.csv (matched with p0f's own database, so the
/// goldens do not move when the built-in database grows). Signatures, matches and
/// timings in them are checked independently by the tests below; bless with
/// `PROXYTRACE_BLESS=1 cargo test` after checking a diff.
#[test]
fn syns_match_golden_files() {
    let bless = std::env::var_os("PROXYTRACE_BLESS").is_some();
    let mut checked = 0;
    for dir in ["captures", "fingerprint"] {
        let mut names: Vec<String> = std::fs::read_dir(testdata(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".cap"))
            .collect();
        names.sort();
        for name in names {
            let rel = format!("testdata/{dir}/{name}");
            let (code, out, err) = run(&["syns", "--format", "csv", "--db", P0F_DB, &rel]);
            assert_eq!(code, 0, "{rel}: {err}");
            let golden = testdata(&format!("golden/syns/{dir}__{name}.csv"));
            if bless {
                std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
                std::fs::write(&golden, &out).unwrap();
            }
            let want = std::fs::read_to_string(&golden)
                .unwrap_or_else(|_| panic!("missing {}; bless", golden.display()));
            assert_eq!(out, want, "{rel}");
            checked += 1;
        }
    }
    assert!(checked >= 50);
}

/// (file, direction, p0f client, raw_sig, p0f os/app, p0f params, p0f dist), copied from
/// `p0f -r testdata/fingerprint/FILE -o LOG` with p0f 3.09b and its p0f.fp (the same
/// values src/fingerprint/tests.rs checks at the library level). Linux, Windows, macOS,
/// Android, OpenBSD, TCP Fast Open, IPv6, SLL, SLL2 and NULL links.
const P0F_LOGGED: &[(&str, &str, &str, &str, &str, &str, u64)] = &[
    (
        "testmyids.pcap",
        "syn",
        "172.17.0.2/54162",
        "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
        "Linux 2.2.x-3.x",
        "generic",
        0,
    ),
    (
        "testmyids.pcap",
        "syn+ack",
        "172.17.0.2/54162",
        "4:251+4:0:1460:65535,12:mss,sok,ts,nop,ws:df:0",
        "???",
        "none",
        4,
    ),
    (
        "options.pcap",
        "syn",
        "192.168.1.102/36861",
        "4:64+0:0:1460:mss*4,6:mss,sok,ts,nop,ws:df,id+:0",
        "Linux 2.6.x",
        "none",
        0,
    ),
    (
        "options.pcap",
        "syn+ack",
        "192.168.1.102/36861",
        "4:51+13:0:1380:mss*4,7:mss,sok,ts,nop,ws:df:0",
        "Linux 2.6.x",
        "none",
        13,
    ),
    (
        "irc-starttls.pcap",
        "syn",
        "203.143.168.47/55123",
        "4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0",
        "Linux 3.11 and newer",
        "none",
        0,
    ),
    (
        "irc-starttls.pcap",
        "syn+ack",
        "203.143.168.47/55123",
        "4:40+24:0:1460:mss*5,0:mss,sok,ts,nop,ws:df:0",
        "???",
        "none",
        24,
    ),
    (
        "openjdk-25.0.2-zeek.org.pcap",
        "syn",
        "192.168.64.6/55058",
        "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
        "Linux 2.2.x-3.x",
        "generic",
        0,
    ),
    (
        "openjdk-25.0.2-zeek.org.pcap",
        "syn+ack",
        "192.168.64.6/55058",
        "4:59+5:0:1460:mss*29,9:mss,nop,nop,sok,nop,ws:id-:0",
        "???",
        "none",
        5,
    ),
    (
        "psql-login-no-role.pcap",
        "syn",
        "10.21.179.53/51625",
        "4:128+0:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0",
        "Windows NT kernel",
        "generic",
        0,
    ),
    (
        "psql-login-no-role.pcap",
        "syn+ack",
        "10.21.179.53/51625",
        "4:61+3:0:1460:mss*20,7:mss,nop,nop,sok,nop,ws:df:0",
        "???",
        "none",
        3,
    ),
    (
        "mmsX.pcap",
        "syn",
        "10.101.1.2/1089",
        "4:128+0:0:1460:16384,0:mss,nop,nop,sok:df,id+:0",
        "Windows XP",
        "none",
        0,
    ),
    (
        "mmsX.pcap",
        "syn+ack",
        "10.101.1.2/1089",
        "4:128+0:0:1460:mss*12,0:mss,nop,nop,sok:df,id+:0",
        "???",
        "none",
        0,
    ),
    (
        "http-basicauth.pcap",
        "syn",
        "10.0.0.2/1087",
        "4:126+2:0:1332:65535,3:mss,nop,ws,nop,nop,ts,nop,nop,sok:df,id+,ts1-:0",
        "???",
        "none",
        2,
    ),
    (
        "http-basicauth.pcap",
        "syn+ack",
        "10.0.0.2/1087",
        "4:48+16:0:1460:mss*10,0:mss:df:0",
        "Linux 3.x",
        "none",
        16,
    ),
    (
        "ipv6.pcap",
        "syn",
        "2001:470:e5bf:dead:4957:2174:e82c:4887/63943",
        "6:64+0:0:1420:8192,8:mss,nop,ws,nop,nop,sok::0",
        "Windows 7 or 8",
        "fuzzy",
        0,
    ),
    (
        "ipv6.pcap",
        "syn+ack",
        "2001:470:e5bf:dead:4957:2174:e82c:4887/63943",
        "6:56+8:0:1386:mss*31,7:mss,nop,nop,sok,nop,ws::0",
        "???",
        "none",
        8,
    ),
    (
        "socks5-http-302-frag.pcap",
        "syn",
        "10.0.0.1/1637",
        "4:126+2:0:1360:16384,0:mss,nop,nop,sok:df,id+:0",
        "Windows XP",
        "none",
        2,
    ),
    (
        "socks5-http-302-frag.pcap",
        "syn+ack",
        "10.0.0.1/1637",
        "4:103+25:0:1260:8192,0:mss,nop,nop,sok:df,id+:0",
        "Windows 7 or 8",
        "none",
        25,
    ),
    (
        "macos_tcp_flags.pcap",
        "syn",
        "172.16.5.16/61311",
        "4:64+0:0:1460:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,ecn:0",
        "Mac OS X",
        "generic fuzzy",
        0,
    ),
    (
        "macos_tcp_flags.pcap",
        "syn+ack",
        "172.16.5.16/61311",
        "4:63+1:0:1134:mss*45,8:mss,sok,ts,nop,ws:df,ecn:0",
        "???",
        "none",
        1,
    ),
    (
        "tls-alpn-h2.pcap",
        "syn",
        "2001:4998:ef83:14:8000:0:0:100d/64034",
        "6:64+0:0:1346:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        "???",
        "none",
        0,
    ),
    (
        "tls-alpn-h2.pcap",
        "syn+ack",
        "2001:4998:ef83:14:8000:0:0:100d/64034",
        "6:59+5:0:1346:65535,10:mss,nop,nop,sok,nop,ws:flow:0",
        "???",
        "none",
        5,
    ),
    (
        "fbzero-android.pcap",
        "syn",
        "192.168.1.111/39584",
        "4:64+0:0:1360:65535,6:mss,sok,ts,nop,ws:df,id+:0",
        "Linux 2.2.x-3.x",
        "generic",
        0,
    ),
    (
        "fbzero-android.pcap",
        "syn+ack",
        "192.168.1.111/39584",
        "4:84+?:0:1380:27960,8:mss,sok,ts,nop,ws:df:0",
        "???",
        "excess_dist",
        44,
    ),
    (
        "qi_internet_SYNACK_curl_jsonip.pcap",
        "syn",
        "178.200.100.200/39976",
        "4:64+0:0:1460:16384,0:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0",
        "OpenBSD 3.x",
        "none",
        0,
    ),
    (
        "qi_internet_SYNACK_curl_jsonip.pcap",
        "syn+ack",
        "178.200.100.200/39976",
        "4:54+10:0:1460:mss*20,7:mss,sok,ts,nop,ws:df:0",
        "???",
        "none",
        10,
    ),
    (
        "tcp-fast-open.pcap",
        "syn",
        "10.99.99.1/55533",
        "4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws,?254:df,id+:0",
        "???",
        "none",
        0,
    ),
    (
        "tcp-fast-open.pcap",
        "syn+ack",
        "10.99.99.1/55533",
        "4:64+0:0:1460:mss*20,6:mss,sok,ts,nop,ws,?254:df:0",
        "???",
        "none",
        0,
    ),
    (
        "tcp-fast-open.pcap",
        "syn",
        "10.99.99.1/55534",
        "4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws,?254:df,id+:+",
        "???",
        "none",
        0,
    ),
    (
        "tcp-fast-open.pcap",
        "syn+ack",
        "10.99.99.1/55534",
        "4:64+0:0:1460:mss*20,6:mss,sok,ts,nop,ws:df:0",
        "???",
        "none",
        0,
    ),
    (
        "window-scale-range.pcap",
        "syn",
        "10.0.0.1/40000",
        "4:64+0:0:1460:8192,255:mss,ws,eol+0:exws:0",
        "???",
        "none",
        0,
    ),
    (
        "window-scale-range.pcap",
        "syn+ack",
        "10.0.0.1/40000",
        "4:64+0:0:1460:8192,7:mss,ws,eol+0::0",
        "???",
        "none",
        0,
    ),
    (
        "payload-syn.pcap",
        "syn",
        "192.168.0.1/80",
        "4:64+0:0:0:8192,0:::+",
        "???",
        "none",
        0,
    ),
    (
        "payload-syn.pcap",
        "syn+ack",
        "192.168.0.1/80",
        "4:64+0:0:0:8192,0:::0",
        "???",
        "none",
        0,
    ),
];

#[test]
fn rows_agree_with_p0f() {
    for &(file, dir, cli, sig, os, params, dist) in P0F_LOGGED {
        let rows = jsonl(&["--db", P0F_DB, &format!("testdata/fingerprint/{file}")]);
        let (ip, port) = cli.rsplit_once('/').unwrap();
        let want: (IpAddr, u64) = (ip.parse().unwrap(), port.parse().unwrap());
        let r = rows
            .iter()
            .find(|r| r["direction"] == dir && client(r) == want && r["signature"] == sig)
            .unwrap_or_else(|| panic!("{file}: no {dir} {cli} {sig}"));
        assert_eq!(r["p0f_ignores"], Value::Null, "{file} {cli}");
        if os == "???" {
            assert_eq!(r["match_quality"], "none", "{file} {cli}");
            // p0f's dist is then its TTL guess; we leave `distance` empty beyond 35 hops.
            let d = r["distance"].as_u64();
            assert_eq!(d, (dist <= 35).then_some(dist), "{file} {cli}");
        } else {
            let name = format!(
                "{} {}",
                r["os_name"].as_str().unwrap(),
                r["os_flavor"].as_str().unwrap()
            );
            assert_eq!(name.trim_end(), os, "{file} {cli}");
            let quality = if params.contains("fuzzy") {
                "fuzzy"
            } else if params.contains("generic") {
                "generic"
            } else {
                "exact"
            };
            assert_eq!(r["match_quality"], quality, "{file} {cli}");
            assert_eq!(r["match_distance"].as_u64(), Some(dist), "{file} {cli}");
        }
        // The pieces of the signature are the row's own columns.
        let parts: Vec<&str> = sig.split(':').collect();
        assert_eq!(parts[0], r["ip_version"].to_string());
        assert_eq!(parts[5], r["olayout"].as_str().unwrap());
        assert_eq!(parts[6], r["quirks"].as_str().unwrap());
        assert_eq!(parts[7] == "+", r["payload"].as_bool().unwrap());
        // A window p0f writes as a number is the `window` column; window_form is empty.
        let (wsize, _) = parts[4].split_once(',').unwrap();
        match r["window_form"].as_str() {
            Some(form) => assert!(form == wsize && !form.starts_with(|c: char| c.is_ascii_digit())),
            None => assert_eq!(wsize, r["window"].to_string()),
        }
    }
}

/// Handshake timings, checked by hand against
/// `tshark -r F -T fields -e frame.number -e frame.time_epoch -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw`:
/// - testmyids: SYN 1774914635.100775, SYN+ACK .252725, ACK (ack = SYN+ACK seq + 1) .252804:
///   151.950 ms and 79 us.
/// - tcp-fast-open, port 55533: SYN 1402321033.739117, SYN+ACK .739719, the client's first
///   ACK (a PSH+ACK carrying data) .739878: 602 us and 159 us.
/// - vlan-pcp-dei: SYN x3 1763070394.994237, SYN+ACK x3 .994441, ACK .994573: 204 us and
///   132 us; the three copies (QinQ, VLAN, untagged) of each are one SYN retransmitted twice.
#[test]
fn handshake_timing_and_retransmits() {
    let rows = jsonl(&["testdata/fingerprint/testmyids.pcap"]);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["syn_to_synack_ns"], 151_950_000);
        assert_eq!(r["synack_to_ack_ns"], 79_000);
    }
    // The SYN+ACK window is judged against the peer SYN's MSS, as p0f does.
    assert_eq!(rows[0]["packet"], 1);
    assert_eq!(rows[1]["packet"], 2);

    let rows = jsonl(&["testdata/fingerprint/tcp-fast-open.pcap"]);
    let r = &rows[0];
    assert_eq!(
        (r["direction"].as_str(), r["src_port"].as_u64()),
        (Some("syn"), Some(55533))
    );
    assert_eq!(r["syn_to_synack_ns"], 602_000);
    assert_eq!(r["synack_to_ack_ns"], 159_000);
    assert_eq!(r["option_kinds"], "[2,4,8,1,3,254]");
    assert_eq!(r["link_mtu"], 1500);
    assert_eq!(r["link"], "Ethernet or modem");
    assert_eq!(r["ts_val"], 14_248_099); // tshark tcp.options.timestamp.tsval
                                         // The second TFO SYN carries data: payload class `+`.
    let tfo = rows
        .iter()
        .find(|r| r["direction"] == "syn" && r["src_port"] == 55534)
        .unwrap();
    assert_eq!(tfo["payload"], true);
    assert!(tfo["payload_len"].as_u64().unwrap() > 0);

    let rows = jsonl(&["testdata/captures/vlan-pcp-dei.pcapng"]);
    assert_eq!(
        rows.len(),
        2,
        "3 SYNs and 3 SYN+ACKs of one flow give 2 rows"
    );
    assert_eq!(rows[0]["direction"], "syn");
    assert_eq!(rows[0]["retransmits"], 2);
    assert_eq!(rows[1]["direction"], "syn+ack");
    assert_eq!(rows[1]["retransmits"], 2);
    assert_eq!(rows[1]["packet"], 4);
    for r in &rows {
        assert_eq!(r["syn_to_synack_ns"], 204_000);
        assert_eq!(r["synack_to_ack_ns"], 132_000);
        // pcapng: nanosecond digits.
        assert!(r["time"].as_str().unwrap().ends_with(".994237000Z") || r["packet"] == 4);
    }
}

/// Packets p0f skips are reported and flagged. IPv6 routing header and atomic fragments:
/// see src/fingerprint/tests.rs (tshark dumps); fragmented-syn's TCP header is split over
/// two fragments, so there is nothing to observe without reassembly.
#[test]
fn p0f_ignored_syns_are_flagged() {
    let rows = jsonl(&["testdata/fingerprint/ip6-route0-tcp-good-chksum.pcap"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["p0f_ignores"], "ipv6_extensions");
    assert_eq!(rows[0]["signature"], "6:64+0:0:0:8192,0::seq-:0");
    let rows = jsonl(&["testdata/fingerprint/ipv6-http-atomic-frag.pcap"]);
    let syns: Vec<&Value> = rows.iter().filter(|r| r["direction"] == "syn").collect();
    assert_eq!(syns.len(), 4);
    assert!(syns.iter().all(|r| r["p0f_ignores"] == "ipv6_extensions"));
    assert!(jsonl(&["testdata/fingerprint/fragmented-syn.pcap"]).is_empty());
    // VLAN (p0f cannot read it) still gives rows: http-vlan-0 (tshark-checked in
    // src/fingerprint/tests.rs).
    let rows = jsonl(&["testdata/fingerprint/http-vlan-0.pcap"]);
    assert_eq!(
        rows[0]["signature"],
        "4:64+0:0:1460:65535,4:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0"
    );
}

// ---- synthetic captures ------------------------------------------------------------

const LB: [u8; 4] = [203, 0, 113, 10];

struct Cap {
    w: PcapWriter<Vec<u8>>,
    frame: Vec<u8>,
    opts: Vec<u8>,
}

impl Cap {
    fn new() -> Cap {
        let cfg = PcapConfig {
            flavor: PcapFlavor::Nano,
            ..PcapConfig::default()
        };
        Cap {
            w: PcapWriter::new(Vec::new(), cfg).unwrap(),
            frame: Vec::new(),
            opts: Vec::new(),
        }
    }

    fn put(&mut self, ts_ns: i64, p: &TcpPacket<'_>) {
        self.frame.clear();
        p.build(&mut self.frame);
        self.w.packet(ts_ns, &self.frame).unwrap();
    }

    /// A client SYN from `preset` (TTL preset - 5), SYN+ACK from the LB 1 ms later and
    /// the client's ACK 2 ms after that.
    fn handshake(&mut self, t: i64, ip: [u8; 4], port: u16, p: &SynPreset, tsval: u32) {
        p.options(tsval, &mut self.opts);
        let opts = std::mem::take(&mut self.opts);
        let (c, s) = (IpAddr::from(ip), IpAddr::from(LB));
        let syn = TcpPacket {
            src: c,
            dst: s,
            ip: IpParams {
                ttl: p.ttl - 5,
                df: p.df,
                ip_id: 0x1234,
                ..IpParams::default()
            },
            src_port: port,
            dst_port: 443,
            seq: 1000 + u32::from(port),
            ack: 0,
            flags: TcpFlags::SYN | p.extra_flags,
            window: p.window_value(),
            options: &opts,
            ..TcpPacket::default()
        };
        self.put(t, &syn);
        let synack = TcpPacket {
            src: s,
            dst: c,
            src_port: 443,
            dst_port: port,
            seq: 7000,
            ack: syn.seq + 1,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65160,
            options: &[2, 4, 0x05, 0xb4],
            ..TcpPacket::default()
        };
        self.put(t + 1_000_000, &synack);
        let ack = TcpPacket {
            src: c,
            dst: s,
            src_port: port,
            dst_port: 443,
            seq: syn.seq + 1,
            ack: 7001,
            flags: TcpFlags::ACK,
            ..TcpPacket::default()
        };
        self.put(t + 3_000_000, &ack);
        self.opts = opts;
    }

    fn file(self) -> TempFile {
        TempFile::with_bytes(".pcap", &self.w.finish().unwrap())
    }
}

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

/// NAT: three stacks behind 198.51.100.7; one Linux host at .8 with two connections 2 s
/// apart (TSval 1_000_000 then 1_002_000: 1000 Hz, uptime 1002 s); a SYN+FIN and a first
/// IPv4 fragment from .9.
fn nat_capture() -> TempFile {
    let mut c = Cap::new();
    let nat = [198, 51, 100, 7];
    c.handshake(T0, nat, 40001, &packet::LINUX, 500);
    c.handshake(T0 + S / 10, nat, 40002, &packet::WINDOWS, 0);
    c.handshake(T0 + 2 * S / 10, nat, 40003, &packet::MACOS, 900);
    c.handshake(
        T0 + 3 * S / 10,
        [198, 51, 100, 8],
        40010,
        &packet::LINUX,
        1_000_000,
    );
    c.handshake(
        T0 + 3 * S / 10 + 2 * S,
        [198, 51, 100, 8],
        40011,
        &packet::LINUX,
        1_002_000,
    );
    let silly = TcpPacket {
        src: IpAddr::from([198, 51, 100, 9]),
        dst: IpAddr::from(LB),
        src_port: 40020,
        dst_port: 443,
        flags: TcpFlags::SYN | TcpFlags::FIN,
        window: 1024,
        ..TcpPacket::default()
    };
    c.put(T0 + 3 * S, &silly);
    let frag = TcpPacket {
        src_port: 40021,
        flags: TcpFlags::SYN,
        ip: IpParams {
            df: false,
            more_fragments: true,
            ip_id: 77,
            ..IpParams::default()
        },
        ..silly
    };
    c.put(T0 + 4 * S, &frag);
    c.file()
}

#[test]
fn synthetic_rows_uptime_and_ignored() {
    let f = nat_capture();
    let path = f.0.to_str().unwrap();
    let rows = jsonl(&["--db", P0F_DB, path]);
    // 5 handshakes x 2 rows + SYN+FIN + fragment, in packet order.
    assert_eq!(rows.len(), 12);
    let packets: Vec<u64> = rows.iter().map(|r| r["packet"].as_u64().unwrap()).collect();
    assert_eq!(packets, [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17]);
    // Timings written by the generator: 1 ms and 2 ms.
    assert!(rows[..10]
        .iter()
        .all(|r| r["syn_to_synack_ns"] == 1_000_000 && r["synack_to_ack_ns"] == 2_000_000));
    // Nanosecond pcap: 9 digits.
    assert_eq!(rows[0]["time"], "2023-11-14T22:13:20.000000000Z");
    // Linux preset: the p0f string follows from its fields (TTL 59 = 64 - 5).
    assert_eq!(
        rows[0]["signature"],
        "4:59+5:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
    );
    // .8's second SYN: (1_002_000 - 1_000_000) ticks in 2 s = 1000 Hz; 1_002_000 / 1000.
    let second = &rows[8];
    assert_eq!(second["src_port"], 40011);
    assert_eq!(second["ts_clock_hz"], 1000);
    assert_eq!(second["uptime_hint_s"], 1002);
    assert_eq!(rows[6]["uptime_hint_s"], Value::Null);
    assert_eq!(rows[10]["p0f_ignores"], "silly_flags");
    assert_eq!(rows[11]["p0f_ignores"], "fragment");
    assert_eq!(rows[11]["ip_id"], 77);
    // The macOS preset sets ECE and CWR.
    assert_eq!(rows[4]["tcp_ecn"], "ece,cwr");
}

#[test]
fn summary_shows_nat() {
    let f = nat_capture();
    let path = f.0.to_str().unwrap();
    std::fs::copy(path, "/tmp/syns-nat.pcap").unwrap();
    let rows = jsonl(&["--summary", "--db", P0F_DB, path]);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let nat = &rows[0];
    assert_eq!(nat["client_ip"], "198.51.100.7");
    assert_eq!(nat["syns"], 3);
    assert_eq!(nat["signatures"], 3);
    assert_eq!(nat["ttls"], "[59,123]");
    assert_eq!(nat["mss_values"], "[1460]");
    assert_eq!(nat["nat_hint"], true);
    assert_eq!(nat["first_seen"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(nat["last_seen"], "2023-11-14T22:13:20.200000000Z");
    // `p0f -r` on this capture (written out once) logs the same three raw_sigs and
    // os=Linux 2.2.x-3.x / Windows NT kernel / Mac OS X for .7, with `mod=host change
    // reason=os_diff` twice, and for .8 `mod=uptime` 16 min at raw_freq=1000.00 Hz.
    assert_eq!(nat["oses"], "Linux 2.2.x-3.x;Mac OS X;Windows NT kernel");
    let one = &rows[1];
    assert_eq!(one["client_ip"], "198.51.100.8");
    assert_eq!(
        (one["syns"].as_u64(), one["signatures"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(one["nat_hint"], false);
    // .9: a SYN+FIN and a fragment, no options: two SYNs, MSS absent.
    assert_eq!(rows[2]["mss_values"], "[null]");
    // -c counts summary rows.
    let (code, out, _) = run(&["syns", "--summary", "-c", path]);
    assert_eq!((code, out.as_str()), (0, "3\n"));
}

#[test]
fn count_quiet_client_and_exit_statuses() {
    let f = "testdata/captures/vlan-pcp-dei.pcapng";
    // The end-of-run summary goes to stderr (syns printed none before); --no-summary
    // leaves only the count.
    assert_eq!(
        run(&["syns", "-c", "--no-summary", f]),
        (0, "2\n".into(), String::new())
    );
    // The client side of the connection: the SYN's source, the SYN+ACK's destination.
    assert_eq!(
        run(&["syns", "-c", "--client", "192.168.1.100", f]).1,
        "2\n"
    );
    assert_eq!(
        run(&["syns", "-c", "--client", "192.168.1.0/24", f]).1,
        "2\n"
    );
    assert_eq!(
        run(&["syns", "-c", "--no-summary", "--client", "192.168.1.200", f]),
        (1, "0\n".into(), String::new())
    );
    assert_eq!(run(&["syns", "-q", f]), (0, String::new(), String::new()));
    assert_eq!(run(&["syns", "-q", "--client", "10.0.0.0/8", f]).0, 1);
    // Errors: 2, except -q with a match (grep's rule).
    let (code, _, err) = run(&["syns", "-c", "testdata/no-such.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such.pcap"));
    assert_eq!(run(&["syns", "-q", "testdata/no-such.pcap", f]).0, 0);
    assert_eq!(run(&["syns", "--client", "not-an-ip", f]).0, 2);
    // --client on a capture with two clients: only that client's rows.
    let rows = jsonl(&[
        "--client",
        "198.51.100.8",
        nat_capture().0.to_str().unwrap(),
    ]);
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|r| client(r).0.to_string() == "198.51.100.8"));
}

#[test]
fn files_directories_and_stdin() {
    // Several files: rows in file order, state kept across files.
    let a = "testdata/fingerprint/testmyids.pcap";
    let b = "testdata/fingerprint/tcp-fast-open.pcap";
    let rows = jsonl(&[b, a]);
    let files: Vec<&str> = rows.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files.first(), Some(&b));
    assert_eq!(files.last(), Some(&a));
    // stdin gives the same rows, named `-`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["syns", "--format", "csv", "-"])
        .current_dir(crate::util::repo_root())
        .stdin(std::fs::File::open(testdata("fingerprint/testmyids.pcap")).unwrap())
        .output()
        .unwrap();
    let (_, mapped, _) = run(&["syns", "--format", "csv", a]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        mapped.replace(a, "-")
    );
    // CSV header by default, and not with --no-header.
    assert!(mapped.starts_with("time,file,packet,src_ip,"));
    let (_, bare, _) = run(&["syns", "--format", "csv", "--no-header", a]);
    assert_eq!(bare.lines().count(), 2);
}

/// TCP Fast Open SYNs whose replies are lost, then Linux's fallback SYNs (same sequence
/// number, no option 34, no data), and a plain retransmitted SYN. `p0f -r` on this capture
/// (testdata/fingerprint/tfo-fallback.p0f.tsv) logs one SYN per connection, the first,
/// with these raw_sigs: the fallback is a retransmission to p0f too, counted on the row.
/// The address is one Linux stack whose Fast Open SYNs carry two more signatures: no
/// NAT hint (it used to say nat_hint=true, as for the lab's Fast Open client).
#[test]
fn tfo_fallback_is_p0f_parity_and_no_nat_hint() {
    let f = "testdata/fingerprint/tfo-fallback.pcap";
    let rows = jsonl(&["--db", P0F_DB, f]);
    let got: Vec<(u64, &str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["src_port"].as_u64().unwrap(),
                r["signature"].as_str().unwrap(),
                r["retransmits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                40001,
                "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws,?34,nop,nop:df,id+:+",
                1
            ),
            (
                40002,
                "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws,?34,nop,nop:df,id+:0",
                1
            ),
            (
                40003,
                "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
                1
            ),
        ]
    );
    let summary = jsonl(&["--summary", "--db", P0F_DB, f]);
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0]["signatures"], 3);
    assert_eq!(summary[0]["nat_hint"], false);
}
