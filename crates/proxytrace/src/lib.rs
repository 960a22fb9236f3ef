//! proxytrace: recover the clients hidden behind a reverse proxy from packet captures.
//!
//! Data flows one way, and the module list reads in that order (docs/ARCHITECTURE.md):
//! [`capture`] (files, records) -> [`decode`] (packets) -> [`tcp`] (flows, byte streams)
//! -> [`http1`], [`proxy_protocol`], [`identity`] (request heads, client identities) and
//! [`fingerprint`] (SYN signatures) -> [`extract`] (request and SYN rows) -> [`commands`]
//! -> the caller's sink, often one of the [`printers`]. [`engine`] is the only module that runs things in parallel;
//! [`vocab`] and [`collections`] are leaves every layer may use.

pub mod capture;
pub mod collections;
pub mod commands;
pub mod decode;
pub mod engine;
pub mod extract;
pub mod fingerprint;
pub mod http1;
pub mod identity;
pub mod pipeline;
pub mod printers;
pub mod proxy_protocol;
pub mod tcp;
pub mod timefmt;
pub mod tls;
pub mod vocab;
