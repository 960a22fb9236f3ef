//! Maps over capture data: every key an attacker can choose goes through the
//! per-process seeded hasher of [`hashing`].

pub mod hashing;
pub mod interner;
