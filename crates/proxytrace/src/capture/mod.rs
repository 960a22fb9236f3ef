//! Capture files: format detection, mapped or streamed sources, and the record walker.
//!
//! One walker serves both sources: it parses records out of a byte buffer and is told
//! whether the buffer ends at the end of the file. The mapped source hands it the whole
//! file at once; the streaming source hands it a sliding window and refills on demand.
//! Decisions are only ever taken with enough bytes in view (or at the true end of file),
//! so both sources produce the same records, skips and errors.

mod error;
mod format;
mod legacy;
mod ng;
mod record;
mod source;
mod walk;

pub use error::CaptureError;
pub use format::{detect, ByteOrder, Compression, FileFormat, TimeResolution};
pub use legacy::LegacyParser;
pub use ng::{Interface, NgParser};
pub use record::{RawRecord, Record, Resync, SkipReason, Step, MAX_RECORD_LEN};
pub use source::{
    drop_duplicate_captures, expand_inputs, expand_inputs_with, from_reader, open, Capture,
    DuplicateInput, Duplication, ExpandOptions, ExpandSkip, Expansion, FileId, Input, OpenOptions,
    SourceKind, StreamWindow, DUPLICATE_PROBE_RECORDS,
};
pub use walk::{walk_buffer, Damage, Parser, WalkEnd, WalkStats};
