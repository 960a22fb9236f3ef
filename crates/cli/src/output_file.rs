//! Output files that never destroy what they replace: `-o FILE` is written to a
//! temporary file in the same directory and renamed over FILE only when the run ends
//! without a fatal error, so a failed or killed run leaves FILE as it was. A run ended by
//! Ctrl-C ends normally (whole rows, of the input read until then) and is put in place;
//! the command says on stderr that it is partial. Every write error names the output.

use anyhow::Context as _;
use proxytrace::capture::FileId;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A write error with the output it happened on; the I/O error stays the cause and
/// its kind is kept (a broken pipe is still recognised as one).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {target}")]
struct WriteError {
    target: String,
    #[source]
    source: io::Error,
}

enum Sink {
    File(File),
    /// Around the progress bar when it shares the terminal.
    Stdout(crate::progress::Gated<io::StdoutLock<'static>>),
}

/// The bottom writer: every error it returns names the output.
struct Named {
    sink: Sink,
    target: String,
}

impl Named {
    fn name_error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            WriteError {
                target: self.target.clone(),
                source: e,
            },
        )
    }
}

impl Write for Named {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match &mut self.sink {
            Sink::File(f) => f.write(buf),
            Sink::Stdout(s) => s.write(buf),
        };
        r.map_err(|e| self.name_error(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.sink {
            Sink::File(f) => f.flush(),
            Sink::Stdout(s) => s.flush(),
        };
        r.map_err(|e| self.name_error(e))
    }
}

/// A temporary file to rename over `dest` at the end.
struct Pending {
    tmp: PathBuf,
    dest: PathBuf,
}

/// Where a command's output goes: standard output, or a file put in place at the end.
pub struct Output {
    w: io::BufWriter<Named>,
    /// `None` for standard output and for outputs that are not regular files
    /// (`/dev/null`, `/dev/full`, a FIFO), which are written directly.
    pending: Option<Pending>,
}

const BUF: usize = 1 << 16;

impl Output {
    /// Standard output, buffered.
    pub fn stdout() -> Output {
        Output {
            w: io::BufWriter::with_capacity(
                BUF,
                Named {
                    sink: Sink::Stdout(crate::progress::Gated::new(io::stdout().lock())),
                    target: "stdout".into(),
                },
            ),
            pending: None,
        }
    }

    /// `path`, through a temporary file beside it (directly for a device or FIFO).
    pub fn create(path: &Path) -> anyhow::Result<Output> {
        let named = |file| Named {
            sink: Sink::File(file),
            target: path.display().to_string(),
        };
        let existing = std::fs::metadata(path).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            // A device or FIFO cannot be replaced by renaming (and must not be).
            let file = File::create(path)
                .with_context(|| format!("cannot open output {}", path.display()))?;
            return Ok(Output {
                w: io::BufWriter::with_capacity(BUF, named(file)),
                pending: None,
            });
        }
        // Through a symlink: replace the file it names, not the link.
        let dest = match existing {
            Some(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            None => path.to_path_buf(),
        };
        let (tmp, file) = create_temp(&dest)
            .with_context(|| format!("cannot create output {}", path.display()))?;
        if let Some(m) = &existing {
            // The replacement keeps the replaced file's permissions.
            let _ = file.set_permissions(m.permissions());
        }
        Ok(Output {
            w: io::BufWriter::with_capacity(BUF, named(file)),
            pending: Some(Pending { tmp, dest }),
        })
    }

    /// The name of the output when it is a file (not standard output).
    pub fn file_target(&self) -> Option<String> {
        match self.w.get_ref().sink {
            Sink::File(_) => Some(self.w.get_ref().target.clone()),
            Sink::Stdout(_) => None,
        }
    }

    /// Flush, and put a file output in place under its real name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.w.flush()?;
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let target = self.w.get_ref().target.clone();
        if let Sink::File(f) = &self.w.get_ref().sink {
            // On disk before the rename: a crash then leaves the old file, not an
            // empty new one.
            f.sync_all().map_err(|e| self.w.get_ref().name_error(e))?;
        }
        if let Err(e) = std::fs::rename(&p.tmp, &p.dest) {
            let _ = std::fs::remove_file(&p.tmp);
            return Err(anyhow::Error::new(e)
                .context(format!("cannot rename the finished output into {target}")));
        }
        Ok(())
    }
}

impl Drop for Output {
    /// Not committed: an error ended the run; the real name keeps what it held.
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = std::fs::remove_file(&p.tmp);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// A new file beside `dest`: `.NAME.proxytrace-PID-N.tmp`, created exclusively.
fn create_temp(dest: &Path) -> io::Result<(PathBuf, File)> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.proxytrace-{}-{n}.tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Refuse an output that is one of the inputs (or the same file under another
/// name, through a hard link or a symlink): writing it would destroy the evidence.
pub fn refuse_input_as_output(output: Option<&Path>, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let Some(out) = output else { return Ok(()) };
    let Ok(out_id) = FileId::of(out) else {
        // Does not exist yet: it cannot be an input.
        return Ok(());
    };
    for input in inputs {
        if FileId::of(input).is_ok_and(|id| id == out_id) {
            anyhow::bail!(
                "refusing to write output {}: it is the input {} (same file); choose another -o",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}
