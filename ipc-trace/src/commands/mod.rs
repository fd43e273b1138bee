//! One module per command; each returns the process exit status or a
//! `CmdError` carrying the message and status (1 runtime, 2 usage/input).

mod doctor;
mod export;
mod lab;
mod lab_live;
mod program_stats;
mod record;
mod summary;
mod tui;

pub use doctor::doctor;
pub use export::export;
pub use lab::{LabArgs, lab};
pub use record::{RecordOutputs, record};
pub use summary::summary;
pub use tui::{replay, tui};

use ipc_trace::session::live::SessionError;
use std::fmt::Display;

/// A command's failure: what to print and which exit status to use.
#[derive(Debug)]
pub struct CmdError {
    /// One or more lines saying what went wrong and what to do.
    pub message: String,
    /// 1 for runtime errors, 2 for bad usage or bad input.
    pub status: u8,
}

impl CmdError {
    /// A runtime error (exit status 1).
    pub fn runtime(msg: impl Display) -> CmdError {
        CmdError {
            message: msg.to_string(),
            status: 1,
        }
    }

    /// Bad usage or bad input (exit status 2).
    pub fn usage(msg: impl Display) -> CmdError {
        CmdError {
            message: msg.to_string(),
            status: 2,
        }
    }
}

impl From<SessionError> for CmdError {
    fn from(e: SessionError) -> CmdError {
        if e.is_usage() {
            CmdError::usage(e)
        } else {
            CmdError::runtime(e)
        }
    }
}

/// Result of a command: an exit status.
pub type CmdResult = Result<u8, CmdError>;

/// The start-up banner on standard error: a warning for every probe that
/// is attached but did not fire in the self-test, then what this session
/// cannot see and what that costs the user (`probe::banner`; the probe
/// table of `ipc-trace doctor --attach` and of the recording header has
/// each probe's own reason).
pub fn warn_limits(live: &ipc_trace::session::live::Live) {
    for row in &live.probe_table().probes {
        if row.attached && row.fired == Some(false) {
            eprintln!(
                "ipc-trace: warning: probe {} is attached but did not fire in the self-test",
                row.name
            );
        }
    }
    for line in live.limits() {
        eprintln!("ipc-trace: {line}");
    }
}
