//! Which events an export keeps: by IPC key, object id, process, kind and
//! time range, with parsers for the command-line values.

use crate::event::{Event, EventKind};
use crate::recording::Header;
use serde::Serialize;
use std::collections::HashSet;

/// An export filter. Every criterion that is set must match; an empty
/// filter keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// IPC key: keeps the events that carry this key and every event of the
    /// objects (segment or set) created or found with it, attaches, faults
    /// and semops included, until the object is destroyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<i32>,
    /// IPC namespace inode (as in /proc/PID/ns/ipc): keeps only its
    /// objects' events (and the counted losses, which concern all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc_ns: Option<u32>,
    /// Object id (shmid or semid; both namespaces).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
    /// Process or thread id: matches `tgid` or `pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Kinds to keep; empty keeps every kind.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<EventKind>,
    /// Keep events with `ts_ns` at or after this point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<TimePoint>,
    /// Keep events with `ts_ns` at or before this point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<TimePoint>,
}

/// A point in time of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePoint {
    /// A `ts_ns` value (CLOCK_MONOTONIC ns), as in the events.
    Monotonic(u64),
    /// Nanoseconds after the recording started (`started_monotonic_ns`).
    SinceStart(u64),
}

impl TimePoint {
    /// The point as a `ts_ns` value.
    pub fn resolve(self, header: &Header) -> u64 {
        match self {
            TimePoint::Monotonic(ns) => ns,
            TimePoint::SinceStart(ns) => header.started_monotonic_ns.saturating_add(ns),
        }
    }
}

/// A command-line filter value that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// Not a number of the expected kind.
    #[error("invalid {what} `{value}`: {hint}")]
    Invalid {
        /// What was being parsed (`key`, `pid`, …).
        what: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        hint: &'static str,
    },
    /// Not a kind of the schema.
    #[error("unknown kind `{0}`: use one of {kinds}, or `shm` / `sem` for all of a family", kinds = kind_names())]
    UnknownKind(String),
}

fn kind_names() -> String {
    EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Filter {
    /// True when no criterion is set.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// A matcher for one pass over a recording with this header.
    pub fn matcher(&self, header: &Header) -> Matcher<'_> {
        Matcher {
            filter: self,
            from_ns: self.from.map(|t| t.resolve(header)),
            to_ns: self.to.map(|t| t.resolve(header)),
            keyed: HashSet::new(),
        }
    }
}

/// Which id namespace an event's `id` is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Space {
    Shm,
    Sem,
}

fn space(kind: EventKind) -> Option<Space> {
    if kind.is_shm() {
        Some(Space::Shm)
    } else if kind.is_sem() {
        Some(Space::Sem)
    } else {
        None
    }
}

/// Applies a [`Filter`] to the events of one recording, in order. It keeps
/// state: which objects the key filter has seen created or found.
pub struct Matcher<'f> {
    filter: &'f Filter,
    from_ns: Option<u64>,
    to_ns: Option<u64>,
    /// Objects seen with the key: (namespace, space, id), since ids repeat
    /// across IPC namespaces.
    keyed: HashSet<(u32, Space, i32)>,
}

impl Matcher<'_> {
    /// Whether `event` is kept. Call it for every event, in recording
    /// order, also those another criterion drops: the key filter learns
    /// object ids from them.
    pub fn matches(&mut self, event: &Event) -> bool {
        let by_key = self.track_key(event);
        let f = self.filter;
        if self.from_ns.is_some_and(|from| event.ts_ns < from)
            || self.to_ns.is_some_and(|to| event.ts_ns > to)
        {
            return false;
        }
        if !f.kinds.is_empty() && !f.kinds.contains(&event.kind) {
            return false;
        }
        // Lost events concern every process and object.
        if event.kind == EventKind::Drops {
            return true;
        }
        if f.pid
            .is_some_and(|pid| event.pid != pid && event.tgid != pid)
        {
            return false;
        }
        if f.id.is_some_and(|id| event.id != Some(id)) {
            return false;
        }
        if f.ipc_ns.is_some_and(|ns| event.ipc_ns != ns) {
            return false;
        }
        by_key
    }

    /// Updates the set of objects with the filter's key; true when the
    /// event belongs to one of them (or no key filter is set).
    fn track_key(&mut self, event: &Event) -> bool {
        let Some(key) = self.filter.key else {
            return true;
        };
        let object = space(event.kind)
            .zip(event.id)
            .map(|(space, id)| (event.ipc_ns, space, id));
        if event.key == Some(key) {
            if let Some(object) = object.filter(|_| !event.failed()) {
                self.keyed.insert(object);
            }
            if matches!(event.kind, EventKind::ShmDestroy | EventKind::SemDestroy)
                && let Some(object) = object
            {
                self.keyed.remove(&object);
            }
            return true;
        }
        let Some(object) = object else {
            return false;
        };
        let known = self.keyed.contains(&object);
        if known && matches!(event.kind, EventKind::ShmDestroy | EventKind::SemDestroy) {
            self.keyed.remove(&object);
        }
        known
    }
}

/// Parses an IPC key: decimal (may be negative) or `0x` hexadecimal (the
/// 32-bit pattern `ipcs` shows, e.g. `0x5100d3a1` or `0xffffffff`).
pub fn parse_key(value: &str) -> Result<i32, FilterError> {
    let invalid = || FilterError::Invalid {
        what: "key",
        value: value.to_string(),
        hint: "give a decimal number or 0x followed by up to 8 hex digits",
    };
    let v = value.trim();
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map(|k| k as i32)
            .map_err(|_| invalid());
    }
    v.parse::<i32>().map_err(|_| invalid())
}

/// Parses an object id (shmid or semid, decimal).
pub fn parse_id(value: &str) -> Result<i32, FilterError> {
    value
        .trim()
        .parse::<i32>()
        .map_err(|_| FilterError::Invalid {
            what: "id",
            value: value.to_string(),
            hint: "give the decimal shmid or semid shown by ipcs",
        })
}

/// Parses a process or thread id.
pub fn parse_pid(value: &str) -> Result<u32, FilterError> {
    value
        .trim()
        .parse::<u32>()
        .map_err(|_| FilterError::Invalid {
            what: "pid",
            value: value.to_string(),
            hint: "give a decimal process or thread id",
        })
}

/// Parses a comma-separated kind list (`shm_fault,sem_op`); `shm` and `sem`
/// stand for every kind of that family.
pub fn parse_kinds(value: &str) -> Result<Vec<EventKind>, FilterError> {
    let mut kinds = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let family: Vec<EventKind> = match name {
            "shm" => EventKind::ALL.into_iter().filter(|k| k.is_shm()).collect(),
            "sem" => EventKind::ALL.into_iter().filter(|k| k.is_sem()).collect(),
            _ => vec![
                EventKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .ok_or_else(|| FilterError::UnknownKind(name.to_string()))?,
            ],
        };
        for k in family {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    if kinds.is_empty() {
        return Err(FilterError::UnknownKind(value.to_string()));
    }
    Ok(kinds)
}

/// Parses a time point: `+DURATION` is relative to the start of the
/// recording, a bare `DURATION` is a `ts_ns` value. A duration is a number
/// (decimals allowed) with an optional unit `ns` (default), `us`, `ms`, `s`:
/// `+1.5s`, `+250ms`, `81234567890`.
pub fn parse_time(value: &str) -> Result<TimePoint, FilterError> {
    let invalid = || FilterError::Invalid {
        what: "time",
        value: value.to_string(),
        hint: "give +DURATION (after the start) or a ts_ns value; units ns, us, ms, s (e.g. +1.5s)",
    };
    let v = value.trim();
    let (relative, v) = match v.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let scale: u64 = match unit {
        "" | "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(invalid()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let mut ns = whole.checked_mul(scale).ok_or_else(invalid)?;
    // Fractional digits below one nanosecond are dropped.
    let mut place = scale;
    for digit in frac.chars() {
        let d = digit.to_digit(10).ok_or_else(invalid)? as u64;
        place /= 10;
        ns = ns.checked_add(d * place).ok_or_else(invalid)?;
    }
    Ok(if relative {
        TimePoint::SinceStart(ns)
    } else {
        TimePoint::Monotonic(ns)
    })
}

#[cfg(test)]
mod tests;
