//! Capture files: format detection, mapped or streamed sources, and the record walker.
//!
//! One walker serves both sources: it parses records out of a byte buffer and is told
//! whether the buffer ends at the end of the file. The mapped source hands it the whole
//! file at once; the streaming source hands it a sliding window and refills on demand.
//! Decisions are only ever taken with enough bytes in view (or at the true end of file),
//! so both sources produce the same records, skips and errors.

mod error;
mod expand;
mod format;
mod legacy;
mod ng;
mod record;
mod source;
mod walk;
mod window;

pub use error::CaptureError;
pub use expand::{
    drop_duplicate_captures, expand_inputs, expand_inputs_with, DuplicateInput, Duplication,
    ExpandOptions, ExpandSkip, Expansion, FileId, DUPLICATE_PROBE_RECORDS,
};
pub use format::{detect, ByteOrder, Compression, FileFormat, TimeResolution};
pub use legacy::LegacyParser;
pub use ng::{Interface, NgParser};
pub use record::{RawRecord, Record, Resync, SkipReason, Step, MAX_RECORD_LEN};
pub use source::{
    from_reader, open, Capture, Input, OpenOptions, Pages, ReadCounter, SourceKind, StreamWindow,
    Waiting,
};
pub(crate) use walk::prefetch;
pub use walk::{walk_buffer, Damage, Parser, Visit, WalkEnd, WalkStats};
pub use window::{TimeSpec, TimeSpecError, TimeWindow, WindowClock, STOP_MARGIN_NS};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every capture vocabulary name comes from one table: `name()`, `Display` and the
    /// JSON form agree. ByteOrder and TimeResolution had derived serde names (`little`,
    /// `micro`) besides the hand-written ones `info` prints (`little-endian`,
    /// `microsecond`).
    #[test]
    fn names_agree_in_every_form() {
        fn check<T: std::fmt::Display + serde::Serialize>(v: T, name: &str) {
            assert_eq!(v.to_string(), name);
            assert_eq!(serde_json::to_value(&v).unwrap(), name);
        }
        for r in SkipReason::ALL {
            check(r, r.name());
        }
        for s in ExpandSkip::ALL {
            check(s, s.name());
        }
        for o in ByteOrder::ALL {
            check(o, o.name());
        }
        for t in TimeResolution::ALL {
            check(t, t.name());
        }
        for c in Compression::ALL {
            check(c, c.name());
        }
        assert_eq!(ByteOrder::Little.name(), "little-endian");
        assert_eq!(TimeResolution::Micro.name(), "microsecond");
        assert_eq!(Compression::Zstd.name(), "zstd");
        assert_eq!(SkipReason::BadIfTsresol.name(), "bad_if_tsresol");
        assert_eq!(ExpandSkip::NotCapture.name(), "not a capture");
    }
}
