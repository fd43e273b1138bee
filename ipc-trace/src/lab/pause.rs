//! A live lab's stage boundaries: where its demo really stops.
//!
//! The lab gives its demo `--stages FIFO`. At each boundary every demo
//! process the stage expects writes `PID POINT` to the FIFO and stops itself
//! (SIGSTOP); see the demos' `stages` module. [`Boundary`] matches those
//! arrivals against the stage's [`Stage::pause_at`](super::catalog::Stage)
//! points; once all have come, and the kernel shows each process stopped
//! ([`stopped`]), the lab shows the stage while nothing runs, then
//! [`resume`]s them. The FIFO ([`StageFifo`]) lives in a directory only the
//! lab's user can enter, and goes with it.

use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::unix::pipe;

/// How long a process that announced a stop may take to show stopped; it
/// stops itself right after its one `write`, so this is a bound for a busy
/// machine, not a wait anyone sees.
pub const STOPS_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// A line on the FIFO that is not `PID POINT`, or a point the stage does
/// not expect.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PauseError {
    /// Not `PID POINT`.
    #[error("the demo wrote `{0}` on the stage FIFO, not `PID POINT`")]
    Malformed(String),
    /// A point none of the stage's remaining ones.
    #[error(
        "process {pid} stopped at `{point}`, which this stage does not wait for (it waits for: {waiting})"
    )]
    Unexpected {
        /// The process that stopped.
        pid: u32,
        /// Where.
        point: String,
        /// The points still awaited, comma-separated.
        waiting: String,
    },
}

/// One process stopped at one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// Its pid.
    pub pid: u32,
    /// The point's name.
    pub point: String,
}

impl Arrival {
    /// Parses a FIFO line, `PID POINT`.
    pub fn parse(line: &str) -> Result<Arrival, PauseError> {
        let malformed = || PauseError::Malformed(line.to_string());
        let (pid, point) = line.trim().split_once(' ').ok_or_else(malformed)?;
        let pid = pid.parse().map_err(|_| malformed())?;
        if point.is_empty() || point.contains(char::is_whitespace) || pid == 0 {
            return Err(malformed());
        }
        Ok(Arrival {
            pid,
            point: point.to_string(),
        })
    }
}

/// The arrivals a stage waits for before it is shown. Dropping it resumes
/// them.
#[derive(Debug)]
pub struct Boundary {
    waiting: Vec<&'static str>,
    arrived: Vec<Arrival>,
}

impl Boundary {
    /// Waits for one arrival at each of `points` (a name may repeat: one
    /// process each). No points: the stage ends with the demo.
    pub fn new(points: &'static [&'static str]) -> Boundary {
        Boundary {
            waiting: points.to_vec(),
            arrived: Vec::new(),
        }
    }

    /// Whether this boundary stops the demo at all.
    pub fn pauses(&self) -> bool {
        !self.waiting.is_empty() || !self.arrived.is_empty()
    }

    /// Counts `a` in. An arrival at a point not awaited is let go at once
    /// (nothing may stay stopped) and is an error.
    pub fn arrive(&mut self, a: Arrival) -> Result<(), PauseError> {
        match self.waiting.iter().position(|p| *p == a.point) {
            Some(i) => {
                self.waiting.remove(i);
                self.arrived.push(a);
                Ok(())
            }
            None => Err({
                resume_once_stopped(a.pid, STOPS_WITHIN);
                PauseError::Unexpected {
                    pid: a.pid,
                    point: a.point,
                    waiting: self.waiting.join(", "),
                }
            }),
        }
    }

    /// Every awaited process has arrived.
    pub fn complete(&self) -> bool {
        self.waiting.is_empty() && !self.arrived.is_empty()
    }

    /// The pids that arrived (and stopped), in arrival order.
    pub fn pids(&self) -> Vec<u32> {
        self.arrived.iter().map(|a| a.pid).collect()
    }

    /// The arrivals, in order.
    pub fn arrivals(&self) -> &[Arrival] {
        &self.arrived
    }

    /// Lets the processes that stopped here go on, once. A second SIGCONT
    /// would be a bug, not a no-op: a process resumed by the first may
    /// already have run to its next point and stopped there, and the second
    /// would let it run past that stage unseen.
    /// Each waits until it shows stopped first ([`resume_once_stopped`]).
    pub fn release(&mut self) {
        for pid in self.pids() {
            resume_once_stopped(pid, STOPS_WITHIN);
        }
        self.arrived.clear();
    }
}

/// A boundary dropped (the lab moved on, failed or panicked) lets every
/// process still stopped at it go on: none is ever left stopped.
impl Drop for Boundary {
    fn drop(&mut self) {
        self.release();
    }
}

/// Whether the kernel shows process `pid` stopped (state `T` in
/// `/proc/PID/stat`, or `t` under a tracer).
pub fn stopped(pid: u32) -> io::Result<bool> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    Ok(state_of(&stat).is_some_and(|s| s == 'T' || s == 't'))
}

/// The state letter of a `/proc/PID/stat` line: the first field after the
/// command name, which is in parentheses and may itself hold `)`.
fn state_of(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// Lets stopped processes go on (SIGCONT); a process gone meanwhile is
/// skipped.
fn resume(pids: &[u32]) {
    for &pid in pids {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            continue;
        };
        // SAFETY: kill has no memory effects; a pid that is gone gives ESRCH.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
}

/// Lets a process that announced a stop go on once the kernel shows it
/// stopped (or `within` passes, or it is gone). A demo writes its line
/// *before* it stops itself, so a SIGCONT sent as soon as the line is read
/// can come before the SIGSTOP, which then stops the process for ever.
pub fn resume_once_stopped(pid: u32, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    while matches!(stopped(pid), Ok(false)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    resume(&[pid]);
}

/// The FIFO a live lab's demo announces its stops on.
pub struct StageFifo {
    dir: PathBuf,
    path: PathBuf,
    lines: Lines<BufReader<pipe::Receiver>>,
}

impl StageFifo {
    /// Makes the FIFO in a fresh directory of mode 0700 under the temporary
    /// directory, and opens it for reading. It is opened read-write, so it
    /// never reads end-of-file while no demo process has it open.
    pub fn create() -> io::Result<StageFifo> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("ipc-trace-lab-{}-{nanos:09}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("stages");
        let made = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(io::Error::other)
            .and_then(|c| {
                // SAFETY: `c` is a valid NUL-terminated path for the call.
                match unsafe { libc::mkfifo(c.as_ptr(), 0o600) } {
                    0 => Ok(()),
                    _ => Err(io::Error::last_os_error()),
                }
            });
        let opened = made.and_then(|()| {
            pipe::OpenOptions::new()
                .read_write(true)
                .open_receiver(&path)
        });
        match opened {
            Ok(rx) => Ok(StageFifo {
                dir,
                path,
                lines: BufReader::new(rx).lines(),
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// The FIFO's path, for the demo's `--stages`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line a demo process wrote (cancel-safe: a line is never
    /// lost to a `select!`).
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        self.lines.next_line().await
    }
}

impl Drop for StageFifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_pid_and_a_point() {
        assert_eq!(
            Arrival::parse("123 created\n"),
            Ok(Arrival {
                pid: 123,
                point: "created".into()
            })
        );
        for bad in ["", "123", "x created", "0 created", "12 two words", "12 "] {
            assert!(
                matches!(Arrival::parse(bad), Err(PauseError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_boundary_waits_for_each_point_once() -> Result<(), PauseError> {
        // Pids above any pid_max: the drop's SIGCONT reaches nobody.
        let mut b = Boundary::new(&["attached", "attached"]);
        assert!(b.pauses() && !b.complete());
        b.arrive(Arrival::parse("999999910 attached")?)?;
        assert!(!b.complete(), "one of two processes");
        let err = b.arrive(Arrival::parse("999999911 touched")?);
        assert!(
            matches!(&err, Err(PauseError::Unexpected { waiting, .. }) if waiting == "attached"),
            "{err:?}"
        );
        b.arrive(Arrival::parse("999999911 attached")?)?;
        assert!(b.complete());
        assert_eq!(b.pids(), vec![999_999_910, 999_999_911]);
        assert!(
            !Boundary::new(&[]).pauses(),
            "the last stage ends with the demo"
        );
        Ok(())
    }

    #[test]
    fn the_state_is_read_after_the_command_name() {
        assert_eq!(state_of("42 (a) b) T 1 2"), Some('T'));
        assert_eq!(state_of("42 (sleep) S 1"), Some('S'));
        assert_eq!(state_of("garbage"), None);
    }

    #[test]
    fn a_stopped_child_reads_stopped_and_a_dropped_boundary_resumes_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut child = std::process::Command::new("sleep").arg("5").spawn()?;
        let pid = child.id();
        assert!(!stopped(pid)?, "a sleeping child is not stopped");
        // SAFETY: signals our own child.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !stopped(pid)? && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(stopped(pid)?, "SIGSTOP stops it");
        // A boundary it stopped at, dropped: it goes on.
        let mut boundary = Boundary::new(&["p"]);
        boundary.arrive(Arrival::parse(&format!("{pid} p"))?)?;
        drop(boundary);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while stopped(pid)? && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            !stopped(pid)?,
            "a dropped boundary resumes what stopped at it"
        );
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Waits up to 5 s for `pid`'s stopped state to be `want`.
    fn wait_state(pid: u32, want: bool) -> io::Result<bool> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while stopped(pid)? != want && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(stopped(pid)? == want)
    }

    #[test]
    fn a_released_boundary_resumes_once() -> Result<(), Box<dyn std::error::Error>> {
        // Two points in a row, as a demo's stages are.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "kill -STOP $$; kill -STOP $$; sleep 5"])
            .spawn()?;
        let pid = child.id();
        assert!(wait_state(pid, true)?, "stopped at its first point");
        let mut boundary = Boundary::new(&["first"]);
        boundary.arrive(Arrival::parse(&format!("{pid} first"))?)?;
        boundary.release();
        // Released, it runs on to its second point (too briefly to see).
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(wait_state(pid, true)?, "stopped at its second point");
        // The boundary it already left must not let it past the second.
        drop(boundary);
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(stopped(pid)?, "a second SIGCONT let it past its next point");
        resume(&[pid]);
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    #[tokio::test]
    async fn the_fifo_hands_on_lines_and_goes_with_its_owner() -> io::Result<()> {
        let mut fifo = StageFifo::create()?;
        let path = fifo.path().to_path_buf();
        std::fs::write(&path, "7 found\n8 found\n")?;
        assert_eq!(fifo.next_line().await?.as_deref(), Some("7 found"));
        assert_eq!(fifo.next_line().await?.as_deref(), Some("8 found"));
        let dir = path.parent().map(Path::to_path_buf);
        drop(fifo);
        assert!(!path.exists(), "the FIFO is removed");
        assert!(dir.is_some_and(|d| !d.exists()), "and its directory");
        Ok(())
    }
}
