//! HTTP/1 requests: request-line and head scanning, message framing, head parsing.

pub mod head;
pub mod prefilter;
