//! HTTP request heads and client identities (X-Forwarded-For, Forwarded, PROXY protocol, ...).
pub mod reassembly;
