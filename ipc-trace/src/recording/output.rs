//! Output files that are safe to create as root: the data goes to a new
//! temporary file in the target's directory (`O_CREAT|O_EXCL|O_NOFOLLOW`,
//! mode 0644) that is renamed over the target on [`OutputFile::commit`].
//! A symlink planted at the target is replaced, never followed, and a crash
//! leaves any previous file intact. `-` writes to standard output.
//!
//! An output told to [`OutputFile::keep_partial_on_error`] (a recording)
//! that fails part way (a full disk) keeps what reached the disk instead:
//! cut after its last complete line and renamed to `PATH.partial`, so a
//! previous file at `PATH` is still intact and the partial one reads line by
//! line up to its end.

use super::errors::RecordingError;
use super::partial::{cut_after_last_line, keep_partial};
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
    keep_partial: bool,
}

enum Sink {
    Stdout(BufWriter<Stdout>),
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
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
            return Ok(OutputFile {
                path: path.to_path_buf(),
                sink: Sink::Stdout(BufWriter::with_capacity(BUFFER_BYTES, std::io::stdout())),
                keep_partial: false,
            });
        }
        let Some(name) = path.file_name() else {
            return Err(RecordingError::IsDirectory {
                path: path.to_path_buf(),
            });
        };
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(RecordingError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (file, temp) =
            create_temp(&dir, &name.to_string_lossy(), mode & 0o777).map_err(|source| {
                RecordingError::Write {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            sink: Sink::File {
                writer: BufWriter::with_capacity(BUFFER_BYTES, file),
                temp,
            },
            keep_partial: false,
        })
    }

    /// The path given to [`OutputFile::create`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When writing or committing fails, keep what reached the disk as
    /// [`OutputFile::partial_path`] (see the module doc) instead of removing it.
    pub fn keep_partial_on_error(&mut self) {
        self.keep_partial = true;
    }

    /// Where a partial file is kept: `PATH.partial` (None for standard output).
    pub fn partial_path(&self) -> Option<PathBuf> {
        match self.sink {
            Sink::Stdout(_) => None,
            _ => {
                let mut name = self.path.clone().into_os_string();
                name.push(".partial");
                Some(PathBuf::from(name))
            }
        }
    }

    /// Gives up after a write error: keeps what reached the disk as
    /// [`OutputFile::partial_path`], cut after its last complete line, and
    /// returns that path (None for standard output, which is only flushed).
    pub fn abandon(mut self) -> Result<Option<PathBuf>, RecordingError> {
        let partial = self.partial_path();
        match (std::mem::replace(&mut self.sink, Sink::Done), partial) {
            (Sink::File { writer, temp }, Some(partial)) => {
                let kept = keep_partial(writer, &temp, &partial);
                if kept.is_err() {
                    let _ = std::fs::remove_file(&temp);
                }
                kept.map(|()| Some(partial))
                    .map_err(|source| RecordingError::Write {
                        path: self.path.clone(),
                        source,
                    })
            }
            (Sink::Stdout(mut w), _) => {
                let _ = w.flush();
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Flushes, syncs the file to disk and renames it over the target (for
    /// standard output: flushes). On failure the temporary file is removed,
    /// or kept as [`OutputFile::partial_path`] after
    /// [`OutputFile::keep_partial_on_error`].
    pub fn commit(mut self) -> Result<(), RecordingError> {
        let path = self.path.clone();
        let fail = |source| RecordingError::Write {
            path: path.clone(),
            source,
        };
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Stdout(mut w) => w.flush().map_err(fail),
            Sink::File { writer, temp } => {
                let (file, done) = finish_file(writer, &temp, &path);
                if done.is_err() {
                    let partial = self.partial_path();
                    let kept = match (self.keep_partial, file, partial) {
                        (true, Some(file), Some(partial)) => cut_after_last_line(&file, &temp)
                            .and_then(|()| std::fs::rename(&temp, &partial)),
                        _ => Err(std::io::Error::other("not kept")),
                    };
                    if kept.is_err() {
                        let _ = std::fs::remove_file(&temp);
                    }
                }
                done.map_err(fail)
            }
            Sink::Done => Ok(()),
        }
    }
}

/// Flush, sync, rename. On a failure before the rename, also hands back
/// the file (when the flush got that far) so that its data can be kept.
fn finish_file(
    writer: BufWriter<File>,
    temp: &Path,
    path: &Path,
) -> (Option<File>, std::io::Result<()>) {
    let file = match writer.into_inner() {
        Ok(file) => file,
        Err(e) => {
            let (error, writer) = e.into_parts();
            return (Some(writer.into_parts().0), Err(error));
        }
    };
    if let Err(e) = file.sync_all() {
        return (Some(file), Err(e));
    }
    drop(file);
    (None, rename_durably(temp, path))
}

/// Renames `temp` over `path` and syncs the directory.
fn rename_durably(temp: &Path, path: &Path) -> std::io::Result<()> {
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
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
        {
            Ok(file) => {
                // The umask may have cleared bits the caller asked for.
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                return Ok((file, temp));
            }
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
    fn drop(&mut self) {
        if let Sink::File { temp, .. } = &self.sink {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::io::Result<PathBuf> {
        let dir =
            std::env::temp_dir().join(format!("ipc-trace-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        Ok(names)
    }

    #[test]
    fn nothing_appears_until_commit_then_the_target_holds_the_data()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = scratch("commit")?;
        let target = dir.join("out.ndjson");
        std::fs::write(&target, "previous\n")?;
        let mut out = OutputFile::create(&target)?;
        out.write_all(b"new\n")?;
        out.flush()?;
        assert_eq!(std::fs::read_to_string(&target)?, "previous\n");
        out.commit()?;
        assert_eq!(std::fs::read_to_string(&target)?, "new\n");
        assert_eq!(entries(&dir)?, vec!["out.ndjson".to_string()]);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_dropped_output_leaves_the_previous_file_and_no_temporary()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = scratch("drop")?;
        let target = dir.join("out.ndjson");
        std::fs::write(&target, "previous\n")?;
        {
            let mut out = OutputFile::create(&target)?;
            out.write_all(b"half a recor")?;
        }
        assert_eq!(std::fs::read_to_string(&target)?, "previous\n");
        assert_eq!(entries(&dir)?, vec!["out.ndjson".to_string()]);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn an_abandoned_output_keeps_its_complete_lines_as_partial()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = scratch("partial")?;
        let target = dir.join("out.ndjson");
        std::fs::write(&target, "previous\n")?;
        let mut out = OutputFile::create(&target)?;
        out.keep_partial_on_error();
        out.write_all(b"{\"a\":1}\n{\"b\":2}\n{\"half")?;
        let kept = out.abandon()?.ok_or("nothing kept")?;
        assert_eq!(kept, dir.join("out.ndjson.partial"));
        assert_eq!(std::fs::read_to_string(&kept)?, "{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(std::fs::read_to_string(&target)?, "previous\n");
        assert_eq!(entries(&dir)?, ["out.ndjson", "out.ndjson.partial"]);
        // Without a complete line nothing but an empty file is kept.
        let mut out = OutputFile::create(&target)?;
        out.write_all(b"no newline")?;
        let kept = out.abandon()?.ok_or("nothing kept")?;
        assert_eq!(std::fs::read(&kept)?, b"");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = scratch("symlink")?;
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n")?;
        let target = dir.join("out.ndjson");
        std::os::unix::fs::symlink(&victim, &target)?;
        let mut out = OutputFile::create(&target)?;
        out.write_all(b"recording\n")?;
        out.commit()?;
        assert_eq!(std::fs::read_to_string(&victim)?, "precious\n");
        assert!(!std::fs::symlink_metadata(&target)?.file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target)?, "recording\n");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn new_files_are_the_owners_only_unless_a_mode_is_given()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode")?;
        let target = dir.join("out.ndjson");
        OutputFile::create(&target)?.commit()?;
        let mode = std::fs::metadata(&target)?.permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
        let shared = dir.join("shared.ndjson");
        OutputFile::create_with_mode(&shared, 0o644)?.commit()?;
        let mode = std::fs::metadata(&shared)?.permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "mode {mode:o}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn an_unwritable_place_gives_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = scratch("unwritable")?;
        // A regular file where the directory should be: fails even for root.
        let not_a_dir = dir.join("plain-file");
        std::fs::write(&not_a_dir, "")?;
        let target = not_a_dir.join("out.ndjson");
        let err = OutputFile::create(&target)
            .err()
            .ok_or("created under a file")?;
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: Not a directory", target.display())
        );
        // sysfs refuses new files with EACCES, also for root.
        let err = OutputFile::create(Path::new("/sys/ipc-trace-out.ndjson"))
            .err()
            .ok_or("created a file in /sys")?;
        assert_eq!(
            err.to_string(),
            "cannot write /sys/ipc-trace-out.ndjson: Permission denied"
        );
        // A directory as the target.
        let err = OutputFile::create(&dir)
            .err()
            .ok_or("wrote over a directory")?;
        assert!(err.to_string().contains("it is a directory"), "{err}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
