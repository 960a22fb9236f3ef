//! The tracker against a naive model, its caps, and the end-to-end order of rows.

use super::*;
use crate::decode::TcpFlags;
use crate::extract::handshakes::*;
use crate::fingerprint::{OptionLayout, Quirks};
use proptest::prelude::*;

fn obs(kind: SynKind, ts_ns: i64, seq: u32) -> SynObservation {
    SynObservation {
        kind,
        ts_ns,
        p0f_ignores: None,
        ip_version: 4,
        ttl: 64,
        ip_options_len: 0,
        df: true,
        ip_id: Some(1),
        ip_ecn: 0,
        tcp_flags: TcpFlags(match kind {
            SynKind::Syn => TcpFlags::SYN,
            SynKind::SynAck => TcpFlags::SYN | TcpFlags::ACK,
        }),
        seq,
        ack: 0,
        window: 8192,
        mss: Some(1460),
        window_scale: None,
        timestamp: None,
        options: OptionLayout::default(),
        quirks: Quirks::default(),
        payload_len: 0,
        header_len: 40,
        peer_syn_mss: None,
    }
}

fn sock(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::from([10, 0, 0, last]), port)
}

const SERVER: u8 = 1;

/// One generated connection: SYN copies, SYN+ACK copies, then maybe the ACK.
#[derive(Debug, Clone)]
struct Conn {
    port: u16,
    syns: usize,
    synacks: usize,
    ack: bool,
}

/// The connection's packets in order: (kind 0 SYN / 1 SYN+ACK / 2 ACK).
fn packets(c: &Conn) -> Vec<u8> {
    let mut v = vec![0; c.syns];
    v.extend(std::iter::repeat_n(1, c.synacks));
    if c.ack && c.synacks > 0 {
        v.push(2);
    }
    v
}

fn event(c: &Conn, kind: u8, index: u64) -> PacketEvent {
    let client = sock(2, c.port);
    let server = sock(SERVER, 443);
    let ts = index as i64 * 1000;
    let seen = |o: SynObservation, src, dst| {
        PacketEvent::Syn(SeenSyn {
            file: 0,
            index,
            src,
            dst,
            obs: o,
        })
    };
    match kind {
        0 => seen(obs(SynKind::Syn, ts, 100), client, server),
        1 => seen(obs(SynKind::SynAck, ts, 900), server, client),
        _ => PacketEvent::Segment(Segment {
            ts_ns: ts,
            src: client,
            dst: server,
            flags: TcpFlags(TcpFlags::ACK),
            ack: 901,
        }),
    }
}

/// (packet index, direction, retransmits, syn_to_synack, synack_to_ack), the naive way:
/// for each connection look at the whole list of its packets at once.
type Expected = (u64, SynKind, u32, Option<i64>, Option<i64>);

fn naive(stream: &[(usize, u8, u64)], conns: &[Conn]) -> Vec<Expected> {
    let mut out = Vec::new();
    for (ci, c) in conns.iter().enumerate() {
        let mine: Vec<(u8, u64)> = stream
            .iter()
            .filter(|e| e.0 == ci)
            .map(|e| (e.1, e.2))
            .collect();
        let first = |k: u8| mine.iter().find(|e| e.0 == k).map(|e| e.1);
        let last_before = |k: u8, limit: u64| {
            mine.iter()
                .filter(|e| e.0 == k && e.1 < limit)
                .map(|e| e.1)
                .max()
        };
        let t = |i: u64| i as i64 * 1000;
        let s2sa = first(1).and_then(|sa| last_before(0, sa).map(|s| t(sa) - t(s)));
        let sa2a = first(2).and_then(|a| last_before(1, a).map(|sa| t(a) - t(sa)));
        if let Some(i) = first(0) {
            out.push((i, SynKind::Syn, c.syns as u32 - 1, s2sa, sa2a));
        }
        if let Some(i) = first(1) {
            out.push((i, SynKind::SynAck, c.synacks as u32 - 1, s2sa, sa2a));
        }
    }
    out.sort_by_key(|e| e.0);
    out
}

fn conn_strategy() -> impl Strategy<Value = Conn> {
    (1usize..4, 0usize..4, any::<bool>()).prop_map(|(syns, synacks, ack)| Conn {
        port: 0,
        syns,
        synacks,
        ack,
    })
}

proptest! {
    /// Interleaved handshakes: the tracker's rows, order, retransmission counts and
    /// timings equal the whole-list computation.
    #[test]
    fn tracker_matches_naive(
        mut conns in prop::collection::vec(conn_strategy(), 1..8),
        picks in prop::collection::vec(any::<u8>(), 64),
    ) {
        for (i, c) in conns.iter_mut().enumerate() {
            c.port = 1000 + i as u16;
        }
        // Interleave: repeatedly take the next packet of a connection chosen by `picks`.
        let mut queues: Vec<Vec<u8>> = conns.iter().map(packets).collect();
        for q in &mut queues {
            q.reverse();
        }
        let mut stream = Vec::new();
        let mut p = picks.iter().cycle();
        let mut index = 1u64;
        while queues.iter().any(|q| !q.is_empty()) {
            let live: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
            let ci = live[usize::from(*p.next().unwrap()) % live.len()];
            let kind = queues[ci].pop().unwrap();
            stream.push((ci, kind, index));
            index += 1;
        }
        let db = Database::default();
        let mut t = SynTracker::new(&db);
        let mut got = Vec::new();
        let mut collect = |e: &SynEntry<'_>| {
            got.push((e.index, e.obs.kind, e.retransmits, e.syn_to_synack_ns, e.synack_to_ack_ns));
            ControlFlow::Continue(())
        };
        for &(ci, kind, idx) in &stream {
            let _ = t.push(&event(&conns[ci], kind, idx), &mut collect);
        }
        let _ = t.finish(&mut collect);
        prop_assert_eq!(got, naive(&stream, &conns));
    }
}

#[test]
fn port_reuse_and_rst_and_expiry() {
    let db = Database::default();
    let mut t = SynTracker::new(&db);
    let mut got: Vec<(u64, u32)> = Vec::new();
    fn push(t: &mut SynTracker<'_>, ev: &PacketEvent, got: &mut Vec<(u64, u32)>) {
        let _ = t.push(ev, &mut |e: &SynEntry<'_>| {
            got.push((e.index, e.retransmits));
            ControlFlow::Continue(())
        });
    }
    let (c, s) = (sock(2, 5000), sock(SERVER, 443));
    let syn = |index, ts, seq| {
        PacketEvent::Syn(SeenSyn {
            file: 0,
            index,
            src: c,
            dst: s,
            obs: obs(SynKind::Syn, ts, seq),
        })
    };
    // Unanswered SYN, a copy, then a new sequence number on the same ports: two rows.
    push(&mut t, &syn(1, 0, 10), &mut got);
    push(&mut t, &syn(2, 1_000, 10), &mut got);
    assert!(got.is_empty(), "held back while retransmissions may come");
    push(&mut t, &syn(3, 2_000, 20), &mut got);
    assert_eq!(got, [(1, 1)]);
    // RST from the server ends the second one.
    let rst = PacketEvent::Segment(Segment {
        ts_ns: 3_000,
        src: s,
        dst: c,
        flags: TcpFlags(TcpFlags::RST | TcpFlags::ACK),
        ack: 21,
    });
    push(&mut t, &rst, &mut got);
    assert_eq!(got, [(1, 1), (3, 0)]);
    // An unanswered SYN is released once the handshake window has passed.
    push(&mut t, &syn(4, 10_000, 30), &mut got);
    let other = PacketEvent::Segment(Segment {
        ts_ns: 10_000 + HANDSHAKE_WINDOW_NS + 1,
        src: sock(9, 1),
        dst: sock(9, 2),
        flags: TcpFlags(TcpFlags::ACK),
        ack: 0,
    });
    push(&mut t, &other, &mut got);
    assert_eq!(got, [(1, 1), (3, 0), (4, 0)]);
    assert!(t.conns.is_empty() && t.pending.is_empty());
}

/// A timestamped SYN from host number `h` (distinct IPv4 addresses), `ts_ns` capture time.
fn host_syn(h: u32, ts_ns: i64) -> PacketEvent {
    let mut o = obs(SynKind::Syn, ts_ns, 7);
    o.timestamp = Some((h.wrapping_mul(1000), 0));
    PacketEvent::Syn(SeenSyn {
        file: 0,
        index: u64::from(h) + 1,
        src: SocketAddr::new(
            IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32 + h)),
            40_000,
        ),
        dst: sock(SERVER, 80),
        obs: o,
    })
}

#[test]
fn host_timestamp_samples_age_out_after_the_uptime_window() {
    let db = Database::default();
    let mut t = SynTracker::new(&db);
    // One host per second for 20 minutes: only the last 10 minutes can still pair.
    for h in 0..1200u32 {
        let _ = t.push(&host_syn(h, i64::from(h) * 1_000_000_000), &mut |_| {
            ControlFlow::Continue(())
        });
    }
    assert!(t.last_ts.len() <= 601, "{} samples kept", t.last_ts.len());
    assert_eq!(
        t.stats().uptime_samples_aged_out,
        1200 - t.last_ts.len() as u64
    );
    assert_eq!(t.stats().uptime_samples_evicted_host_cap, 0);
}

#[test]
fn host_timestamp_samples_are_capped_oldest_first() {
    let db = Database::default();
    let mut t = SynTracker::new(&db);
    let n = MAX_TS_HOSTS as u32 + 1000;
    // All within one second: nothing ages out, the count cap applies.
    for h in 0..n {
        let _ = t.push(&host_syn(h, i64::from(h)), &mut |_| {
            ControlFlow::Continue(())
        });
    }
    assert_eq!(t.last_ts.len(), MAX_TS_HOSTS);
    assert_eq!(t.stats().uptime_samples_evicted_host_cap, 1000);
    // The held rows (and their connections) are capped too.
    assert!(t.pending.len() <= MAX_PENDING && t.conns.len() <= MAX_PENDING);
    assert_eq!(
        t.stats().rows_released_pending_cap,
        u64::from(n) - MAX_PENDING as u64
    );
    // The newest host still pairs: a second SYN 1 s later gets an uptime estimate
    // (TSval +1000 ticks in 1 s: 1000 Hz); the oldest was dropped and does not.
    let mut hints = Vec::new();
    let mut again = |h: u32, dt: i64| {
        let PacketEvent::Syn(mut s) = host_syn(h, i64::from(n) + dt) else {
            unreachable!()
        };
        s.obs.seq = 8;
        s.obs.timestamp = Some((h.wrapping_mul(1000).wrapping_add(1000), 0));
        let _ = t.push(&PacketEvent::Syn(s), &mut |_| ControlFlow::Continue(()));
    };
    again(n - 1, 1_000_000_000);
    again(0, 1_000_000_001);
    let _ = t.finish(&mut |e: &SynEntry<'_>| {
        if e.obs.seq == 8 {
            hints.push((e.src, e.uptime.is_some()));
        }
        ControlFlow::Continue(())
    });
    assert_eq!(
        hints,
        [
            (
                SocketAddr::new(
                    IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32 + n - 1)),
                    40_000
                ),
                true
            ),
            (
                SocketAddr::new(
                    IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000u32)),
                    40_000
                ),
                false
            ),
        ]
    );
}
