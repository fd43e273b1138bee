//! A live tracing session: check privileges, load and attach the probes,
//! seed what already exists, self-test, start the traced command, then
//! hand out decoded events until the command exits, the duration is up or
//! a signal arrives; finally drain the ring, count drops and detach.
//!
//! On every other way out the kernel objects go with their file
//! descriptors: an error or a panic drops the [`Tracer`] (detach, close),
//! and SIGKILL closes them in the kernel. Nothing is ever pinned.

use super::child::TracedChild;
pub use super::error::SessionError;
use super::filter::LiveFilter;
use super::misses::{missed_runs, misses_now};
use super::pipeline::Pipeline;
use super::seed::seed_existing;
use super::test_hook;
use crate::decode::Decoder;
use crate::event::{DropReason, Event, EventKind, ProbeName, Stats};
use crate::probe::attach::{AttachOptions, Tracer};
use crate::probe::drop_counters::Losses;
use crate::probe::privilege::Privileges;
use crate::probe::{ProbeTable, system, tracefs};
use crate::recording::Header;
use crate::{selftest, source};
use ipc_trace_common::{RawEvent, probe};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// What ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The traced command exited with this shell-style code.
    ChildExited(i32),
    /// `--duration` elapsed.
    Duration,
    /// SIGINT, SIGTERM or SIGHUP (the terminal was closed).
    Signal,
    /// The consumer asked to stop (e.g. `q` in the TUI).
    Stopped,
}

pub use super::options::{LiveOptions, TraceOptions};

/// A running session.
pub struct Live {
    tracer: Tracer,
    pipeline: Pipeline,
    rx: mpsc::Receiver<RawEvent>,
    reader: tokio::task::JoinHandle<Result<source::ReaderExit, source::SourceError>>,
    stop_reader: tokio::sync::watch::Sender<bool>,
    child: Option<TracedChild>,
    deadline: Option<tokio::time::Instant>,
    header: Header,
    self_tgid: u32,
    started: Instant,
    drops_seen: Losses,
    /// When `drops_seen` was last brought up to date (the `since_ns` of the
    /// next drops events).
    drops_read_ns: u64,
    /// Each program's skipped-run counter when the session started.
    counters_at_start: BTreeMap<String, u64>,
    drop_poll: tokio::time::Interval,
    sigint: tokio::signal::unix::Signal,
    sigterm: tokio::signal::unix::Signal,
    sighup: tokio::signal::unix::Signal,
    raw_buf: Vec<RawEvent>,
}

pub use crate::clock::{monotonic_ns, realtime_ns};

/// The inode of this process's IPC namespace (what the probes report).
pub fn own_ipc_ns() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/ipc")
        .map(|m| m.ino() as u32)
        .unwrap_or(0)
}

pub use crate::probe::facts::kernel_offsets;

/// Prepares the attach options for `args` (offsets from BTF and tracefs).
pub fn attach_options(
    args: &TraceOptions,
    filter_tgids: bool,
) -> Result<AttachOptions, SessionError> {
    let root = tracefs::ensure_mounted()?;
    let (kernel_offsets, _missing) = args.btf.offsets()?;
    Ok(AttachOptions {
        backend: args.backend,
        ringbuf_bytes: args.ringbuf_bytes,
        max_inflight: args.max_inflight,
        filter_tgids,
        kernel_offsets,
        tracepoint_offsets: tracefs::tracepoint_offsets(&root),
        excluded: args.excluded,
        use_kernel_btf: args.btf.uses_kernel_btf(),
        stacks: args.stacks,
    })
}

impl Live {
    /// Starts a session. On error nothing stays attached.
    pub async fn start(opts: LiveOptions) -> Result<Live, SessionError> {
        // Losses are counted from the load on: the first drops window opens here.
        let loaded_ns = monotonic_ns();
        if let Some(program) = opts.cmd.first() {
            super::child::resolve(program)?;
        }
        let facts = system::gather();
        if let Some(msg) = Privileges::gather().error_line() {
            return Err(SessionError::Privileges(msg));
        }
        let filter_tgids = !opts.cmd.is_empty() || !opts.trace.pids.is_empty();
        let attach = attach_options(&opts.trace, filter_tgids)?;
        let mut tracer = Tracer::load_and_attach(&attach)?;
        test_hook::panic_if(test_hook::Point::AfterAttach);
        for pid in &opts.trace.pids {
            tracer.add_traced_tgid(*pid)?;
        }
        let mut decoder = Decoder::new(tracer.table());
        let mut filter =
            LiveFilter::new(opts.trace.comm.clone(), opts.trace.key, opts.trace.ipc_ns);
        seed_existing(&mut tracer, &mut decoder, &mut filter);

        let ring = tracer.take_ring()?;
        let stacks = tracer.take_stacks(&attach)?;
        let (tx, rx) = mpsc::channel(64 * 1024);
        let (stop_reader, stop_rx) = tokio::sync::watch::channel(false);
        let reader = source::spawn_reader_with_stop(
            ring,
            tx,
            stop_rx,
            std::sync::Arc::new(source::ReaderStats::default()),
        );
        let self_tgid = std::process::id();
        let counters_at_start = misses_now(&tracer);
        let mut live = Live {
            tracer,
            pipeline: Pipeline {
                decoder,
                filter,
                self_tgid,
                stacks,
                events: 0,
                events_by_probe: BTreeMap::new(),
            },
            rx,
            reader,
            stop_reader,
            child: None,
            deadline: opts.duration.map(|d| tokio::time::Instant::now() + d),
            header: Header::new(&facts.kernel_release, realtime_ns(), monotonic_ns()),
            self_tgid,
            started: Instant::now(),
            drops_seen: Losses::default(),
            drops_read_ns: loaded_ns,
            counters_at_start,
            drop_poll: tokio::time::interval(Duration::from_millis(500)),
            sigint: signal(SignalKind::interrupt())?,
            sigterm: signal(SignalKind::terminate())?,
            sighup: signal(SignalKind::hangup())?,
            raw_buf: Vec::new(),
        };
        if !opts.trace.no_selftest {
            live.self_test(filter_tgids).await?;
        }
        if !opts.cmd.is_empty() {
            live.tracer.add_traced_tgid(self_tgid)?;
            let spawned = TracedChild::spawn(&opts.cmd, opts.child_output.as_deref());
            live.tracer.remove_traced_tgid(self_tgid)?;
            let child = spawned?;
            if let Some(pid) = child.pid() {
                // Already added by the fork hook; this covers a kernel
                // where that hook could not attach.
                live.tracer.add_traced_tgid(pid)?;
            }
            live.child = Some(child);
        }
        live.header.command = opts.cmd.clone();
        live.header.filters = opts.trace.filters_json();
        live.header.system = serde_json::to_value(&facts).unwrap_or_default();
        live.header.probes = live.tracer.table().probes.clone();
        live.header.limits = live.tracer.limits();
        Ok(live)
    }

    async fn self_test(&mut self, filter_tgids: bool) -> Result<(), SessionError> {
        let me = self.self_tgid;
        if filter_tgids {
            self.tracer.add_traced_tgid(me)?;
        }
        let done = tokio::task::spawn_blocking(selftest::round_trip);
        let mut mine = Vec::new();
        let mut others = Vec::new();
        let outcome = done.await.map_err(SessionError::SelftestThread)?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            let last = selftest::is_last_record(&r, me);
            if (r.pid_tgid >> 32) as u32 == me {
                mine.push(r)
            } else {
                others.push(r)
            }
            if last {
                break;
            }
        }
        if filter_tgids {
            self.tracer.remove_traced_tgid(me)?;
        }
        outcome.map_err(SessionError::Selftest)?;
        let fired = selftest::fired(&mine, me);
        let table = self.tracer.table_mut();
        for id in selftest::EXERCISED {
            if let Some(row) = table.get_mut(id) {
                row.fired = row.attached.then_some(fired[id as usize]);
            }
        }
        // Other processes' records that arrived meanwhile are kept.
        self.raw_buf = others;
        Ok(())
    }

    /// The recording header (kernel, facts, probe table with self-test results).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The start-up banner: what this session cannot see and what that
    /// costs (empty when every fact is seen; see `probe::banner`).
    pub fn limits(&self) -> &[String] {
        &self.header.limits
    }

    /// The probe table.
    pub fn probe_table(&self) -> &ProbeTable {
        self.tracer.table()
    }

    /// Waits for the next events and appends them (decoded, filtered) to
    /// `out`. Returns `Some(end)` when the session should end; call
    /// `finish` then.
    pub async fn next_batch(&mut self, out: &mut Vec<Event>) -> Option<End> {
        if self.started.elapsed() >= test_hook::MID_SESSION_AFTER {
            test_hook::panic_if(test_hook::Point::MidSession);
        }
        let pending = std::mem::take(&mut self.raw_buf);
        for r in &pending {
            self.push(r, out);
        }
        if !out.is_empty() {
            return None;
        }
        let deadline = self.deadline;
        let sleep_until = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let child_exit = async {
            match self.child.as_mut() {
                Some(c) => c.wait().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = self.rx.recv() => match r {
                Some(r) => {
                    self.push(&r, out);
                    while let Ok(r) = self.rx.try_recv() {
                        self.push(&r, out);
                        if out.len() >= 4096 { break; }
                    }
                    None
                }
                None => Some(End::Stopped),
            },
            status = child_exit => {
                let code = status.map(|s| super::child::exit_code(&s)).unwrap_or(1);
                Some(End::ChildExited(code))
            }
            _ = sleep_until => Some(End::Duration),
            _ = self.drop_poll.tick() => { self.poll_drops(out); None }
            _ = self.sigint.recv() => Some(End::Signal),
            _ = self.sigterm.recv() => Some(End::Signal),
            _ = self.sighup.recv() => Some(End::Signal),
        }
    }

    fn push(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        self.pipeline.push(raw, out);
    }
}

impl Live {
    /// A `drops` event for every probe whose counters grew since the last
    /// poll, one per reason.
    fn poll_drops(&mut self, out: &mut Vec<Event>) {
        let now = self.tracer.drops();
        let since = std::mem::replace(&mut self.drops_read_ns, monotonic_ns());
        let pairs = [
            (&now.lost, &mut self.drops_seen.lost, None),
            (
                &now.exit_not_seen,
                &mut self.drops_seen.exit_not_seen,
                Some(DropReason::ExitNotSeen),
            ),
            (
                &now.inflight_full,
                &mut self.drops_seen.inflight_full,
                Some(DropReason::InflightFull),
            ),
        ];
        for (now, seen, reason) in pairs {
            for (i, (&n, seen)) in now.iter().zip(seen.iter_mut()).enumerate() {
                if n > *seen {
                    let mut ev = Event::new(monotonic_ns(), EventKind::Drops, 0, 0, "");
                    ev.probe = probe::name(i as u8).into();
                    ev.count = Some(n - *seen);
                    ev.reason = reason;
                    ev.since_ns = Some(since);
                    *seen = n;
                    self.pipeline.count(&ev);
                    out.push(ev);
                }
            }
        }
    }

    /// Stops: terminates the traced command if it still runs (on a signal
    /// or stop), drains what the kernel already produced, records final
    /// drops and detaches every probe. Returns the closing stats and each
    /// program's kernel counters read just before the detach.
    pub async fn finish(mut self, end: End, out: &mut Vec<Event>) -> Finished {
        if matches!(end, End::Signal | End::Stopped | End::Duration)
            && let Some(child) = self.child.as_mut()
        {
            child.terminate();
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        }
        // Stop the reader (it drains the ring into the channel one last
        // time) while receiving, so a full channel cannot stall it.
        let _ = self.stop_reader.send(true);
        let pending = std::mem::take(&mut self.raw_buf);
        for r in &pending {
            self.push(r, out);
        }
        let mut ring = None;
        loop {
            tokio::select! {
                exit = &mut self.reader => {
                    ring = exit.ok().and_then(|r| r.ok()).map(|e| (e.ring, e.stats));
                    break;
                }
                r = self.rx.recv() => match r {
                    Some(r) => self.push(&r, out),
                    None => break,
                },
            }
        }
        while let Ok(r) = self.rx.try_recv() {
            self.push(&r, out);
        }
        // Drops are read while the maps are alive; then detach, then take
        // what the programs wrote between the last drain and the detach.
        self.poll_drops(out);
        let programs = self.tracer.program_counters();
        let missed_by_program = missed_runs(&programs, &self.counters_at_start);
        let Live {
            tracer,
            mut pipeline,
            drops_seen,
            started,
            ..
        } = self;
        let raw_tail = detach_and_drain(tracer, ring);
        for r in &raw_tail {
            pipeline.push(r, out);
        }
        let by_probe = |counts: &[u64; probe::COUNT]| -> BTreeMap<ProbeName, u64> {
            counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (probe::name(i as u8).into(), *n))
                .collect()
        };
        let mut lost = drops_seen.lost;
        for (l, f) in lost.iter_mut().zip(drops_seen.inflight_full) {
            *l += f;
        }
        let stats = Stats {
            kind: "stats".into(),
            events: pipeline.events,
            dropped: lost.iter().sum(),
            dropped_by_probe: by_probe(&lost),
            inflight_full: drops_seen.inflight_full.iter().sum(),
            exits_not_seen: drops_seen.exit_not_seen.iter().sum(),
            exits_not_seen_by_probe: by_probe(&drops_seen.exit_not_seen),
            events_by_probe: pipeline.events_by_probe,
            duration_ns: started.elapsed().as_nanos() as u64,
            missed: missed_by_program.values().sum(),
            missed_by_program,
        };
        Finished { stats, programs }
    }
}

/// What a finished session hands back.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The recording's closing stats line.
    pub stats: Stats,
    /// Each program's kernel counters (by program name) just before the
    /// detach: run counts and run time (while `kernel.bpf_stats_enabled`
    /// is 1) and skipped runs.
    pub programs: Vec<(String, crate::probe::prog_stats::ProgCounters)>,
}

/// Detaches every probe (drops the tracer), then drains what is left in
/// the ring.
fn detach_and_drain(
    tracer: Tracer,
    ring: Option<(
        aya::maps::RingBuf<aya::maps::MapData>,
        std::sync::Arc<source::ReaderStats>,
    )>,
) -> Vec<RawEvent> {
    drop(tracer);
    let mut tail = Vec::new();
    if let Some((mut ring, stats)) = ring {
        source::drain(&mut ring, &stats, |r| tail.push(r));
    }
    tail
}
