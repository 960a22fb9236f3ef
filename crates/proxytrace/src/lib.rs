//! proxytrace: recover the clients hidden behind a reverse proxy from packet captures.
//!
//! Data flows one way, and the module list reads in that order (docs/ARCHITECTURE.md):
//! [`capture`] (files, records) -> [`decode`] (packets) -> [`tcp`] (flows, byte streams)
//! -> [`http1`], [`proxy_protocol`], [`identity`] (request heads, client identities) and
//! [`fingerprint`] (SYN signatures) -> the commands ([`info`], [`requests`], [`syns`],
//! [`join`]) -> [`output`]. [`engine`] is the only module that runs things in parallel;
//! [`vocab`] and [`collections`] are leaves every layer may use.

pub mod capture;
pub mod collections;
pub mod decode;
pub mod engine;
pub mod fingerprint;
pub mod http1;
pub mod identity;
pub mod info;
pub mod join;
pub mod output;
pub mod proxy_protocol;
pub mod requests;
pub mod syns;
pub mod tcp;
pub mod timefmt;
pub mod vocab;
