//! The crate benchmarks of ipc-trace (`cargo bench -p ipc-trace --bench
//! NAME`), run when their targets exist.

use super::workspace::bench_targets;
use crate::cmd;
use anyhow::{Context, Result, bail};

/// Bench targets ipc-trace is expected to grow; each missing one gets a skip line.
pub const KNOWN: [&str; 3] = ["model", "render", "summary"];

/// Runs every bench target of ipc-trace (printing their output as it
/// comes), and says which of [`KNOWN`] are absent.
pub fn run_all() -> Result<()> {
    let present = bench_targets("ipc-trace")?;
    for name in KNOWN.iter().filter(|k| !present.iter().any(|p| p == *k)) {
        println!("skip: cargo bench `{name}`: no such [[bench]] target in ipc-trace/Cargo.toml");
    }
    let mut failed = Vec::new();
    for name in &present {
        println!("\n== cargo bench -p ipc-trace --bench {name}");
        let status = cmd::cargo()
            .args(["bench", "-p", "ipc-trace", "--bench", name])
            .current_dir(cmd::workspace_root())
            .status()
            .with_context(|| format!("cannot run cargo bench --bench {name}"))?;
        if !status.success() {
            failed.push(format!("{name} ({status})"));
        }
    }
    if !failed.is_empty() {
        bail!("cargo bench failed: {}", failed.join(", "));
    }
    Ok(())
}
