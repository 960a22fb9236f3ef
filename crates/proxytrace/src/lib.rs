//! proxytrace: recover the clients hidden behind a reverse proxy from packet captures.
//!
//! Data flows one way: [`capture`] (files, records) -> [`decode`] (packets) ->
//! [`http`] (request heads, client identities) and [`fingerprint`] (SYN signatures) ->
//! [`join`] -> [`output`]. [`engine`] is the only module that runs things in parallel.

pub mod capture;
pub mod decode;
pub mod engine;
pub mod fingerprint;
mod flagset;
pub mod hashing;
pub mod http;
pub mod info;
pub mod join;
pub mod output;
pub mod requests;
pub mod syns;

pub mod timefmt;
