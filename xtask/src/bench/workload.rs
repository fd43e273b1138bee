//! The benchmark programs (`sem-bench`, `shm-bench` from the demos crate):
//! their command lines, what they report, and the events a complete
//! recording of one run must hold.

use super::verify::Expect;
use anyhow::{Context, Result};
use serde_json::Value;

/// One measured quantity of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The field of the program's JSON output (`ns_per_op`).
    pub key: &'static str,
    /// The column heading (`ns/semop`).
    pub label: &'static str,
}

/// A benchmark program and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `sem-bench --ops N`: non-blocking V/P on a private set.
    Sem {
        /// semop calls per run.
        ops: u64,
    },
    /// `shm-bench --pages P --rounds R`: segment life cycles with faults.
    Shm {
        /// Pages per segment.
        pages: u64,
        /// Segments per run.
        rounds: u64,
    },
}

impl Workload {
    /// The demos binary.
    pub fn program(&self) -> &'static str {
        match self {
            Workload::Sem { .. } => "sem-bench",
            Workload::Shm { .. } => "shm-bench",
        }
    }

    /// The program's arguments.
    pub fn args(&self) -> Vec<String> {
        match self {
            Workload::Sem { ops } => vec!["--ops".into(), ops.to_string()],
            Workload::Shm { pages, rounds } => vec![
                "--pages".into(),
                pages.to_string(),
                "--rounds".into(),
                rounds.to_string(),
            ],
        }
    }

    /// One line saying what a run does.
    pub fn describe(&self) -> String {
        match self {
            Workload::Sem { ops } => format!("sem-bench: {ops} non-blocking semops per run"),
            Workload::Shm { pages, rounds } => format!(
                "shm-bench: {rounds} segments of {pages} pages per run \
                 (shmget+shmat, one write fault per page, shmdt+IPC_RMID)"
            ),
        }
    }

    /// What is measured.
    pub fn metrics(&self) -> &'static [Metric] {
        match self {
            Workload::Sem { .. } => &[Metric {
                key: "ns_per_op",
                label: "ns/semop",
            }],
            Workload::Shm { .. } => &[
                Metric {
                    key: "ns_per_fault",
                    label: "ns/fault",
                },
                Metric {
                    key: "ns_per_cycle",
                    label: "ns/cycle",
                },
            ],
        }
    }

    /// Finds the program's JSON result in its standard output (the last
    /// line that is a JSON object naming the program).
    pub fn parse_output(&self, stdout: &str) -> Result<Value> {
        stdout
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .find(|v| v.get("program").and_then(Value::as_str) == Some(self.program()))
            .with_context(|| {
                format!(
                    "{} printed no JSON result; its output was:\n{stdout}",
                    self.program()
                )
            })
    }

    /// The metric values of a parsed result, in [`Workload::metrics`] order.
    pub fn values(&self, report: &Value) -> Result<Vec<f64>> {
        self.metrics()
            .iter()
            .map(|m| {
                report.get(m.key).and_then(Value::as_f64).with_context(|| {
                    format!("{} result has no `{}`: {report}", self.program(), m.key)
                })
            })
            .collect()
    }

    /// What one operation of this workload is, and how many a run did
    /// (semops; segment life cycles).
    pub fn unit(&self, report: &Value) -> Result<(&'static str, u64)> {
        let (unit, field) = match self {
            Workload::Sem { .. } => ("semop", "ops"),
            Workload::Shm { .. } => ("cycle", "rounds"),
        };
        let n = report
            .get(field)
            .and_then(Value::as_u64)
            .with_context(|| format!("{} result has no `{field}`: {report}", self.program()))?;
        Ok((unit, n))
    }

    /// The process id in a parsed result.
    pub fn pid(&self, report: &Value) -> Result<u64> {
        report
            .get("pid")
            .and_then(Value::as_u64)
            .with_context(|| format!("{} result has no `pid`: {report}", self.program()))
    }

    /// The events a complete recording of this run holds for its process.
    pub fn expected_events(&self, report: &Value) -> Result<Vec<Expect>> {
        let field = |name: &str| {
            report
                .get(name)
                .and_then(Value::as_u64)
                .with_context(|| format!("{} result has no `{name}`: {report}", self.program()))
        };
        let e = |kind, count| Expect { kind, count };
        Ok(match self {
            Workload::Sem { .. } => {
                // One set: semget (creating it), the ops, semctl(IPC_RMID).
                vec![
                    e("sem_get", 1),
                    e("sem_create", 1),
                    e("sem_op", field("ops")?),
                    e("sem_ctl", 1),
                    e("sem_destroy", 1),
                ]
            }
            Workload::Shm { .. } => {
                let rounds = field("rounds")?;
                vec![
                    e("shm_get", rounds),
                    e("shm_create", rounds),
                    e("shm_attach", rounds),
                    e("shm_fault", field("faults")?),
                    e("shm_detach", rounds),
                    e("shm_ctl", rounds),
                    e("shm_destroy", rounds),
                ]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_line_is_found_among_other_output() -> Result<()> {
        let w = Workload::Sem { ops: 4 };
        let out = "noise\n{\"program\":\"sem-bench\",\"pid\":9,\"ops\":4,\"ns_per_op\":512.5}\n";
        let report = w.parse_output(out)?;
        assert_eq!(w.values(&report)?, [512.5]);
        assert_eq!(w.pid(&report)?, 9);
        let expected = w.expected_events(&report)?;
        assert!(expected.contains(&Expect {
            kind: "sem_op",
            count: 4
        }));
        assert!(w.parse_output("{\"program\":\"shm-bench\"}").is_err());
        Ok(())
    }

    #[test]
    fn shm_expects_one_life_cycle_per_round_and_every_fault() -> Result<()> {
        let w = Workload::Shm {
            pages: 3,
            rounds: 2,
        };
        let report: Value = serde_json::from_str(
            r#"{"program":"shm-bench","pid":9,"rounds":2,"faults":6,"ns_per_fault":1.0,"ns_per_cycle":2.0}"#,
        )?;
        assert_eq!(w.values(&report)?, [1.0, 2.0]);
        let expected = w.expected_events(&report)?;
        assert!(expected.contains(&Expect {
            kind: "shm_fault",
            count: 6
        }));
        assert!(expected.contains(&Expect {
            kind: "shm_destroy",
            count: 2
        }));
        Ok(())
    }
}
