//! Hostile flow floods: many tracked connections from many addresses, to check that per-flow
//! and per-host state stays fast and bounded.
//!
//! - [`fx_colliding_clients`]: IPv6 (address, port) pairs of one /64 that all hash to the
//!   same 64-bit value under the unseeded multiply-rotate ("Fx") hasher the flow table used
//!   before it was seeded; solved in closed form, one pair per port.
//! - [`write_flood`]: a BACK-style capture of such clients (or random ones), each opening a
//!   connection and sending a complete or partial request head; or a FRONT-style capture of
//!   SYNs from distinct hosts, each with a TCP timestamp.

use super::packet::{IpParams, TcpPacket};
use super::rng::Rng;
use super::writer::{PcapConfig, PcapWriter};
use proxytrace::decode::TcpFlags;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Multiplier of the former flow hasher: `h = (rotl(h, 5) ^ word) * K` per word.
const FX_K: u64 = 0x517c_c1b7_2722_0a95;

fn fx_add(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(FX_K)
}

/// Inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct bits).
fn inverse_mod_2_64(k: u64) -> u64 {
    let mut x = k; // correct to 3 bits for any odd k
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(k.wrapping_mul(x)));
    }
    x
}

/// `n` (at most 65,536) client (address, port) pairs in the /64 `prefix` whose derived
/// `Hash` of the client half of a 5-tuple (address enum tag, the 16 address bytes as two
/// little-endian 8-byte words, then the port) leaves the Fx state identical, so every
/// 5-tuple towards one server collides completely.
///
/// The state after the prefix word is fixed (`s`); after the interface-id word `w` and
/// port `p` it is `((rotl((rotl(s,5) ^ w) * K, 5) ^ p) * K`. Fixing the value `u` inside
/// the last multiplication gives `w = rotl(s,5) ^ (rotr(u ^ p, 5) * K^-1)` for each port.
pub fn fx_colliding_clients(prefix: [u8; 8], n: usize) -> Vec<(Ipv6Addr, u16)> {
    let k_inv = inverse_mod_2_64(FX_K);
    // IpAddr::V6 tag 1, then the first address word.
    let s = fx_add(fx_add(0, 1), u64::from_le_bytes(prefix));
    let u: u64 = 0x0123_4567_89ab_cdef;
    (0..n.min(1 << 16))
        .map(|i| {
            let port = i as u16;
            let w = s.rotate_left(5) ^ (u ^ u64::from(port)).rotate_right(5).wrapping_mul(k_inv);
            let mut octets = [0u8; 16];
            octets[..8].copy_from_slice(&prefix);
            octets[8..].copy_from_slice(&w.to_le_bytes());
            (Ipv6Addr::from(octets), port)
        })
        .collect()
}

/// What a flood capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodKind {
    /// IPv6 clients from [`fx_colliding_clients`] (65,536 at most), complete heads.
    FxColliding,
    /// IPv6 clients with random interface ids and ports, complete heads.
    RandomV6,
    /// Distinct IPv4 clients, each sending a head cut before its blank line (the
    /// connection stays open, so the flow keeps its head buffer).
    PartialHeads,
    /// One SYN (with a TCP timestamp, so `syns` samples it for uptime) per distinct IPv4
    /// host, no answer.
    SynHosts,
}

const PREFIX: [u8; 8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1];
const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1);
const SERVER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Distinct IPv4 client number `i` (outside the server's 192.0.2.0/24): 10.0.0.0/8 then
/// onwards, 2^24 addresses per /8.
fn client_v4(i: u64) -> Ipv4Addr {
    let n = 0x0a00_0000u32.wrapping_add(i as u32);
    Ipv4Addr::from(n)
}

/// Writes `flows` connections (or SYN hosts) of `kind` as an Ethernet pcap, 1 ms apart
/// (all within the reassembly idle timeout for up to 300,000 flows, 10 µs apart beyond).
pub fn write_flood<W: Write>(out: W, kind: FloodKind, flows: u64, seed: u64) -> io::Result<W> {
    let mut w = PcapWriter::new(out, PcapConfig::default())?;
    let mut rng = Rng::new(seed);
    let mut frame = Vec::with_capacity(2048);
    let colliding = match kind {
        FloodKind::FxColliding => fx_colliding_clients(PREFIX, flows as usize),
        _ => Vec::new(),
    };
    let flows = match kind {
        FloodKind::FxColliding => colliding.len() as u64,
        _ => flows,
    };
    let step_ns: i64 = if flows <= 300_000 { 1_000_000 } else { 10_000 };
    let complete = b"GET /x HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n";
    // A partial head: realistic header lines, no blank line yet.
    let partial: Vec<u8> = {
        let mut p =
            b"GET /partial HTTP/1.1\r\nHost: example.com\r\nUser-Agent: flood/1.0\r\n".to_vec();
        while p.len() < 400 {
            p.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        p
    };
    let mut ts_opt = Vec::new();
    for i in 0..flows {
        let t0 = 1_700_000_000_000_000_000i64 + i as i64 * step_ns;
        let (client, port, server): (IpAddr, u16, IpAddr) = match kind {
            FloodKind::FxColliding => {
                let (a, p) = colliding[i as usize];
                (IpAddr::V6(a), p, IpAddr::V6(SERVER_V6))
            }
            FloodKind::RandomV6 => {
                let mut o = [0u8; 16];
                o[..8].copy_from_slice(&PREFIX);
                o[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
                let port = rng.next_u32() as u16;
                (IpAddr::V6(Ipv6Addr::from(o)), port, IpAddr::V6(SERVER_V6))
            }
            FloodKind::PartialHeads | FloodKind::SynHosts => (
                IpAddr::V4(client_v4(i)),
                1024 + (rng.below(60_000) as u16),
                IpAddr::V4(SERVER_V4),
            ),
        };
        let isn = rng.next_u32();
        let mut syn = TcpPacket {
            src: client,
            dst: server,
            src_port: port,
            dst_port: 80,
            seq: isn,
            flags: TcpFlags::SYN,
            ip: IpParams {
                ttl: 64,
                ..IpParams::default()
            },
            ..TcpPacket::default()
        };
        if kind == FloodKind::SynHosts {
            // MSS, SACK-permitted, timestamp (varying TSval), NOP, window scale: Linux-like.
            ts_opt.clear();
            ts_opt.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
            ts_opt.extend_from_slice(&rng.next_u32().to_be_bytes());
            ts_opt.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
            syn.options = &ts_opt;
            syn.window = 64240;
        }
        frame.clear();
        syn.build(&mut frame);
        w.packet(t0, &frame)?;
        if kind == FloodKind::SynHosts {
            continue;
        }
        let payload: &[u8] = if kind == FloodKind::PartialHeads {
            &partial
        } else {
            complete
        };
        let data = TcpPacket {
            seq: isn.wrapping_add(1),
            ack: 1,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            payload,
            ..syn
        };
        frame.clear();
        data.build(&mut frame);
        w.packet(t0 + step_ns / 2, &frame)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_an_inverse() {
        assert_eq!(FX_K.wrapping_mul(inverse_mod_2_64(FX_K)), 1);
    }

    #[test]
    fn colliding_clients_are_distinct_pairs_in_the_prefix() {
        let v = fx_colliding_clients(PREFIX, 1 << 16);
        assert_eq!(v.len(), 1 << 16);
        let mut pairs: Vec<_> = v.iter().map(|(a, p)| (a.octets(), *p)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), 1 << 16);
        assert!(v.iter().all(|(a, _)| a.octets()[..8] == PREFIX));
    }
}
