//! Flow shards: the per-connection work of a run (reassembly, row building) split over a
//! fixed number of independent states, so it runs on every core and not on the one thread
//! that delivers chunks in order.
//!
//! Workers route each TCP segment to the shard of its connection ([`shard_of`]); after a
//! chunk is delivered, [`Engine::each_shard`] runs every shard over its share of the
//! chunk, in parallel. A shard sees its connections' segments in file order, so its state
//! machine is the sequential one. The shard count is a constant, not the thread count, and
//! the routing hash is fixed, not seeded: which shard a connection lands in, and so each
//! shard's caps and evictions, are the same for 1 thread or 64, run after run. A crafted
//! capture can steer connections into one shard; that only unbalances the work (and meets
//! that shard's share of the caps sooner, counted as always), since each shard's own table
//! keeps the per-process seeded hasher.

use super::Engine;
use crate::decode::FiveTuple;
use rayon::prelude::*;
use std::net::IpAddr;

/// Number of flow shards. Enough for the reassembly to spread over 32 cores; each shard
/// holds `1 / SHARDS` of the reassembly's flow and byte caps.
pub const SHARDS: usize = 32;

/// The shard of a connection: the same for both directions, fixed across runs and
/// machines (a SplitMix64 finish over both endpoints, the smaller one first).
pub fn shard_of(flow: &FiveTuple) -> usize {
    let a = endpoint_word(flow.src_ip, flow.src_port);
    let b = endpoint_word(flow.dst_ip, flow.dst_port);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let h = mix(lo ^ mix(hi ^ u64::from(flow.proto.0)));
    (h % SHARDS as u64) as usize
}

fn endpoint_word(ip: IpAddr, port: u16) -> u64 {
    let ip = match ip.to_canonical() {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let x = u128::from(v6);
            mix((x >> 64) as u64) ^ (x as u64)
        }
    };
    mix(ip) ^ u64::from(port)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Engine {
    /// Run `work` on every `(shard, item)` pair on the worker pool and return when all
    /// are done. Called by the thread that delivers chunks, between two deliveries, so a
    /// shard's calls come in file order.
    pub fn each_shard<S, T, F>(&self, shards: &mut [S], items: Vec<T>, work: F)
    where
        S: Send,
        T: Send,
        F: Fn(&mut S, T) + Sync,
    {
        self.pool.install(|| {
            shards
                .par_iter_mut()
                .zip(items.into_par_iter())
                .with_max_len(1)
                .for_each(|(s, t)| work(s, t));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::IpProto;

    fn tuple(a: &str, pa: u16, b: &str, pb: u16) -> FiveTuple {
        FiveTuple {
            src_ip: a.parse().unwrap(),
            src_port: pa,
            dst_ip: b.parse().unwrap(),
            dst_port: pb,
            proto: IpProto::TCP,
        }
    }

    #[test]
    fn both_directions_share_a_shard() {
        for port in 1000..1200 {
            let t = tuple("192.0.2.1", port, "198.51.100.9", 80);
            assert_eq!(shard_of(&t), shard_of(&t.reversed()));
            let t6 = tuple("2001:db8::1", port, "2001:db8::2", 8080);
            assert_eq!(shard_of(&t6), shard_of(&t6.reversed()));
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_routes_like_ipv4() {
        let t = tuple("192.0.2.1", 40000, "198.51.100.9", 80);
        let mapped = tuple("::ffff:192.0.2.1", 40000, "198.51.100.9", 80);
        assert_eq!(shard_of(&mapped), shard_of(&t));
    }

    #[test]
    fn ordinary_connections_spread_over_every_shard() {
        let mut seen = [0u32; SHARDS];
        for port in 0..4096u16 {
            let t = tuple("192.0.2.1", 20000 + port, "198.51.100.9", 80);
            seen[shard_of(&t)] += 1;
        }
        let (min, max) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
        // 128 per shard on average.
        assert!(*min > 64 && *max < 256, "{seen:?}");
    }
}
