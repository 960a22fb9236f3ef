//! Request rows from BACK captures (`requests`, `flows`, and the back side of `join`):
//! every HTTP/1.x request head, who its client is, and which back-side TCP conversation
//! carried it.
//!
//! - `segments.rs`: the workers' half (decode records into TCP segments, routed to flow
//!   shards);
//! - `shard.rs`: one flow shard (reassembly, then rows or profile tallies), run on the
//!   worker pool; `build.rs`: a head's row (parsing, identity) or its tallies;
//! - `stage.rs`: [`RequestStage`], the pipeline stage: runs the shards chunk by chunk and
//!   merges their rows in order;
//! - `reorder.rs`: rows leave in time order through a bounded buffer;
//! - `replay.rs`: the first read's heads, kept (bounded) so the row pass need not read
//!   the captures again;
//! - `row.rs`: the row schema; `text.rs`: its composed columns.

mod build;
mod fields;
mod profiles;
pub(crate) mod reorder;
mod replay;
mod row;
pub(crate) mod segments;
mod shard;
pub(crate) mod stage;
mod text;

use crate::http1::head::{classify_header_name, HeaderKind};
use crate::http1::ReassemblyConfig;
use crate::identity::{source_of, ClientFilter, IdentitySource, ProfileTable};
use ipnet::IpNet;
use std::sync::Arc;

pub use fields::{FieldFilter, FieldPattern, FieldPatternError, REGEX_PREFIX};
pub use profiles::{learn_profiles, ProfileLearning};
pub use reorder::{LIVE_REORDER_SLACK_NS, MAX_REORDER_ROWS, REORDER_SLACK_NS};
pub use replay::{HeadLog, MAX_LOG_BYTES};
pub use row::{RequestJson, RequestRow};
pub use stage::{
    RequestStage, RequestStats, UnparsedHeads, WARM_UP_BYTES, WARM_UP_HEADS, WARM_UP_NS,
};

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
    /// The identity sources the user says the proxies write (`--identity-header`), in
    /// the order to try: no profile is learned or used.
    pub identity_sources: Vec<IdentitySource>,
    /// Per-proxy identity profiles learned by a first pass ([`learn_profiles`]).
    pub profiles: Option<Arc<ProfileTable>>,
    /// Without `profiles`: learn them from the run's first heads (stream inputs, which
    /// cannot be read twice), holding those heads' rows until decided.
    pub warm_up: bool,
    /// An input is live (standard input, a FIFO): rows wait for older ones only
    /// [`LIVE_REORDER_SLACK_NS`] of capture time, leave after every batch, and all leave
    /// when the input pauses.
    pub live: bool,
    /// The heads of the first read ([`learn_profiles`]), which the row pass replays
    /// instead of reading the captures again.
    pub head_log: Option<Arc<HeadLog>>,
    /// Fill [`RequestRow::source_addrs`] (the `proxies` report's agreement check).
    pub source_addresses: bool,
    /// Keep only requests whose method, host, target and user agent match these
    /// (`--method`, `--host`, `--target`, `--user-agent`; empty: all). Rows only: the
    /// identity profiles are learned from every request.
    pub fields: FieldFilter,
}

/// A name given to `--identity-header` that cannot carry a client address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is a p0f header, not a header that names a client")]
pub struct NotAnIdentityHeader {
    /// The name as given.
    pub name: String,
}

impl RequestsConfig {
    /// The user says the proxies write header `name` (like nginx's `real_ip_header`):
    /// choose the client from it (tried in the order given). A name that is not one of the
    /// known identity headers is also read as an extra header (`--header`).
    pub fn add_identity_header(
        &mut self,
        name: &[u8],
    ) -> Result<IdentitySource, NotAnIdentityHeader> {
        let known: Vec<&[u8]> = self.extra_headers.iter().map(Vec::as_slice).collect();
        let kind = match classify_header_name(name, &known) {
            Some(k) => k,
            None => {
                self.extra_headers.push(name.to_vec());
                HeaderKind::Custom(u16::try_from(self.extra_headers.len() - 1).unwrap_or(u16::MAX))
            }
        };
        let source = source_of(kind).ok_or_else(|| NotAnIdentityHeader {
            name: String::from_utf8_lossy(name).into_owned(),
        })?;
        if !self.identity_sources.contains(&source) {
            self.identity_sources.push(source);
        }
        Ok(source)
    }
}
