//! What a run reports to a progress display: the phase it is in (a command may read its
//! inputs more than once: `requests` learns the identity profiles first, `join` reads the
//! front side, a prefix of the back side, then the back side), the file being read, and
//! the bytes of the input consumed. The library draws nothing; the binary's bar does.

use std::path::Path;

crate::named_enum! {
    /// One read of a run's inputs. The names are phrases: a progress display shows them.
    pub enum Phase {
        /// `info`: describing the files.
        Reading => "reading",
        /// The first read of the back side, which learns which identity sources each
        /// proxy writes (`requests`, `flows`, `join`, `proxies`).
        LearningProfiles => "learning identity profiles",
        /// The read that makes the rows (`requests`, `flows`, `syns`, `connections`).
        Rows => "rows",
        /// `join --two-pass`: the first read of the back side, for its client addresses.
        ClientAddresses => "client addresses",
        /// `join`: the front side's client SYNs, into the front index.
        FrontIndex => "front index",
        /// `join`: the front side's request heads, into the front index.
        FrontRequests => "front requests",
        /// `join`: a prefix of the back side, to estimate the clock offset.
        OffsetEstimate => "offset estimate",
        /// `join`: the back side, every request to a row.
        BackPass => "back pass",
        /// `join`: the back side once more, for connections that carried no request.
        BackConnections => "back connections",
    }
}

/// Progress reports, from the calling thread of a run. Every method but `advance` has an
/// empty default, so a display may ignore phases and files.
pub trait Progress: Send + Sync {
    /// `bytes` more of the input were consumed: a mapped file's bytes as its chunks are
    /// delivered; a stream's bytes read from the file or pipe itself (a compressed file's
    /// compressed bytes, see [`Capture::read_counter`](crate::capture::Capture::read_counter)).
    fn advance(&self, bytes: u64);

    /// A new read of the inputs begins. `total` is the size of its inputs on disk
    /// (compressed sizes for compressed files), `None` when one of them is a stream of
    /// unknown length (standard input, a FIFO). Positions start again from 0.
    fn phase(&self, phase: Phase, total: Option<u64>) {
        let _ = (phase, total);
    }

    /// The read moves on to the file `name` (`-` for standard input) of `size` bytes on
    /// disk (`None`: not a regular file).
    fn file(&self, name: &Path, size: Option<u64>) {
        let _ = (name, size);
    }
}
