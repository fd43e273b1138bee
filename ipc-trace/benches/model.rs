//! Applying 1,000,000 events to the model: time, rate and memory.
//! `cargo bench -p ipc-trace --bench model` (release build).

mod synthetic;

use ipc_trace::model::State;
use std::time::{Duration, Instant};

const CHUNK: u64 = 100_000;

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Applies events `0..n` in chunks; returns the time spent in `apply` only.
fn apply(state: &mut State, from: u64, n: u64, objects: u64, churn: bool) -> Duration {
    let mut spent = Duration::ZERO;
    let mut at = from;
    while at < from + n {
        let chunk = synthetic::events(at, (at + CHUNK).min(from + n), objects, churn);
        let t = Instant::now();
        for e in &chunk {
            state.apply(e);
        }
        spent += t.elapsed();
        at += CHUNK;
    }
    spent
}

fn main() {
    let objects = 200;
    println!(
        "busy workload: {objects} segments + {objects} sets, lifecycles of 100k events, 70 % semops"
    );
    for run in 1..=3 {
        let mut state = State::new();
        let t = apply(&mut state, 0, 1_000_000, objects, false);
        println!(
            "  run {run}: 1,000,000 events applied in {:.3} s ({:.2} M events/s); {} lifecycles kept, log {} entries",
            t.as_secs_f64(),
            1.0 / t.as_secs_f64(),
            state.object_count(),
            state.log().len()
        );
    }
    let mut state = State::new();
    let rss_0 = status_kib("VmRSS:").unwrap_or(0);
    apply(&mut state, 0, 1_000_000, objects, false);
    let rss_1m = status_kib("VmRSS:").unwrap_or(0);
    let t = apply(&mut state, 1_000_000, 4_000_000, objects, false);
    let rss_5m = status_kib("VmRSS:").unwrap_or(0);
    println!(
        "  one model, 5 M events: last 4 M in {:.3} s; RSS before {} MiB, after 1 M {} MiB, after 5 M {} MiB",
        t.as_secs_f64(),
        rss_0 / 1024,
        rss_1m / 1024,
        rss_5m / 1024
    );
    drop(state);

    println!("worst case: segments re-created every 50 events (id reuse, page maps rebuilt)");
    let mut churn = State::new();
    let t = apply(&mut churn, 0, 1_000_000, 500, true);
    println!(
        "  1,000,000 events in {:.3} s; {} lifecycles kept; RSS {} MiB",
        t.as_secs_f64(),
        churn.object_count(),
        status_kib("VmRSS:").unwrap_or(0) / 1024
    );
    println!(
        "peak RSS of the process (VmHWM) {} MiB (includes 100k-event input chunks)",
        status_kib("VmHWM:").unwrap_or(0) / 1024
    );
}
