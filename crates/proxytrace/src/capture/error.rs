use std::path::PathBuf;

/// A capture that cannot be read at all (as opposed to damaged records inside a readable
/// capture, which are skipped and counted). Every variant names the file and, where it
/// applies, the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The path could not be opened, mapped or examined (also a directory that cannot
    /// be listed while expanding the inputs).
    #[error("{path}: cannot open: {source}")]
    Open {
        /// The file or directory as named.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Reading failed after the input was opened: an I/O error, or a compressed stream
    /// that does not decompress (a stream cut short after the file header is not an error:
    /// see [`WalkStats::stream_cut`](super::WalkStats::stream_cut)).
    #[error("{path}: read error at byte {offset}: {source}")]
    Read {
        /// The input as named (`-` for standard input).
        path: PathBuf,
        /// Offset in the (decompressed) stream where reading stopped; 0 while the file
        /// header is read.
        offset: u64,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The input holds no bytes (or its compressed stream decompresses to none).
    #[error("{path}: empty file: no capture header")]
    Empty {
        /// The input as named (`-` for standard input).
        path: PathBuf,
    },
    /// The first 4 bytes (after decompression, for a compressed input) are no pcap or
    /// pcapng magic.
    #[error("{path}: not a pcap or pcapng capture (magic {magic:02x?} at byte 0)")]
    UnknownFormat {
        /// The input as named (`-` for standard input).
        path: PathBuf,
        /// The 4 bytes found.
        magic: Vec<u8>,
    },
    /// The input ends inside its file header.
    #[error("{path}: file header cut short: {have} of {need} bytes at byte 0")]
    TruncatedHeader {
        /// The input as named (`-` for standard input).
        path: PathBuf,
        /// Bytes the input holds.
        have: usize,
        /// Bytes the header needs: 24 for pcap (also when the format is unknown), 28 for
        /// a pcapng Section Header Block.
        need: usize,
    },
    /// A file header field with a value no capture can have.
    #[error("{path}: bad {what} at byte {offset}: {detail}")]
    BadHeader {
        /// The input as named (`-` for standard input).
        path: PathBuf,
        /// The field, as a phrase ("pcapng section header byte-order magic").
        what: &'static str,
        /// Byte offset of the field in the (decompressed) file.
        offset: u64,
        /// What was found there.
        detail: String,
    },
}
