//! sem-bench: times `--ops` non-blocking semop calls (V and P alternating)
//! on a private one-semaphore set and prints the result as one JSON object
//! (`ns_per_op`) on standard output. Used by `cargo xtask bench` to measure
//! what tracing costs a traced program.

use anyhow::{Result, bail};
use clap::Parser;
use demos::bench;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Time non-blocking semop calls on a private System V semaphore set")]
struct Args {
    /// semop calls to make (V and P alternating; an even number leaves the
    /// semaphore at 0).
    #[arg(long, default_value_t = 200_000)]
    ops: u64,
    /// Also write the JSON result to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.ops == 0 {
        bail!("--ops must be at least 1");
    }
    let report = bench::sem_bench(args.ops)?;
    let json = serde_json::to_string(&report)?;
    if let Some(path) = &args.report {
        std::fs::write(path, format!("{json}\n"))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    println!("{json}");
    Ok(())
}
