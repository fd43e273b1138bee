//! Exports of a recording: filtered NDJSON ([`export_ndjson`]) and
//! Chrome/Perfetto trace-event JSON ([`export_perfetto`]).

mod counters;
pub mod filter;
mod ndjson;
mod perfetto;
mod reorder;
mod sem_flow;
mod trace_event;

pub use filter::{Filter, FilterError, Matcher, TimePoint};
pub use ndjson::export_ndjson;
pub use perfetto::{OBJECTS_PID, export_perfetto};

use crate::recording::ReadError;

/// What an export did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Events read from the recording.
    pub events_read: u64,
    /// Events that passed the filter.
    pub events_exported: u64,
    /// Bad lines skipped by the reader (with `skip_bad`).
    pub skipped_lines: u64,
    /// Entries written to `traceEvents` (Perfetto) or lines written (NDJSON).
    pub written: u64,
    /// Flow arrows from a V to the P it woke (Perfetto).
    pub flows: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The recording could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The output could not be written.
    #[error("cannot write the export: {}", crate::recording::os_message(.0))]
    Write(#[from] std::io::Error),
    /// A value could not be encoded as JSON.
    #[error("cannot encode the export: {0}")]
    Encode(#[from] serde_json::Error),
}
