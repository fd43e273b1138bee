//! `ipc-trace record`: a live session written as NDJSON.

use super::{CmdError, CmdResult, warn_limits};
use crate::cli::TraceArgs;
use ipc_trace::event::Event;
use ipc_trace::model::{Limits, State};
use ipc_trace::recording::RecordingError;
use ipc_trace::recording::RecordingWriter;
use ipc_trace::session::live::End;
use ipc_trace::session::live::{Live, LiveOptions};
use ipc_trace::session::run::{exit_status, pump};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// What `record` writes and when it stops (its own flags).
pub struct RecordOutputs<'a> {
    /// The recording.
    pub output: &'a Path,
    /// Its permission bits.
    pub mode: u32,
    /// `--duration` seconds.
    pub duration: Option<f64>,
    /// `--echo`.
    pub echo: bool,
    /// `--summary-out`.
    pub summary_out: Option<&'a Path>,
    /// `--program-stats`.
    pub program_stats: Option<&'a Path>,
}

/// Records events to `output` until the command exits, `duration` passes,
/// or SIGINT/SIGTERM; the file is complete (header, events, stats) in every
/// case. With a command, exits with the command's status. With
/// `summary_out`, also writes the summary of the model built live (the same
/// a replay of the file must give).
///
/// When the file cannot be written (a full disk), recording stops but a
/// traced command is left to run to its end (never killed for it); then
/// the session is finished, what reached the disk is kept as
/// `FILE.partial` up to its last complete line, and the exit status is 1
/// with one line naming the file and the OS error.
pub async fn record(out: RecordOutputs<'_>, trace: TraceArgs, cmd: Vec<String>) -> CmdResult {
    let RecordOutputs {
        output,
        mode,
        duration,
        echo,
        summary_out,
        program_stats,
    } = out;
    if trace.dry_run {
        return super::doctor::plan(&trace);
    }
    let duration = match duration {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(CmdError::usage(format!(
                "--duration must be a positive number of seconds, got {s}"
            )));
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let mut writer = RecordingWriter::create_with_mode(output, mode).map_err(CmdError::usage)?;
    let has_command = !cmd.is_empty();
    let mut live = Live::start(LiveOptions {
        trace: trace.options(),
        cmd,
        duration,
        child_output: None,
    })
    .await?;
    warn_limits(&live);
    let mut failed = writer.write_header(live.header()).err();
    let mut model = summary_out.map(|_| State::with_limits(Limits::without_log()));
    let mut write = |ev: &Event| -> Result<(), StopRecording> {
        if failed.is_some() {
            // The command keeps running; its events are not kept.
            return if has_command {
                Ok(())
            } else {
                Err(StopRecording)
            };
        }
        if echo {
            eprintln!("{}", serde_json::to_string(ev).unwrap_or_default());
        }
        if let Some(m) = model.as_mut() {
            m.apply(ev);
        }
        if let Err(e) = writer.write_event(ev) {
            failed = Some(e);
        }
        Ok(())
    };
    let end = match pump(&mut live, &mut write).await {
        Ok((end, _)) => end,
        Err(StopRecording) => End::Stopped,
    };
    let mut rest = Vec::new();
    let finished = live.finish(end, &mut rest).await;
    for ev in &rest {
        let _ = write(ev);
    }
    if let Some(e) = failed {
        return Err(lost(&e, writer.abandon(), end));
    }
    let stats = finished.stats;
    let partial = writer.partial_path();
    if let Err(e) = writer.finish(&stats) {
        let kept = Ok(partial.filter(|p| p.exists()));
        return Err(lost(&e, kept, end));
    }
    if let Some(path) = program_stats {
        super::program_stats::write(path, &finished.programs, stats.events)
            .map_err(CmdError::runtime)?;
    }
    if let (Some(path), Some(m)) = (summary_out, model.as_ref()) {
        let text = serde_json::to_string_pretty(&ipc_trace::summary::summarize(m))
            .map_err(CmdError::runtime)?;
        std::fs::write(path, text)
            .map_err(|e| CmdError::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    let mut dropped = String::new();
    let ring_full = stats.dropped - stats.inflight_full.min(stats.dropped);
    if stats.dropped > 0 {
        dropped.push_str(&format!(
            ", {} LOST (per probe in the stats line's dropped_by_probe)",
            stats.dropped
        ));
    }
    if ring_full > 0 {
        dropped.push_str(&format!(
            ", {ring_full} of them because the ring buffer was full (try a larger --ringbuf-size)"
        ));
    }
    if stats.inflight_full > 0 {
        dropped.push_str(&format!(
            ", {} of them because more tasks were inside traced calls at once than the in-flight maps hold (try a larger --max-inflight)",
            stats.inflight_full
        ));
    }
    if stats.exits_not_seen > 0 {
        dropped.push_str(&format!(
            ", {} syscall records discarded because the kernel never ran their exit (exits_not_seen_by_probe)",
            stats.exits_not_seen
        ));
    }
    if stats.missed > 0 {
        dropped.push_str(&format!(
            ", {} program runs skipped by the kernel (another BPF program was running on that CPU; per program in missed_by_program): events of traced tasks among them, if any, are lost",
            stats.missed
        ));
    }
    eprintln!(
        "ipc-trace: recorded {} events to {}{dropped}",
        stats.events,
        output.display()
    );
    Ok(exit_status(end))
}

/// Ends a session without a command after a write error.
struct StopRecording;

/// The one line of a recording that could not be written: the error, where
/// its partial data is, and that a traced command ran to its end.
fn lost(e: &RecordingError, kept: Result<Option<PathBuf>, RecordingError>, end: End) -> CmdError {
    let mut line = format!("{e}; recording stopped");
    match kept {
        Ok(Some(p)) => line.push_str(&format!(
            ", what was written is kept in {} up to its last complete line (no stats line: readers report it truncated)",
            p.display()
        )),
        Ok(None) => {}
        Err(k) => line.push_str(&format!(", and its partial data is lost ({k})")),
    }
    if let End::ChildExited(code) = end {
        line.push_str(&format!(
            "; the traced command ran to its end (exit status {code})"
        ));
    }
    CmdError::runtime(line)
}
