//! HTTP request heads and client identities (X-Forwarded-For, Forwarded, PROXY protocol, ...).
pub mod forwarded;
pub mod head;
pub mod identity;
pub mod prefilter;
pub mod proxy;
pub mod reassembly;
