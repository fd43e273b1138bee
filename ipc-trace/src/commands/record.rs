//! `ipc-trace record`: a live session written as NDJSON.

use super::{CmdError, CmdResult, warn_skipped};
use crate::cli::TraceArgs;
use crate::recording::RecordingWriter;
use crate::session::live::{End, Live, LiveOptions};
use std::path::Path;
use std::time::Duration;

/// Records events to `output` until the command exits, `duration` passes,
/// or SIGINT/SIGTERM; the file is complete (header, events, stats) in every
/// case. With a command, exits with the command's status.
pub async fn record(
    output: &Path,
    duration: Option<f64>,
    echo: bool,
    trace: TraceArgs,
    cmd: Vec<String>,
) -> CmdResult {
    if trace.dry_run {
        return super::doctor::plan(&trace);
    }
    let duration = match duration {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(CmdError::usage(format!("--duration must be a positive number of seconds, got {s}")));
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let mut writer = RecordingWriter::create(output).map_err(CmdError::usage)?;
    let mut live = Live::start(LiveOptions { trace, cmd, duration }).await?;
    warn_skipped(live.probe_table());
    writer.write_header(live.header()).map_err(CmdError::runtime)?;
    let mut batch = Vec::new();
    let end = loop {
        let end = live.next_batch(&mut batch).await;
        for ev in batch.drain(..) {
            if echo {
                eprintln!("{}", serde_json::to_string(&ev).unwrap_or_default());
            }
            writer.write_event(&ev).map_err(CmdError::runtime)?;
        }
        if let Some(end) = end {
            break end;
        }
    };
    let stats = live.finish(end, &mut batch).await;
    for ev in batch.drain(..) {
        writer.write_event(&ev).map_err(CmdError::runtime)?;
    }
    writer.finish(&stats).map_err(CmdError::runtime)?;
    let dropped = if stats.dropped > 0 {
        format!(", {} LOST (ring buffer full: try a larger --ringbuf-size)", stats.dropped)
    } else {
        String::new()
    };
    eprintln!("ipc-trace: recorded {} events to {}{dropped}", stats.events, output.display());
    Ok(match end {
        End::ChildExited(code) => u8::try_from(code).unwrap_or(1),
        End::Duration | End::Signal | End::Stopped => 0,
    })
}
