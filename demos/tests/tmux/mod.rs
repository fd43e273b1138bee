//! A detached tmux session for the tests that drive a real terminal: start
//! a script in it, read its screen, type keys, wait for text.
//!
//! Each session runs on its own tmux server (`-L`, a socket named after
//! the session): with one shared server, killing a test's last session
//! shuts the server down while the next test's `new-session` may already
//! be talking to it, and that session never starts (an empty screen).
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs tmux on the server `socket` with `args`.
fn run(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux must be installed (cargo xtask setup)")
}

/// A tmux session on its own server, which is killed on drop.
pub struct Session(pub String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = run(&self.0, &["kill-server"]);
    }
}

impl Session {
    /// A detached 160×40 tmux session running `script`.
    pub fn start(what: &str, script: &str) -> Session {
        Session::start_sized(what, script, 160, 40)
    }

    /// A detached `width`×`height` tmux session running `script`.
    pub fn start_sized(what: &str, script: &str, width: u16, height: u16) -> Session {
        let name = format!("ipc-trace-{what}-{}", std::process::id());
        let out = run(
            &name,
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                script,
            ],
        );
        assert!(
            out.status.success(),
            "tmux new-session {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Session(name)
    }

    /// Runs the tmux command `args` on this session's server; its output.
    pub fn tmux(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&run(&self.0, args).stdout).into_owned()
    }

    /// A tmux format (`#{pane_pid}`, `#{alternate_on}`, …) of the pane.
    pub fn format(&self, f: &str) -> String {
        self.tmux(&["display", "-p", "-t", &self.0, f])
            .trim_end()
            .to_string()
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    /// Everything the pane printed, scrolled-off lines included, with
    /// wrapped lines joined.
    pub fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.0])
    }

    /// Types `keys` (tmux key names), then gives the program a moment.
    pub fn keys(&self, keys: &str) {
        self.tmux(&["send-keys", "-t", &self.0, keys]);
        std::thread::sleep(Duration::from_millis(400));
    }

    /// Types `line` literally, then Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", &self.0, "-l", line]);
        self.tmux(&["send-keys", "-t", &self.0, "Enter"]);
    }

    /// Waits until the screen satisfies `pred`; panics with the screen if not.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        self.wait_with(what, secs, Session::screen, pred)
    }

    /// Waits until the whole history satisfies `pred`.
    pub fn wait_for_in_history(
        &self,
        what: &str,
        secs: u64,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_with(what, secs, Session::history, pred)
    }

    fn wait_with(
        &self,
        what: &str,
        secs: u64,
        read: fn(&Session) -> String,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = read(self);
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
