//! The file the demos derive their IPC keys from with `ftok`, and the
//! project ids that make the keys of the segment and the sets.

use crate::sysv::{self, SysvError};
use std::path::Path;

/// Default key file, created when missing.
pub const DEFAULT_KEY_PATH: &str = "/tmp/ipc-trace-demo.key";
/// `ftok` project id of the producer/consumer segment.
pub const SHM_PROJ: u8 = 0x88;
/// `ftok` project id of the producer/consumer mutex set (segment's + 1).
pub const SEM_PROJ: u8 = 0x89;
/// `ftok` project id of the ping-pong set.
pub const PINGPONG_PROJ: u8 = 0x8a;

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be created.
    #[error("cannot create key file {path}: {error}")]
    Create {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// `ftok` failed.
    #[error(transparent)]
    Ftok(#[from] SysvError),
}

/// `ftok(path, proj)`, creating `path` (empty) first when it does not exist.
pub fn key_for(path: &Path, proj: u8) -> Result<i32, KeyError> {
    if !path.exists() {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| KeyError::Create {
                path: path.display().to_string(),
                error,
            })?;
    }
    Ok(sysv::ftok(path, proj)?)
}

/// A key as `ipcs` prints it: `0x` + 8 hex digits.
pub fn key_hex(key: i32) -> String {
    format!("0x{:08x}", key as u32)
}

/// A create that failed; EEXIST gets a hint on removing the stale object.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The key is taken, most likely by an object left from an earlier run.
    #[error(
        "a {kind} with key {key} already exists (left by an earlier run?): remove it with `ipcrm {ipcrm_opt} {key}`"
    )]
    Stale {
        /// "segment" or "semaphore set".
        kind: String,
        /// `-M` (segment key) or `-S` (set key).
        ipcrm_opt: String,
        /// The key, as `ipcs` prints it.
        key: String,
        /// The failed call.
        source: SysvError,
    },
    /// Any other failure.
    #[error(transparent)]
    Other(SysvError),
}

impl CreateError {
    /// Classifies a failed create of a `kind` with `key`; `ipcrm_opt` is
    /// the `ipcrm` option that removes such an object by key.
    pub fn new(source: SysvError, kind: &str, ipcrm_opt: &str, key: i32) -> CreateError {
        if source.already_exists() {
            CreateError::Stale {
                kind: kind.to_string(),
                ipcrm_opt: ipcrm_opt.to_string(),
                key: key_hex(key),
                source,
            }
        } else {
            CreateError::Other(source)
        }
    }
}
