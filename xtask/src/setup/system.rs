//! The machine side of set-up: Debian packages and the tracefs mount.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::process::Command;

/// Where tracefs must be mounted.
const TRACEFS: &str = "/sys/kernel/tracing";

/// True when dpkg reports `package` as installed.
fn dpkg_installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|s| s.trim() == "install ok installed")
}

/// Install the missing ones of `packages` (one `apt-get update` first);
/// returns what was done, None when all were there.
pub fn apt_packages(packages: &[&str]) -> Result<Option<String>> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let list = missing.join(" ");
    if !cmd::is_root() {
        bail!("packages missing: {list}; run as root, or: sudo apt-get install {list}");
    }
    println!("setup: apt packages: installing {list} (apt's progress follows)");
    cmd::run(Command::new("apt-get").args(["-q", "update"]))
        .context("apt-get update failed: check the network and /etc/apt/sources.list*")?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["-q", "-y", "--no-install-recommends", "install"])
            .args(&missing),
    )
    .with_context(|| format!("apt-get install failed: install by hand: apt-get install {list}"))?;
    Ok(Some(format!("installed {list}")))
}

/// True when a tracefs is mounted at `TRACEFS`.
fn tracefs_mounted() -> Result<bool> {
    let mounts = std::fs::read_to_string("/proc/mounts").context("cannot read /proc/mounts")?;
    Ok(mounts.lines().any(|l| {
        let mut f = l.split_whitespace();
        let (_, dir, fstype) = (f.next(), f.next(), f.next());
        dir == Some(TRACEFS) && fstype == Some("tracefs")
    }))
}

/// Mount tracefs at /sys/kernel/tracing when it is absent.
pub fn tracefs() -> Result<Option<String>> {
    if tracefs_mounted()? {
        return Ok(None);
    }
    if !cmd::is_root() {
        bail!("tracefs is not mounted at {TRACEFS}: run as root: mount -t tracefs nodev {TRACEFS}");
    }
    cmd::run(Command::new("mount").args(["-t", "tracefs", "nodev", TRACEFS]))?;
    Ok(Some(format!("mounted at {TRACEFS}")))
}
