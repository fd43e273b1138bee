//! A hidden hook for the exit-path tests (ipc-trace/tests/exit_paths.rs,
//! demos/tests/tui_exit_tmux.rs), not a flag: no user needs it. The
//! environment variable `IPC_TRACE_TEST_PANIC` names where the session
//! panics:
//!
//! - `after-attach`: in [`Live::start`](super::live::Live::start) right
//!   after the probes are loaded and attached, before the traced command is
//!   started (a start that fails with programs loaded);
//! - `mid-session`: in the session loop once the session has run
//!   [`MID_SESSION_AFTER`] (the traced command runs, a recording has its
//!   header, the TUI is on screen).
//!
//! Any other value, or none, does nothing.

use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable read once per process.
pub const VARIABLE: &str = "IPC_TRACE_TEST_PANIC";

/// How long a session runs before `mid-session` panics.
pub const MID_SESSION_AFTER: Duration = Duration::from_secs(2);

/// Where the hook can panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// `after-attach`.
    AfterAttach,
    /// `mid-session`.
    MidSession,
}

fn chosen() -> Option<Point> {
    static CHOSEN: OnceLock<Option<Point>> = OnceLock::new();
    *CHOSEN.get_or_init(|| match std::env::var(VARIABLE).ok()?.as_str() {
        "after-attach" => Some(Point::AfterAttach),
        "mid-session" => Some(Point::MidSession),
        _ => None,
    })
}

/// Panics when `point` is the one the environment names.
pub fn panic_if(point: Point) {
    if chosen() == Some(point) {
        panic!("{VARIABLE}: forced panic at {point:?}");
    }
}
