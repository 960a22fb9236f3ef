//! Print one line per SYN / SYN+ACK in a capture, for comparison with `p0f -r`:
//! `time<TAB>src<TAB>dst<TAB>direction<TAB>signature<TAB>p0f<TAB>os`
//!
//! `p0f` is `yes` when p0f 3.09b would log the packet, else why not: a packet-level
//! reason (silly_flags, fragment, ipv6_extensions, truncated) or a flow-level one copied
//! from p0f's flow table (retransmit: a SYN repeating the flow's sequence number;
//! no_syn: SYN+ACK without a tracked SYN; repeat: second SYN+ACK; client_synack: a
//! SYN+ACK from the client side, after the flow ended by FIN/RST/early ACK; link_layer: an Ethernet frame with VLAN / MPLS / PPPoE
//! in front of IP, which Debian's p0f does not read). `os` is the match in the database given with `--db`
//! (or the built-in one), as `name flavor [quality,dist]`.
//!
//! Usage: cargo run --example p0f_sigs -- CAPTURE [--db p0f.fp]

use proxytrace::capture::{open, Input, OpenOptions, WalkStats};
use proxytrace::decode::{decode, Decoded, Fragment};
use proxytrace::fingerprint::{builtin, Database, SynKind, SynObservation};
use proxytrace::timefmt::{rfc3339, Precision};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;

struct Flow {
    client: SocketAddr,
    syn_seq: u32,
    syn_mss: Option<u16>,
    acked: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: p0f_sigs CAPTURE [--db p0f.fp]");
        std::process::exit(2);
    };
    let loaded;
    let db: &Database = match args.iter().position(|a| a == "--db") {
        Some(i) => {
            let Some(p) = args.get(i + 1) else {
                eprintln!("--db needs a path");
                std::process::exit(2);
            };
            loaded = Database::load(std::path::Path::new(p)).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(2);
            });
            &loaded
        }
        None => builtin::database(),
    };
    let mut cap = match open(&Input::from_arg(path), OpenOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // Flows keyed by the unordered endpoint pair, as p0f's lookup_flow matches both ways.
    let mut flows: HashMap<(SocketAddr, SocketAddr), Flow> = HashMap::new();
    let key = |a: SocketAddr, b: SocketAddr| if a <= b { (a, b) } else { (b, a) };
    let mut stats = WalkStats::default();
    let res = cap.walk(&mut stats, |rec| {
        let Ok(Decoded::Ip(p)) = decode(rec.link_type, rec.data, rec.orig_len, rec.ts_ns) else {
            return ControlFlow::Continue(());
        };
        let Some(t) = p.tcp() else {
            return ControlFlow::Continue(());
        };
        let src = SocketAddr::new(p.ip.src, t.src_port);
        let dst = SocketAddr::new(p.ip.dst, t.dst_port);
        let k = key(src, dst);
        let Some(obs) = SynObservation::from_packet(&p) else {
            // p0f's flow_dispatch for packets it reads: FIN or RST ends a flow, and so
            // does an ACK before the SYN+ACK ("never received SYN+ACK").
            let readable = p0f_reads_link(rec.link_type, rec.data)
                && p.ip.fragment == Fragment::None
                && !(p.ip.version == 6 && p.ip.header_len > 40)
                && !p.truncated;
            let f = t.flags;
            if readable && !(f.fin() && f.rst()) {
                let unacked = flows.get(&k).is_some_and(|fl| !fl.acked);
                if f.fin() || f.rst() || (f.ack() && unacked) {
                    flows.remove(&k);
                }
            }
            return ControlFlow::Continue(());
        };
        let mut obs = obs;
        let verdict: &str = if !p0f_reads_link(rec.link_type, rec.data) {
            "link_layer"
        } else if let Some(r) = obs.p0f_ignores {
            r.name()
        } else {
            match obs.kind {
                SynKind::Syn => {
                    let dup = flows
                        .get(&k)
                        .is_some_and(|f| f.client == src && f.syn_seq == obs.seq);
                    if dup {
                        "retransmit"
                    } else {
                        flows.insert(
                            k,
                            Flow {
                                client: src,
                                syn_seq: obs.seq,
                                syn_mss: obs.mss,
                                acked: false,
                            },
                        );
                        "yes"
                    }
                }
                SynKind::SynAck => match flows.get_mut(&k) {
                    None => "no_syn",
                    Some(f) if f.client == src => "client_synack",
                    Some(f) if f.acked => "repeat",
                    Some(f) => {
                        f.acked = true;
                        obs = obs.with_peer_syn_mss(f.syn_mss);
                        "yes"
                    }
                },
            }
        };
        // Outside p0f's flow logic, still give a SYN+ACK its peer's MSS when we know it.
        if obs.kind == SynKind::SynAck && obs.peer_syn_mss.is_none() {
            if let Some(f) = flows.get(&k).filter(|f| f.client == dst) {
                obs = obs.with_peer_syn_mss(f.syn_mss);
            }
        }
        let m = db.match_syn(&obs);
        // p0f stops tracking a flow whose SYN (or SYN+ACK) matched a userland tool (`!`).
        if verdict == "yes" && m.is_some_and(|m| m.class.is_none()) {
            flows.remove(&k);
        }
        let os = match m {
            Some(m) => format!("{} [{:?},{}]", m.p0f_name(), m.quality, m.distance),
            None => "???".to_string(),
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            rfc3339(rec.ts_ns, Precision::MICRO),
            fmt_sock(src),
            fmt_sock(dst),
            obs.kind.p0f_name(),
            obs,
            verdict,
            os
        );
        ControlFlow::Continue(())
    });
    if let Err(e) = res {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// Debian's p0f 3.09b reads Ethernet at a fixed 14-byte offset: a VLAN tag, MPLS or
/// PPPoE header in front of IP makes it skip the frame ("Unknown packet type"). It does
/// not know NFLOG (239) at all.
fn p0f_reads_link(link_type: u16, data: &[u8]) -> bool {
    if link_type == 239 {
        return false;
    }
    if link_type != 1 {
        return true;
    }
    matches!(data.get(12..14), Some([0x08, 0x00]) | Some([0x86, 0xdd]))
}

/// p0f's address style: IPv6 fully expanded without zero compression, `ip/port`.
fn fmt_sock(s: SocketAddr) -> String {
    match s.ip() {
        IpAddr::V4(v4) => format!("{v4}/{}", s.port()),
        IpAddr::V6(v6) => {
            let segs: Vec<String> = v6.segments().iter().map(|x| format!("{x:x}")).collect();
            format!("{}/{}", segs.join(":"), s.port())
        }
    }
}
