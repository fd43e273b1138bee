//! Recordings: the `ipc-trace/1` NDJSON format (docs/SCHEMA.md).
//!
//! Line 1 is a [`Header`], then one [`Event`] per line, and the last line is
//! the [`Stats`] line. [`RecordingWriter`] writes one safely (temporary file,
//! renamed on finish); [`RecordingReader`] streams one back line by line.

mod errors;
mod output;
mod parse;
mod partial;
mod reader;
mod writer;

pub(crate) use errors::os_message;
pub use errors::{ReadError, RecordingError};
pub use output::{DEFAULT_MODE, OutputFile, partial_path};
pub use parse::parse_record;
pub use reader::{ReadOptions, RecordingReader};
pub use writer::RecordingWriter;

use crate::event::{Event, Stats};
use crate::probe::ProbeStatus;
use serde::{Deserialize, Serialize};

/// The schema name written in every header (`"schema": "ipc-trace/1.2"`;
/// 1.1 added the `proc_fork` and `proc_exec` kinds).
pub const SCHEMA: &str = "ipc-trace/1.2";
/// The schema family: everything before the `/` of [`SCHEMA`].
pub const SCHEMA_NAME: &str = "ipc-trace";
/// The major version this build reads and writes.
pub const SCHEMA_MAJOR: u32 = 1;
/// The newest minor version this build knows (lines of a newer minor version
/// may carry kinds it does not know; those are skipped, not rejected).
pub const SCHEMA_MINOR: u32 = 2;

/// A parsed `"schema"` value such as `ipc-trace/1` or `ipc-trace/1.2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaVersion {
    /// Incompatible changes bump it.
    pub major: u32,
    /// Additive changes (new kinds) may bump it; 0 when absent.
    pub minor: u32,
}

impl SchemaVersion {
    /// Parses `ipc-trace/MAJOR[.MINOR]`; None when it is not of that form.
    pub fn parse(schema: &str) -> Option<SchemaVersion> {
        let version = schema.strip_prefix(SCHEMA_NAME)?.strip_prefix('/')?;
        let (major, minor) = match version.split_once('.') {
            Some((major, minor)) => (major, minor),
            None => (version, "0"),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(SchemaVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// True when this build can read recordings of this version.
    pub fn is_supported(self) -> bool {
        self.major == SCHEMA_MAJOR
    }

    /// True when the recording may hold kinds newer than this build knows.
    pub fn is_newer_minor(self) -> bool {
        self.major == SCHEMA_MAJOR && self.minor > SCHEMA_MINOR
    }
}

/// The first line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`SCHEMA`] when written by this build.
    pub schema: String,
    /// Version of the ipc-trace that wrote the file.
    pub tool_version: String,
    /// Kernel release (`uname -r`) of the traced machine.
    pub kernel: String,
    /// Wall clock (CLOCK_REALTIME, ns since the Unix epoch) when tracing started.
    pub started_unix_ns: u64,
    /// CLOCK_MONOTONIC ns at the same instant: an event's wall-clock time is
    /// `started_unix_ns + (ts_ns - started_monotonic_ns)`.
    pub started_monotonic_ns: u64,
    /// The traced command (`record -- CMD ARGS…`); empty when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Filters in force while recording (`pid`, `comm`, `key`, `ipc_ns`),
    /// and `exports`: one entry per filtered re-export.
    #[serde(default)]
    pub filters: serde_json::Map<String, serde_json::Value>,
    /// Facts about the traced system (BTF, lockdown, …): free-form.
    #[serde(default)]
    pub system: serde_json::Value,
    /// The probe table: one row per probe, attached or why not.
    pub probes: Vec<ProbeStatus>,
    /// The start-up banner: what the session could not see and what that
    /// cost, one sentence per line (absent when everything was seen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
}

impl Header {
    /// A header of the current schema with empty command, filters, system
    /// facts and probe table.
    pub fn new(kernel: &str, started_unix_ns: u64, started_monotonic_ns: u64) -> Header {
        Header {
            schema: SCHEMA.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            kernel: kernel.to_string(),
            started_unix_ns,
            started_monotonic_ns,
            command: Vec::new(),
            filters: serde_json::Map::new(),
            system: serde_json::Value::Object(serde_json::Map::new()),
            probes: Vec::new(),
            limits: Vec::new(),
        }
    }

    /// The parsed schema version (None when the `schema` field is not of the
    /// form `ipc-trace/N[.M]`).
    pub fn version(&self) -> Option<SchemaVersion> {
        SchemaVersion::parse(&self.schema)
    }
}

/// One line of a recording.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// Line 1.
    Header(Box<Header>),
    /// Every line between the header and the stats line.
    Event(Box<Event>),
    /// The last line.
    Stats(Stats),
}

impl Record {
    /// The event, when this record is one.
    pub fn as_event(&self) -> Option<&Event> {
        match self {
            Record::Event(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_versions_parse() {
        let v = |s| SchemaVersion::parse(s);
        assert_eq!(v("ipc-trace/1"), Some(SchemaVersion { major: 1, minor: 0 }));
        assert_eq!(
            v("ipc-trace/1.3"),
            Some(SchemaVersion { major: 1, minor: 3 })
        );
        assert_eq!(v("ipc-trace/2"), Some(SchemaVersion { major: 2, minor: 0 }));
        for bad in [
            "ipc-trace/",
            "ipc-trace/x",
            "ipc-trace/1.",
            "other/1",
            "ipc-trace1",
            "ipc-trace/+1",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert!(SchemaVersion { major: 1, minor: 7 }.is_supported());
        assert!(SchemaVersion { major: 1, minor: 7 }.is_newer_minor());
        assert!(!SchemaVersion { major: 2, minor: 0 }.is_supported());
    }

    #[test]
    fn a_new_header_names_the_current_schema() {
        let h = Header::new("6.18.0", 1, 2);
        assert_eq!(
            h.version(),
            Some(SchemaVersion {
                major: SCHEMA_MAJOR,
                minor: SCHEMA_MINOR
            })
        );
    }
}
