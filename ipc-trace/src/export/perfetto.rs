//! Chrome trace-event JSON for the Perfetto UI (ui.perfetto.dev, "Open
//! trace file"): one track per process and thread, `X` slices for calls
//! and for blocked semaphore waits, `i` instants for page faults and
//! lifecycle events, `C` counters for semaphore values and pages resident
//! (on a pseudo-process named "System V IPC objects", pid [`OBJECTS_PID`]),
//! and `s`/`f` flow arrows from a V to the P it woke (see `sem_flow`).
//!
//! The recording is read once, in order; the entries (not the events) are
//! kept, sorted by time and written at the end.

use super::counters::{CounterUpdate, Counters};
use super::reorder::Reorder;
use super::sem_flow::{WakeFlows, blocked_slice};
use super::trace_event::{Names, Phase, TraceEvent, write_event, write_name};
use super::{ExportError, ExportStats, Filter};
use crate::event::{Event, EventKind};
use crate::recording::{Header, Record, RecordingReader};
use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};

/// The pid of the pseudo-process holding the counter tracks of IPC objects:
/// one above the kernel's `PID_MAX_LIMIT`, so never a real process.
pub const OBJECTS_PID: u32 = 4_194_305;

/// Writes the events of `reader` that pass `filter` as Chrome trace-event
/// JSON on `out`. Counter values and wake-ups are derived from every event
/// (so values are right under a filter) but drawn only for kept events.
pub fn export_perfetto<R: BufRead, W: Write>(
    reader: &mut RecordingReader<R>,
    out: W,
    filter: &Filter,
) -> Result<ExportStats, ExportError> {
    let header = reader.header().clone();
    let mut matcher = filter.matcher(&header);
    let mut reorder = Reorder::new();
    let mut builder = Builder::default();
    for record in reader.by_ref() {
        if let Record::Event(event) = record? {
            builder.stats.events_read += 1;
            let kept = matcher.matches(&event);
            reorder.push(*event, kept);
            while let Some((event, kept)) = reorder.pop_ready() {
                builder.add(&event, kept)?;
            }
        }
    }
    while let Some((event, kept)) = reorder.pop() {
        builder.add(&event, kept)?;
    }
    builder.stats.skipped_lines = reader.skipped();
    builder.write(out, &header, filter)
}

#[derive(Default)]
struct Builder {
    entries: Vec<TraceEvent>,
    names: Names,
    processes: BTreeMap<u32, String>,
    threads: BTreeMap<(u32, u32), String>,
    counters: Counters,
    flows: WakeFlows,
    stats: ExportStats,
    objects_used: bool,
}

/// The slice name of a call: the syscall (`semop`), the kernel function
/// (`do_semtimedop`), plus the command of a ctl call.
fn call_name(e: &Event) -> String {
    let base = match e.probe.strip_prefix("sys_") {
        Some(syscall) => syscall,
        None if !e.probe.is_empty() => &*e.probe,
        None => e.kind.as_str(),
    };
    match &e.cmd {
        Some(cmd) => format!("{base} {cmd}"),
        None => base.to_string(),
    }
}

fn category(kind: EventKind) -> &'static str {
    if kind.is_shm() {
        "shm"
    } else if kind.is_sem() {
        "sem"
    } else {
        "proc"
    }
}

/// The event's fields other than those the entry itself shows.
fn args_of(e: &Event) -> Result<Box<str>, ExportError> {
    let mut value = serde_json::to_value(e)?;
    if let serde_json::Value::Object(map) = &mut value {
        for shown in ["kind", "pid", "tgid", "comm"] {
            map.remove(shown);
        }
    }
    Ok(value.to_string().into_boxed_str())
}

impl Builder {
    fn add(&mut self, e: &Event, kept: bool) -> Result<(), ExportError> {
        let update = self.counters.apply(e);
        let wake = self.flows.observe(e, kept);
        if !kept {
            return Ok(());
        }
        self.stats.events_exported += 1;
        self.name_tracks(e);
        let (pid, tid) = (e.tgid, e.pid);
        let cat = category(e.kind);
        let args = Some(args_of(e)?);
        let entry = |ts_ns, dur_ns, phase, name: u32, args| TraceEvent {
            ts_ns,
            dur_ns,
            phase,
            name,
            cat,
            pid,
            tid,
            id: 0,
            args,
        };
        match (e.kind, e.dur_ns) {
            (EventKind::ShmFault, _) => {
                let name = if e.write == Some(true) {
                    "page fault (write)"
                } else {
                    "page fault"
                };
                self.entries.push(entry(
                    e.ts_ns,
                    0,
                    Phase::InstantThread,
                    self.names.intern(name),
                    args,
                ));
            }
            (EventKind::Drops, _) => {
                self.entries.push(entry(
                    e.ts_ns,
                    0,
                    Phase::InstantGlobal,
                    self.names.intern("events lost"),
                    args,
                ));
            }
            (_, Some(dur)) => {
                let start = e.ts_ns.saturating_sub(dur);
                self.entries.push(entry(
                    start,
                    e.ts_ns - start,
                    Phase::Complete,
                    self.names.intern(&call_name(e)),
                    args,
                ));
            }
            (kind, None) => {
                self.entries.push(entry(
                    e.ts_ns,
                    0,
                    Phase::InstantThread,
                    self.names.intern(kind.as_str()),
                    args,
                ));
            }
        }
        if e.kind == EventKind::SemOp
            && e.blocked == Some(true)
            && e.wait_ns.is_some_and(|w| w > 0)
            && let Some((start, end)) = blocked_slice(e)
        {
            let name = format!("blocked on sem set {}", e.id.unwrap_or(-1));
            let wait = format!("{{\"wait_ns\":{}}}", e.wait_ns.unwrap_or(0)).into_boxed_str();
            self.entries.push(entry(
                start,
                end - start,
                Phase::Complete,
                self.names.intern(&name),
                Some(wait),
            ));
        }
        if let Some(update) = update {
            self.push_counter(e.ts_ns, update);
        }
        if let Some(wake) = wake {
            self.stats.flows += 1;
            for (phase, (pid, tid), ts_ns) in [
                (Phase::FlowStart, wake.from, wake.from_ts_ns),
                (Phase::FlowEnd, wake.to, wake.to_ts_ns),
            ] {
                self.entries.push(TraceEvent {
                    ts_ns,
                    dur_ns: 0,
                    phase,
                    name: self.names.intern("wakes"),
                    cat: "sem",
                    pid,
                    tid,
                    id: wake.id,
                    args: None,
                });
            }
        }
        Ok(())
    }

    fn push_counter(&mut self, ts_ns: u64, update: CounterUpdate) {
        let (track, args, cat) = match update {
            CounterUpdate::SemValues { track, values } => {
                let args: serde_json::Map<String, serde_json::Value> = values
                    .into_iter()
                    .map(|(i, v)| (format!("sem{i}"), v.into()))
                    .collect();
                (track, serde_json::Value::Object(args).to_string(), "sem")
            }
            CounterUpdate::Pages { track, pages } => {
                (track, format!("{{\"pages\":{pages}}}"), "shm")
            }
        };
        self.objects_used = true;
        self.entries.push(TraceEvent {
            ts_ns,
            dur_ns: 0,
            phase: Phase::Counter,
            name: self.names.intern(&track),
            cat,
            pid: OBJECTS_PID,
            tid: OBJECTS_PID,
            id: 0,
            args: Some(args.into_boxed_str()),
        });
    }

    fn name_tracks(&mut self, e: &Event) {
        if e.kind == EventKind::Drops {
            return;
        }
        self.threads
            .entry((e.tgid, e.pid))
            .or_insert_with(|| e.comm.clone());
        let process = self
            .processes
            .entry(e.tgid)
            .or_insert_with(|| e.comm.clone());
        if e.pid == e.tgid && *process != e.comm {
            process.clone_from(&e.comm);
        }
    }

    fn write<W: Write>(
        mut self,
        out: W,
        header: &Header,
        filter: &Filter,
    ) -> Result<ExportStats, ExportError> {
        self.entries.sort_by_key(TraceEvent::sort_key);
        let first = self
            .entries
            .first()
            .map_or(header.started_monotonic_ns, |e| e.ts_ns);
        let base = first.min(header.started_monotonic_ns);
        let mut out = BufWriter::new(out);
        let mut written = 0u64;
        let mut sep = |out: &mut BufWriter<W>| -> std::io::Result<()> {
            written += 1;
            out.write_all(if written == 1 { b"\n" } else { b",\n" })
        };
        out.write_all(b"{\"traceEvents\":[")?;
        if self.objects_used {
            sep(&mut out)?;
            write_name(
                &mut out,
                "process_name",
                OBJECTS_PID,
                OBJECTS_PID,
                "System V IPC objects",
            )?;
        }
        for (pid, name) in &self.processes {
            sep(&mut out)?;
            write_name(&mut out, "process_name", *pid, *pid, name)?;
        }
        for ((pid, tid), name) in &self.threads {
            sep(&mut out)?;
            write_name(&mut out, "thread_name", *pid, *tid, name)?;
        }
        for entry in &self.entries {
            sep(&mut out)?;
            write_event(&mut out, entry, &self.names, base)?;
        }
        self.stats.written = written;
        let zero_unix_ns = header
            .started_unix_ns
            .saturating_sub(header.started_monotonic_ns.saturating_sub(base));
        let metadata = serde_json::json!({
            "ipc_trace_schema": header.schema,
            "tool_version": header.tool_version,
            "exported_by": env!("CARGO_PKG_VERSION"),
            "kernel": header.kernel,
            "command": header.command,
            "ts_zero_monotonic_ns": base,
            "ts_zero_unix_ns": zero_unix_ns,
            "objects_pid": OBJECTS_PID,
            "filter": filter,
            "events_read": self.stats.events_read,
            "events_exported": self.stats.events_exported,
            "skipped_lines": self.stats.skipped_lines,
            "wake_flows": "heuristic: a blocked P is linked to the latest V on the same semaphore, by another thread, that completed while it slept",
        });
        out.write_all(b"\n],\"displayTimeUnit\":\"ns\",\"metadata\":")?;
        serde_json::to_writer(&mut out, &metadata)?;
        out.write_all(b"}\n")?;
        out.flush()?;
        Ok(self.stats)
    }
}
