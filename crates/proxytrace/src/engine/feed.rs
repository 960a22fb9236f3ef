//! Waiting for a stream's bytes with a deadline ([`Source`]), so that the walk can hand a
//! live pipeline's batch on while the input is quiet and notice an interrupt. A file is
//! read in place (reads return promptly). A pipe, FIFO or device is read in place too,
//! its descriptor polled first (no thread, no extra copy: a reader thread relaying a
//! fast pipe cost up to 1.6x on `cat file | proxytrace info -`). A reader that cannot be
//! polled (a decompressor over a pipe, a reader given to `from_reader`) is read by a
//! thread of its own ([`Feed`]) that passes blocks over a bounded channel. After an
//! interrupt the walk still takes the blocks that thread already read (at most [`DEPTH`])
//! and the thread sends no more: the input ends with what the process had read.

use crate::capture::{self, Capture, CaptureError, Input, OpenOptions, Waiting};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes asked for by one read of the reader thread. A pipe gives at most its buffer
/// (64 KiB on Linux) per read; a decompressor fills the whole block.
const BLOCK: usize = 256 << 10;
/// Blocks read ahead and not yet taken: with the two the threads hold, the memory of a
/// feed stays under 1.5 MiB, however fast the input.
const DEPTH: usize = 4;
/// How often a wait without a deadline looks at the interrupt flag: the delay between
/// Ctrl-C and the end of a run that waits on a quiet pipe.
const POLL: Duration = Duration::from_millis(50);

/// Open `input` on a thread of its own, waiting for it while looking at `interrupt`:
/// opening standard input or a FIFO reads the file header, which waits for the writer.
/// `Ok(None)` when the interrupt came first; the thread is then left to end with the
/// process (or when its read returns).
pub(super) fn open_watched(
    input: &Input,
    opts: OpenOptions,
    interrupt: &AtomicBool,
) -> Result<Option<Capture>, CaptureError> {
    let (tx, rx) = mpsc::sync_channel(1);
    let owned = input.clone();
    let spawned = std::thread::Builder::new()
        .name("proxytrace-open".into())
        .spawn(move || {
            let _ = tx.send(capture::open(&owned, opts));
        });
    if spawned.is_err() {
        // No thread to spare: open here, without the watch.
        return capture::open(input, opts).map(Some);
    }
    loop {
        match rx.recv_timeout(POLL) {
            Ok(opened) => return opened.map(Some),
            Err(RecvTimeoutError::Timeout) if interrupt.load(Ordering::Relaxed) => return Ok(None),
            Err(RecvTimeoutError::Timeout) => {}
            // The thread panicked: open here, so the panic shows where it belongs.
            Err(RecvTimeoutError::Disconnected) => return capture::open(input, opts).map(Some),
        }
    }
}

/// Where a stream's bytes come from, by how its reads may wait ([`Waiting`]).
pub(super) enum Source {
    /// Reads return promptly (a file, or its decompression): read in place.
    Direct(Box<dyn Read + Send>),
    /// A pipe read in place, its descriptor polled first so that the wait has a deadline:
    /// no thread, no copy more than a plain read.
    #[cfg(unix)]
    Polled(Box<dyn Read + Send>, std::os::fd::RawFd),
    /// A reader that can only be waited on from a thread of its own.
    Relay(Feed),
}

impl Source {
    /// The source for a capture's stream `reader`.
    pub(super) fn new(
        reader: Box<dyn Read + Send>,
        waiting: Waiting,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> io::Result<Source> {
        Ok(match waiting {
            Waiting::Never => Source::Direct(reader),
            #[cfg(unix)]
            Waiting::Fd(fd) => Source::Polled(reader, fd),
            Waiting::Opaque => Source::Relay(Feed::start(reader, interrupt)?),
        })
    }

    /// Write into `room` what comes next: as [`Feed::fill`] (a direct source never waits
    /// long enough to be idle, and stops at an interrupt before its next read).
    pub(super) fn fill(
        &mut self,
        room: &mut [u8],
        deadline: Option<Instant>,
        interrupt: Option<&AtomicBool>,
    ) -> Fill {
        let interrupted = || interrupt.is_some_and(|f| f.load(Ordering::Relaxed));
        match self {
            Source::Relay(feed) => feed.fill(room, deadline),
            Source::Direct(reader) => {
                if interrupted() {
                    return Fill::Interrupted;
                }
                read_once(&mut **reader, room)
            }
            #[cfg(unix)]
            Source::Polled(reader, fd) => loop {
                if interrupted() {
                    return Fill::Interrupted;
                }
                let now = Instant::now();
                let wait = deadline.map_or(POLL, |d| d.saturating_duration_since(now).min(POLL));
                if readable(*fd, wait) {
                    return read_once(&mut **reader, room);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Fill::Idle;
                }
            },
        }
    }
}

/// One read into `room`, as [`StreamWindow::refill`](crate::capture::StreamWindow::refill)
/// reads.
fn read_once(reader: &mut dyn Read, room: &mut [u8]) -> Fill {
    loop {
        match reader.read(room) {
            Ok(0) => return Fill::End { cut: false },
            Ok(n) => return Fill::Data(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return failed(e),
        }
    }
}

/// Whether a read of `fd` would not wait (data, the end, or an error to report), waiting
/// up to `wait` for it. A poll cut short by a signal says no (the caller looks at the
/// interrupt flag before it polls again: Ctrl-C lands here); another failed poll says yes,
/// and the read tells what is wrong.
#[cfg(unix)]
fn readable(fd: std::os::fd::RawFd, wait: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Rounded up, so that a wait short of a millisecond is not a busy loop.
    let ms = wait.as_micros().div_ceil(1000);
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    // SAFETY: `p` is one valid pollfd that lives across the call, and the count is 1.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    if r < 0 {
        return io::Error::last_os_error().kind() != io::ErrorKind::Interrupted;
    }
    r > 0
}

/// What one [`Feed::fill`] gave.
#[derive(Debug)]
pub(super) enum Fill {
    /// This many bytes were written at the start of the room.
    Data(usize),
    /// The stream ended; `cut`: a compressed stream ended before its end marker.
    End {
        /// The decompressor reported a cut stream.
        cut: bool,
    },
    /// Nothing came before the deadline.
    Idle,
    /// The interrupt flag is set: the input ends here.
    Interrupted,
    /// The read failed.
    Failed(io::Error),
}

/// The walk's side of the reader thread.
pub(super) struct Feed {
    rx: Receiver<io::Result<Block>>,
    /// Emptied blocks go back to the reader, so a long stream reuses a few allocations.
    back: Sender<Vec<u8>>,
    block: Block,
    /// Bytes of `block` already handed out.
    at: usize,
    /// An error met while topping up a fill, returned by the next one.
    failed: Option<io::Error>,
    interrupt: Option<Arc<AtomicBool>>,
}

impl Feed {
    /// Start the reader thread on `reader`. If the walk ends first (stopped, interrupted),
    /// the thread ends at its next block; until then it may stay blocked in a read of a
    /// quiet pipe, holding one block.
    pub(super) fn start(
        mut reader: Box<dyn Read + Send>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> io::Result<Feed> {
        let (tx, rx) = mpsc::sync_channel::<io::Result<Block>>(DEPTH);
        let (back, returned) = mpsc::channel::<Vec<u8>>();
        let stop = interrupt.clone();
        std::thread::Builder::new()
            .name("proxytrace-reader".into())
            .spawn(move || read_blocks(&mut *reader, &tx, &returned, stop.as_deref()))?;
        Ok(Feed {
            rx,
            back,
            block: Block::default(),
            at: 0,
            failed: None,
            interrupt,
        })
    }

    /// Write into `room` what has been read: wait for a first block until `deadline`
    /// (without one, until data, the end or an interrupt), then add the blocks already
    /// waiting without further wait. Once interrupted, only blocks already read are
    /// given, without waiting, then [`Fill::Interrupted`].
    pub(super) fn fill(&mut self, room: &mut [u8], deadline: Option<Instant>) -> Fill {
        if let Some(e) = self.failed.take() {
            return failed(e);
        }
        if room.is_empty() {
            return Fill::Data(0);
        }
        while self.at == self.block.len {
            let stop = self.interrupted();
            let now = Instant::now();
            let wait = match deadline {
                _ if stop => Duration::ZERO,
                Some(d) => d.saturating_duration_since(now).min(POLL),
                None => POLL,
            };
            let got = if wait.is_zero() {
                self.rx.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            } else {
                self.rx.recv_timeout(wait)
            };
            match got {
                Ok(Ok(block)) => self.take(block),
                Ok(Err(e)) => return failed(e),
                // The reader also ends when it sees the interrupt.
                Err(RecvTimeoutError::Disconnected) if self.interrupted() => {
                    return Fill::Interrupted
                }
                Err(RecvTimeoutError::Disconnected) => return Fill::End { cut: false },
                Err(RecvTimeoutError::Timeout) => {
                    if stop || self.interrupted() {
                        return Fill::Interrupted;
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Fill::Idle;
                    }
                }
            }
        }
        let mut n = 0;
        loop {
            let k = (room.len() - n).min(self.block.len - self.at);
            room[n..n + k].copy_from_slice(&self.block.bytes()[self.at..self.at + k]);
            n += k;
            self.at += k;
            if n == room.len() {
                break;
            }
            match self.rx.try_recv() {
                Ok(Ok(block)) => self.take(block),
                Ok(Err(e)) => {
                    self.failed = Some(e);
                    break;
                }
                // Nothing waiting, or the end (the next fill reports it).
                Err(_) => break,
            }
        }
        Fill::Data(n)
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Make `block` the current one; the finished one goes back to the reader.
    fn take(&mut self, block: Block) {
        let old = std::mem::replace(&mut self.block, block);
        self.at = 0;
        if !old.buf.is_empty() {
            // The reader may have ended: then the block is simply dropped.
            let _ = self.back.send(old.buf);
        }
    }
}

/// A read block: `buf` keeps its full size so that a reused one is not zeroed again;
/// `len` bytes of it were read.
#[derive(Default)]
struct Block {
    buf: Vec<u8>,
    len: usize,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// A cut compressed stream is its end, as in [`StreamWindow::refill`](crate::capture::StreamWindow::refill).
fn failed(e: io::Error) -> Fill {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Fill::End { cut: true }
    } else {
        Fill::Failed(e)
    }
}

/// The reader thread: read blocks until the end, an error, an interrupt, or the walk has
/// gone. A block read when the interrupt came is dropped: the input ended before it.
fn read_blocks(
    reader: &mut dyn Read,
    tx: &SyncSender<io::Result<Block>>,
    returned: &Receiver<Vec<u8>>,
    interrupt: Option<&AtomicBool>,
) {
    loop {
        let mut buf = returned.try_recv().unwrap_or_default();
        buf.resize(BLOCK, 0);
        let n = loop {
            match reader.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A standard input left non-blocking by another program: wait for data
                // as a blocking read would.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        };
        if n == 0 || interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            // Dropping the sender is the end of the stream.
            return;
        }
        let len = n.min(buf.len());
        if tx.send(Ok(Block { buf, len })).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A reader that hands out the chunks a test sends it, and ends when the test
    /// drops its sender: a pipe whose writer decides when data comes.
    struct Pipe(Mutex<Receiver<Vec<u8>>>);

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.lock().map_err(|_| io::ErrorKind::Other)?.recv() {
                Ok(v) => {
                    let n = v.len().min(buf.len());
                    buf[..n].copy_from_slice(&v[..n]);
                    Ok(n)
                }
                Err(_) => Ok(0),
            }
        }
    }

    fn pipe(interrupt: Option<Arc<AtomicBool>>) -> (Sender<Vec<u8>>, Feed) {
        let (tx, rx) = mpsc::channel();
        let feed = Feed::start(Box::new(Pipe(Mutex::new(rx))), interrupt).expect("reader thread");
        (tx, feed)
    }

    #[test]
    fn quiet_input_is_idle_at_the_deadline_and_data_still_comes_after() {
        let (tx, mut feed) = pipe(None);
        let mut room = [0u8; 16];
        let t = Instant::now();
        let got = feed.fill(&mut room, Some(t + Duration::from_millis(30)));
        assert!(matches!(got, Fill::Idle), "{got:?}");
        assert!(t.elapsed() >= Duration::from_millis(30));
        tx.send(b"abc".to_vec()).expect("send");
        tx.send(b"de".to_vec()).expect("send");
        let mut n = 0;
        while n < 5 {
            match feed.fill(&mut room[n..], None) {
                Fill::Data(k) => n += k,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(&room[..5], b"abcde");
        drop(tx);
        assert!(matches!(
            feed.fill(&mut room, None),
            Fill::End { cut: false }
        ));
    }

    #[test]
    fn an_interrupt_ends_a_wait_without_deadline() {
        let flag = Arc::new(AtomicBool::new(false));
        let (_tx, mut feed) = pipe(Some(flag.clone()));
        let mut room = [0u8; 4];
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                flag.store(true, Ordering::Relaxed);
            });
            let got = feed.fill(&mut room, None);
            assert!(matches!(got, Fill::Interrupted), "{got:?}");
        });
    }

    #[test]
    fn after_an_interrupt_what_was_read_is_still_given_without_waiting() {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, mut feed) = pipe(Some(flag.clone()));
        tx.send(b"abc".to_vec()).expect("send");
        // The reader thread has sent it once the feed can take it.
        let mut room = [0u8; 2];
        assert!(matches!(feed.fill(&mut room, None), Fill::Data(2)));
        flag.store(true, Ordering::Relaxed);
        let t = Instant::now();
        assert!(matches!(feed.fill(&mut room, None), Fill::Data(1)));
        assert_eq!(room[0], b'c');
        assert!(matches!(feed.fill(&mut room, None), Fill::Interrupted));
        assert!(t.elapsed() < POLL, "waited after the interrupt");
    }

    #[test]
    fn a_cut_compressed_stream_is_its_end() {
        struct Cut;
        impl Read for Cut {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::UnexpectedEof.into())
            }
        }
        let mut feed = Feed::start(Box::new(Cut), None).expect("reader thread");
        let mut room = [0u8; 4];
        assert!(matches!(
            feed.fill(&mut room, None),
            Fill::End { cut: true }
        ));
    }
}
