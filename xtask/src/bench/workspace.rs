//! The workspace as cargo sees it: root, target directory, the bench
//! targets of a package; building the binaries the benchmark runs.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// What `cargo metadata` says about the workspace.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// The target directory.
    pub target: PathBuf,
    metadata: Value,
}

/// The cargo that runs this xtask (or `cargo` on PATH).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

impl Workspace {
    /// Reads `cargo metadata --no-deps`.
    pub fn locate() -> Result<Workspace> {
        let out = Command::new(cargo())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .context("cannot run `cargo metadata`")?;
        if !out.status.success() {
            bail!(
                "cargo metadata failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let metadata: Value =
            serde_json::from_slice(&out.stdout).context("cargo metadata: bad JSON")?;
        let path = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_str)
                .map(PathBuf::from)
                .with_context(|| format!("cargo metadata has no `{key}`"))
        };
        Ok(Workspace {
            root: path("workspace_root")?,
            target: path("target_directory")?,
            metadata,
        })
    }

    /// Names of the `[[bench]]` targets of package `package`.
    pub fn bench_targets(&self, package: &str) -> Vec<String> {
        let packages = self.metadata.get("packages").and_then(Value::as_array);
        let Some(pkg) = packages.and_then(|ps| {
            ps.iter()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(package))
        }) else {
            return Vec::new();
        };
        let targets = pkg.get("targets").and_then(Value::as_array);
        targets
            .into_iter()
            .flatten()
            .filter(|t| {
                t.get("kind")
                    .and_then(Value::as_array)
                    .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("bench")))
            })
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// The directory of release binaries.
    pub fn release_dir(&self) -> PathBuf {
        self.target.join("release")
    }
}

/// `cargo build --release` of ipc-trace and the demos binaries.
pub fn build_release(ws: &Workspace) -> Result<()> {
    println!("building: cargo build --release -p ipc-trace -p demos --bins");
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "-p",
            "ipc-trace",
            "-p",
            "demos",
            "--bins",
        ])
        .current_dir(&ws.root)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    Ok(())
}

/// True when this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}
