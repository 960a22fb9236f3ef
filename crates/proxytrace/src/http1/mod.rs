//! HTTP/1 requests: request-line and head scanning, message framing, head parsing.

pub mod assembler;
pub mod head;
pub mod prefilter;

pub use assembler::{
    HeadAssembler, HeadEvent, HeadFlags, ReassemblyConfig, ReassemblyStats, SegmentMeta,
};
