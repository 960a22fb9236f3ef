//! Request rows from BACK captures (`requests`, `flows`, and the back side of `join`):
//! every HTTP/1.x request head, who its client is, and which back-side TCP conversation
//! carried it.
//!
//! - `segments.rs`: the parallel half (workers decode records into TCP segments);
//! - `stage.rs`: [`RequestStage`], the sequential half (reassembly, head parsing, identity,
//!   rows) as a pipeline stage;
//! - `reorder.rs`: rows leave in time order through a bounded buffer;
//! - `row.rs`: the row schema; `text.rs`: its composed columns.

pub(crate) mod reorder;
mod row;
pub(crate) mod segments;
pub(crate) mod stage;
mod text;

use crate::http1::ReassemblyConfig;
use crate::identity::ClientFilter;
use ipnet::IpNet;

pub use reorder::MAX_REORDER_ROWS;
pub use row::{RequestJson, RequestRow};
pub use stage::{RequestStage, RequestStats, UnparsedHeads};

/// What to extract and keep.
#[derive(Debug, Clone, Default)]
pub struct RequestsConfig {
    /// Trusted proxy networks, skipped when walking a chain from the right.
    pub trusted: Vec<IpNet>,
    /// Additional identity header names (`--header NAME`).
    pub extra_headers: Vec<Vec<u8>>,
    /// The back-side source address is the client (HAProxy `usesrc clientip`), unless it
    /// is a trusted proxy address.
    pub transparent: bool,
    /// Keep only requests whose client is in one of these networks (empty: all).
    pub clients: ClientFilter,
    /// Drop requests without any client identity.
    pub identified_only: bool,
    /// Bounds of the TCP reassembly.
    pub reassembly: ReassemblyConfig,
}
