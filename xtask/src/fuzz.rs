//! `cargo xtask fuzz`: run the cargo-fuzz targets (`fuzz/`) for a while,
//! seeded with the sample recordings, and report how many inputs ran.
//! Installs cargo-fuzz once (cached in ~/.cargo/bin); the fuzz build and
//! the corpus are cached under $HOME/.cache/ipc-trace.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args, Clone, Debug)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Targets to run (reader, export); default both.
    #[arg(long, value_delimiter = ',', default_value = "reader,export")]
    pub targets: Vec<String>,
}

fn ensure_cargo_fuzz() -> Result<()> {
    if cmd::succeeds(Command::new("cargo").args(["fuzz", "--version"])) {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz (once)");
    cmd::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// "Done 166040 runs in 91 second(s)" → 166040.
fn runs_done(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("Done ")
                .and_then(|r| r.split_whitespace().next())
        })
        .and_then(|n| n.parse().ok())
}

/// Runs every target; fails on the first crash, naming the artifact.
pub fn run(args: &FuzzArgs) -> Result<bool> {
    ensure_cargo_fuzz()?;
    let root = cmd::workspace_root();
    let cache = cmd::cache_dir()?;
    for target in &args.targets {
        let corpus = cache.join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&corpus).with_context(|| format!("create {}", corpus.display()))?;
        for seed in std::fs::read_dir(root.join("ipc-trace/tests/data"))?.flatten() {
            let _ = std::fs::copy(seed.path(), corpus.join(seed.file_name()));
        }
        let started = std::time::Instant::now();
        let out = Command::new("rustup")
            // The reader is safe Rust: coverage-guided search without ASAN
            // keeps the CI build short; panics and aborts still fail.
            .args([
                "run",
                "nightly",
                "cargo",
                "fuzz",
                "run",
                "--sanitizer",
                "none",
                "--fuzz-dir",
            ])
            .arg(root.join("fuzz"))
            .arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", args.seconds))
            .arg("-max_len=16384")
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", cache.join("fuzz-target"))
            .stdin(Stdio::null())
            .output()
            .context("cannot run cargo fuzz")?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "fuzz target {target} failed ({}):\n{}",
                out.status,
                tail.join("\n")
            );
        }
        let runs = runs_done(&log).with_context(|| {
            format!("fuzz target {target}: no \"Done N runs\" line in its output")
        })?;
        println!(
            "fuzz: {target}: {runs} inputs in {:.0} s (build included), no crash",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::runs_done;

    #[test]
    fn reads_the_run_count() {
        let log = "#2 INITED\n#1000 NEW cov: 1\nDone 166040 runs in 91 second(s)\n";
        assert_eq!(runs_done(log), Some(166040));
        assert_eq!(runs_done("crash"), None);
    }
}
