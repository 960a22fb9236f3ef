//! TCP SYN / SYN+ACK observations (p0f signatures) and matching against p0f.fp databases.
//!
//! [`tcp::SynObservation`] is pure observation (what the packet says, printed exactly as
//! p0f 3.09b's `raw_sig`); [`db::Database`] parses p0f.fp and matches observations;
//! [`builtin`] embeds a database with post-2016 stacks; [`uptime`] estimates uptime
//! hints from TCP timestamps.

pub mod builtin;
pub mod db;
pub mod mtu;
pub mod options;
pub mod tcp;
pub mod uptime;

pub use db::{Database, DbError, Match, MatchQuality};
pub use mtu::{mtu_from_mss, MtuTable};
pub use options::OptionLayout;
pub use tcp::{without_fast_open, P0fIgnores, Quirks, SynKind, SynObservation, WindowForm};
pub use uptime::{estimate_uptime, TsSample, Uptime};

#[cfg(test)]
mod tests;
