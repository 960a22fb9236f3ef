use std::path::PathBuf;

/// A capture that cannot be read at all (as opposed to damaged records inside a readable
/// capture, which are skipped and counted). Every variant names the file and, where it
/// applies, the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: read error at byte {offset}: {source}")]
    Read {
        path: PathBuf,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: empty file: no capture header")]
    Empty { path: PathBuf },
    #[error("{path}: not a pcap or pcapng capture (magic {magic:02x?} at byte 0)")]
    UnknownFormat { path: PathBuf, magic: Vec<u8> },
    #[error("{path}: file header cut short: {have} of {need} bytes at byte 0")]
    TruncatedHeader {
        path: PathBuf,
        have: usize,
        need: usize,
    },
    #[error("{path}: bad {what} at byte {offset}: {detail}")]
    BadHeader {
        path: PathBuf,
        what: &'static str,
        offset: u64,
        detail: String,
    },
}
