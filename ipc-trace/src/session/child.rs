//! Starting the command given after `--`. Not one of its IPC calls may
//! escape the trace, so the session puts the tracer's own tgid in the
//! kernel's traced set around the spawn: the `sched_process_fork` hook adds
//! the child when it is forked, before it can exec anything.
//!
//! The command ends with ipc-trace, however ipc-trace ends: on a signal or
//! a stop the session sends it SIGTERM and reaps it; on a panic it is
//! killed when its handle is dropped; and when ipc-trace dies without
//! running any code (SIGKILL) the kernel sends it SIGTERM, asked for with
//! `PR_SET_PDEATHSIG` before the exec. That request is tied to the thread
//! that forked, so `spawn` must run on a thread that lives as long as the
//! process (the runtime's `block_on` thread or a worker, never a
//! `spawn_blocking` thread), and the kernel drops it when the command
//! execs a set-user-ID program.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the command could not be started.
#[derive(Debug, Error)]
#[allow(missing_docs)] // each variant says what its fields hold
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
        program: String,
        /// The OS error.
        source: io::Error,
    },
}

/// A started command.
pub struct TracedChild {
    child: tokio::process::Child,
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
        return if is_exec(&p) {
            Ok(p)
        } else {
            Err(ChildError::NotFound(program.to_string()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_exec(p))
        .ok_or_else(|| ChildError::NotFound(program.to_string()))
}

impl TracedChild {
    /// Starts `argv`. The caller makes sure the command is traced from its
    /// first instruction: the tracer's own tgid is in the kernel's traced
    /// set while this runs, so the fork hook adds the child at fork time.
    /// With `output`, its stdout and stderr go to that file (appended).
    pub fn spawn(argv: &[String], output: Option<&Path>) -> Result<TracedChild, ChildError> {
        let (program, args) = argv.split_first().ok_or(ChildError::Empty)?;
        let path = resolve(program)?;
        let spawn_err = |source| ChildError::Spawn {
            program: program.clone(),
            source,
        };
        let mut cmd = std::process::Command::new(&path);
        cmd.arg0(program).args(args);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the forked child before exec and
        // calls only async-signal-safe functions (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || end_with_parent(parent));
        }
        if let Some(path) = output {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(spawn_err)?;
            let copy = file.try_clone().map_err(spawn_err)?;
            cmd.stdout(file)
                .stderr(copy)
                .stdin(std::process::Stdio::null());
        }
        let child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_err)?;
        Ok(TracedChild { child })
    }

    /// The child's pid (its tgid).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
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

/// In the forked child: asks for SIGTERM when the parent dies. The parent
/// may have died between the fork and the prctl (the classic race): then
/// the child was already reparented and exits instead of running the
/// command untraced and unowned.
fn end_with_parent(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: prctl with an integer argument; no memory is passed.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } != parent {
        // SAFETY: _exit ends the forked child without running the parent's
        // atexit handlers or destructors (the parent's signal handlers are
        // still installed here, so no raise).
        unsafe { libc::_exit(128 + libc::SIGTERM) };
    }
    Ok(())
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
    async fn the_exit_status_is_the_commands() -> Result<(), Box<dyn std::error::Error>> {
        let mut child = TracedChild::spawn(&["sh".into(), "-c".into(), "exit 3".into()], None)?;
        assert_eq!(exit_code(&child.wait().await?), 3);
        Ok(())
    }
}
