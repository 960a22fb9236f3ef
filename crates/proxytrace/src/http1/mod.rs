//! HTTP/1 requests: request-line and head scanning, message framing, head parsing, and
//! the state machine that finds request heads in reassembled client streams.
//!
//! [`scan`] and [`framing`] recognise bytes; [`preamble`] recognises a PROXY preamble at
//! a stream start; [`conversation`] runs them over one stream; [`assembler`] plugs the
//! conversation into the TCP layer ([`crate::tcp`]) and is the public entry point;
//! [`event`] and [`stats`] are what it reports; [`head`] parses a head once found;
//! `resync` says how sure a head found by searching is; [`exchange`] pairs each head
//! with its response on the server's side ([`response`] recognises response heads).

pub mod assembler;
pub mod conversation;
pub mod event;
pub mod exchange;
pub mod framing;
pub mod head;
pub mod preamble;
pub mod response;
pub(crate) mod resync;
pub mod scan;
pub mod stats;

pub use crate::tcp::segment::SegmentMeta;
pub use assembler::{HeadAssembler, ReassemblyConfig};
pub use event::{HeadEvent, HeadFlags};
pub use response::{BodyFraming, Response, ResponseMissing};
pub use stats::{Http1Stats, ReassemblyStats};
