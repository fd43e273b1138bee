//! The benchmark's results: the printed table and the JSON document
//! (`target/bench/overhead.json`).

use super::scenario::{Sample, Scenario};
use super::stats::Summary;
use super::workload::Workload;
use serde_json::{Value, json};

/// Every run of one scenario of one workload.
#[derive(Clone, Debug)]
pub struct ScenarioRuns {
    /// The scenario.
    pub scenario: Scenario,
    /// The completed runs, in order.
    pub samples: Vec<Sample>,
    /// Why the scenario stopped being run, if it could not be.
    pub error: Option<String>,
}

impl ScenarioRuns {
    /// No runs yet.
    pub fn new(scenario: Scenario) -> ScenarioRuns {
        ScenarioRuns {
            scenario,
            samples: Vec::new(),
            error: None,
        }
    }

    /// Summary of metric number `i`.
    pub fn summary(&self, i: usize) -> Option<Summary> {
        let v: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|s| s.values.get(i).copied())
            .collect();
        Summary::of(&v)
    }

    fn failed_checks(&self) -> Vec<&str> {
        self.samples
            .iter()
            .filter(|s| s.check.failed())
            .map(|s| s.check.text())
            .collect()
    }

    /// One cell saying whether the tracer saw everything.
    fn check_cell(&self) -> String {
        if let Some(e) = &self.error {
            return format!("ERROR: {}", first_line(e));
        }
        let failed = self.failed_checks();
        let n = self.samples.len();
        if let Some(first) = failed.first() {
            return format!("FAILED {}/{n}: {}", failed.len(), first_line(first));
        }
        match self.samples.last().map(|s| s.check.text()) {
            Some("") | None => "-".to_string(),
            Some(t) => format!("ok {n}/{n}: {t}"),
        }
    }
}

/// Every scenario of one workload.
#[derive(Clone, Debug)]
pub struct WorkloadRuns {
    /// The workload.
    pub workload: Workload,
    /// Its scenarios, in run order.
    pub scenarios: Vec<ScenarioRuns>,
}

impl WorkloadRuns {
    fn baseline(&self, i: usize) -> Option<f64> {
        self.scenarios
            .iter()
            .find(|s| s.scenario == Scenario::Untraced)
            .and_then(|s| s.summary(i))
            .map(|s| s.median)
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn ratio(median: f64, baseline: Option<f64>) -> Option<f64> {
    baseline.filter(|b| *b > 0.0).map(|b| median / b)
}

/// The result table, one block per workload and metric.
pub fn table(results: &[WorkloadRuns], rounds: usize) -> String {
    let mut out = String::new();
    for w in results {
        out += &format!(
            "\n{} ({rounds} rounds, interleaved)\n",
            w.workload.describe()
        );
        for (i, metric) in w.workload.metrics().iter().enumerate() {
            let baseline = w.baseline(i);
            out += &format!(
                "  {:<32} {:>10} {:>21} {:>7} {:>7}  {}\n",
                "scenario",
                format!("{} med", metric.label),
                "min..max",
                "spread",
                "ratio",
                "events in the recording"
            );
            for s in &w.scenarios {
                let (med, range, spread, r) = match s.summary(i) {
                    Some(sum) => (
                        format!("{:.1}", sum.median),
                        format!("{:.1}..{:.1}", sum.min, sum.max),
                        format!("{:.0}%", sum.spread_percent()),
                        ratio(sum.median, baseline).map_or("-".to_string(), |r| format!("{r:.2}x")),
                    ),
                    None => ("-".into(), "-".into(), "-".into(), "-".into()),
                };
                out += &format!(
                    "  {:<32} {med:>10} {range:>21} {spread:>7} {r:>7}  {}\n",
                    s.scenario.label(),
                    s.check_cell()
                );
            }
        }
    }
    out
}

/// Every failure of ipc-trace: its scenarios that could not run, its
/// traced runs that lost events. These fail the benchmark.
pub fn failures(results: &[WorkloadRuns]) -> Vec<String> {
    problems(results, false)
}

/// Problems of the reference tracers (bpftrace, perf): reported, but they
/// say nothing about ipc-trace and do not fail the benchmark.
pub fn reference_problems(results: &[WorkloadRuns]) -> Vec<String> {
    problems(results, true)
}

fn problems(results: &[WorkloadRuns], references: bool) -> Vec<String> {
    let mut out = Vec::new();
    for w in results {
        for s in w
            .scenarios
            .iter()
            .filter(|s| s.scenario.is_reference() == references)
        {
            let name = format!("{} / {}", w.workload.tag(), s.scenario.label());
            if let Some(e) = &s.error {
                out.push(format!("{name}: could not run: {}", first_line(e)));
            }
            let failed = s.failed_checks();
            if let Some(first) = failed.first() {
                out.push(format!(
                    "{name}: {}/{} runs: {first}",
                    failed.len(),
                    s.samples.len()
                ));
            }
        }
    }
    out
}

/// The JSON document.
pub fn to_json(results: &[WorkloadRuns], settings: Value, host: Value) -> Value {
    let workloads: Vec<Value> = results
        .iter()
        .map(|w| {
            let scenarios: Vec<Value> = w
                .scenarios
                .iter()
                .map(|s| {
                    let mut metrics = serde_json::Map::new();
                    for (i, m) in w.workload.metrics().iter().enumerate() {
                        let samples: Vec<f64> = s.samples.iter().filter_map(|x| x.values.get(i).copied()).collect();
                        let sum = s.summary(i);
                        metrics.insert(
                            m.key.to_string(),
                            json!({
                                "samples": samples,
                                "median": sum.map(|x| x.median),
                                "min": sum.map(|x| x.min),
                                "max": sum.map(|x| x.max),
                                "spread_percent": sum.map(|x| x.spread_percent()),
                                "ratio_to_untraced": sum.and_then(|x| ratio(x.median, w.baseline(i))),
                            }),
                        );
                    }
                    let failed = s.failed_checks();
                    json!({
                        "scenario": s.scenario.key(),
                        "label": s.scenario.label(),
                        "reference": s.scenario.is_reference(),
                        "runs": s.samples.len(),
                        "error": s.error,
                        "metrics": metrics,
                        "checks_passed": s.samples.iter().filter(|x| matches!(x.check, super::verify::Check::Passed(_))).count(),
                        "checks_failed": failed.len(),
                        "check_failures": failed,
                        "reports": s.samples.iter().map(|x| x.report.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "program": w.workload.program(),
                "tag": w.workload.tag(),
                "args": w.workload.args(),
                "description": w.workload.describe(),
                "scenarios": scenarios,
            })
        })
        .collect();
    let failures = failures(results);
    json!({
        "schema": "ipc-trace-bench/1",
        "ok": failures.is_empty(),
        "failures": failures,
        "reference_problems": reference_problems(results),
        "settings": settings,
        "host": host,
        "workloads": workloads,
    })
}

#[cfg(test)]
mod tests {
    use super::super::verify::Check;
    use super::*;

    fn sample(v: f64, check: Check) -> Sample {
        Sample {
            report: json!({}),
            values: vec![v],
            check,
        }
    }

    fn runs(scenario: Scenario, values: &[f64], check: Check) -> ScenarioRuns {
        ScenarioRuns {
            scenario,
            samples: values.iter().map(|v| sample(*v, check.clone())).collect(),
            error: None,
        }
    }

    #[test]
    fn ratios_are_to_the_untraced_median_and_lost_events_fail() {
        let results = vec![WorkloadRuns {
            workload: Workload::Sem { ops: 10 },
            scenarios: vec![
                runs(Scenario::Untraced, &[100.0, 110.0, 90.0], Check::None),
                runs(
                    Scenario::TracedCommand,
                    &[200.0, 190.0, 210.0],
                    Check::Passed("10/10 sem_op".into()),
                ),
                runs(
                    Scenario::TracedSystem,
                    &[150.0],
                    Check::Failed("3 events dropped".into()),
                ),
                runs(
                    Scenario::PerfStat,
                    &[120.0],
                    Check::Failed("perf counted 0".into()),
                ),
            ],
        }];
        let text = table(&results, 3);
        assert!(text.contains("2.00x"), "{text}");
        assert!(text.contains("ok 3/3: 10/10 sem_op"), "{text}");
        assert!(text.contains("FAILED 1/1: 3 events dropped"), "{text}");
        let fails = failures(&results);
        assert_eq!(fails.len(), 1, "{fails:?}");
        assert!(fails[0].contains("3 events dropped"), "{fails:?}");
        assert_eq!(reference_problems(&results).len(), 1);
        let doc = to_json(&results, json!({}), json!({}));
        assert_eq!(doc["ok"], json!(false));
        let traced = &doc["workloads"][0]["scenarios"][1]["metrics"]["ns_per_op"];
        assert_eq!(traced["ratio_to_untraced"], json!(2.0));
    }
}
