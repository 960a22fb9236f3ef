//! From arguments to inputs: directories walked once per real directory, non-captures in
//! them skipped and counted, and the same capture named twice (same file, or same first
//! records) left out with a reason.

use super::error::CaptureError;
use super::format::{detect, Compression, FileFormat};
use super::source::{open, Input, OpenOptions};
use super::walk::WalkStats;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The identity of a file on disk, through hard links and symlinks: device and inode on
/// Unix, the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(FileIdRepr);

#[cfg(unix)]
type FileIdRepr = (u64, u64);
#[cfg(not(unix))]
type FileIdRepr = PathBuf;

impl FileId {
    /// The identity of what `path` names, following symlinks.
    pub fn of(path: &Path) -> io::Result<FileId> {
        Ok(Self::from_metadata(path, &std::fs::metadata(path)?))
    }

    #[cfg(unix)]
    fn from_metadata(_path: &Path, meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId((meta.dev(), meta.ino()))
    }

    #[cfg(not(unix))]
    fn from_metadata(path: &Path, _meta: &std::fs::Metadata) -> FileId {
        FileId(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
    }
}

/// How directories are walked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpandOptions {
    /// Follow symlinks to directories inside a walked directory (each real directory is
    /// still walked once). Off by default: a `..` link would otherwise walk the tree again.
    pub follow_dir_symlinks: bool,
}

crate::named_enum! {
    /// Why a path met inside a directory walk is not an input. Named arguments are never
    /// skipped: they are inputs whatever they hold (and errors if they are not captures).
    /// The names are phrases: they are read in the stderr summary line.
    pub enum ExpandSkip {
        /// A regular file whose magic is not pcap, pcapng, or a gzip/zstd stream of one.
        NotCapture => "not a capture",
        /// A regular file of 0 bytes (a capture still being opened holds at least a header).
        EmptyFile => "empty file",
        /// A FIFO, socket or device: reading it could block or never end.
        NotRegularFile => "not a regular file",
        /// A symlink to a directory, without `follow_dir_symlinks`.
        DirSymlinkNotFollowed => "directory symlink not followed (--follow)",
        /// A directory already walked (a symlink loop, or two links to one directory).
        DirAlreadyWalked => "directory already walked",
    }
}

/// An input left out because an earlier input holds the same capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateInput {
    /// The input left out.
    pub skipped: PathBuf,
    /// The earlier input that is read instead.
    pub kept: PathBuf,
    /// How the two were found to be the same.
    pub why: Duplication,
}

/// Why two inputs count as one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplication {
    /// The same file on disk (same device and inode): named twice, by a hard link or a
    /// symlink, or through a directory and by name.
    SameFile,
    /// A different file whose first records are the same (see [`drop_duplicate_captures`]).
    SameRecords,
}

impl std::fmt::Display for DuplicateInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.why {
            Duplication::SameFile => "is the same file as",
            Duplication::SameRecords => "starts with the same records as",
        };
        write!(
            f,
            "{}: {why} {}; skipped as a duplicate input",
            self.skipped.display(),
            self.kept.display()
        )
    }
}

/// Inputs from command-line arguments, and what the expansion left out.
#[derive(Debug, Default)]
pub struct Expansion {
    /// The inputs to read: the arguments in order, directories expanded recursively in
    /// name order.
    pub inputs: Vec<Input>,
    /// Paths met in directory walks that are not inputs, by reason.
    pub skipped: std::collections::BTreeMap<ExpandSkip, u64>,
    /// Files met again under another path.
    pub same_file: Vec<DuplicateInput>,
    /// Directories that could not be listed; the walk went on without them.
    pub errors: Vec<CaptureError>,
}

/// Expand command-line arguments into inputs with the default options; see
/// [`expand_inputs_with`].
pub fn expand_inputs(args: &[String]) -> Result<Vec<Input>, CaptureError> {
    let mut e = expand_inputs_with(args, ExpandOptions::default());
    match e.errors.is_empty() {
        true => Ok(e.inputs),
        false => Err(e.errors.swap_remove(0)),
    }
}

/// Expand command-line arguments into inputs: files as given, directories recursively in
/// name order (rotated captures sort by name), `-` as stdin. Every real file is an input
/// once (by device and inode) and every real directory is walked once, so symlink loops
/// end. Inside directories, only files whose magic says capture are taken; the rest is
/// counted in [`Expansion::skipped`].
pub fn expand_inputs_with(args: &[String], opts: ExpandOptions) -> Expansion {
    let mut walk = DirWalk {
        opts,
        out: Expansion::default(),
        dirs: std::collections::HashSet::new(),
        files: std::collections::HashMap::new(),
    };
    for a in args {
        match Input::from_arg(a) {
            Input::Path(p) if p.is_dir() => walk.dir(&p),
            Input::Path(p) => walk.file(p),
            Input::Stdin => walk.out.inputs.push(Input::Stdin),
        }
    }
    walk.out
}

struct DirWalk {
    opts: ExpandOptions,
    out: Expansion,
    /// Directories entered; a directory seen again is not walked again.
    dirs: std::collections::HashSet<FileId>,
    /// Files taken, with the path they were first taken under.
    files: std::collections::HashMap<FileId, PathBuf>,
}

impl DirWalk {
    fn skip(&mut self, why: ExpandSkip) {
        *self.out.skipped.entry(why).or_default() += 1;
    }

    /// Take a file unless the same file was taken before. A path that cannot be
    /// examined is taken as it is: opening it reports the error.
    fn file(&mut self, path: PathBuf) {
        if let Ok(id) = FileId::of(&path) {
            if let Some(kept) = self.files.get(&id) {
                self.out.same_file.push(DuplicateInput {
                    skipped: path,
                    kept: kept.clone(),
                    why: Duplication::SameFile,
                });
                return;
            }
            self.files.insert(id, path.clone());
        }
        self.out.inputs.push(Input::Path(path));
    }

    fn dir(&mut self, dir: &Path) {
        let id = match FileId::of(dir) {
            Ok(id) => id,
            Err(source) => {
                self.out.errors.push(CaptureError::Open {
                    path: dir.to_path_buf(),
                    source,
                });
                return;
            }
        };
        if !self.dirs.insert(id) {
            self.skip(ExpandSkip::DirAlreadyWalked);
            return;
        }
        let listed = std::fs::read_dir(dir).and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<PathBuf>, _>>()
        });
        let mut entries = match listed {
            Ok(e) => e,
            Err(source) => {
                self.out.errors.push(CaptureError::Open {
                    path: dir.to_path_buf(),
                    source,
                });
                return;
            }
        };
        entries.sort();
        for p in entries {
            let Ok(link_meta) = std::fs::symlink_metadata(&p) else {
                // Vanished since the listing: nothing to read.
                continue;
            };
            let is_link = link_meta.file_type().is_symlink();
            let Ok(meta) = (if is_link {
                std::fs::metadata(&p)
            } else {
                Ok(link_meta)
            }) else {
                // A dangling symlink: opening it reports the error.
                self.out.inputs.push(Input::Path(p));
                continue;
            };
            if meta.is_dir() {
                if is_link && !self.opts.follow_dir_symlinks {
                    self.skip(ExpandSkip::DirSymlinkNotFollowed);
                } else {
                    self.dir(&p);
                }
            } else if !meta.is_file() {
                self.skip(ExpandSkip::NotRegularFile);
            } else if meta.len() == 0 {
                self.skip(ExpandSkip::EmptyFile);
            } else if sniff_capture(&p) == Some(false) {
                self.skip(ExpandSkip::NotCapture);
            } else {
                self.file(p);
            }
        }
    }
}

/// Whether a file starts like a capture: a pcap or pcapng magic, or a gzip or zstd
/// stream whose first decompressed bytes are one. `None` when it cannot be read: it is
/// then taken as an input, so that opening it reports the error.
fn sniff_capture(path: &Path) -> Option<bool> {
    let mut file = File::open(path).ok()?;
    let mut head = [0u8; 4];
    let n = read_up_to(&mut file, &mut head).ok()?;
    match detect(&head[..n]) {
        None => Some(false),
        Some(FileFormat::Compressed(c)) => {
            use io::Seek as _;
            file.rewind().ok()?;
            let mut inner: Box<dyn Read> = match c {
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
                Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file).ok()?),
                Compression::None => return Some(true),
            };
            let n = read_up_to(&mut inner, &mut head).ok()?;
            Some(matches!(
                detect(&head[..n]),
                Some(FileFormat::Pcap { .. } | FileFormat::PcapNg)
            ))
        }
        Some(_) => Some(true),
    }
}

/// Fill `buf` as far as the reader goes; the count read.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many leading records identify a capture's content for [`drop_duplicate_captures`].
pub const DUPLICATE_PROBE_RECORDS: u32 = 64;

/// What the first records of a capture hold: the first record's time, how many records
/// were compared (at most [`DUPLICATE_PROBE_RECORDS`]) and a keyed hash of each one's time,
/// link type, lengths and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ContentProbe {
    first_ts_ns: i64,
    records: u32,
    hash: u64,
}

fn content_probe(
    input: &Input,
    opts: OpenOptions,
    keys: &std::hash::RandomState,
) -> Option<ContentProbe> {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    let mut cap = open(input, opts).ok()?;
    let mut hasher = keys.build_hasher();
    let mut first_ts_ns = None;
    let mut records = 0u32;
    let mut stats = WalkStats::default();
    cap.walk(&mut stats, |r| {
        first_ts_ns.get_or_insert(r.ts_ns);
        (r.ts_ns, r.link_type, r.orig_len, r.data).hash(&mut hasher);
        records += 1;
        if records >= DUPLICATE_PROBE_RECORDS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .ok()?;
    Some(ContentProbe {
        first_ts_ns: first_ts_ns?,
        records,
        hash: hasher.finish(),
    })
}

/// Leave out inputs that hold a capture already among the earlier inputs, so that a
/// capture given twice (`x.pcap` and `x.pcap.gz`, a copy, a pcapng conversion) is not
/// read twice and its rows are not doubled.
///
/// The rule: two inputs are the same capture when their first
/// [`DUPLICATE_PROBE_RECORDS`] records (all of them when a file holds fewer) are equal
/// in number, and one by one in timestamp, link type, original length and captured
/// bytes (compared by a 64-bit SipHash keyed at random per process). Files with no
/// record, files that cannot be read (their error is reported when they are read),
/// standard input and other inputs that are not regular files (FIFOs, devices: they can
/// be read only once) are never duplicates. The later input is left out, even when it holds
/// more records past the compared ones.
pub fn drop_duplicate_captures(
    inputs: Vec<Input>,
    opts: OpenOptions,
) -> (Vec<Input>, Vec<DuplicateInput>) {
    if inputs.len() < 2 {
        return (inputs, Vec::new());
    }
    let keys = std::hash::RandomState::new();
    let mut seen: std::collections::HashMap<ContentProbe, PathBuf> =
        std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(inputs.len());
    let mut dropped = Vec::new();
    for input in inputs {
        let probe = (!input.is_read_once())
            .then(|| content_probe(&input, opts, &keys))
            .flatten();
        if let Some(probe) = probe {
            if let Some(first) = seen.get(&probe) {
                dropped.push(DuplicateInput {
                    skipped: input.display(),
                    kept: first.clone(),
                    why: Duplication::SameRecords,
                });
                continue;
            }
            seen.insert(probe, input.display());
        }
        kept.push(input);
    }
    (kept, dropped)
}
