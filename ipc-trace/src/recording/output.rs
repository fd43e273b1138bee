//! Output files that are safe to create as root: the data goes to a new
//! temporary file in the target's directory (`O_CREAT|O_EXCL|O_NOFOLLOW`,
//! mode 0644) that is renamed over the target on [`OutputFile::commit`].
//! A symlink planted at the target is replaced, never followed, and a crash
//! leaves any previous file intact. `-` writes to standard output.
//!
//! Recordings use a visible temporary instead, `NAME.partial`
//! ([`OutputFile::create_partial`]): once marked with
//! [`OutputFile::keep_if_dropped`], a recording that never reaches its
//! commit (a panic, a write error, SIGKILL) stays there for the reader,
//! which reports it truncated, rather than vanishing.

use super::errors::RecordingError;
use super::partial::cut_after_last_line;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Stdout, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Buffer size of output files.
const BUFFER_BYTES: usize = 256 * 1024;
/// Attempts at finding an unused temporary name.
const TEMP_ATTEMPTS: u32 = 64;

/// A buffered output that becomes visible at its path only when committed.
pub struct OutputFile {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    Stdout(BufWriter<Stdout>),
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
        /// Dropped without commit: flush and leave `temp` (else remove it).
        keep: bool,
    },
    /// After commit (or a failed commit): nothing left to clean up.
    Done,
}

impl OutputFile {
    /// Opens `path` for writing (`-` = standard output) with mode
    /// [`DEFAULT_MODE`]. The file itself is created as a temporary next to
    /// `path`; nothing at `path` changes until [`OutputFile::commit`].
    pub fn create(path: &Path) -> Result<OutputFile, RecordingError> {
        OutputFile::create_with_mode(path, DEFAULT_MODE)
    }

    /// [`OutputFile::create`] with permission bits `mode` (at most `0o777`;
    /// set exactly, whatever the umask).
    pub fn create_with_mode(path: &Path, mode: u32) -> Result<OutputFile, RecordingError> {
        if path == Path::new("-") {
            return Ok(OutputFile::stdout());
        }
        let (dir, name) = split_target(path)?;
        let (file, temp) =
            create_temp(&dir, &name, mode & 0o777).map_err(|source| RecordingError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(OutputFile::file(path, file, temp))
    }

    /// Like [`OutputFile::create_with_mode`], but the data goes to
    /// `NAME.partial` beside `path` ([`partial_path`]), created new. An
    /// existing `NAME.partial` is refused (a recording that was killed, or
    /// one running now, to the same name), unless it is an empty regular
    /// file: a recording killed before its header, nothing to keep.
    pub fn create_partial(path: &Path, mode: u32) -> Result<OutputFile, RecordingError> {
        if path == Path::new("-") {
            return Ok(OutputFile::stdout());
        }
        split_target(path)?;
        let partial = partial_path(path);
        let write_err = |source| RecordingError::Write {
            path: path.to_path_buf(),
            source,
        };
        let file = match create_new(&partial, mode & 0o777) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let empty = std::fs::symlink_metadata(&partial)
                    .is_ok_and(|m| m.file_type().is_file() && m.len() == 0);
                if !empty {
                    return Err(RecordingError::PartialExists { partial });
                }
                std::fs::remove_file(&partial).map_err(write_err)?;
                create_new(&partial, mode & 0o777)
            }
            other => other,
        }
        .map_err(write_err)?;
        Ok(OutputFile::file(path, file, partial))
    }

    fn stdout() -> OutputFile {
        OutputFile {
            path: PathBuf::from("-"),
            sink: Sink::Stdout(BufWriter::with_capacity(BUFFER_BYTES, std::io::stdout())),
        }
    }

    fn file(path: &Path, file: File, temp: PathBuf) -> OutputFile {
        OutputFile {
            path: path.to_path_buf(),
            sink: Sink::File {
                writer: BufWriter::with_capacity(BUFFER_BYTES, file),
                temp,
                keep: false,
            },
        }
    }

    /// From now on, a drop without [`OutputFile::commit`] flushes and
    /// leaves the temporary file where it is instead of removing it.
    pub fn keep_if_dropped(&mut self) {
        if let Sink::File { keep, .. } = &mut self.sink {
            *keep = true;
        }
    }

    /// The path given to [`OutputFile::create`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs the file to disk and renames it over the target (for
    /// standard output: flushes).
    pub fn commit(mut self) -> Result<(), RecordingError> {
        let path = self.path.clone();
        let fail = |source| RecordingError::Write {
            path: path.clone(),
            source,
        };
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Stdout(mut w) => w.flush().map_err(fail),
            Sink::File { writer, temp, keep } => {
                let done = finish_file(writer, &temp, &path);
                if done.is_err() {
                    if keep {
                        // What reached the disk stays, cut to whole lines.
                        let _ = OpenOptions::new()
                            .write(true)
                            .open(&temp)
                            .and_then(|f| cut_after_last_line(&f, &temp));
                    } else {
                        let _ = std::fs::remove_file(&temp);
                    }
                }
                done.map_err(fail)
            }
            Sink::Done => Ok(()),
        }
    }

    /// Where the data is while it is written (`PATH.partial` for a
    /// recording); None for standard output.
    pub fn partial_file(&self) -> Option<PathBuf> {
        match &self.sink {
            Sink::File { temp, .. } => Some(temp.clone()),
            _ => None,
        }
    }

    /// Gives up after a write error (a full disk): what reached the disk
    /// is kept, cut after its last complete line, at
    /// [`OutputFile::partial_file`], whose path is returned (None for
    /// standard output, which is only flushed).
    pub fn abandon(mut self) -> Result<Option<PathBuf>, RecordingError> {
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::File {
                mut writer, temp, ..
            } => {
                let _ = writer.flush();
                let (file, _unwritten) = writer.into_parts();
                cut_after_last_line(&file, &temp).map_err(|source| RecordingError::Write {
                    path: temp.clone(),
                    source,
                })?;
                Ok(Some(temp))
            }
            Sink::Stdout(mut w) => {
                let _ = w.flush();
                Ok(None)
            }
            Sink::Done => Ok(None),
        }
    }
}

fn finish_file(writer: BufWriter<File>, temp: &Path, path: &Path) -> std::io::Result<()> {
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(temp, path)?;
    // Make the rename itself durable; a failure here does not lose data.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Permission bits of a new recording or export: the owner's only. A
/// recording names processes, keys and addresses of the traced machine;
/// `--mode` widens it (e.g. `0644` to share it with a class).
pub const DEFAULT_MODE: u32 = 0o600;

/// `path` with `.partial` appended to its file name: where a recording is
/// written until it is complete.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// The directory and file name of an output path, refusing directories.
fn split_target(path: &Path) -> Result<(PathBuf, String), RecordingError> {
    let is_dir = || RecordingError::IsDirectory {
        path: path.to_path_buf(),
    };
    let name = path.file_name().ok_or_else(is_dir)?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(is_dir());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_string_lossy().into_owned()))
}

/// Creates `path` new with exactly `mode`, never following or reusing an
/// existing entry.
fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // The umask may have cleared bits the caller asked for.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(file)
}

/// Creates a new file `.NAME.tmp-PID-N` in `dir`, never following or reusing
/// an existing entry.
fn create_temp(dir: &Path, name: &str, mode: u32) -> std::io::Result<(File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut last = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
    for _ in 0..TEMP_ATTEMPTS {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.tmp-{}-{salt:x}-{n}", std::process::id()));
        match create_new(&temp, mode) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::File { writer, .. } => writer.write(buf),
            Sink::Done => Err(std::io::Error::other("output already committed")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::File { writer, .. } => writer.write_all(buf),
            Sink::Done => Err(std::io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::File { writer, .. } => writer.flush(),
            Sink::Done => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    /// An output dropped without commit leaves no temporary file behind and
    /// the target untouched.
    /// One marked with [`OutputFile::keep_if_dropped`] is flushed and left.
    fn drop(&mut self) {
        if let Sink::File { writer, temp, keep } = &mut self.sink {
            if *keep {
                let _ = writer.flush();
            } else {
                let _ = std::fs::remove_file(temp);
            }
        }
    }
}

#[cfg(test)]
mod tests;
