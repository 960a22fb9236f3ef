//! Opening captures: a memory map for regular files, a buffered stream for stdin, pipes
//! and compressed files. Both feed the same walker.

use super::error::CaptureError;
use super::format::{detect, ByteOrder, Compression, FileFormat};
use super::legacy::LegacyParser;
use super::ng::NgParser;
use super::record::{Record, SkipReason};
use super::walk::{walk_buffer, Parser, WalkEnd, WalkStats};
use super::window::{TimeWindow, WindowClock};
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where a capture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A path: a capture file, a FIFO or a device.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// `-` means standard input.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }

    /// The name messages use: the path, or `-` for standard input.
    pub fn display(&self) -> PathBuf {
        match self {
            Input::Path(p) => p.clone(),
            Input::Stdin => PathBuf::from("-"),
        }
    }

    /// Standard input, a FIFO (`<(zcat x.pcap.gz)`) or a device: it can be read only
    /// once, so peeking at it before the real read would consume its data. (A path
    /// that does not exist is not: opening it fails whenever it is tried.)
    pub fn is_read_once(&self) -> bool {
        match self {
            Input::Path(p) => std::fs::metadata(p).is_ok_and(|m| !m.is_file()),
            Input::Stdin => true,
        }
    }
}

/// How [`open`] reads a capture.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Map regular uncompressed files (the default); `false` streams them instead.
    pub mmap: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { mmap: true }
    }
}

/// How an opened capture's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A memory-mapped regular file: every byte is in view at once.
    Mapped,
    /// Read front to back through a sliding buffer: standard input, pipes, compressed
    /// files, or regular files when mapping is off.
    Stream,
}

enum Data {
    Mapped(Mmap),
    Stream {
        reader: Box<dyn Read + Send>,
        /// Bytes already read while detecting the format; the walk starts with them.
        prefix: Vec<u8>,
        waiting: Waiting,
    },
}

/// Whether a stream's reads may wait for a writer, and how a reader can wait for one
/// with a deadline (the engine hands a live pipeline's records on when it is quiet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A regular file, or its decompression: reads return promptly.
    Never,
    /// A pipe, FIFO or device read directly, without a buffer in between: its
    /// descriptor says when a read would not wait (`poll`).
    #[cfg(unix)]
    Fd(std::os::fd::RawFd),
    /// A reader that may wait and cannot be asked (behind a decompressor, or any reader
    /// given to [`from_reader`]): only a thread of its own can wait on it.
    Opaque,
}

/// An opened capture, ready to walk once.
pub struct Capture {
    /// The input as named (`-` for standard input).
    pub path: PathBuf,
    /// The capture format, detected after any decompression (never `Compressed`).
    pub format: FileFormat,
    /// The compression the capture was wrapped in.
    pub compression: Compression,
    /// The parser positioned after the file header (pcapng: at the first SHB).
    pub parser: Parser,
    /// Size on disk; for compressed inputs the compressed size; None for stdin.
    pub file_len: Option<u64>,
    /// The time window its walks keep (`--since`/`--until`); unbounded when opened.
    pub window: TimeWindow,
    /// The file header before the first record as the file stores it (pcap: the 24-byte
    /// global header; pcapng: empty, its section header is a block of the walk).
    header: Vec<u8>,
    data: Data,
    /// Bytes read from the file or pipe itself (streams only).
    read: Option<ReadCounter>,
}

/// The bytes a stream has read from its file or pipe, below any decompression: a
/// compressed file's compressed bytes, which is what its size on disk measures (a progress
/// display's position). It counts what was read, ahead of what was walked by at most the
/// read buffers (about 1 MiB, and the decompressor's buffer).
#[derive(Debug, Clone, Default)]
pub struct ReadCounter(Arc<AtomicU64>);

impl ReadCounter {
    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counts the bytes read through it into a [`ReadCounter`].
struct Counted<R> {
    inner: R,
    read: ReadCounter,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Streaming reads: large enough that a pcapng block of a few MiB needs few refills.
const READ_CHUNK: usize = 1 << 20;

/// Open a capture, detect its format and read its file header.
pub fn open(input: &Input, opts: OpenOptions) -> Result<Capture, CaptureError> {
    let path = input.display();
    let open_err = |source| CaptureError::Open {
        path: path.clone(),
        source,
    };
    match input {
        Input::Stdin => {
            // A duplicate of descriptor 0 as a plain file: `io::stdin()` would keep what
            // it read ahead in a buffer that polling the descriptor cannot see.
            #[cfg(unix)]
            {
                use std::os::fd::{AsFd, AsRawFd};
                if let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() {
                    let file = File::from(fd);
                    let waiting = Waiting::Fd(file.as_raw_fd());
                    return from_stream(path, Box::new(file), None, waiting);
                }
            }
            from_stream(path, Box::new(io::stdin()), None, Waiting::Opaque)
        }
        Input::Path(p) => {
            let file = File::open(p).map_err(open_err)?;
            let meta = file.metadata().map_err(open_err)?;
            let len = meta.len();
            if meta.is_file() && len == 0 {
                return Err(CaptureError::Empty { path });
            }
            if opts.mmap && meta.is_file() {
                // SAFETY: the map is read-only. If another process truncates the file while
                // we read it, the kernel raises SIGBUS; like ripgrep we accept that risk for
                // regular files (`--no-mmap` avoids it).
                let map = unsafe { Mmap::map(&file) }.map_err(open_err)?;
                let _ = map.advise(memmap2::Advice::Sequential);
                match detect(&map) {
                    Some(FileFormat::Compressed(_)) => {
                        drop(map);
                        from_stream(path, Box::new(file), Some(len), Waiting::Never)
                    }
                    _ => from_map(path, map),
                }
            } else {
                let waiting = if meta.is_file() {
                    Waiting::Never
                } else {
                    fd_waiting(&file)
                };
                from_stream(path, Box::new(file), meta.is_file().then_some(len), waiting)
            }
        }
    }
}

fn parser_for(path: &Path, format: FileFormat, head: &[u8]) -> Result<Parser, CaptureError> {
    match format {
        FileFormat::Pcap {
            order,
            resolution,
            modified,
        } => LegacyParser::from_header(path, head, order, resolution, modified).map(Parser::Legacy),
        FileFormat::PcapNg => {
            if head.len() < 12 {
                return Err(CaptureError::TruncatedHeader {
                    path: path.to_path_buf(),
                    have: head.len(),
                    need: 28,
                });
            }
            let bom = [head[8], head[9], head[10], head[11]];
            let order = if u32::from_le_bytes(bom) == 0x1a2b_3c4d {
                ByteOrder::Little
            } else if u32::from_be_bytes(bom) == 0x1a2b_3c4d {
                ByteOrder::Big
            } else {
                return Err(CaptureError::BadHeader {
                    path: path.to_path_buf(),
                    what: "pcapng section header byte-order magic",
                    offset: 8,
                    detail: format!("{bom:02x?}"),
                });
            };
            Ok(Parser::Ng(NgParser::new(order)))
        }
        FileFormat::Compressed(_) => unreachable!("decompressed before parsing"),
    }
}

fn unknown(path: PathBuf, head: &[u8]) -> CaptureError {
    if head.len() < 4 {
        CaptureError::TruncatedHeader {
            path,
            have: head.len(),
            need: 24,
        }
    } else {
        CaptureError::UnknownFormat {
            path,
            magic: head[..4].to_vec(),
        }
    }
}

fn from_map(path: PathBuf, map: Mmap) -> Result<Capture, CaptureError> {
    let format = detect(&map).ok_or_else(|| unknown(path.clone(), &map))?;
    let parser = parser_for(&path, format, &map)?;
    let header = map.get(..parser.data_start()).unwrap_or_default().to_vec();
    Ok(Capture {
        path,
        format,
        compression: Compression::None,
        parser,
        file_len: Some(map.len() as u64),
        window: TimeWindow::default(),
        header,
        data: Data::Mapped(map),
        read: None,
    })
}

/// Read up to `n` bytes (fewer only at end of stream).
fn read_prefix(r: &mut dyn Read, n: usize, path: &Path) -> Result<Vec<u8>, CaptureError> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|source| CaptureError::Read {
            path: path.to_path_buf(),
            offset: 0,
            source,
        })?;
    Ok(buf)
}

/// Open a capture from any reader (a pipe, a socket, a test buffer). `name` is what
/// messages call it. Compressed data is detected and decompressed as for files.
pub fn from_reader(name: PathBuf, reader: Box<dyn Read + Send>) -> Result<Capture, CaptureError> {
    from_stream(name, reader, None, Waiting::Opaque)
}

/// How to wait on a FIFO or device opened as `file`.
fn fd_waiting(file: &File) -> Waiting {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        Waiting::Fd(file.as_raw_fd())
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Waiting::Opaque
    }
}

fn from_stream(
    path: PathBuf,
    mut reader: Box<dyn Read + Send>,
    file_len: Option<u64>,
    mut waiting: Waiting,
) -> Result<Capture, CaptureError> {
    let read = ReadCounter::default();
    // Counted below any decompressor: a compressed file advances by its own bytes.
    reader = Box::new(Counted {
        inner: reader,
        read: read.clone(),
    });
    let mut head = read_prefix(&mut reader, 28, &path)?;
    if head.is_empty() {
        return Err(CaptureError::Empty { path });
    }
    let mut compression = Compression::None;
    let mut format = detect(&head).ok_or_else(|| unknown(path.clone(), &head))?;
    if let FileFormat::Compressed(c) = format {
        compression = c;
        // The decompressor may hold input the descriptor no longer shows.
        if waiting != Waiting::Never {
            waiting = Waiting::Opaque;
        }
        let raw = io::Cursor::new(head).chain(reader);
        reader = match c {
            // Multi-member: `gzip -c a >> b` and bgzip files concatenate members.
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(raw).map_err(|source| {
                    CaptureError::Read {
                        path: path.clone(),
                        offset: 0,
                        source,
                    }
                })?)
            }
            Compression::None => unreachable!(),
        };
        head = read_prefix(&mut reader, 28, &path)?;
        if head.is_empty() {
            return Err(CaptureError::Empty { path });
        }
        format = match detect(&head) {
            Some(FileFormat::Compressed(_)) | None => return Err(unknown(path, &head)),
            Some(f) => f,
        };
    }
    let parser = parser_for(&path, format, &head)?;
    let header = head.get(..parser.data_start()).unwrap_or_default().to_vec();
    Ok(Capture {
        path,
        format,
        compression,
        parser,
        file_len,
        window: TimeWindow::default(),
        header,
        data: Data::Stream {
            reader,
            prefix: head,
            waiting,
        },
        read: Some(read),
    })
}

impl Capture {
    /// The file header before the first record, byte for byte (pcap: the 24-byte global
    /// header; pcapng: empty, its section header block is walked as a block).
    pub fn file_header(&self) -> &[u8] {
        &self.header
    }

    /// A stream's count of the bytes read from its file or pipe (a compressed file's
    /// compressed bytes); `None` for a mapped file, whose chunks' offsets say as much.
    pub fn read_counter(&self) -> Option<ReadCounter> {
        self.read.clone()
    }

    /// Whether the capture is mapped or streamed.
    pub fn kind(&self) -> SourceKind {
        match self.data {
            Data::Mapped(_) => SourceKind::Mapped,
            Data::Stream { .. } => SourceKind::Stream,
        }
    }

    /// The whole mapped file, for the parallel engine.
    pub fn mapped_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Mapped(m) => Some(m),
            Data::Stream { .. } => None,
        }
    }

    /// Advise the kernel about a byte range of the map (no-op for streams). Advice is a
    /// hint: errors are ignored.
    pub fn advise_range(&self, advice: memmap2::Advice, offset: usize, len: usize) {
        if let Data::Mapped(m) = &self.data {
            if len > 0 && offset.saturating_add(len) <= m.len() {
                let _ = m.advise_range(advice, offset, len);
            }
        }
    }

    /// Drop the pages of a mapped range from this process (MADV_DONTNEED) so resident
    /// memory stays flat on huge files. No-op for streams.
    pub fn release_range(&self, offset: usize, len: usize) {
        self.pages().release(offset, len);
    }

    /// The mapped pages, to release from another thread ([`Pages::release`]).
    pub fn pages(&self) -> Pages<'_> {
        Pages(match &self.data {
            Data::Mapped(m) => Some(m),
            Data::Stream { .. } => None,
        })
    }

    /// How a stream's reads may wait for a writer ([`Waiting::Never`] for a mapped
    /// capture). The descriptor of [`Waiting::Fd`] belongs to the reader
    /// [`take_stream`](Self::take_stream) gives: valid while that reader lives.
    pub fn waiting(&self) -> Waiting {
        match &self.data {
            Data::Mapped(_) => Waiting::Never,
            Data::Stream { waiting, .. } => *waiting,
        }
    }

    /// For the engine's streaming path: the reader and the bytes already read after
    /// format detection, which the walk starts with. `None` for mapped captures. The
    /// capture cannot be walked afterwards.
    pub fn take_stream(&mut self) -> Option<(Box<dyn Read + Send>, Vec<u8>)> {
        match &mut self.data {
            Data::Mapped(_) => None,
            Data::Stream { reader, prefix, .. } => Some((
                std::mem::replace(reader, Box::new(io::empty())),
                std::mem::take(prefix),
            )),
        }
    }

    /// Walk every record in file order. Damaged regions and cut records are counted in
    /// `stats`; only I/O failures are errors. `on_record` may stop the walk early.
    /// Records outside [`Capture::window`] are counted and skipped; past its `until` the
    /// walk may stop (`stats.stopped_at_until`).
    pub fn walk<F>(&mut self, stats: &mut WalkStats, mut on_record: F) -> Result<(), CaptureError>
    where
        F: FnMut(&Record<'_>) -> ControlFlow<()>,
    {
        let mut index = 0u64;
        let start = self.parser.data_start();
        let mut clock = WindowClock::new(self.window);
        match &mut self.data {
            Data::Mapped(map) => {
                let buf: &[u8] = map;
                let (end, _) = walk_buffer(
                    &mut self.parser,
                    buf,
                    0,
                    start.min(buf.len()),
                    true,
                    usize::MAX,
                    &mut index,
                    None,
                    stats,
                    &mut clock,
                    &mut on_record,
                );
                stats.bytes = buf.len() as u64;
                if let WalkEnd::PastUntil(p) = end {
                    stats.bytes = p as u64;
                    stats.stopped_at_until = Some(p as u64);
                }
                Ok(())
            }
            Data::Stream { reader, prefix, .. } => {
                let mut win = StreamWindow::new(
                    std::mem::replace(reader, Box::new(io::empty())),
                    std::mem::take(prefix),
                );
                let mut pos = start.min(win.data().len());
                let mut resync: Option<(u64, SkipReason)> = None;
                loop {
                    let (walked, rs) = walk_buffer(
                        &mut self.parser,
                        win.data(),
                        win.base,
                        pos,
                        win.eof,
                        usize::MAX,
                        &mut index,
                        resync,
                        stats,
                        &mut clock,
                        &mut on_record,
                    );
                    resync = rs;
                    if let WalkEnd::PastUntil(p) = walked {
                        stats.bytes = win.base + p as u64;
                        stats.stopped_at_until = Some(stats.bytes);
                        return Ok(());
                    }
                    let WalkEnd::NeedMore { pos: p } = walked else {
                        stats.bytes = win.end_offset();
                        stats.stream_cut |= win.cut;
                        return Ok(());
                    };
                    win.refill(p).map_err(|source| CaptureError::Read {
                        path: self.path.clone(),
                        offset: win.end_offset(),
                        source,
                    })?;
                    pos = 0;
                }
            }
        }
    }
}

/// A sliding window over a stream, shared by the sequential walk and the engine's stream
/// batching: `data()` holds the stream's bytes from offset `base`; the allocation behind
/// them is zeroed room for the next read, so it is initialised once per growth, not once
/// per read.
pub struct StreamWindow {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    end: usize,
    /// Stream offset of `data()[0]`.
    pub base: u64,
    /// The stream has ended: `data()` runs to the end of the file.
    pub eof: bool,
    /// A compressed stream ended before its end marker (a cut .gz or .zst).
    pub cut: bool,
}

impl StreamWindow {
    /// A window over `reader` at stream offset 0, starting with `prefix` (the bytes
    /// already read from it).
    pub fn new(reader: Box<dyn Read + Send>, prefix: Vec<u8>) -> StreamWindow {
        let end = prefix.len();
        let mut buf = prefix;
        buf.resize(READ_CHUNK.max(end), 0);
        StreamWindow {
            reader,
            buf,
            end,
            base: 0,
            eof: false,
            cut: false,
        }
    }

    /// The bytes in view, from stream offset `base`.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.end]
    }

    /// Stream offset just past `data()`.
    pub fn end_offset(&self) -> u64 {
        self.base + self.end as u64
    }

    /// Drop the bytes before `keep_from` (still needed bytes move to the front), then read
    /// more behind them; at the end of the stream `eof` is set. A compressed stream cut
    /// short ends the stream and sets `cut`. Other read errors are returned.
    pub fn refill(&mut self, keep_from: usize) -> io::Result<()> {
        self.room(keep_from);
        let n = loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.cut = true;
                    break 0;
                }
                Err(e) => return Err(e),
            }
        };
        self.filled(n);
        Ok(())
    }

    /// [`refill`](Self::refill) in two steps, for a caller that reads the stream itself
    /// (the engine reads on a thread of its own, so that it can wait with a timeout): drop
    /// the bytes before `keep_from` and return the free room behind the kept ones. Calling
    /// it again without [`filled`](Self::filled) is harmless (a wait that timed out).
    pub fn room(&mut self, keep_from: usize) -> &mut [u8] {
        let keep_from = keep_from.min(self.end);
        self.buf.copy_within(keep_from..self.end, 0);
        self.end -= keep_from;
        self.base += keep_from as u64;
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were written at the start of [`room`](Self::room); 0 is the end of the
    /// stream.
    pub fn filled(&mut self, n: usize) {
        self.end += n.min(self.buf.len() - self.end);
        self.eof = n == 0;
    }
}

/// A capture's mapped pages (none for a stream), shareable with the worker pool so
/// releasing them does not hold up the thread that delivers chunks.
#[derive(Clone, Copy)]
pub struct Pages<'a>(Option<&'a Mmap>);

impl Pages<'_> {
    /// Drop the pages of a mapped range from this process (MADV_DONTNEED). No-op for a
    /// stream or a range outside the map.
    pub fn release(self, offset: usize, len: usize) {
        if let Some(m) = self.0 {
            if len > 0 && offset.saturating_add(len) <= m.len() {
                // SAFETY: the map is a read-only MAP_SHARED file mapping: DONTNEED only
                // unmaps the pages, a later access faults them back in from the file with
                // the same contents (private anonymous or written pages would be zeroed or
                // lost; we have none).
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
                };
            }
        }
    }
}
