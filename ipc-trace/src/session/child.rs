//! Starting the command given after `--` so that not one of its IPC calls
//! escapes the trace: the child is forked, then waits on a pipe until the
//! tracer has put its pid in the kernel's traced set, and only then execs.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the command could not be started.
#[derive(Debug, Error)]
pub enum ChildError {
    /// Nothing to run.
    #[error("no command given after `--`")]
    Empty,
    /// The program is not found on PATH or is not executable.
    #[error("cannot run `{0}`: command not found (not an executable file, nor on PATH)")]
    NotFound(String),
    /// fork/exec or the gate pipe failed.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: io::Error,
    },
}

/// A started command, held at its gate until `release`.
pub struct GatedChild {
    child: tokio::process::Child,
    gate: Option<OwnedFd>,
    program: String,
}

/// Finds `program` the way a shell does: a path with a slash must be an
/// executable file; a bare name is looked up on PATH.
pub fn resolve(program: &str) -> Result<PathBuf, ChildError> {
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if is_exec(&p) { Ok(p) } else { Err(ChildError::NotFound(program.to_string())) };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_exec(p))
        .ok_or_else(|| ChildError::NotFound(program.to_string()))
}

impl GatedChild {
    /// Forks `argv`, which blocks before exec until `release` is called.
    /// With `output`, its stdout and stderr go to that file (appended).
    pub fn spawn(argv: &[String], output: Option<&Path>) -> Result<GatedChild, ChildError> {
        let (program, args) = argv.split_first().ok_or(ChildError::Empty)?;
        let path = resolve(program)?;
        let spawn_err = |source| ChildError::Spawn { program: program.clone(), source };
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(spawn_err(io::Error::last_os_error()));
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let (rfd, wfd) = (read_end.as_raw_fd(), write_end.as_raw_fd());
        let mut cmd = std::process::Command::new(&path);
        cmd.arg0(program).args(args);
        if let Some(path) = output {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(spawn_err)?;
            let copy = file.try_clone().map_err(spawn_err)?;
            cmd.stdout(file).stderr(copy).stdin(std::process::Stdio::null());
        }
        // SAFETY: the closure only calls async-signal-safe functions
        // (close, read) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::close(wfd);
                let mut byte = 0u8;
                loop {
                    let n = libc::read(rfd, (&mut byte as *mut u8).cast(), 1);
                    if n == 1 {
                        return Ok(());
                    }
                    if n == 0 {
                        // The tracer went away before releasing us: do not
                        // run untraced.
                        return Err(io::Error::from_raw_os_error(libc::ECANCELED));
                    }
                    let err = io::Error::last_os_error();
                    if err.raw_os_error() != Some(libc::EINTR) {
                        return Err(err);
                    }
                }
            });
        }
        let child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_err)?;
        drop(read_end);
        Ok(GatedChild { child, gate: Some(write_end), program: program.clone() })
    }

    /// The child's pid (its tgid).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Lets the child exec.
    pub fn release(&mut self) -> Result<(), ChildError> {
        if let Some(gate) = self.gate.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from a live local into an fd we own.
            let n = unsafe { libc::write(gate.as_raw_fd(), (&byte as *const u8).cast(), 1) };
            if n != 1 {
                return Err(ChildError::Spawn {
                    program: self.program.clone(),
                    source: io::Error::last_os_error(),
                });
            }
        }
        Ok(())
    }

    /// Waits for the child to exit.
    pub async fn wait(&mut self) -> io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Sends SIGTERM to the child (on Ctrl-C of the tracer), if it still runs.
    pub fn terminate(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on a pid we spawned and have not reaped.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
    }
}

/// The exit code a shell would report for `status` (128 + signal when killed).
pub fn exit_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_command_is_named() {
        match resolve("no-such-command-ipc-trace") {
            Err(e) => assert!(e.to_string().contains("no-such-command-ipc-trace"), "{e}"),
            Ok(p) => panic!("resolved to {}", p.display()),
        }
        assert!(resolve("sh").is_ok());
    }

    #[tokio::test]
    async fn the_child_runs_only_after_release() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("ipc-trace-gate-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let script = format!("echo ran > {}", dir.display());
        let mut child = GatedChild::spawn(&["sh".into(), "-c".into(), script], None)?;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!dir.exists(), "the child ran before it was released");
        child.release()?;
        let status = child.wait().await?;
        assert_eq!(exit_code(&status), 0);
        assert!(dir.exists());
        std::fs::remove_file(&dir)?;
        Ok(())
    }
}
