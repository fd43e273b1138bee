//! The TUI side of the soak: a live `ipc-trace` TUI (system-wide, so it
//! sees the soak's workload) in a detached tmux session; each sample sends
//! Tab and times how long the pane takes to show the next view (its tab
//! line, with colours, changes when the frame with the key is drawn).

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Longest wait for a redraw before a sample counts as unresponsive.
pub const REDRAW_LIMIT: Duration = Duration::from_secs(2);

/// A TUI in a tmux session, killed on drop.
pub struct Tui {
    session: String,
}

fn tmux(args: &[&str]) -> Result<String> {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .context("cannot run tmux (apt-get install tmux)")?;
    if !out.status.success() {
        bail!(
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Tui {
    /// Starts `ipc-trace --no-selftest` in a 160×45 tmux session.
    pub fn start(ipc_trace: &Path) -> Result<Tui> {
        let session = format!("ipc-trace-soak-{}", std::process::id());
        let command = format!("{} --no-selftest", ipc_trace.display());
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "160",
            "-y",
            "45",
            &command,
        ])?;
        let tui = Tui { session };
        // Wait for the first frame (the header names ipc-trace).
        let deadline = Instant::now() + Duration::from_secs(20);
        while !tui.pane(false)?.contains("ipc-trace ·") {
            if Instant::now() > deadline {
                bail!("the TUI drew no frame in 20 s:\n{}", tui.pane(false)?);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(tui)
    }

    /// The pid of the TUI (the pane's process).
    pub fn pid(&self) -> Result<u32> {
        let text = tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"])?;
        text.trim()
            .parse()
            .with_context(|| format!("tmux gave no pane pid: {text:?}"))
    }

    fn pane(&self, escapes: bool) -> Result<String> {
        let mut args = vec!["capture-pane", "-p", "-t", &self.session];
        if escapes {
            args.push("-e");
        }
        tmux(&args)
    }

    /// The tab line (row 2) with its colours.
    fn tabs(&self) -> Result<String> {
        Ok(self.pane(true)?.lines().nth(1).unwrap_or("").to_string())
    }

    /// Sends Tab and returns how long the next view took to appear.
    pub fn redraw_after_key(&self) -> Result<Duration> {
        let before = self.tabs()?;
        let sent = Instant::now();
        tmux(&["send-keys", "-t", &self.session, "Tab"])?;
        while sent.elapsed() < REDRAW_LIMIT {
            if self.tabs()? != before {
                return Ok(sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(sent.elapsed())
    }

    /// Quits with `q`; the session ends with it.
    pub fn quit(self) {
        let _ = tmux(&["send-keys", "-t", &self.session, "q"]);
        std::thread::sleep(Duration::from_secs(2));
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.session]);
    }
}
