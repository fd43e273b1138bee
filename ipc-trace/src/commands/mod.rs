//! One module per command; each returns the process exit status or a
//! `CmdError` carrying the message and status (1 runtime, 2 usage/input).

mod doctor;
mod export;
mod lab;
mod program_stats;
mod record;
mod summary;
mod tui;

pub use doctor::doctor;
pub use export::export;
pub use lab::lab;
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

/// Warns on standard error about every kernel-path probe that was skipped,
/// naming it and why (the probe table has the reasons).
pub fn warn_skipped(table: &ipc_trace::probe::ProbeTable) {
    use ipc_trace::probe::ProbeClass;
    let mut skipped = 0;
    for row in &table.probes {
        if row.attached {
            if row.fired == Some(false) {
                eprintln!(
                    "ipc-trace: warning: probe {} is attached but did not fire in the self-test",
                    row.name
                );
            }
            continue;
        }
        if row.class == ProbeClass::KernelPath {
            skipped += 1;
            eprintln!(
                "ipc-trace: warning: probe {} skipped: {}",
                row.name,
                row.reason.as_deref().unwrap_or("not attached")
            );
        }
    }
    if skipped > 0 {
        eprintln!(
            "ipc-trace: {skipped} kernel-path probe(s) skipped; their events are derived from tracepoints and marked \"inferred\" (see `ipc-trace doctor`)"
        );
    }
}
