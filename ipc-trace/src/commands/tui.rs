//! `ipc-trace` / `ipc-trace tui`: the live TUI over a tracing session, and
//! `ipc-trace replay FILE`: the same TUI over a recording.

use super::{CmdError, CmdResult};
use crate::cli::TraceArgs;
use ipc_trace::event::Event;
use ipc_trace::probe::ProbeTable;
use ipc_trace::recording::{ReadOptions, Record, RecordingReader};
use ipc_trace::session::live::{End, Live, LiveOptions, monotonic_ns, own_ipc_ns};
use ipc_trace::tui::{self, Feed, FeedInfo, Seeds};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, watch};

/// Tells the UI to close when dropped while armed.
struct CloseUi {
    tx: watch::Sender<bool>,
    armed: bool,
}

impl Drop for CloseUi {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.tx.send(true);
        }
    }
}

/// Capacity of the channel between the event source and the TUI.
const FEED_CAPACITY: usize = 64 * 1024;

/// Where the traced command's output goes while the TUI owns the terminal.
fn child_log_path() -> PathBuf {
    std::env::temp_dir().join(format!("ipc-trace-{}.log", std::process::id()))
}

/// Opens the live TUI; with `cmd`, on that command and its descendants.
/// Closes on `q`, and on SIGINT, SIGTERM or SIGHUP (after the session
/// detached); a panic of the session closes it too, then exits as a panic.
pub async fn tui(trace: TraceArgs, cmd: Vec<String>) -> CmdResult {
    if trace.dry_run {
        return super::doctor::plan(&trace);
    }
    let log = (!cmd.is_empty()).then(child_log_path);
    let source = if cmd.is_empty() {
        "live".to_string()
    } else {
        format!("live: {}", cmd.join(" "))
    };
    let opts = LiveOptions {
        trace: trace.options(),
        cmd,
        duration: None,
        child_output: log.clone(),
    };
    let mut live = Live::start(opts).await?;
    super::warn_limits(&live);
    let seeds = Seeds::from_proc(own_ipc_ns(), monotonic_ns()).unwrap_or_default();
    let info = FeedInfo {
        kernel: live.header().kernel.clone(),
        probes: live.probe_table().clone(),
        source,
        live_clock: true,
    };
    let (tx, rx) = mpsc::channel(FEED_CAPACITY);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (close_tx, mut close_rx) = watch::channel(false);
    let pump = tokio::spawn(async move {
        // Closes the UI when the session ends by a signal, or when this
        // task panics (the guard is dropped while unwinding).
        let mut close = CloseUi {
            tx: close_tx,
            armed: true,
        };
        let mut batch = Vec::new();
        let end = 'session: loop {
            let end = tokio::select! {
                end = live.next_batch(&mut batch) => end,
                _ = stop_rx.wait_for(|stop| *stop) => Some(End::Stopped),
            };
            for ev in batch.drain(..) {
                if tx.send(ev).await.is_err() {
                    break 'session End::Stopped;
                }
            }
            if let Some(end) = end {
                break end;
            }
        };
        let stats = live.finish(end, &mut batch).await.stats;
        for ev in batch.drain(..) {
            let _ = tx.try_send(ev);
        }
        close.armed = end == End::Signal;
        (end, stats)
    });
    let feed = Feed {
        events: rx,
        info,
        seeds,
        cursor: None,
    };
    // Leaving `run` early drops its terminal guard: the terminal is restored.
    // Only a `true` closes the UI: the sender is dropped, without one, when
    // the traced command exited, and the UI stays open on the data then.
    let ui = tokio::select! {
        ui = tui::run(feed) => ui,
        Ok(_) = close_rx.wait_for(|close| *close) => Ok(()),
    };
    let _ = stop_tx.send(true);
    let (end, stats) = match pump.await {
        Ok(done) => done,
        // The panic was reported by the hook; exit as a panic does.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => return Err(CmdError::runtime(format!("tracing task failed: {e}"))),
    };
    ui.map_err(|e| CmdError::runtime(format!("terminal UI failed: {e:#}")))?;
    // Standard error may be a terminal that is gone (SIGHUP): no panic then.
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "ipc-trace: {} events, {} dropped; probes detached",
        stats.events, stats.dropped
    );
    if let Some(log) = log {
        let _ = writeln!(
            stderr,
            "ipc-trace: the traced command's output is in {}",
            log.display()
        );
    }
    Ok(match end {
        End::ChildExited(code) => u8::try_from(code).unwrap_or(1),
        _ => 0,
    })
}

/// Opens the TUI on a recording; bad input is reported after the TUI
/// closes, naming the line (exit status 2).
pub async fn replay(file: &Path, skip_bad: bool, step: bool) -> CmdResult {
    let options = if skip_bad {
        ReadOptions::skipping_bad()
    } else {
        ReadOptions::default()
    };
    let reader = RecordingReader::open(file, options).map_err(CmdError::usage)?;
    let header = reader.header().clone();
    let info = FeedInfo {
        kernel: header.kernel.clone(),
        probes: ProbeTable {
            probes: header.probes.clone(),
        },
        source: format!("replay {}", file.display()),
        live_clock: false,
    };
    if step {
        let cursor = load_for_stepping(reader)?;
        let (_, rx) = mpsc::channel::<Event>(1);
        let ui = tui::run(Feed {
            events: rx,
            info,
            seeds: Seeds::default(),
            cursor: Some(cursor),
        })
        .await;
        ui.map_err(|e| CmdError::runtime(format!("terminal UI failed: {e:#}")))?;
        return Ok(0);
    }
    let (tx, rx) = mpsc::channel::<Event>(FEED_CAPACITY);
    let feeder = tokio::task::spawn_blocking(move || feed_recording(reader, tx));
    let ui = tui::run(Feed {
        events: rx,
        info,
        seeds: Seeds::default(),
        cursor: None,
    })
    .await;
    let outcome = feeder
        .await
        .map_err(|e| CmdError::runtime(format!("reader task failed: {e}")))?;
    ui.map_err(|e| CmdError::runtime(format!("terminal UI failed: {e:#}")))?;
    outcome
}

/// Reads a whole recording for a stepped replay; bad input and a recording
/// too large to hold are usage errors (before the TUI opens).
fn load_for_stepping(
    mut reader: RecordingReader<Box<dyn std::io::BufRead + Send>>,
) -> Result<tui::cursor::Cursor, CmdError> {
    let mut events = Vec::new();
    for record in reader.by_ref() {
        match record.map_err(CmdError::usage)? {
            Record::Event(ev) => {
                if events.len() == tui::cursor::MAX_EVENTS {
                    return Err(CmdError::usage(format!(
                        "the recording has more than {} events: too many to step through (replay it without --step, or export a part with `ipc-trace export --pid/--key`)",
                        tui::cursor::MAX_EVENTS
                    )));
                }
                events.push(*ev);
            }
            Record::Header(_) | Record::Stats(_) => {}
        }
    }
    Ok(tui::cursor::Cursor::new(events))
}

/// Streams a recording's events into the TUI's channel (blocking: memory
/// stays flat however large the file).
fn feed_recording(
    mut reader: RecordingReader<Box<dyn std::io::BufRead + Send>>,
    tx: mpsc::Sender<Event>,
) -> CmdResult {
    for record in reader.by_ref() {
        match record {
            Ok(Record::Event(ev)) => {
                if tx.blocking_send(*ev).is_err() {
                    return Ok(0);
                }
            }
            Ok(_) => {}
            Err(e) => return Err(CmdError::usage(e)),
        }
    }
    if reader.skipped() > 0 {
        eprintln!("ipc-trace: skipped {} bad line(s)", reader.skipped());
        for e in reader.errors() {
            eprintln!("  {e}");
        }
    }
    Ok(0)
}
