//! `ipc-trace export`: filtered NDJSON or Perfetto trace JSON.

use super::{CmdError, CmdResult};
use crate::cli::ExportFormat;
use ipc_trace::export::filter::{parse_key, parse_kinds};
use ipc_trace::export::{ExportError, Filter, TimePoint, export_ndjson, export_perfetto};
use ipc_trace::recording::{OutputFile, ReadOptions, RecordingReader};
use std::path::Path;

/// Seconds from the start of the recording, as a time point.
fn since_start(secs: f64, flag: &str) -> Result<TimePoint, CmdError> {
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(CmdError::usage(format!(
            "--{flag} must be a number of seconds ≥ 0, got {secs}"
        )));
    }
    Ok(TimePoint::SinceStart((secs * 1e9) as u64))
}

/// Converts `file` to `format` in `output`, keeping the events that pass
/// the filters. The output appears only when complete.
#[allow(clippy::too_many_arguments)]
pub fn export(
    file: &Path,
    format: ExportFormat,
    (output, mode): (&Path, u32),
    key: Option<String>,
    id: Option<i32>,
    (pid, ipc_ns): (Option<u32>, Option<u32>),
    kind: Vec<String>,
    from: Option<f64>,
    to: Option<f64>,
    skip_bad: bool,
) -> CmdResult {
    let filter = Filter {
        key: key
            .as_deref()
            .map(parse_key)
            .transpose()
            .map_err(CmdError::usage)?,
        id,
        pid,
        ipc_ns,
        kinds: if kind.is_empty() {
            Vec::new()
        } else {
            parse_kinds(&kind.join(",")).map_err(CmdError::usage)?
        },
        from: from.map(|s| since_start(s, "from")).transpose()?,
        to: to.map(|s| since_start(s, "to")).transpose()?,
    };
    let options = if skip_bad {
        ReadOptions::skipping_bad()
    } else {
        ReadOptions::default()
    };
    let mut reader = RecordingReader::open(file, options).map_err(CmdError::usage)?;
    let mut out = OutputFile::create_with_mode(output, mode).map_err(CmdError::usage)?;
    let stats = match format {
        ExportFormat::Perfetto => export_perfetto(&mut reader, &mut out, &filter),
        ExportFormat::Ndjson => export_ndjson(&mut reader, &mut out, &filter),
    }
    .map_err(|e| match e {
        ExportError::Read(_) => CmdError::usage(e),
        _ => CmdError::runtime(e),
    })?;
    out.commit().map_err(CmdError::runtime)?;
    eprintln!(
        "ipc-trace: exported {} of {} events to {}{}",
        stats.events_exported,
        stats.events_read,
        output.display(),
        if stats.skipped_lines > 0 {
            format!(" ({} bad lines skipped)", stats.skipped_lines)
        } else {
            String::new()
        }
    );
    Ok(0)
}
