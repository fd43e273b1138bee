//! Streams a recording line by line through one reused buffer, so memory
//! stays flat however large the file is.

use super::errors::ReadError;
use super::parse::{parse_header, parse_record};
use super::{Header, Record, SchemaVersion};
use crate::event::{Event, Stats};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The longest line a recording may hold (a `sem_ctl` SETALL of the
/// largest possible set is well under 1 MiB).
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// Read buffer size for files.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// How to treat bad lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip bad lines (counted by [`RecordingReader::skipped`]) instead of
    /// stopping at the first. A bad header or an I/O error still stops.
    pub skip_bad: bool,
    /// How many of the skipped lines' errors to keep for reporting.
    pub keep_errors: usize,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            skip_bad: false,
            keep_errors: 10,
        }
    }
}

impl ReadOptions {
    /// Options that skip bad lines.
    pub fn skipping_bad() -> ReadOptions {
        ReadOptions {
            skip_bad: true,
            ..ReadOptions::default()
        }
    }
}

/// Reads a recording: the header at open, then an iterator over the events
/// and the stats line ([`Record::Event`], [`Record::Stats`]; the header is
/// [`RecordingReader::header`], not repeated by the iterator).
///
/// Without `skip_bad` the iterator yields the first error and then ends.
/// A recording that ends without its stats line yields
/// [`ReadError::NoStats`] at the end (kept in [`RecordingReader::errors`]
/// when skipping bad lines).
pub struct RecordingReader<R: BufRead> {
    input: R,
    buf: Vec<u8>,
    /// Lines consumed so far (the number of the last line read).
    line: u64,
    header: Header,
    version: SchemaVersion,
    options: ReadOptions,
    skipped: u64,
    unknown_kinds: u64,
    errors: Vec<ReadError>,
    events: u64,
    stats: Option<Stats>,
    done: bool,
}

/// What one read of the input produced.
enum LineRead {
    /// A line is in the buffer; `terminated` is false for a last line
    /// without its newline.
    Line { terminated: bool },
    /// A line longer than [`MAX_LINE_BYTES`] was consumed and dropped.
    TooLong,
    /// End of input.
    Eof,
}

impl RecordingReader<Box<dyn BufRead + Send>> {
    /// Opens a recording file (`-` = standard input) and reads its header.
    pub fn open(
        path: &Path,
        options: ReadOptions,
    ) -> Result<RecordingReader<Box<dyn BufRead + Send>>, ReadError> {
        let input: Box<dyn BufRead + Send> = if path == Path::new("-") {
            Box::new(BufReader::with_capacity(
                READ_BUFFER_BYTES,
                std::io::stdin(),
            ))
        } else {
            let file = std::fs::File::open(path).map_err(|source| ReadError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(ReadError::Open {
                    path: path.to_path_buf(),
                    source: std::io::Error::from_raw_os_error(libc::EISDIR),
                });
            }
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, file))
        };
        RecordingReader::new(input, options)
    }
}

impl<R: BufRead> RecordingReader<R> {
    /// Reads the header from `input`; the rest is read by iterating.
    pub fn new(mut input: R, options: ReadOptions) -> Result<RecordingReader<R>, ReadError> {
        let mut buf = Vec::with_capacity(4096);
        let mut line = 0;
        let header = loop {
            let read = read_line(&mut input, &mut buf, line + 1)?;
            line += 1;
            match read {
                LineRead::Eof => return Err(ReadError::Empty),
                LineRead::TooLong => {
                    return Err(ReadError::NotHeader {
                        line,
                        detail: format!("the first line is longer than {MAX_LINE_BYTES} bytes"),
                    });
                }
                LineRead::Line { .. } => {
                    let text = line_text(&buf, line)?;
                    if text.trim().is_empty() {
                        continue;
                    }
                    break parse_header(line, text)?;
                }
            }
        };
        let version = header.version().ok_or_else(|| ReadError::NotHeader {
            line,
            detail: format!("schema `{}` is not of the form ipc-trace/N", header.schema),
        })?;
        Ok(RecordingReader {
            input,
            buf,
            line,
            header,
            version,
            options,
            skipped: 0,
            unknown_kinds: 0,
            errors: Vec::new(),
            events: 0,
            stats: None,
            done: false,
        })
    }

    /// The header (line 1).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The number of the last line read (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Bad lines skipped so far (only with `skip_bad`).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Lines of a newer minor schema version whose kind this build does not
    /// know; they are skipped without being counted as bad.
    pub fn unknown_kinds_skipped(&self) -> u64 {
        self.unknown_kinds
    }

    /// The first errors met while skipping (at most `keep_errors`), and a
    /// missing stats line.
    pub fn errors(&self) -> &[ReadError] {
        &self.errors
    }

    /// Events returned so far.
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// The stats line, once read.
    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_ref()
    }

    /// Only the events (the stats line is still recorded in
    /// [`RecordingReader::stats`]); errors are passed through.
    pub fn events(&mut self) -> impl Iterator<Item = Result<Event, ReadError>> + '_ {
        self.filter_map(|r| match r {
            Ok(Record::Event(e)) => Some(Ok(*e)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Reads the next record; None at the end.
    fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        while !self.done {
            let read = match read_line(&mut self.input, &mut self.buf, self.line + 1) {
                Ok(read) => read,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let result = match read {
                LineRead::Eof => {
                    self.done = true;
                    if self.stats.is_some() {
                        return None;
                    }
                    let missing = ReadError::NoStats {
                        line: self.line + 1,
                    };
                    if self.options.skip_bad {
                        self.errors.push(missing);
                        return None;
                    }
                    return Some(Err(missing));
                }
                LineRead::TooLong => {
                    self.line += 1;
                    Err(ReadError::LineTooLong {
                        line: self.line,
                        limit: MAX_LINE_BYTES,
                    })
                }
                LineRead::Line { terminated } => {
                    self.line += 1;
                    match self.parse_line(terminated) {
                        None => continue,
                        Some(result) => result,
                    }
                }
            };
            match result {
                Ok(record) => return Some(Ok(record)),
                Err(ReadError::UnknownKind { .. }) if self.version.is_newer_minor() => {
                    self.unknown_kinds += 1;
                }
                Err(e) if self.options.skip_bad => {
                    self.skipped += 1;
                    if self.errors.len() < self.options.keep_errors {
                        self.errors.push(e);
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }

    /// Parses the line in the buffer; None for a blank line.
    fn parse_line(&mut self, terminated: bool) -> Option<Result<Record, ReadError>> {
        let line = self.line;
        let parsed = match line_text(&self.buf, line) {
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => parse_record(line.max(2), text),
            Err(e) => Err(e),
        };
        let parsed = match parsed {
            Err(_) if !terminated => Err(ReadError::Truncated { line }),
            other => other,
        };
        Some(match parsed {
            Ok(_) if self.stats.is_some() => Err(ReadError::AfterStats { line }),
            Ok(Record::Stats(stats)) => {
                self.stats = Some(stats.clone());
                Ok(Record::Stats(stats))
            }
            Ok(record) => {
                self.events += 1;
                Ok(record)
            }
            Err(e) => Err(e),
        })
    }
}

impl<R: BufRead> Iterator for RecordingReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// Reads one line (without its newline, and without a trailing `\r`) into
/// `buf`, never holding more than [`MAX_LINE_BYTES`] of it.
fn read_line<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    line: u64,
) -> Result<LineRead, ReadError> {
    let io = |source| ReadError::Io { line, source };
    buf.clear();
    let limit = MAX_LINE_BYTES as u64 + 1;
    let n = input
        .by_ref()
        .take(limit)
        .read_until(b'\n', buf)
        .map_err(io)?;
    if n == 0 {
        return Ok(LineRead::Eof);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(LineRead::Line { terminated: true });
    }
    if buf.len() > MAX_LINE_BYTES {
        buf.clear();
        buf.shrink_to(4096);
        input.skip_until(b'\n').map_err(io)?;
        return Ok(LineRead::TooLong);
    }
    Ok(LineRead::Line { terminated: false })
}

/// The buffer as text, or [`ReadError::NotUtf8`].
fn line_text(buf: &[u8], line: u64) -> Result<&str, ReadError> {
    std::str::from_utf8(buf).map_err(|e| ReadError::NotUtf8 {
        line,
        offset: e.valid_up_to(),
    })
}
