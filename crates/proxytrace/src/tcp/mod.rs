//! TCP: the flow table, byte-stream reassembly and client-side inference. Knows nothing
//! of the protocol carried: that plugs in through [`tracker::Protocol`] and
//! [`stream::StreamApp`].
//!
//! [`segment`] (what a decoded segment gives) -> [`tracker`] (connection lifecycle over
//! the [`flow_table`], with [`client`] deciding which side is the client) -> [`stream`]
//! (one direction's bytes in order, with [`assembler`] holding what arrived early) ->
//! the protocol above.

pub mod assembler;
pub mod client;
pub mod flow_table;
pub mod segment;
pub mod seq;
pub mod stats;
pub mod stream;
pub mod tracker;
