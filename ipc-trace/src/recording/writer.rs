//! Writes a recording: header, events, stats, one JSON object per line.
//! Until the stats line the file is `NAME.partial`
//! ([`OutputFile::create_partial`]), flushed after the header and then at
//! least every [`FLUSH_EVERY`] while events come, so a recording that is
//! killed leaves what it had, which the reader reports truncated (no
//! stats line).

use super::Header;
use super::errors::RecordingError;
use super::output::OutputFile;
use crate::event::{Event, Stats};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest time an event written waits in the buffer (while more
/// events come; the stats line commits the rest).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Writes a recording to a file (safely, see [`OutputFile`]) or standard
/// output. Call [`RecordingWriter::write_header`] first, then
/// [`RecordingWriter::write_event`] per event, then
/// [`RecordingWriter::finish`]. A writer dropped before `finish` leaves the
/// target untouched; what it wrote after the header stays in
/// `NAME.partial`.
pub struct RecordingWriter {
    out: OutputFile,
    header_written: bool,
    events: u64,
    line: Vec<u8>,
    flushed_at: Instant,
}

impl RecordingWriter {
    /// Starts a recording at `path` (`-` = standard output).
    pub fn create(path: &Path) -> Result<RecordingWriter, RecordingError> {
        RecordingWriter::create_with_mode(path, super::output::DEFAULT_MODE)
    }

    /// [`RecordingWriter::create`] with permission bits `mode`.
    pub fn create_with_mode(path: &Path, mode: u32) -> Result<RecordingWriter, RecordingError> {
        Ok(RecordingWriter::to_output(OutputFile::create_partial(
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
            flushed_at: Instant::now(),
        }
    }

    /// Writes line 1. Must be called once, before any event.
    pub fn write_header(&mut self, header: &Header) -> Result<(), RecordingError> {
        if self.header_written {
            return Err(RecordingError::Order("the header was already written"));
        }
        self.write_line(header)?;
        self.header_written = true;
        self.out.keep_if_dropped();
        self.flush()
    }

    /// Writes one event line.
    pub fn write_event(&mut self, event: &Event) -> Result<(), RecordingError> {
        if !self.header_written {
            return Err(RecordingError::Order("an event before the header"));
        }
        self.write_line(event)?;
        self.events += 1;
        if self.flushed_at.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecordingError> {
        self.flushed_at = Instant::now();
        self.out.flush().map_err(|source| RecordingError::Write {
            path: self.out.path().to_path_buf(),
            source,
        })
    }

    /// Where the recording is while it is written (`PATH.partial`; None
    /// for standard output).
    pub fn partial_path(&self) -> Option<std::path::PathBuf> {
        self.out.partial_file()
    }

    /// Gives up after a write error: keeps what reached the disk, cut after
    /// its last complete line, at [`RecordingWriter::partial_path`] (it has
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
