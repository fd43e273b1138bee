//! Filtered NDJSON: the header (with the filter recorded under
//! `filters.exports`), the events that pass the filter, and a recomputed
//! stats line. Streams: one event in memory at a time.

use super::{ExportError, ExportStats, Filter};
use crate::event::{Event, Stats};
use crate::recording::{Record, RecordingReader, SCHEMA};
use serde::Serialize;
use std::io::{BufRead, BufWriter, Write};

/// Re-emits the events of `reader` that pass `filter` as an `ipc-trace/1`
/// recording on `out`.
///
/// The stats line counts the events written (`events`, `events_by_probe`);
/// `dropped` and `dropped_by_probe` are the original recording's (lost
/// events cannot be attributed to a filter); `duration_ns` is the original
/// duration clipped to the filter's time range.
pub fn export_ndjson<R: BufRead, W: Write>(
    reader: &mut RecordingReader<R>,
    out: W,
    filter: &Filter,
) -> Result<ExportStats, ExportError> {
    let mut out = BufWriter::new(out);
    let mut header = reader.header().clone();
    let original_schema = std::mem::replace(&mut header.schema, SCHEMA.to_string());
    let exports = header
        .filters
        .entry("exports")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if !exports.is_array() {
        *exports = serde_json::Value::Array(vec![exports.take()]);
    }
    if let serde_json::Value::Array(list) = exports {
        list.push(serde_json::json!({
            "tool_version": env!("CARGO_PKG_VERSION"),
            "from_schema": original_schema,
            "filter": filter,
        }));
    }
    write_line(&mut out, &header)?;

    let mut matcher = filter.matcher(reader.header());
    let mut stats = ExportStats::default();
    let mut totals = Stats {
        kind: "stats".to_string(),
        ..Stats::default()
    };
    let mut original: Option<Stats> = None;
    for record in reader.by_ref() {
        match record? {
            Record::Event(event) => {
                stats.events_read += 1;
                if matcher.matches(&event) {
                    count(&mut totals, &event);
                    write_line(&mut out, &event)?;
                    stats.events_exported += 1;
                }
            }
            Record::Stats(s) => original = Some(s),
            Record::Header(_) => {}
        }
    }
    stats.skipped_lines = reader.skipped();
    let header = reader.header();
    if let Some(original) = original {
        totals.dropped = original.dropped;
        totals.dropped_by_probe = original.dropped_by_probe;
        totals.inflight_full = original.inflight_full;
        totals.missed = original.missed;
        totals.exits_not_seen = original.exits_not_seen;
        totals.exits_not_seen_by_probe = original.exits_not_seen_by_probe;
        totals.missed_by_program = original.missed_by_program;
        let start = header.started_monotonic_ns;
        let end = start.saturating_add(original.duration_ns);
        let from = filter.from.map_or(start, |t| t.resolve(header).max(start));
        let to = filter.to.map_or(end, |t| t.resolve(header).min(end));
        totals.duration_ns = to.saturating_sub(from);
    }
    write_line(&mut out, &totals)?;
    out.flush()?;
    stats.written = stats.events_exported + 2;
    Ok(stats)
}

fn count(totals: &mut Stats, event: &Event) {
    totals.events += 1;
    *totals
        .events_by_probe
        .entry(event.probe.clone())
        .or_insert(0) += 1;
}

fn write_line<W: Write, T: Serialize>(out: &mut W, value: &T) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}
