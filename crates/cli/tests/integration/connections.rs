//! `proxytrace connections`: one row per back-side TCP connection. Expected values come
//! from tshark (the real captures' ClientHellos and segment lengths) and from the lab's
//! truth file (the proxies' and backends' own logs), never from proxytrace.

use crate::util::{run, testdata, TempFile};
use proxytrace_synth::packet::{TcpFlags, TcpPacket};
use proxytrace_synth::writer::{PcapConfig, PcapWriter};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A TLS 1.3-style ClientHello record offering `sni` and `alpn`, built from RFC 8446 /
/// RFC 6066 / RFC 7301 by hand.
fn client_hello(sni: &[u8], alpn: &[&[u8]]) -> Vec<u8> {
    let mut exts = Vec::new();
    let mut name = vec![0u8];
    name.extend((sni.len() as u16).to_be_bytes());
    name.extend(sni);
    exts.extend(0u16.to_be_bytes());
    exts.extend((name.len() as u16 + 2).to_be_bytes());
    exts.extend((name.len() as u16).to_be_bytes());
    exts.extend(name);
    let mut list = Vec::new();
    for a in alpn {
        list.push(a.len() as u8);
        list.extend(*a);
    }
    exts.extend(16u16.to_be_bytes());
    exts.extend((list.len() as u16 + 2).to_be_bytes());
    exts.extend((list.len() as u16).to_be_bytes());
    exts.extend(list);
    let mut body = vec![3, 3];
    body.extend([0x42; 32]);
    body.push(0);
    body.extend([0, 2, 0x13, 0x01, 1, 0]);
    body.extend((exts.len() as u16).to_be_bytes());
    body.extend(exts);
    let mut hs = vec![1, 0];
    hs.extend((body.len() as u16).to_be_bytes());
    hs.extend(body);
    let mut rec = vec![22, 3, 1];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// One TCP segment: source, destination, source port, destination port, flags, seq,
/// payload.
type Seg<'a> = (&'a str, &'a str, u16, u16, u16, u32, Vec<u8>);

/// A capture of these TCP segments, 1 ms apart.
fn capture(segs: &[Seg<'_>]) -> TempFile {
    let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).unwrap();
    let mut frame = Vec::new();
    for (i, (src, dst, sport, dport, flags, seq, payload)) in segs.iter().enumerate() {
        frame.clear();
        TcpPacket {
            src: src.parse::<IpAddr>().unwrap(),
            dst: dst.parse::<IpAddr>().unwrap(),
            src_port: *sport,
            dst_port: *dport,
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

/// The case: one packet, a PROXY v1 line and a ClientHello, no handshake. (tshark
/// on this capture: `proxy.src.ipv4 == 11.111.11.111`, `proxy.src.port == 52176`,
/// server_name `tls.example`, ALPN `h2,http/1.1`.)
#[test]
fn proxy_v1_then_client_hello_in_one_packet() {
    let mut payload = b"PROXY TCP4 11.111.11.111 222.222.222.22 52176 443\r\n".to_vec();
    payload.extend(client_hello(b"tls.example", &[b"h2", b"http/1.1"]));
    let f = capture(&[(
        "10.0.0.2",
        "10.0.0.3",
        40000,
        8443,
        TcpFlags::ACK | TcpFlags::PSH,
        1000,
        payload.clone(),
    )]);
    let (code, out, err) = run(&["connections", "--format", "jsonl", f.0.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1, "{out}");
    let r = &rows[0];
    assert_eq!(r["client_ip"], "11.111.11.111");
    assert_eq!(r["client_port"], 52176);
    assert_eq!(r["identity_source"], "proxy_protocol");
    assert_eq!(r["proxy_version"], 1);
    assert_eq!(r["proxy_dst"], "222.222.222.22:443");
    assert_eq!(r["protocol"], "tls");
    assert_eq!(r["tls_sni"], "tls.example");
    assert_eq!(r["tls_alpn"], "h2,http/1.1");
    assert_eq!(r["src_ip"], "10.0.0.2");
    assert_eq!(r["dst_port"], 8443);
    assert_eq!(r["client_packets"], 1);
    assert_eq!(r["client_bytes"], payload.len());
    assert_eq!(r["server_packets"], 0);
    assert_eq!(r["http_requests"], 0);
    assert_eq!(r["end"], "open");
    assert_eq!(r["flags"], "midstream_start");
    assert_eq!(r["proxy"]["family"], "tcp4");
    // `--client` matches the PROXY source; `-c` counts, `-q` answers by status.
    let p = f.0.to_str().unwrap();
    let (code, out, _) = run(&["connections", "-c", "--client", "11.111.11.0/24", p]);
    assert_eq!((code, out.trim()), (0, "1"));
    let (code, out, _) = run(&["connections", "-c", "--client", "10.0.0.2", p]);
    assert_eq!((code, out.trim()), (1, "0"));
    let (code, out, _) = run(&["connections", "-q", p]);
    assert_eq!((code, out.as_str()), (0, ""));
    // With --transparent the back-side source is the client, unless trusted.
    let (_, out, _) = run(&["connections", "--format", "jsonl", "--transparent", p]);
    assert_eq!(jsonl(&out)[0]["client_ip"], "10.0.0.2");
    assert_eq!(jsonl(&out)[0]["identity_source"], "transparent");
    let args = [
        "connections",
        "--format",
        "jsonl",
        "--transparent",
        "--trusted",
        "10.0.0.2",
    ];
    let (_, out, _) = run(&[&args[..], &[p]].concat());
    assert_eq!(jsonl(&out)[0]["client_ip"], "11.111.11.111");
}

/// The ClientHello split over two TCP segments and two records, after a handshake, with
/// the server's answer and both FINs: one row, client from its SYN, counted each way.
#[test]
fn a_hello_over_segments_and_records() {
    let hello = client_hello(b"split.example", &[b"h2"]);
    // Re-frame the handshake message as two records of its halves.
    let hs = &hello[5..];
    let (a, b) = hs.split_at(20);
    let mut two = Vec::new();
    for part in [a, b] {
        two.extend([22, 3, 1]);
        two.extend((part.len() as u16).to_be_bytes());
        two.extend(part);
    }
    let mut pre = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    pre.extend([203, 0, 113, 9, 192, 0, 2, 1, 0xd4, 0x31, 0x01, 0xbb]);
    let mut stream = pre.clone();
    stream.extend(&two);
    let (s1, s2) = stream.split_at(30);
    let (c, s) = ("198.51.100.1", "198.51.100.11");
    use TcpFlags as F;
    let f = capture(&[
        (c, s, 35000, 8443, F::SYN, 99, vec![]),
        (s, c, 8443, 35000, F::SYN | F::ACK, 499, vec![]),
        (c, s, 35000, 8443, F::ACK, 100, vec![]),
        (c, s, 35000, 8443, F::ACK | F::PSH, 100, s1.to_vec()),
        (c, s, 35000, 8443, F::ACK | F::PSH, 130, s2.to_vec()),
        (s, c, 8443, 35000, F::ACK | F::PSH, 500, vec![0x16; 90]),
        (
            c,
            s,
            35000,
            8443,
            F::ACK | F::FIN,
            100 + stream.len() as u32,
            vec![],
        ),
    ]);
    let (code, out, err) = run(&["connections", "--format", "jsonl", f.0.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 1, "{out}");
    let r = &rows[0];
    assert_eq!(r["packet"], 1);
    assert_eq!(r["src_port"], 35000);
    assert_eq!(r["client_ip"], "203.0.113.9");
    assert_eq!(r["client_port"], 54321);
    assert_eq!(r["proxy_version"], 2);
    assert_eq!(r["tls_sni"], "split.example");
    assert_eq!(r["tls_alpn"], "h2");
    assert_eq!(r["flags"], "");
    assert_eq!(r["end"], "fin");
    assert_eq!(
        (r["client_packets"].as_u64(), r["client_bytes"].as_u64()),
        (Some(5), Some(stream.len() as u64))
    );
    assert_eq!(
        (r["server_packets"].as_u64(), r["server_bytes"].as_u64()),
        (Some(2), Some(90))
    );
}

/// First bytes that are not TLS: SSH, HTTP (counted requests), other; and a hello cut by
/// a hole.
#[test]
fn protocols_and_flags_of_first_bytes() {
    use TcpFlags as F;
    let (c, s) = ("192.0.2.1", "192.0.2.2");
    let hello = client_hello(b"cut.example", &[b"h2"]);
    let f = capture(&[
        (
            c,
            s,
            1001,
            22,
            F::ACK | F::PSH,
            1,
            b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(),
        ),
        (
            c,
            s,
            1002,
            80,
            F::ACK | F::PSH,
            1,
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            c,
            s,
            1002,
            80,
            F::ACK | F::PSH,
            28,
            b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            c,
            s,
            1003,
            25,
            F::ACK | F::PSH,
            1,
            b"\x00\x01binary".to_vec(),
        ),
        (c, s, 1004, 443, F::ACK | F::PSH, 1, hello[..20].to_vec()),
        // A hole of 10 bytes, then the rest.
        (c, s, 1004, 443, F::ACK | F::PSH, 31, hello[30..].to_vec()),
    ]);
    let (_, out, err) = run(&["connections", "--format", "jsonl", f.0.to_str().unwrap()]);
    let rows = jsonl(&out);
    let by_port: HashMap<u64, &Value> = rows
        .iter()
        .map(|r| (r["src_port"].as_u64().unwrap(), r))
        .collect();
    assert_eq!(rows.len(), 4, "{out}{err}");
    assert_eq!(by_port[&1001]["protocol"], "ssh");
    assert_eq!(by_port[&1002]["protocol"], "http1");
    assert_eq!(by_port[&1002]["http_requests"], 2);
    assert_eq!(by_port[&1003]["protocol"], "other");
    let cut = by_port[&1004];
    assert_eq!(cut["protocol"], "tls");
    assert_eq!(cut["tls_sni"], "");
    assert_eq!(
        cut["flags"],
        "midstream_start|first_bytes_gap|client_hello_incomplete"
    );
    for r in &rows {
        assert_eq!(r["identity_source"], "");
        assert!(r["flags"].as_str().unwrap().contains("midstream_start"));
    }
}

/// Real captures: server_name and ALPN as tshark reads them
/// (`tshark -Y tls.handshake.type==1 -T fields -e frame.number
/// -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str`), and the
/// packets and payload bytes each way as tshark lists them (`-e tcp.srcport -e tcp.len`).
#[test]
fn real_tls_captures_agree_with_tshark() {
    // (file, sni, alpn, client packets, client bytes, server packets, server bytes)
    let cases = [
        (
            "tls-alpn-h2.pcap",
            "www.cloudflare.com",
            "h2,http/1.1",
            4,
            237,
            5,
            2810,
        ),
        (
            "openjdk-25.0.2-zeek.org.pcap",
            "zeek.org",
            "h2,http/1.1",
            3,
            457,
            3,
            2920,
        ),
    ];
    for (file, sni, alpn, cp, cb, sp, sb) in cases {
        let f = testdata(&format!("captures/{file}"));
        let (code, out, err) = run(&["connections", "--format", "jsonl", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        let rows = jsonl(&out);
        assert_eq!(rows.len(), 1, "{file}");
        let r = &rows[0];
        assert_eq!(
            (r["tls_sni"].as_str(), r["tls_alpn"].as_str()),
            (Some(sni), Some(alpn)),
            "{file}"
        );
        assert_eq!(r["protocol"], "tls", "{file}");
        let counts = [
            "client_packets",
            "client_bytes",
            "server_packets",
            "server_bytes",
        ]
        .map(|k| r[k].as_u64().unwrap());
        assert_eq!(counts, [cp, cb, sp, sb], "{file}");
        assert_eq!(r["flags"], "", "{file}");
    }
}

/// Tab-separated tshark output (with its header line) as maps.
fn tsv(path: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(testdata(path)).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            head.iter()
                .zip(l.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The lab's HAProxy `mode tcp` + `send-proxy-v2` capture (PROXY v2 + HTTP on :8081,
/// PROXY v2 + TLS passed through on :8443): every connection of the truth (proxy and
/// backend logs) has a row naming its client; TLS ones give tshark's SNI and ALPN, HTTP
/// ones the number of requests the backend logged; payload bytes each way are tshark's.
#[test]
fn lab_haproxy_tcp_proxy_connections() {
    let dir = "lab/haproxy-tcp-proxy";
    let f = testdata(&format!("{dir}/back.pcap"));
    let (code, out, err) = run(&["connections", "--format", "jsonl", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    let by_port: HashMap<String, &Value> = rows
        .iter()
        .map(|r| (r["src_port"].to_string(), r))
        .collect();
    assert_eq!(by_port.len(), rows.len(), "one row per back connection");

    let truth = std::fs::read_to_string(testdata(&format!("{dir}/truth.csv"))).unwrap();
    let mut lines = truth.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (mut tls, mut http) = (0, 0);
    for l in lines {
        // The forged-header column may hold commas inside quotes: the columns read here
        // are all before it or counted from the end.
        let v: Vec<&str> = l.split(',').collect();
        if v[col("kind")] != "connection" || v[v.len() - 7] != "1" {
            continue;
        }
        let port = v[col("back_src_port")];
        let r = by_port
            .get(port)
            .unwrap_or_else(|| panic!("no row for {port}"));
        assert_eq!(r["client_ip"], v[col("client_ip")], "{port}");
        assert_eq!(
            r["client_port"].to_string(),
            v[col("client_port")],
            "{port}"
        );
        assert_eq!(r["identity_source"], "proxy_protocol");
        let plaintext = v[v.len() - 6] == "1";
        let requests = v[v.len() - 1];
        if plaintext {
            http += 1;
            assert_eq!(r["protocol"], "http1", "{port}");
            assert_eq!(r["http_requests"].to_string(), requests, "{port}");
        } else {
            tls += 1;
            assert_eq!(r["protocol"], "tls", "{port}");
            assert_eq!(r["tls_sni"], v[v.len() - 3], "{port}");
        }
    }
    assert_eq!((tls, http), (37, 21));
    assert_eq!(rows.len(), 58);

    for h in tsv(&format!("{dir}/tshark-client-hello.tsv")) {
        let r = by_port[&h["tcp.srcport"]];
        assert_eq!(
            r["tls_sni"],
            h["tls.handshake.extensions_server_name"].as_str()
        );
        assert_eq!(
            r["tls_alpn"],
            h["tls.handshake.extensions_alpn_str"].as_str()
        );
    }
    let mut bytes: HashMap<(String, String), u64> = HashMap::new();
    for s in tsv(&format!("{dir}/tshark-segments.tsv")) {
        let key = (s["tcp.srcport"].clone(), s["tcp.dstport"].clone());
        *bytes.entry(key).or_default() += s["tcp.len"].parse::<u64>().unwrap();
    }
    for r in &rows {
        let (sp, dp) = (r["src_port"].to_string(), r["dst_port"].to_string());
        assert_eq!(
            r["client_bytes"].as_u64(),
            Some(bytes[&(sp.clone(), dp.clone())])
        );
        assert_eq!(r["server_bytes"].as_u64(), Some(bytes[&(dp, sp)]));
        assert_eq!(r["end"], "fin");
    }
}

/// `join` on the lab pair: the 37 TLS-passthrough connections (PROXY v2 + TLS, no HTTP
/// request on the back side) get rows of their own, `back_protocol=tls`, joined
/// `exact_port` to the front connection the proxy's log names; the 22 requests keep theirs.
#[test]
fn join_gives_tls_passthrough_connections_their_syn() {
    let dir = "lab/haproxy-tcp-proxy";
    let (front, back) = (
        testdata(&format!("{dir}/front.pcap")),
        testdata(&format!("{dir}/back.pcap")),
    );
    let (code, out, err) = run(&[
        "join",
        "--format",
        "jsonl",
        "--front",
        front.to_str().unwrap(),
        "--back",
        back.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    let truth = std::fs::read_to_string(testdata(&format!("{dir}/truth.csv"))).unwrap();
    let mut lines = truth.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    // back source port -> (front client ip, front client port), TLS connections only.
    let tls: HashMap<String, (String, String)> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|v| v[col("kind")] == "connection" && v[v.len() - 6] == "0")
        .map(|v| {
            (
                v[col("back_src_port")].to_string(),
                (
                    v[col("front_client_ip")].to_string(),
                    v[col("front_client_port")].to_string(),
                ),
            )
        })
        .collect();
    let mut seen = 0;
    for r in &rows {
        if r["back_protocol"] == "http1" {
            assert_ne!(r["method"], "");
            continue;
        }
        assert_eq!(r["back_protocol"], "tls");
        assert_eq!(
            (r["method"].as_str(), r["request_on_connection"].as_u64()),
            (Some(""), Some(0))
        );
        let (ip, port) = &tls[&r["src_port"].to_string()];
        assert_eq!(r["join_method"], "exact_port");
        assert_eq!(r["join_confidence"], "certain");
        assert_eq!(r["front_src_ip"], ip.as_str());
        assert_eq!(r["front_src_port"].to_string(), *port);
        assert_eq!(r["client_port"].to_string(), *port);
        seen += 1;
    }
    assert_eq!((seen, rows.len()), (37, 59));
}

/// `end_time` is the first FIN or RST of either side, as tshark lists them
/// (`tshark -Y 'tcp.flags.fin==1 || tcp.flags.reset==1' -T fields -e tcp.srcport
/// -e frame.time_epoch`): the server's FIN in http-simple-get (port 80 first), the
/// client's FIN in irc-starttls (its RSTs come later); empty on a connection that never
/// closed in the capture.
#[test]
fn end_time_is_the_first_fin_or_rst_as_tshark_lists_them() {
    let cases = [
        (
            "http-simple-get.pcap",
            "fin",
            Some("2013-11-25T14:55:58.385404Z"),
        ),
        (
            "irc-starttls.pcap",
            "fin",
            Some("2015-07-29T04:59:01.914703Z"),
        ),
        ("tls-alpn-h2.pcap", "open", None),
    ];
    for (file, end, end_time) in cases {
        let f = testdata(&format!("captures/{file}"));
        let (code, out, err) = run(&["connections", "--format", "jsonl", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{file}: {err}");
        let rows = jsonl(&out);
        assert_eq!(rows.len(), 1, "{file}");
        assert_eq!(rows[0]["end"], end, "{file}");
        assert_eq!(rows[0]["end_time"].as_str(), end_time, "{file}");
    }
}
