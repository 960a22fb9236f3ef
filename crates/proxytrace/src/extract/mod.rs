//! Rows built from the protocol layers, shared by the commands: request rows from BACK
//! captures ([`requests`]) and SYN rows from handshakes ([`handshakes`]).

pub mod connections;
pub mod handshakes;
pub mod requests;
