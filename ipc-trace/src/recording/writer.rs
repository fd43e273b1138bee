//! Writes a recording: header, events, stats, one JSON object per line.

use super::Header;
use super::errors::RecordingError;
use super::output::OutputFile;
use crate::event::{Event, Stats};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Writes a recording to a file (safely, see [`OutputFile`]) or standard
/// output. Call [`RecordingWriter::write_header`] first, then
/// [`RecordingWriter::write_event`] per event, then
/// [`RecordingWriter::finish`]; a writer dropped before `finish` leaves the
/// target untouched.
pub struct RecordingWriter {
    out: OutputFile,
    header_written: bool,
    events: u64,
    line: Vec<u8>,
}

impl RecordingWriter {
    /// Starts a recording at `path` (`-` = standard output).
    pub fn create(path: &Path) -> Result<RecordingWriter, RecordingError> {
        Ok(RecordingWriter::to_output(OutputFile::create(path)?))
    }

    /// [`RecordingWriter::create`] with permission bits `mode`.
    pub fn create_with_mode(path: &Path, mode: u32) -> Result<RecordingWriter, RecordingError> {
        Ok(RecordingWriter::to_output(OutputFile::create_with_mode(
            path, mode,
        )?))
    }

    /// Starts a recording on an already opened output.
    pub fn to_output(out: OutputFile) -> RecordingWriter {
        RecordingWriter {
            out,
            header_written: false,
            events: 0,
            line: Vec::with_capacity(512),
        }
    }

    /// Writes line 1. Must be called once, before any event.
    pub fn write_header(&mut self, header: &Header) -> Result<(), RecordingError> {
        if self.header_written {
            return Err(RecordingError::Order("the header was already written"));
        }
        self.write_line(header)?;
        self.header_written = true;
        Ok(())
    }

    /// Writes one event line.
    pub fn write_event(&mut self, event: &Event) -> Result<(), RecordingError> {
        if !self.header_written {
            return Err(RecordingError::Order("an event before the header"));
        }
        self.write_line(event)?;
        self.events += 1;
        Ok(())
    }

    /// On a write error (a full disk), keep what reached the disk as
    /// `PATH.partial` instead of removing it (see [`OutputFile`]).
    pub fn keep_partial_on_error(&mut self) {
        self.out.keep_partial_on_error();
    }

    /// Where a partial recording is kept (None for standard output).
    pub fn partial_path(&self) -> Option<std::path::PathBuf> {
        self.out.partial_path()
    }

    /// Gives up after a write error: keeps what reached the disk, cut after
    /// its last complete line, as [`RecordingWriter::partial_path`] (it has
    /// no stats line: readers report it truncated) and returns that path.
    pub fn abandon(self) -> Result<Option<std::path::PathBuf>, RecordingError> {
        self.out.abandon()
    }

    /// Events written so far.
    pub fn events_written(&self) -> u64 {
        self.events
    }

    /// Writes the stats line, flushes, syncs and renames the file into place.
    pub fn finish(mut self, stats: &Stats) -> Result<(), RecordingError> {
        if !self.header_written {
            return Err(RecordingError::Order("stats before the header"));
        }
        if stats.kind != "stats" {
            return Err(RecordingError::Order(
                "the stats line must have kind \"stats\"",
            ));
        }
        self.write_line(stats)?;
        self.out.commit()
    }

    fn write_line<T: Serialize>(&mut self, value: &T) -> Result<(), RecordingError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(|source| RecordingError::Write {
                path: self.out.path().to_path_buf(),
                source,
            })
    }
}
