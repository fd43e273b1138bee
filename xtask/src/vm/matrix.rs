//! The result matrix of a VM test: one cell per kernel × backend, printed as
//! a table and written as JSON.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One kernel × backend result.
#[derive(Debug, Default, Serialize)]
pub struct Cell {
    /// Kernel series (`5.10`, ...).
    pub kernel: String,
    /// Backend (`kprobe`, `fentry`, `tracepoint`, or `smoke`).
    pub backend: String,
    /// True when nothing failed (for a negative control: when it failed as expected).
    pub passed: bool,
    /// A negative control: the probe kept from attaching, whose absence the
    /// enforcement must catch.
    pub expected_failure: Option<String>,
    /// Kernel-path probes attached / in the table.
    pub probes_attached: Option<usize>,
    /// Kernel-path probes in the table.
    pub probes_kernel_path: Option<usize>,
    /// Kernel-path probes that fired.
    pub probes_fired: Option<usize>,
    /// Events recorded.
    pub events: Option<u64>,
    /// Records dropped.
    pub drops: Option<u64>,
    /// Seconds the run took inside the VM.
    pub seconds: Option<f64>,
    /// Why it failed.
    pub failures: Vec<String>,
    /// Observations that are not failures.
    pub facts: Vec<String>,
}

impl Cell {
    /// A cell that could not run, with the reason.
    pub fn failed(kernel: &str, backend: &str, reason: String) -> Cell {
        Cell {
            kernel: kernel.to_string(),
            backend: backend.to_string(),
            failures: vec![reason],
            ..Cell::default()
        }
    }
}

/// One boot of one kernel.
#[derive(Debug, Default, Serialize)]
pub struct BootRecord {
    /// Kernel series.
    pub kernel: String,
    /// Debian package and version.
    pub package: Option<String>,
    /// True when the kernel was downloaded by this run.
    pub downloaded: bool,
    /// Seconds spent fetching (download + unpack, or cache lookup).
    pub fetch_seconds: f64,
    /// Seconds from QEMU start to exit.
    pub boot_seconds: Option<f64>,
    /// `facts.txt` of the VM (uname, symbols present, ...) and kernel config options.
    pub facts: BTreeMap<String, String>,
    /// One-line summaries of the kernel (shown under the table).
    pub summary: Vec<String>,
}

/// The whole result.
#[derive(Debug, Default, Serialize)]
pub struct Matrix {
    /// Cells, kernel-major.
    pub cells: Vec<Cell>,
    /// One record per kernel booted (or attempted).
    pub boots: Vec<BootRecord>,
    /// Size of the initramfs in bytes.
    pub initrd_bytes: Option<u64>,
    /// Notes about the whole run (what was left out, ...).
    pub notes: Vec<String>,
}

impl Matrix {
    /// True when every cell passed (and there is at least one).
    pub fn passed(&self) -> bool {
        !self.cells.is_empty() && self.cells.iter().all(|c| c.passed)
    }

    /// Write the matrix as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).context("cannot serialise the matrix")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The table, then the failures and facts of each cell.
    pub fn render(&self) -> String {
        fn opt<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map_or("-".to_string(), T::to_string)
        }
        let mut rows = vec![
            [
                "kernel", "backend", "result", "attached", "fired", "events", "drops", "seconds",
            ]
            .map(String::from),
        ];
        for c in &self.cells {
            let attached = match (c.probes_attached, c.probes_kernel_path) {
                (Some(a), Some(t)) => format!("{a}/{t}"),
                _ => "-".into(),
            };
            rows.push([
                c.kernel.clone(),
                c.backend.clone(),
                match (c.passed, &c.expected_failure) {
                    (true, None) => "PASS",
                    (true, Some(_)) => "FAILS-AS-EXPECTED",
                    (false, _) => "FAIL",
                }
                .into(),
                attached,
                opt(&c.probes_fired),
                opt(&c.events),
                opt(&c.drops),
                c.seconds.map_or("-".into(), |s| format!("{s:.1}")),
            ]);
        }
        let widths: Vec<usize> = (0..8)
            .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        if !self.boots.is_empty() {
            out.push_str("kernels:\n");
            for b in &self.boots {
                let boot = b
                    .boot_seconds
                    .map_or("not booted".to_string(), |s| format!("boot+run {s:.1} s"));
                let fetched = match (&b.package, b.downloaded) {
                    (None, _) => "not fetched".to_string(),
                    (Some(p), true) => format!("{p} (downloaded in {:.1} s)", b.fetch_seconds),
                    (Some(p), false) => format!("{p} (cached)"),
                };
                out.push_str(&format!("  {}: {fetched}, {boot}\n", b.kernel));
                for line in &b.summary {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        for (title, pick) in [("failures", true), ("facts", false)] {
            let items: Vec<String> = self
                .cells
                .iter()
                .flat_map(|c| {
                    let list = if pick { &c.failures } else { &c.facts };
                    list.iter()
                        .map(move |m| format!("  {} {}: {m}", c.kernel, c.backend))
                })
                .collect();
            if !items.is_empty() {
                out.push_str(&format!("{title}:\n{}\n", items.join("\n")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_pass_fail_and_lists_failures() {
        let mut ok = Cell {
            kernel: "6.1".into(),
            backend: "kprobe".into(),
            passed: true,
            probes_attached: Some(7),
            probes_kernel_path: Some(7),
            probes_fired: Some(6),
            events: Some(120),
            drops: Some(0),
            seconds: Some(4.31),
            ..Cell::default()
        };
        ok.facts.push("all good".into());
        let bad = Cell::failed("5.10", "fentry", "boot timed out".into());
        let control = Cell {
            kernel: "6.1".into(),
            backend: "kprobe-exclude-shm_fault".into(),
            passed: true,
            expected_failure: Some("shm_fault".into()),
            ..Cell::default()
        };
        let m = Matrix {
            cells: vec![ok, bad, control],
            ..Matrix::default()
        };
        let text = m.render();
        assert!(!m.passed());
        assert!(
            text.contains("6.1     kprobe                    PASS               7/7       6      120     0      4.3"),
            "{text}"
        );
        assert!(
            text.contains("5.10    fentry                    FAIL"),
            "{text}"
        );
        assert!(
            text.contains("6.1     kprobe-exclude-shm_fault  FAILS-AS-EXPECTED"),
            "{text}"
        );
        assert!(
            text.contains("failures:\n  5.10 fentry: boot timed out"),
            "{text}"
        );
        assert!(text.contains("facts:\n  6.1 kprobe: all good"), "{text}");
    }

    #[test]
    fn an_empty_matrix_does_not_pass() {
        assert!(!Matrix::default().passed());
    }
}
