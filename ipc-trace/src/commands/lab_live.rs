//! A live lab: its demo runs under a session and really stops at each
//! stage boundary (`ipc_trace::lab::pause`). Once every process the stage
//! waits for has stopped, and the events up to that moment are in, the
//! stage is shown while nothing of the demo runs; on a terminal the lab
//! waits for Enter (`q`: go on without pausing), with `--auto` it goes on at
//! once. The session keeps reading events and signals all the while: Ctrl-C
//! at the prompt ends the run like anywhere else, and no demo process is
//! ever left stopped.

use super::CmdError;
use super::lab::{LabArgs, find_demo};
use ipc_trace::event::Event;
use ipc_trace::lab::catalog::Lab;
use ipc_trace::lab::pause::{
    Arrival, Boundary, STOPS_WITHIN, StageFifo, resume_once_stopped, stopped,
};
use ipc_trace::lab::render::{Ink, stage_text};
use ipc_trace::lab::walk::Walk;
use ipc_trace::probe::ProbeTable;
use ipc_trace::session::live::{End, Live, LiveOptions, TraceOptions};
use ipc_trace::session::run::exit_status;
use std::time::Duration;

/// How long an interrupted lab waits for its demo to finish by itself.
const DEMO_ENDS_WITHIN: Duration = Duration::from_secs(10);

/// What a live lab hands back to the walk-through.
pub(super) struct LiveRun {
    pub walk: Walk,
    pub table: ProbeTable,
    pub status: u8,
    /// Stages already shown during the run, at their boundaries.
    pub shown: usize,
    /// Ctrl-C (or SIGTERM, SIGHUP) ended the run.
    pub interrupted: bool,
}

/// The session and what the run made of its events so far.
struct Run {
    live: Live,
    walk: Walk,
    batch: Vec<Event>,
}

impl Run {
    /// Waits for the next events and applies them; `Some` when the session ends.
    async fn step(&mut self) -> Option<End> {
        let end = self.live.next_batch(&mut self.batch).await;
        for ev in self.batch.drain(..) {
            self.walk.apply(&ev);
        }
        end
    }

    /// Applies events until the traced command exits (or `d` passes, or
    /// another signal comes), letting every process that stops at a point
    /// meanwhile go on at once.
    async fn pump_until_exit(&mut self, fifo: &mut StageFifo, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                end = self.step() => if end.is_some() { return },
                line = fifo.next_line() => match line {
                    Ok(Some(line)) => {
                        if let Ok(a) = Arrival::parse(&line) {
                            resume_once_stopped(a.pid, STOPS_WITHIN);
                        }
                    }
                    _ => return,
                },
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// Applies events for `d`; `Some` when the session ended meanwhile.
    async fn pump_for(&mut self, d: Duration) -> Option<End> {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                end = self.step() => if end.is_some() { return end },
                () = tokio::time::sleep_until(until) => return None,
            }
        }
    }
}

/// Runs `lab`'s demo under the tracer, showing each stage at its boundary.
pub(super) async fn run_live(
    lab: &'static Lab,
    args: &LabArgs,
    ink: Ink,
    interactive: bool,
) -> Result<LiveRun, CmdError> {
    let program = find_demo(lab.program)?;
    let fifo = StageFifo::create()
        .map_err(|e| CmdError::runtime(format!("cannot make the lab's stage FIFO: {e}")))?;
    let mut cmd = vec![program.to_string_lossy().into_owned()];
    cmd.extend(lab.args.iter().map(|a| (*a).to_string()));
    cmd.extend([
        "--stages".into(),
        fifo.path().to_string_lossy().into_owned(),
    ]);
    let trace = TraceOptions {
        excluded: args.exclude_probes.iter().copied().collect(),
        stacks: !args.no_stacks,
        ..TraceOptions::default()
    };
    println!(
        "Running `{} {}` under the tracer; it stops after each stage…",
        lab.program,
        lab.args.join(" ")
    );
    let live = Live::start(LiveOptions {
        trace,
        cmd,
        duration: None,
        child_output: None,
    })
    .await?;
    let table = live.probe_table().clone();
    let mut run = Run {
        live,
        walk: Walk::new(),
        batch: Vec::new(),
    };
    let mut fifo = fifo;
    let mut pausing = interactive;
    let mut shown = 0;
    let mut boundary = Boundary::new(lab.stages[0].pause_at);
    let end = loop {
        if !boundary.pauses() {
            if let Some(end) = run.step().await {
                break end;
            }
            continue;
        }
        let line = tokio::select! {
            end = run.step() => match end {
                Some(end) => break end,
                None => continue,
            },
            line = fifo.next_line() => line,
        };
        let line = line
            .map_err(|e| CmdError::runtime(format!("reading the lab's stage FIFO: {e}")))?
            .unwrap_or_default();
        if let Err(e) = Arrival::parse(&line).and_then(|a| boundary.arrive(a)) {
            eprintln!("ipc-trace lab: {e}; going on");
            continue;
        }
        if !boundary.complete() {
            continue;
        }
        if let Some(end) = wait_stopped(&mut run, &boundary).await {
            boundary.release();
            break end;
        }
        // A stopped process's records were written before it announced the
        // stop; the ring's reader hands them on within a drain interval.
        if let Some(end) = run.pump_for(3 * ipc_trace::source::DRAIN_INTERVAL).await {
            boundary.release();
            break end;
        }
        println!();
        print!("{}", stage_text(ink, lab, shown, &run.walk, &table));
        println!("\n{}", stopped_line(&boundary));
        shown += 1;
        if pausing {
            match wait_for_enter(&mut run).await {
                Ok(go_on) => pausing = go_on,
                Err(end) => {
                    boundary.release();
                    break end;
                }
            }
        }
        boundary.release();
        boundary = Boundary::new(lab.stages.get(shown).map_or(&[], |s| s.pause_at));
    };
    // Whatever arrived at a boundary the run did not reach goes on too.
    boundary.release();
    let interrupted = end == End::Signal;
    if interrupted {
        // The demo ignores SIGINT under a lab (`--stages`): let it finish
        // and remove what it made, rather than leave it half done.
        println!("\nInterrupted: the demo runs on to its end and removes what it made…");
        run.pump_until_exit(&mut fifo, DEMO_ENDS_WITHIN).await;
    }
    let mut rest = Vec::new();
    let _finished = run.live.finish(end, &mut rest).await;
    let Run { mut walk, .. } = run;
    for ev in &rest {
        walk.apply(ev);
    }
    walk.finish();
    println!("done: {} events.", walk.facts().events);
    Ok(LiveRun {
        walk,
        table,
        status: exit_status(end),
        shown,
        interrupted,
    })
}

/// Waits until the kernel shows every arrived process stopped, applying
/// events meanwhile; `Some` when the session ended first.
async fn wait_stopped(run: &mut Run, boundary: &Boundary) -> Option<End> {
    let deadline = tokio::time::Instant::now() + STOPS_WITHIN;
    loop {
        let all = boundary
            .pids()
            .iter()
            .all(|&pid| stopped(pid).unwrap_or(true));
        if all || tokio::time::Instant::now() >= deadline {
            if !all {
                eprintln!("ipc-trace lab: a demo process did not stop within {STOPS_WITHIN:?}");
            }
            return None;
        }
        if let Some(end) = run.pump_for(Duration::from_millis(5)).await {
            return Some(end);
        }
    }
}

/// What is stopped, and how to look at it meanwhile.
fn stopped_line(boundary: &Boundary) -> String {
    let who: Vec<String> = boundary
        .arrivals()
        .iter()
        .map(|a| format!("{} at `{}`", a.pid, a.point))
        .collect();
    format!(
        "Stopped now: {}.\nThe demo is frozen between two steps (state T in /proc/PID/stat); \
         what the kernel\nholds meanwhile: `ipcs -m -i ID`, `ipcs -s -i ID`, \
         `grep SYSV /proc/PID/maps`.",
        who.join(", ")
    )
}

/// Shows the prompt and waits for a line, applying events meanwhile. Ok:
/// whether to pause at the next stage too (`q` says no); Err: the session
/// ended first (Ctrl-C, the demo's end).
async fn wait_for_enter(run: &mut Run) -> Result<bool, End> {
    use std::io::Write;
    print!("\n[Enter] next stage, q: run to the end without pausing ");
    let _ = std::io::stdout().flush();
    // A plain thread, not `spawn_blocking`: the runtime would wait for a
    // read still pending when it shuts down.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line);
        let _ = tx.send(matches!(read, Ok(n) if n > 0) && !line.trim().eq_ignore_ascii_case("q"));
    });
    loop {
        tokio::select! {
            go_on = &mut rx => return Ok(go_on.unwrap_or(false)),
            end = run.step() => if let Some(end) = end { return Err(end) },
        }
    }
}
