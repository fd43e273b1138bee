//! shm-bench: `--rounds` times, creates a private segment of `--pages`
//! pages, attaches it, writes one byte per page (one fault each), detaches
//! and removes it; prints ns per page fault and ns per
//! shmget+shmat+shmdt+shmctl cycle as one JSON object on standard output.
//! Used by `cargo xtask bench` to measure what tracing costs a traced program.

use anyhow::{Result, bail};
use clap::Parser;
use demos::bench;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Time System V segment life cycles and their page faults")]
struct Args {
    /// Pages per segment (each written once: one first-touch fault).
    #[arg(long, default_value_t = 64)]
    pages: u64,
    /// Segments to create, touch and remove, one after the other.
    #[arg(long, default_value_t = 500)]
    rounds: u64,
    /// Also write the JSON result to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.pages == 0 || args.rounds == 0 {
        bail!("--pages and --rounds must be at least 1");
    }
    let report = bench::shm_bench(args.pages, args.rounds)?;
    let json = serde_json::to_string(&report)?;
    if let Some(path) = &args.report {
        std::fs::write(path, format!("{json}\n"))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    println!("{json}");
    Ok(())
}
