//! TLS as far as a forensic row needs it: the client's first flight. [`client_hello`]
//! reads a ClientHello from the first client bytes of a connection (record layer and
//! handshake, possibly spread over several records and TCP segments) and returns its SNI
//! and ALPN list. Nothing is decrypted and no later message is read.
//!
//! A sibling of `http1/` and `proxy_protocol/`: it sees only bytes (the caller strips any
//! PROXY preamble first) and imports nothing but `vocab/`.

pub mod client_hello;

pub use client_hello::{
    looks_like_tls, parse_client_hello, ClientHello, HelloError, MAX_CLIENT_HELLO_BYTES,
};
