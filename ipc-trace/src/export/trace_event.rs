//! Chrome trace-event entries (the JSON format the Perfetto UI imports) and
//! their encoding. Times are kept in ns and written in µs with three
//! decimals (exact), relative to a base.

use std::borrow::Cow;
use std::io::Write;

/// The phase (`ph`) of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `X`: a slice with a duration.
    Complete,
    /// `i`, thread scope.
    InstantThread,
    /// `i`, global scope.
    InstantGlobal,
    /// `C`: counter values (args).
    Counter,
    /// `s`: flow start, bound to the enclosing slice.
    FlowStart,
    /// `f`: flow end, bound to the enclosing slice (`bp: "e"`).
    FlowEnd,
}

impl Phase {
    /// Order among entries with the same timestamp.
    fn rank(self) -> u8 {
        match self {
            Phase::Complete => 0,
            Phase::Counter => 1,
            Phase::InstantThread | Phase::InstantGlobal => 2,
            Phase::FlowStart => 3,
            Phase::FlowEnd => 4,
        }
    }
}

/// One entry of `traceEvents` (other than metadata).
#[derive(Clone, Debug)]
pub(crate) struct TraceEvent {
    /// Start (CLOCK_MONOTONIC ns).
    pub ts_ns: u64,
    /// Duration (Complete only).
    pub dur_ns: u64,
    pub phase: Phase,
    pub name: Cow<'static, str>,
    pub cat: &'static str,
    pub pid: u32,
    pub tid: u32,
    /// Flow id (FlowStart, FlowEnd).
    pub id: u64,
    /// The `args` object, already encoded.
    pub args: Option<Box<str>>,
}

impl TraceEvent {
    /// Sort key: time, then slices before what they contain (longer first).
    pub(crate) fn sort_key(&self) -> (u64, u8, std::cmp::Reverse<u64>) {
        (
            self.ts_ns,
            self.phase.rank(),
            std::cmp::Reverse(self.dur_ns),
        )
    }
}

/// Writes `ns - base` as microseconds with exactly three decimals.
fn write_us<W: Write>(out: &mut W, ns: u64) -> std::io::Result<()> {
    write!(out, "{}.{:03}", ns / 1_000, ns % 1_000)
}

/// Writes one entry as a JSON object.
pub(crate) fn write_event<W: Write>(
    out: &mut W,
    e: &TraceEvent,
    base_ns: u64,
) -> Result<(), serde_json::Error> {
    out.write_all(b"{\"name\":")
        .map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, e.name.as_ref())?;
    let ph = match e.phase {
        Phase::Complete => "X",
        Phase::InstantThread | Phase::InstantGlobal => "i",
        Phase::Counter => "C",
        Phase::FlowStart => "s",
        Phase::FlowEnd => "f",
    };
    (|| -> std::io::Result<()> {
        write!(out, ",\"cat\":\"{}\",\"ph\":\"{ph}\",\"ts\":", e.cat)?;
        write_us(out, e.ts_ns.saturating_sub(base_ns))?;
        if e.phase == Phase::Complete {
            out.write_all(b",\"dur\":")?;
            write_us(out, e.dur_ns)?;
        }
        write!(out, ",\"pid\":{},\"tid\":{}", e.pid, e.tid)?;
        match e.phase {
            Phase::InstantThread => out.write_all(b",\"s\":\"t\"")?,
            Phase::InstantGlobal => out.write_all(b",\"s\":\"g\"")?,
            Phase::FlowStart => write!(out, ",\"id\":{}", e.id)?,
            Phase::FlowEnd => write!(out, ",\"id\":{},\"bp\":\"e\"", e.id)?,
            Phase::Complete | Phase::Counter => {}
        }
        if let Some(args) = &e.args {
            write!(out, ",\"args\":{args}")?;
        }
        out.write_all(b"}")
    })()
    .map_err(serde_json::Error::io)
}

/// Writes a metadata (`M`) entry naming a process or a thread.
pub(crate) fn write_name<W: Write>(
    out: &mut W,
    what: &str,
    pid: u32,
    tid: u32,
    name: &str,
) -> Result<(), serde_json::Error> {
    write!(
        out,
        "{{\"name\":\"{what}\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":"
    )
    .map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, name)?;
    out.write_all(b"}}").map_err(serde_json::Error::io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_encode_as_trace_event_json() -> Result<(), Box<dyn std::error::Error>> {
        let e = TraceEvent {
            ts_ns: 1_234_567,
            dur_ns: 1_001,
            phase: Phase::Complete,
            name: "semop \"x\"".into(),
            cat: "sem",
            pid: 7,
            tid: 8,
            id: 0,
            args: Some("{\"id\":3}".into()),
        };
        let mut out = Vec::new();
        write_event(&mut out, &e, 1_000)?;
        let v: serde_json::Value = serde_json::from_slice(&out)?;
        assert_eq!(
            v,
            serde_json::json!({"name":"semop \"x\"","cat":"sem","ph":"X","ts":1233.567,"dur":1.001,"pid":7,"tid":8,"args":{"id":3}})
        );
        let mut out = Vec::new();
        write_name(&mut out, "thread_name", 7, 8, "shm-\u{1}consumer")?;
        let v: serde_json::Value = serde_json::from_slice(&out)?;
        assert_eq!(v["args"]["name"], "shm-\u{1}consumer");
        Ok(())
    }
}
