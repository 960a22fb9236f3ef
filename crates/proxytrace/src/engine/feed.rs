//! A stream's reader thread. A read from a pipe blocks until the writer writes, so the
//! walk could neither hand over a batch while the input is quiet nor notice an interrupt.
//! A thread of its own reads blocks and passes them over a bounded channel; the walk
//! takes them with a deadline ([`Feed::fill`]). After an interrupt the walk still takes
//! the blocks already read (at most [`DEPTH`]) and the reader sends no more: the input
//! ends with what the process had read.

use crate::capture::{self, Capture, CaptureError, Input, OpenOptions};
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
