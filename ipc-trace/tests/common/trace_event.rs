//! The Chrome/Perfetto trace-event format checker shared by the tests:
//! required fields per phase, allowed phases, pid/tid, `dur >= 0`,
//! monotonic timestamps per track, slice nesting, matched flows, numeric
//! counters.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub fn num(v: &Value, field: &str) -> Option<f64> {
    v.get(field).and_then(Value::as_f64)
}

pub fn int(v: &Value, field: &str) -> Option<i64> {
    v.get(field).and_then(Value::as_i64)
}

/// Checks the trace-event format rules; returns every violation.
pub fn trace_event_violations(doc: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let Some(events) = doc.get("traceEvents").and_then(Value::as_array) else {
        return vec!["no traceEvents array".into()];
    };
    if doc.get("displayTimeUnit").and_then(Value::as_str) != Some("ns") {
        bad.push("displayTimeUnit is not \"ns\"".into());
    }
    let mut last_ts: HashMap<(i64, i64), f64> = HashMap::new();
    let mut open: HashMap<(i64, i64), Vec<(f64, f64)>> = HashMap::new();
    let mut flow_starts: BTreeMap<(String, i64), f64> = BTreeMap::new();
    let mut flow_ends: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let mut fail = |what: &str| bad.push(format!("traceEvents[{i}]: {what}: {e}"));
        let Some(ph) = e.get("ph").and_then(Value::as_str) else {
            fail("no ph");
            continue;
        };
        if !["X", "i", "C", "M", "s", "f"].contains(&ph) {
            fail("phase not in X, i, C, M, s, f");
        }
        if e.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            fail("no name");
        }
        let (Some(pid), tid) = (int(e, "pid"), int(e, "tid")) else {
            fail("no integer pid");
            continue;
        };
        if ph == "M" {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            if !["process_name", "thread_name"].contains(&name) {
                fail("metadata other than process_name/thread_name");
            }
            if e.pointer("/args/name").and_then(Value::as_str).is_none() {
                fail("metadata without args.name");
            }
            if name == "thread_name" && tid.is_none() {
                fail("thread_name without tid");
            }
            continue;
        }
        let Some(ts) = num(e, "ts") else {
            fail("no numeric ts");
            continue;
        };
        if ts < 0.0 {
            fail("negative ts");
        }
        match ph {
            "X" | "i" | "s" | "f" if tid.is_none() => fail("no integer tid"),
            _ => {}
        }
        let track = (pid, tid.unwrap_or(pid));
        match ph {
            "X" | "i" => {
                let last = last_ts.entry(track).or_insert(f64::MIN);
                if ts < *last {
                    fail("ts goes backwards on its track");
                }
                *last = ts;
            }
            _ => {}
        }
        match ph {
            "X" => match num(e, "dur") {
                Some(dur) if dur >= 0.0 => {
                    // Slices on one thread nest properly.
                    let stack = open.entry(track).or_default();
                    stack.retain(|&(_, end)| end > ts);
                    if let Some(&(_, end)) = stack.last()
                        && ts + dur > end + 1e-9
                    {
                        fail("slice overlaps its parent without nesting");
                    }
                    stack.push((ts, ts + dur));
                }
                _ => fail("X without dur >= 0"),
            },
            "i" if !["t", "p", "g"]
                .contains(&e.get("s").and_then(Value::as_str).unwrap_or("t")) =>
            {
                fail("instant scope not t/p/g");
            }
            "C" => match e.get("args").and_then(Value::as_object) {
                Some(args) if !args.is_empty() && args.values().all(Value::is_number) => {}
                _ => fail("counter without numeric args"),
            },
            "s" | "f" => {
                let (Some(id), Some(cat)) = (int(e, "id"), e.get("cat").and_then(Value::as_str))
                else {
                    fail("flow without id or cat");
                    continue;
                };
                // A flow end binds to its enclosing slice.
                if ph == "f" && e.get("bp").and_then(Value::as_str) != Some("e") {
                    fail("flow end without bp: e");
                }
                let map = if ph == "s" {
                    &mut flow_starts
                } else {
                    &mut flow_ends
                };
                if map.insert((cat.to_string(), id), ts).is_some() {
                    fail("flow id used twice");
                }
                // It must lie inside a slice of its thread to bind to.
                let inside = events.iter().any(|x| {
                    x.get("ph").and_then(Value::as_str) == Some("X")
                        && int(x, "pid") == Some(pid)
                        && int(x, "tid") == tid
                        && num(x, "ts").is_some_and(|s| s < ts)
                        && num(x, "dur")
                            .zip(num(x, "ts"))
                            .is_some_and(|(d, s)| ts < s + d)
                });
                if !inside {
                    fail("flow point not strictly inside a slice of its thread");
                }
            }
            _ => {}
        }
    }
    for (key, start) in &flow_starts {
        match flow_ends.get(key) {
            None => bad.push(format!("flow {key:?} has no end")),
            Some(end) if end < start => bad.push(format!("flow {key:?} ends before it starts")),
            Some(_) => {}
        }
    }
    for key in flow_ends.keys() {
        if !flow_starts.contains_key(key) {
            bad.push(format!("flow {key:?} has no start"));
        }
    }
    bad
}
