//! Completeness checks of a traced run: a recording must hold exactly the
//! operations the benchmark reports having done, with no drops. A traced
//! run that lost events is a failed benchmark, not a fast one.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The outcome of checking one traced run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing to check (an untraced run).
    None,
    /// Every expected event was there; the text says what was counted.
    Passed(String),
    /// Events were lost or wrong; the text says which.
    Failed(String),
}

impl Check {
    /// True for [`Check::Failed`].
    pub fn failed(&self) -> bool {
        matches!(self, Check::Failed(_))
    }

    /// The message (empty for [`Check::None`]).
    pub fn text(&self) -> &str {
        match self {
            Check::None => "",
            Check::Passed(t) | Check::Failed(t) => t,
        }
    }
}

/// How many events of a kind the recording must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The event kind (`sem_op`, `shm_fault`, ...).
    pub kind: &'static str,
    /// The count.
    pub count: u64,
    /// How `count` is compared.
    pub rule: Rule,
}

/// How an [`Expect`]'s count is compared with the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Exactly `count` events of the benchmark's own process (our own
    /// programs report every operation they do).
    Exactly,
    /// At least `count`, from all processes together (a real program whose
    /// operations are done by worker processes and counted loosely, such as
    /// stress-ng's bogo ops, each of which is one semop or more).
    AtLeastAll,
}

impl Expect {
    /// Exactly `count` events of the benchmark's process.
    pub fn exactly(kind: &'static str, count: u64) -> Expect {
        Expect {
            kind,
            count,
            rule: Rule::Exactly,
        }
    }

    /// At least `count` events, all processes together.
    pub fn at_least_all(kind: &'static str, count: u64) -> Expect {
        Expect {
            kind,
            count,
            rule: Rule::AtLeastAll,
        }
    }
}

/// What an NDJSON recording holds, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Events per (kind, tgid).
    pub by_kind_and_tgid: BTreeMap<(String, u64), u64>,
    /// Event lines (not header, not stats).
    pub events: u64,
    /// The stats line's `events`, when there is a stats line.
    pub stats_events: Option<u64>,
    /// The stats line's `dropped`, when there is a stats line.
    pub stats_dropped: Option<u64>,
    /// Total of the `count` fields of `drops` events.
    pub drops_events: u64,
    /// Lines that are not JSON objects.
    pub bad_lines: u64,
}

impl Counted {
    /// Counts a recording's text (header first, stats last).
    pub fn parse(text: &str) -> Counted {
        let mut c = Counted::default();
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                c.bad_lines += 1;
                continue;
            };
            let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind == "stats" {
                c.stats_events = v.get("events").and_then(Value::as_u64);
                c.stats_dropped = v.get("dropped").and_then(Value::as_u64);
                continue;
            }
            c.events += 1;
            if kind == "drops" {
                c.drops_events += v.get("count").and_then(Value::as_u64).unwrap_or(1);
            }
            let tgid = v.get("tgid").and_then(Value::as_u64).unwrap_or(0);
            *c.by_kind_and_tgid
                .entry((kind.to_string(), tgid))
                .or_default() += 1;
        }
        c
    }

    /// Events of `kind` from process `tgid`.
    pub fn count(&self, kind: &str, tgid: u64) -> u64 {
        self.by_kind_and_tgid
            .get(&(kind.to_string(), tgid))
            .copied()
            .unwrap_or(0)
    }

    /// Events of `kind` from every process.
    pub fn count_all(&self, kind: &str) -> u64 {
        self.by_kind_and_tgid
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Checks that the recording is whole (stats line, no drops, nothing
    /// malformed) and that it holds the `expected` events (process `tgid`'s
    /// for [`Rule::Exactly`]).
    pub fn check(&self, tgid: u64, expected: &[Expect]) -> Check {
        let mut problems = Vec::new();
        match (self.stats_events, self.stats_dropped) {
            (Some(events), Some(dropped)) => {
                if dropped > 0 {
                    problems.push(format!("{dropped} events dropped by the kernel"));
                }
                if events != self.events {
                    problems.push(format!(
                        "stats line says {events} events, the file holds {}",
                        self.events
                    ));
                }
            }
            _ => problems.push("no stats line: the recording is incomplete".to_string()),
        }
        if self.drops_events > 0 {
            problems.push(format!("drops events report {} lost", self.drops_events));
        }
        if self.bad_lines > 0 {
            problems.push(format!("{} lines are not JSON", self.bad_lines));
        }
        let mut seen = Vec::new();
        for e in expected {
            match e.rule {
                Rule::Exactly => {
                    let got = self.count(e.kind, tgid);
                    if got != e.count {
                        problems.push(format!("{} {}: {got}, expected {}", e.kind, tgid, e.count));
                    }
                    seen.push(format!("{got}/{} {}", e.count, e.kind));
                }
                Rule::AtLeastAll => {
                    let got = self.count_all(e.kind);
                    if got < e.count {
                        problems.push(format!(
                            "{} (all processes): {got}, expected at least {}",
                            e.kind, e.count
                        ));
                    }
                    seen.push(format!("{got} {} (>= {})", e.kind, e.count));
                }
            }
        }
        if problems.is_empty() {
            Check::Passed(seen.join(", "))
        } else {
            Check::Failed(problems.join("; "))
        }
    }
}

/// Reads and counts the recording at `path`, then checks it as
/// [`Counted::check`] does.
pub fn check_recording(path: &Path, tgid: u64, expected: &[Expect]) -> Check {
    match std::fs::read_to_string(path) {
        Ok(text) => Counted::parse(&text).check(tgid, expected),
        Err(e) => Check::Failed(format!("cannot read the recording {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"schema":"ipc-trace/1","probes":[]}"#;

    fn recording(events: &[(&str, u64)], stats_events: u64, dropped: u64) -> String {
        let mut s = format!("{HEADER}\n");
        for (kind, tgid) in events {
            s += &format!(r#"{{"kind":"{kind}","tgid":{tgid},"pid":{tgid}}}"#);
            s += "\n";
        }
        s += &format!(r#"{{"kind":"stats","events":{stats_events},"dropped":{dropped}}}"#);
        s + "\n"
    }

    fn sem_ops(n: u64) -> Vec<Expect> {
        vec![Expect::exactly("sem_op", n)]
    }

    #[test]
    fn a_whole_recording_passes() {
        let text = recording(&[("sem_op", 7), ("sem_op", 7), ("sem_op", 8)], 3, 0);
        let check = Counted::parse(&text).check(7, &sem_ops(2));
        assert_eq!(check, Check::Passed("2/2 sem_op".into()));
    }

    #[test]
    fn drops_missing_events_and_a_missing_stats_line_fail() {
        let dropped = recording(&[("sem_op", 7), ("sem_op", 7)], 2, 5);
        assert!(Counted::parse(&dropped).check(7, &sem_ops(2)).failed());

        let short = recording(&[("sem_op", 7)], 1, 0);
        let check = Counted::parse(&short).check(7, &sem_ops(2));
        assert!(
            check.text().contains("sem_op 7: 1, expected 2"),
            "{check:?}"
        );

        let cut = format!("{HEADER}\n{}\n", r#"{"kind":"sem_op","tgid":7}"#);
        assert!(Counted::parse(&cut).check(7, &sem_ops(1)).failed());

        let drops_event = recording(&[("sem_op", 7), ("drops", 0)], 2, 0);
        assert!(Counted::parse(&drops_event).check(7, &sem_ops(1)).failed());
    }

    #[test]
    fn at_least_counts_every_process_and_fails_below() {
        let text = recording(&[("sem_op", 7), ("sem_op", 8), ("sem_op", 9)], 3, 0);
        let c = Counted::parse(&text);
        assert!(!c.check(1, &[Expect::at_least_all("sem_op", 3)]).failed());
        let short = c.check(1, &[Expect::at_least_all("sem_op", 4)]);
        assert!(
            short
                .text()
                .contains("sem_op (all processes): 3, expected at least 4"),
            "{short:?}"
        );
    }

    #[test]
    fn too_many_events_fail_too() {
        let text = recording(&[("sem_op", 7), ("sem_op", 7), ("sem_op", 7)], 3, 0);
        assert!(Counted::parse(&text).check(7, &sem_ops(2)).failed());
    }
}
