//! The one hasher for maps and sets keyed by capture data.
//!
//! Keys (5-tuples, addresses, signature strings) come from captures an attacker may have
//! shaped. An unseeded hash lets them precompute keys that all collide (one IPv6 /64 gives
//! 65,536 colliding (address, port) pairs for a multiply-rotate hash), turning every lookup
//! into a scan. foldhash's `RandomState` draws a random seed per process (and per map), so
//! collisions cannot be prepared offline, and it is as fast as the hand-written hash it
//! replaces on the per-segment lookup.
//!
//! Iteration order therefore differs from run to run: no output, counter or eviction may
//! depend on it (iterate a `Vec` kept beside the map, or sort).

/// Per-process randomly seeded `BuildHasher`.
pub type SeededState = foldhash::fast::RandomState;
/// `HashMap` with [`SeededState`]; build it with `HashMap::default()`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, SeededState>;
/// `HashSet` with [`SeededState`]; build it with `HashSet::default()`.
pub type HashSet<T> = std::collections::HashSet<T, SeededState>;
