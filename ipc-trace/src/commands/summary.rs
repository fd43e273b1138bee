//! `ipc-trace summary [FILE | -- CMD]`: the reconstructed lifecycles as a
//! report, from a recording (streamed) or from a live command.

use super::{CmdError, CmdResult};
use crate::cli::TraceArgs;
use ipc_trace::event::{Event, EventKind};
use ipc_trace::model::{Limits, State};
use ipc_trace::recording::{ReadOptions, Record, RecordingReader};
use ipc_trace::session::filter::LiveFilter;
use ipc_trace::session::live::{Live, LiveOptions, monotonic_ns, own_ipc_ns};
use ipc_trace::session::run::{exit_status, run_to_end};
use ipc_trace::summary::{Summary, render_text, summarize};
use std::path::Path;

/// Which events of a recording `summary FILE` applies: those passing
/// `--comm`, `--key` and `--ipc-ns` as a live session would filter them,
/// and with `--pid` those of the listed processes (a recording does not
/// say which processes they forked); counted losses always, since they
/// concern every lifecycle alive when they happened.
pub struct RecordingFilter {
    pids: Vec<u32>,
    live: LiveFilter,
}

impl RecordingFilter {
    /// The filter the trace arguments ask for.
    pub fn from_args(trace: &TraceArgs) -> RecordingFilter {
        RecordingFilter {
            pids: trace.pids.clone(),
            live: LiveFilter::new(trace.comm.clone(), trace.key, trace.ipc_ns),
        }
    }

    fn pass(&mut self, ev: &Event) -> bool {
        // Always asked, so that it learns the key of every id it sees.
        let by_rest = self.live.pass(ev);
        let by_pid =
            ev.kind == EventKind::Drops || self.pids.is_empty() || self.pids.contains(&ev.tgid);
        by_pid && by_rest
    }
}

/// Builds the model from a recording, streaming it (memory stays flat in
/// the number of events), applying only the events `filter` passes.
pub fn model_from_recording(
    file: &Path,
    skip_bad: bool,
    filter: &mut RecordingFilter,
) -> Result<(State, u64), CmdError> {
    let options = if skip_bad {
        ReadOptions::skipping_bad()
    } else {
        ReadOptions::default()
    };
    let mut reader = RecordingReader::open(file, options).map_err(CmdError::usage)?;
    let mut state = State::with_limits(Limits::without_log());
    for record in reader.by_ref() {
        match record.map_err(CmdError::usage)? {
            Record::Event(ev) => {
                if filter.pass(&ev) {
                    state.apply(&ev);
                }
            }
            Record::Header(_) | Record::Stats(_) => {}
        }
    }
    for e in reader.errors() {
        eprintln!("ipc-trace: skipped: {e}");
    }
    Ok((state, reader.skipped()))
}

/// Prints the summary of `file`, or of a live trace of `cmd`.
pub async fn summary(
    file: Option<&Path>,
    json: bool,
    skip_bad: bool,
    trace: TraceArgs,
    cmd: Vec<String>,
) -> CmdResult {
    let (summary, code) = match (file, cmd.is_empty()) {
        (Some(_), false) => {
            return Err(CmdError::usage(
                "give either a recording FILE or `-- CMD`, not both",
            ));
        }
        (None, true) => {
            return Err(CmdError::usage(
                "give a recording FILE (or `-` for stdin), or `-- CMD` to trace live",
            ));
        }
        (Some(file), true) => {
            let mut filter = RecordingFilter::from_args(&trace);
            let (state, skipped) = model_from_recording(file, skip_bad, &mut filter)?;
            if skipped > 0 {
                eprintln!("ipc-trace: {skipped} bad line(s) skipped");
            }
            (summarize(&state), 0)
        }
        (None, false) => live_summary(trace, cmd).await?,
    };
    print_summary(&summary, json)?;
    Ok(code)
}

fn print_summary(summary: &Summary, json: bool) -> Result<(), CmdError> {
    if json {
        let text = serde_json::to_string_pretty(summary).map_err(CmdError::runtime)?;
        println!("{text}");
    } else {
        print!("{}", render_text(summary));
    }
    Ok(())
}

/// Traces `cmd` and summarizes what it did.
async fn live_summary(trace: TraceArgs, cmd: Vec<String>) -> Result<(Summary, u8), CmdError> {
    let live = Live::start(LiveOptions {
        trace: trace.options(),
        cmd,
        duration: None,
        child_output: None,
    })
    .await?;
    super::warn_limits(&live);
    let mut state = State::with_limits(Limits::without_log());
    if let Ok(seeds) = ipc_trace::tui::Seeds::from_proc(own_ipc_ns(), monotonic_ns()) {
        state.seed(&seeds.shm, &seeds.sem, seeds.ipc_ns, seeds.now_ns);
    }
    let (end, _) = run_to_end(live, |ev| {
        state.apply(ev);
        Ok::<(), CmdError>(())
    })
    .await?;
    Ok((summarize(&state), exit_status(end)))
}
