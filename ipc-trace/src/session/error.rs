//! Why a live session could not start.

use super::child::ChildError;
use crate::probe::attach::AttachError;
use crate::probe::skip::ForcedBackendError;
use crate::probe::tracefs::TracefsError;
use thiserror::Error;

/// Why a session could not start.
#[derive(Debug, Error)]
pub enum SessionError {
    /// Missing privileges (one line saying what to do).
    #[error("{0}")]
    Privileges(String),
    /// The command after `--` cannot be run.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// tracefs is missing and cannot be mounted.
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    /// Loading or attaching failed as a whole, or a map of the programs
    /// could not be updated.
    #[error(transparent)]
    Attach(AttachError),
    /// `--backend fentry|kprobe` cannot attach some probe whose function
    /// this kernel has: the user asked for what the kernel cannot give.
    #[error(transparent)]
    ForcedBackend(Box<ForcedBackendError>),
    /// `--btf PATH` cannot be read or parsed.
    #[error(transparent)]
    Btf(#[from] crate::probe::btf::BtfFileError),
    /// The self-test could not run its IPC round trip.
    #[error("self-test failed: {0} (use --no-selftest to skip it)")]
    Selftest(#[source] std::io::Error),
    /// The self-test's thread died.
    #[error("self-test failed: {0} (use --no-selftest to skip it)")]
    SelftestThread(#[source] tokio::task::JoinError),
    /// Any other I/O problem.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl SessionError {
    /// True when the user's input is at fault (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SessionError::Child(_) | SessionError::ForcedBackend(_) | SessionError::Btf(_)
        )
    }
}

impl From<AttachError> for SessionError {
    /// A forced backend that cannot be had is the user's input (exit 2);
    /// everything else is a runtime failure.
    fn from(e: AttachError) -> SessionError {
        match e {
            AttachError::ForcedBackend(forced) => SessionError::ForcedBackend(forced),
            other => SessionError::Attach(other),
        }
    }
}
