//! Connection rows from BACK captures (`connections`, and the back side of `join` for
//! connections that carry no HTTP request): one row per back-side TCP connection, with
//! its packets and bytes each way, how it ended, the PROXY identity, what the client's
//! first bytes are (HTTP/1, TLS with the ClientHello's SNI and ALPN, SSH, other) and how
//! many HTTP requests it carried.
//!
//! - `track.rs`: the accounting as a [`crate::tcp::tracker::Protocol`] over the same
//!   tracker, caps and reassembly as `requests` (first client bytes kept up to
//!   [`MAX_FIRST_BYTES`], then freed);
//! - `stage.rs`: [`ConnectionStage`], the sequential half, as a pipeline stage; the request
//!   reassembly of `requests` runs beside it to count requests;
//! - `row.rs`: the row schema.
//!
//! Order: rows leave by their first packet's time, ties by file then packet order, through
//! the reorder buffer `requests` uses (a row is complete only when its connection closes).

mod row;
mod stage;
mod track;

use crate::http1::ReassemblyConfig;
use crate::identity::ClientFilter;
use ipnet::IpNet;

pub use row::{ConnEnd, ConnFlags, ConnectionJson, ConnectionRow, FirstProtocol};
pub use stage::{ConnectionStage, ConnectionStats};
pub use track::{FirstBytesStats, MAX_FIRST_BYTES};

/// What to keep and how to name clients.
#[derive(Debug, Clone, Default)]
pub struct ConnectionsConfig {
    /// Trusted proxy networks (a PROXY source or, with `transparent`, a back-side source
    /// in one of them is not a client).
    pub trusted: Vec<IpNet>,
    /// The back-side source address is the client (HAProxy `usesrc clientip`), unless it
    /// is a trusted proxy address.
    pub transparent: bool,
    /// Keep only connections whose client is in one of these networks (empty: all).
    pub clients: ClientFilter,
    /// Bounds of the TCP tracking (the same as `requests`).
    pub reassembly: ReassemblyConfig,
}
