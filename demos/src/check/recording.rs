//! Reading an NDJSON recording for the checker: the header's probe table,
//! the events (with their line numbers) and the closing stats line.
//! Problems are collected as messages, never panics.

use ipc_trace::event::{Event, EventKind, Stats};
use ipc_trace::probe::ProbeStatus;

/// The schema this build writes (a recording may declare any `ipc-trace/1.N`).
pub const SCHEMA: &str = ipc_trace::recording::SCHEMA;

/// True for `ipc-trace/1` and `ipc-trace/1.N`: the versions this checker
/// reads (a minor version only adds kinds).
fn is_schema_1(v: &str) -> bool {
    v.strip_prefix("ipc-trace/1").is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix('.')
                .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// One event and the line it came from (1-based).
#[derive(Clone, Debug)]
pub struct Line {
    /// Line number in the file.
    pub line: usize,
    /// The event.
    pub event: Event,
}

/// A parsed recording.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// The header's probe rows.
    pub probes: Vec<ProbeStatus>,
    /// The events, in file order.
    pub events: Vec<Line>,
    /// The closing stats line, when present.
    pub stats: Option<Stats>,
    /// What could not be read (each message names its line).
    pub problems: Vec<String>,
}

impl Recording {
    /// Parses a whole recording.
    pub fn parse(text: &str) -> Recording {
        let mut rec = Recording::default();
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            None => rec
                .problems
                .push("the recording is empty (no header line)".into()),
            Some((i, l)) => rec.read_header(i + 1, l),
        }
        for (i, l) in lines {
            let n = i + 1;
            if rec.stats.is_some() {
                rec.problems.push(format!(
                    "line {n}: data after the stats line (stats must be last)"
                ));
                break;
            }
            rec.read_line(n, l);
        }
        if rec.stats.is_none() && !rec.events.is_empty() {
            rec.problems
                .push("no stats line at the end: the recording was cut short".into());
        }
        rec
    }

    fn read_header(&mut self, n: usize, l: &str) {
        let value: serde_json::Value = match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => {
                self.problems
                    .push(format!("line {n}: header is not JSON: {e}"));
                return;
            }
        };
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(v) if is_schema_1(v) => {}
            other => self.problems.push(format!(
                "line {n}: header schema is {other:?}, expected \"{SCHEMA}\""
            )),
        }
        // Either a list of rows or a table object `{"probes": [...]}`.
        let rows = match value.get("probes") {
            Some(serde_json::Value::Object(table)) => table.get("probes").cloned(),
            other => other.cloned(),
        };
        match rows.map(serde_json::from_value::<Vec<ProbeStatus>>) {
            Some(Ok(rows)) => self.probes = rows,
            Some(Err(e)) => self
                .problems
                .push(format!("line {n}: header probe table is malformed: {e}")),
            None => self
                .problems
                .push(format!("line {n}: header has no probe table")),
        }
    }

    fn read_line(&mut self, n: usize, l: &str) {
        let value: serde_json::Value = match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(format!("line {n}: not JSON: {e}"));
                return;
            }
        };
        if value.get("kind").and_then(|k| k.as_str()) == Some("stats") {
            match serde_json::from_value::<Stats>(value) {
                Ok(s) => self.stats = Some(s),
                Err(e) => self.problems.push(format!("line {n}: bad stats line: {e}")),
            }
            return;
        }
        match serde_json::from_value::<Event>(value) {
            Ok(event) => {
                if let Some(field) = event.missing_field() {
                    self.problems.push(format!(
                        "line {n}: {} event without `{field}`",
                        event.kind.as_str()
                    ));
                }
                self.events.push(Line { line: n, event });
            }
            Err(e) => self.problems.push(format!("line {n}: not an event: {e}")),
        }
    }

    /// The header row of probe `name`.
    pub fn probe(&self, name: &str) -> Option<&ProbeStatus> {
        self.probes.iter().find(|p| p.name == name)
    }

    /// True when the header says probe `name` is attached.
    pub fn attached(&self, name: &str) -> bool {
        self.probe(name).is_some_and(|p| p.attached)
    }

    /// Events of `kind`, sorted by time (file order among equal times).
    pub fn of_kind(&self, kind: EventKind) -> Vec<&Event> {
        let mut v: Vec<&Line> = self
            .events
            .iter()
            .filter(|l| l.event.kind == kind)
            .collect();
        v.sort_by_key(|l| (l.event.ts_ns, l.line));
        v.into_iter().map(|l| &l.event).collect()
    }

    /// Records the kernel itself cost this recording, as counted: syscall
    /// records discarded because their exit never ran, and skipped runs of
    /// the programs that write records (all but `sched_switch` and
    /// `sched_waking`, which only mark a wait). An upper bound on the events
    /// they lost.
    pub fn kernel_losses(&self) -> u64 {
        self.stats.as_ref().map_or(0, |s| {
            let skipped: u64 = s
                .missed_by_program
                .iter()
                .filter(|(p, _)| !matches!(p.as_str(), "sched_switch" | "sched_waking"))
                .map(|(_, n)| n)
                .sum();
            s.exits_not_seen + skipped
        })
    }

    /// Events of `kind` in process `tgid`, sorted by time.
    pub fn of_process(&self, kind: EventKind, tgid: u32) -> Vec<&Event> {
        let mut v = self.of_kind(kind);
        v.retain(|e| e.tgid == tgid);
        v
    }
}

/// The id a successful get returned (`id`, or else `ret`).
pub fn returned_id(e: &Event) -> Option<i32> {
    e.id.or_else(|| e.ret.and_then(|r| i32::try_from(r).ok()))
}
