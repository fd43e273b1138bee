//! The benchmark programs (`sem-bench`, `shm-bench` from the demos crate,
//! and the real program `stress-ng --sem-sysv`): their command lines, what
//! they report, and the events a complete recording of one run must hold.

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
    /// `stress-ng --sem-sysv 1 --sem-sysv-ops N`: a real program's System V
    /// semaphores (its worker processes), measured in bogo ops.
    StressNg {
        /// Bogo ops per run.
        ops: u64,
    },
}

/// The stress-ng stressor the [`Workload::StressNg`] runs.
const STRESSOR: &str = "sem-sysv";

impl Workload {
    /// The demos binary.
    pub fn program(&self) -> &'static str {
        match self {
            Workload::Sem { .. } => "sem-bench",
            Workload::Shm { .. } => "shm-bench",
            Workload::StressNg { .. } => "stress-ng",
        }
    }

    /// True for a program of the demos crate (else one found on `PATH`).
    pub fn is_ours(&self) -> bool {
        !matches!(self, Workload::StressNg { .. })
    }

    /// A name telling this workload from others of the same program
    /// (scratch files, the profile).
    pub fn tag(&self) -> String {
        match self {
            Workload::Sem { ops } => format!("sem-bench-{ops}"),
            Workload::Shm { pages, rounds } => format!("shm-bench-{pages}x{rounds}"),
            Workload::StressNg { ops } => format!("stress-ng-{ops}"),
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
            Workload::StressNg { ops } => vec![
                format!("--{STRESSOR}"),
                "1".into(),
                format!("--{STRESSOR}-ops"),
                ops.to_string(),
                "--metrics-brief".into(),
                "--stdout".into(),
            ],
        }
    }

    /// One line saying what a run does.
    pub fn describe(&self) -> String {
        match self {
            Workload::Sem { ops } => format!("sem-bench: {ops} non-blocking semops per run"),
            Workload::Shm { pages, rounds } => format!(
                "shm-bench: {rounds} segments of {pages} pages ({} KiB) per run \
                 (shmget+shmat, one write fault per page, shmdt+IPC_RMID)",
                pages * 4
            ),
            Workload::StressNg { ops } => format!(
                "stress-ng --{STRESSOR} 1: {ops} bogo ops per run (a real program; \
                 bogo ops/s traced ÷ untraced is the inverse of the ratio)"
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
            Workload::StressNg { .. } => &[Metric {
                key: "ns_per_bogo_op",
                label: "ns/bogo-op",
            }],
        }
    }

    /// Finds the program's result in its standard output: for our own
    /// programs the last line that is a JSON object naming the program,
    /// for stress-ng its metrics line, turned into such an object.
    pub fn parse_output(&self, stdout: &str) -> Result<Value> {
        if !self.is_ours() {
            return parse_stress_ng(stdout);
        }
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
            Workload::StressNg { .. } => ("bogo op", "bogo_ops"),
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
        let e = Expect::exactly;
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
            // Each bogo op is at least one semop, done by stress-ng's
            // workers (other processes than the one reported).
            Workload::StressNg { .. } => vec![Expect::at_least_all("sem_op", field("bogo_ops")?)],
        })
    }
}

/// The result of a `stress-ng --metrics-brief` run of [`STRESSOR`], from
/// its metrics line `stress-ng: metrc: [PID] sem-sysv OPS REAL USR SYS
/// OPS/S OPS/S`: pid, bogo ops, bogo ops per second of real time and
/// nanoseconds per bogo op (real time; the seconds column has only two
/// decimals, the rate all its digits).
fn parse_stress_ng(stdout: &str) -> Result<Value> {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some(STRESSOR))
        .with_context(|| format!("stress-ng printed no `{STRESSOR}` metrics line:\n{stdout}"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let number = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .with_context(|| format!("stress-ng metrics line has no number in column {i}: {line}"))
    };
    let pid: u64 = fields
        .get(2)
        .and_then(|f| f.trim_start_matches('[').trim_end_matches(']').parse().ok())
        .with_context(|| format!("stress-ng metrics line has no [pid]: {line}"))?;
    let ops = number(4)?;
    let rate = number(8)?;
    if ops < 1.0 || rate <= 0.0 {
        anyhow::bail!("stress-ng did no bogo ops: {line}");
    }
    Ok(serde_json::json!({
        "program": "stress-ng",
        "pid": pid,
        "bogo_ops": ops as u64,
        "bogo_ops_per_s": rate,
        "ns_per_bogo_op": 1e9 / rate,
    }))
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
        assert!(expected.contains(&Expect::exactly("sem_op", 4)));
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
        assert!(expected.contains(&Expect::exactly("shm_fault", 6)));
        assert!(expected.contains(&Expect::exactly("shm_destroy", 2)));
        Ok(())
    }

    #[test]
    fn stress_ng_metrics_become_a_result_and_a_loose_expectation() -> Result<()> {
        let w = Workload::StressNg { ops: 20000 };
        let out = "stress-ng: info:  [31092] dispatching hogs: 1 sem-sysv\n\
            stress-ng: metrc: [31092] stressor       bogo ops real time  usr time  sys time   bogo ops/s     bogo ops/s\n\
            stress-ng: metrc: [31092] sem-sysv          20000      0.01      0.01      0.00   1250000.00     2590002.59\n";
        let report = w.parse_output(out)?;
        assert_eq!(w.pid(&report)?, 31092);
        assert_eq!(w.values(&report)?, [800.0]);
        assert_eq!(w.unit(&report)?, ("bogo op", 20000));
        assert_eq!(
            w.expected_events(&report)?,
            [Expect::at_least_all("sem_op", 20000)]
        );
        assert!(w.parse_output("stress-ng: info: [1] no metrics\n").is_err());
        let idle = "stress-ng: metrc: [5] sem-sysv 0 0.00 0.00 0.00 0.00 0.00\n";
        assert!(w.parse_output(idle).is_err());
        Ok(())
    }
}
