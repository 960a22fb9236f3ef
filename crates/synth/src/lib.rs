//! Synthetic captures for tests, benchmarks and the scenario generator.
//!
//! - [`writer`]: pcap / pcapng writers to any `std::io::Write`.
//! - [`flood`]: flow and SYN-host floods (hash collisions, partial heads) for memory and speed checks.
//! - [`packet`]: frame builders (link layers, IPv4/IPv6, TCP/UDP) and SYN presets of real stacks.
//! - [`scenario`]: a seeded FRONT/BACK capture pair with a JSON Lines truth file.
//! - [`rotate`]: a capture split into tcpdump-style rotated files, boundaries on chosen packets.
//! - [`fleet`]: several sensors' rotated pairs (`examples/gen_fleet.rs`).

// A dev-only crate (publish = false) whose callers are this workspace's tests and benches:
// the workspace's missing_docs rule is for the library users build on.
#![allow(missing_docs)]

pub mod fleet;
pub mod flood;
pub mod packet;
pub mod rng;
pub mod rotate;
pub mod scenario;
pub mod writer;

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod tests;
