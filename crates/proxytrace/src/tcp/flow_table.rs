//! The table of tracked connections, keyed by directed 5-tuple through the per-process
//! seeded hasher, with the memory it costs and the order flows are evicted in. Generic
//! over the per-flow state, so it knows nothing of the protocol above.

use crate::collections::hashing::HashMap;
use crate::decode::FiveTuple;
use std::collections::VecDeque;

/// What a heap block costs beyond its requested size (glibc malloc: an 8-byte header and
/// 16-byte rounding), so that many small buffers are not undercounted.
pub const MALLOC_OVERHEAD: usize = 16;

/// Bytes a heap allocation of `bytes` costs (0 for no allocation).
pub fn heap_block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + MALLOC_OVERHEAD
    }
}

/// One entry of the eviction queue: a flow and the id it had when queued.
type ClockEntry = (FiveTuple, u64);

/// A tracked flow: its state and what eviction and the idle timeout need.
pub(crate) struct Flow<S> {
    /// Creation number: orders flows independently of the hash seed.
    pub(crate) id: u64,
    /// Active since the CLOCK hand last passed it.
    pub(crate) touched: bool,
    /// Latest packet timestamp seen on it.
    pub(crate) last_ts: i64,
    pub(crate) slot: Slot<S>,
}

/// What is kept of a flow.
pub(crate) enum Slot<S> {
    /// Being followed.
    Live(Box<S>),
    /// The protocol above gave up: absorb packets cheaply until timeout.
    Dead,
    /// Ended by FIN/RST: absorbs retransmissions; a new SYN replaces it.
    Closed {
        /// ISN of the connection's SYN, to tell a retransmitted SYN from a new one.
        syn_seq: Option<u32>,
    },
}

/// Flows by 5-tuple, with a CLOCK queue in creation order and a running count of the
/// bytes they cost. The caller charges each state's heap bytes; the table charges its
/// own slots and queue.
pub struct FlowTable<S> {
    flows: HashMap<FiveTuple, Flow<S>>,
    /// CLOCK queue in creation order for eviction; stale entries are skipped.
    clock: VecDeque<ClockEntry>,
    next_id: u64,
    /// Table shares plus the heap bytes charged for states.
    held: usize,
}

impl<S> Default for FlowTable<S> {
    fn default() -> Self {
        FlowTable {
            flows: HashMap::default(),
            clock: VecDeque::new(),
            next_id: 0,
            held: 0,
        }
    }
}

impl<S> FlowTable<S> {
    /// A tracked flow's share of the hash table: its (key, value) slot and control byte,
    /// 32/7 times. The table (hashbrown) doubles when an insert finds no free slot while
    /// it is over 7/16 full (7/8 of the slots usable, half of that once deletion
    /// tombstones fill the rest, which eviction churn does), so it can hold 32/7 slots per
    /// flow. Charged per flow, not read from the table's capacity, whose growth timing
    /// depends on the hash seed; the table is shrunk when it is mostly empty, so it stays
    /// within this figure.
    pub const ENTRY_BYTES: usize = (size_of::<(FiveTuple, Flow<S>)>() + 1) * 32 / 7;

    /// Flows tracked (live and tombstones).
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// No flow tracked.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Bytes accounted: every flow's table share and charged state, and the queue.
    pub fn held_bytes(&self) -> usize {
        self.held + self.clock_bytes()
    }

    fn clock_bytes(&self) -> usize {
        heap_block(self.clock.capacity() * size_of::<ClockEntry>())
    }

    pub(crate) fn get(&self, key: &FiveTuple) -> Option<&Flow<S>> {
        self.flows.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &FiveTuple) -> Option<&mut Flow<S>> {
        self.flows.get_mut(key)
    }

    pub(crate) fn contains(&self, key: &FiveTuple) -> bool {
        self.flows.contains_key(key)
    }

    /// The live states, in no particular order.
    pub fn states(&self) -> impl Iterator<Item = &S> {
        self.flows.values().filter_map(|f| match &f.slot {
            Slot::Live(s) => Some(&**s),
            _ => None,
        })
    }

    /// Tracks a new flow whose state costs `state_bytes`.
    pub(crate) fn insert(&mut self, key: FiveTuple, state: Box<S>, ts: i64, state_bytes: usize) {
        let id = self.next_id;
        self.next_id += 1;
        self.clock.push_back((key, id));
        self.held += Self::ENTRY_BYTES + state_bytes;
        self.flows.insert(
            key,
            Flow {
                id,
                touched: false,
                last_ts: ts,
                slot: Slot::Live(state),
            },
        );
    }

    /// Removes a flow and its table share; the caller releases its state's bytes.
    pub(crate) fn remove(&mut self, key: &FiveTuple) -> Option<Flow<S>> {
        let f = self.flows.remove(key)?;
        self.held -= Self::ENTRY_BYTES;
        Some(f)
    }

    /// Puts back a flow removed by [`Self::remove`] (as a tombstone), keeping its id.
    pub(crate) fn reinsert(&mut self, key: FiveTuple, flow: Flow<S>) {
        self.held += Self::ENTRY_BYTES;
        self.flows.insert(key, flow);
    }

    /// A state's heap bytes went from `before` to `after`.
    pub(crate) fn recharge(&mut self, before: usize, after: usize) {
        self.held = self.held - before + after;
    }

    /// Drops a tombstone left after a close (no-op if there is none).
    pub(crate) fn drop_tombstone(&mut self, key: &FiveTuple) {
        self.remove(key);
    }

    /// The least recently active flow (CLOCK over creation order, independent of the
    /// hash seed): clears the `touched` bit of flows it passes. None if no flow is left.
    pub(crate) fn next_victim(&mut self) -> Option<FiveTuple> {
        while let Some((k, id)) = self.clock.pop_front() {
            let Some(f) = self.flows.get_mut(&k) else {
                continue;
            };
            if f.id != id {
                continue;
            }
            if f.touched {
                f.touched = false;
                self.clock.push_back((k, id));
                continue;
            }
            return Some(k);
        }
        None
    }

    /// Flows for which `expired(last_ts)` holds, in creation order.
    pub(crate) fn idle(&self, expired: impl Fn(i64) -> bool) -> Vec<FiveTuple> {
        let mut idle: Vec<(u64, FiveTuple)> = self
            .flows
            .iter()
            .filter(|(_, f)| expired(f.last_ts))
            .map(|(k, f)| (f.id, *k))
            .collect();
        // HashMap order is random: sort so the output is deterministic.
        idle.sort_unstable();
        idle.into_iter().map(|(_, k)| k).collect()
    }

    /// Every flow, in creation order.
    pub(crate) fn all(&self) -> Vec<FiveTuple> {
        self.idle(|_| true)
    }

    /// Drops stale CLOCK entries (flows ended by FIN/timeout) in bulk and returns memory
    /// the queue and the table no longer need. The queue's capacity is accounted, and
    /// only changes with the (seed-independent) sequence of flows; the table's is not
    /// (its growth depends on the seed), so shrinking it cannot change any decision.
    pub(crate) fn compact(&mut self) {
        if self.clock.len() > 2 * self.flows.len() + 64 {
            let flows = &self.flows;
            self.clock
                .retain(|(k, id)| flows.get(k).is_some_and(|f| f.id == *id));
        }
        if self.flows.is_empty() {
            // Only stale entries can be left: release the queue.
            self.clock = VecDeque::new();
        } else if self.clock.capacity() > 4 * self.clock.len() + 1024 {
            self.clock.shrink_to(2 * self.clock.len());
        }
        if self.flows.capacity() > 4 * self.flows.len() + 1024 {
            self.flows.shrink_to(2 * self.flows.len());
        }
    }

    /// After every flow was closed at the end of input: release the queue and table.
    pub(crate) fn release(&mut self) {
        self.clock = VecDeque::new();
        self.flows.shrink_to_fit();
    }

    /// Recomputes the held bytes, given each live state's cost (tests check the running
    /// total).
    #[cfg(test)]
    pub(crate) fn recount(&self, state_bytes: impl Fn(&S) -> usize) -> usize {
        let flows: usize = self
            .flows
            .values()
            .map(|f| {
                Self::ENTRY_BYTES
                    + match &f.slot {
                        Slot::Live(s) => state_bytes(s),
                        _ => 0,
                    }
            })
            .sum();
        flows + self.clock_bytes()
    }
}

/// Flow-table properties: hashing of hostile keys.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::IpProto;
    use proxytrace_synth::flood::fx_colliding_clients;
    use std::hash::BuildHasher;
    use std::net::{IpAddr, Ipv6Addr};

    /// 65,536 client (address, port) pairs of one /64 collide completely under the former
    /// unseeded hasher (one hash value for all). The table's hasher must spread them.
    #[test]
    fn crafted_colliding_tuples_spread_under_the_flow_table_hasher() {
        let server = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        let clients = fx_colliding_clients([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1], 1 << 16);
        assert_eq!(clients.len(), 1 << 16);
        let table = FlowTable::<()>::default();
        let mut hashes: Vec<u64> = clients
            .iter()
            .map(|&(a, port)| {
                table.flows.hasher().hash_one(FiveTuple {
                    src_ip: IpAddr::V6(a),
                    src_port: port,
                    dst_ip: server,
                    dst_port: 80,
                    proto: IpProto::TCP,
                })
            })
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        // A good 64-bit hash of 65,536 distinct keys almost surely has no collision.
        assert!(hashes.len() >= 65_500, "{} distinct hashes", hashes.len());
    }
}
