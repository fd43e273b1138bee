//! Errors of reading and writing recordings. Every read error names the
//! line (1-based) and, where there is one, the field.

use std::path::PathBuf;

/// Why a recording (or a line of it) could not be read.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // each variant says what its fields hold
pub enum ReadError {
    /// The input could not be opened.
    #[error("cannot read {}: {}", path.display(), os_message(source))]
    Open {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading failed part way.
    #[error("line {line}: read error: {}", os_message(source))]
    Io {
        /// The line being read.
        line: u64,
        /// The OS error.
        source: std::io::Error,
    },
    /// Nothing but whitespace in the input.
    #[error("empty recording: no header line")]
    Empty,
    /// The first line is not an ipc-trace header.
    #[error("line {line}: not an ipc-trace recording: {detail}")]
    NotHeader {
        /// The header line (1 unless blank lines come first).
        line: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// The header names a major version this build does not read.
    #[error(
        "line {line}: schema {found} is not supported by this ipc-trace (reads {}/{})",
        super::SCHEMA_NAME,
        super::SCHEMA_MAJOR
    )]
    UnsupportedSchema {
        /// The header line (1 unless blank lines come first).
        line: u64,
        /// The `schema` value found.
        found: String,
    },
    /// The line is not valid UTF-8 (binary data).
    #[error("line {line}: not UTF-8 text: invalid byte at offset {offset} (binary data?)")]
    NotUtf8 {
        line: u64,
        /// Byte offset of the first invalid byte within the line.
        offset: usize,
    },
    /// The line is not JSON.
    #[error("line {line}: not JSON: {detail} at column {column}")]
    NotJson {
        line: u64,
        /// The parser's message.
        detail: String,
        /// 1-based column where parsing failed.
        column: usize,
    },
    /// The line is JSON but not an object.
    #[error("line {line}: not a JSON object (found {found})")]
    NotObject {
        line: u64,
        /// What was found instead (`array`, `number`, …).
        found: &'static str,
    },
    /// A field has the wrong type or an invalid value.
    #[error("line {line}: field `{field}`: {detail}")]
    Field {
        line: u64,
        /// Path of the field (`pid`, `ops[1].op`).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A field that this kind of record must carry is absent.
    #[error("line {line}: {kind} lacks field `{field}`")]
    MissingField {
        line: u64,
        /// The record's kind (`shm_fault`, `stats`, `header`).
        kind: String,
        /// The absent field.
        field: String,
    },
    /// The `kind` is not one this schema defines.
    #[error("line {line}: unknown kind `{kind}`")]
    UnknownKind {
        line: u64,
        /// The kind found.
        kind: String,
    },
    /// Any other malformation (e.g. a duplicated field).
    #[error("line {line}: {detail}")]
    Invalid {
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// The input ends inside a line that does not parse.
    #[error("line {line}: truncated (the input ends inside this line)")]
    Truncated {
        /// The last, incomplete line.
        line: u64,
    },
    /// A line longer than any record can be.
    #[error("line {line}: longer than {limit} bytes (not a recording line)")]
    LineTooLong {
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A header after line 1.
    #[error("line {line}: a second header (recordings cannot be concatenated)")]
    SecondHeader { line: u64 },
    /// A record after the stats line.
    #[error("line {line}: record after the stats line (the stats line must be last)")]
    AfterStats { line: u64 },
    /// The input ends without the stats line.
    #[error("line {line}: the recording ends without its stats line (truncated?)")]
    NoStats {
        /// The line after the last one read.
        line: u64,
    },
}

impl ReadError {
    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReadError::Open { .. } | ReadError::Empty => None,
            ReadError::NotHeader { line, .. }
            | ReadError::UnsupportedSchema { line, .. }
            | ReadError::Io { line, .. }
            | ReadError::NotUtf8 { line, .. }
            | ReadError::NotJson { line, .. }
            | ReadError::NotObject { line, .. }
            | ReadError::Field { line, .. }
            | ReadError::MissingField { line, .. }
            | ReadError::UnknownKind { line, .. }
            | ReadError::Invalid { line, .. }
            | ReadError::Truncated { line }
            | ReadError::LineTooLong { line, .. }
            | ReadError::SecondHeader { line }
            | ReadError::AfterStats { line }
            | ReadError::NoStats { line } => Some(*line),
        }
    }
}

/// Why a recording or an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// Creating, writing, syncing or renaming the output failed.
    #[error("cannot write {}: {}", path.display(), os_message(source))]
    Write {
        /// The output path (`-` for standard output).
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output path names a directory.
    #[error("cannot write {}: it is a directory (give a file name)", path.display())]
    IsDirectory {
        /// The output path.
        path: PathBuf,
    },
    /// `NAME.partial` exists: a recording to the same name was killed
    /// (it holds what that one wrote), or one is running now.
    #[error(
        "{} exists (a recording to the same name that was killed, or one still running): read it with `ipc-trace summary`, move it away or remove it",
        partial.display()
    )]
    PartialExists {
        /// The partial file.
        partial: PathBuf,
    },
    /// A record could not be encoded as JSON.
    #[error("cannot encode a record as JSON: {0}")]
    Encode(#[from] serde_json::Error),
    /// Records were written out of order (header first, stats last).
    #[error("recording written out of order: {0}")]
    Order(&'static str),
}

/// An OS error without the "(os error N)" suffix: "Permission denied".
pub(crate) fn os_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_like_strerror() {
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        let err = RecordingError::Write {
            path: PathBuf::from("/x/y"),
            source: e,
        };
        assert_eq!(err.to_string(), "cannot write /x/y: Permission denied");
    }
}
