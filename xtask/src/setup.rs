//! `cargo xtask setup`: install and check what the build and the tests need.
//!
//! Idempotent: every step checks first and acts only when something is
//! missing, saying what it does. When all is there it prints one line.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages used by the build, the tests and the VM matrix.
pub const APT_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "bpftool",
    "bpftrace",
    "strace",
    "stress-ng",
    "tmux",
    "hyperfine",
    "linux-perf",
    "util-linux",
];

/// The bpf-linker release known to build against the nightly toolchain's LLVM.
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Where tracefs must be mounted.
const TRACEFS: &str = "/sys/kernel/tracing";

/// Run every setup step; `Ok(true)` when everything is in place.
pub fn run() -> Result<bool> {
    let mut acted = false;
    acted |= apt_packages().context("setup step `apt packages` failed")?;
    acted |= nightly_rust_src().context("setup step `nightly rust-src` failed")?;
    acted |= bpf_linker().context("setup step `bpf-linker` failed")?;
    acted |= tracefs().context("setup step `tracefs` failed")?;
    if acted {
        println!("setup: done");
    } else {
        println!("setup: everything is in place");
    }
    Ok(true)
}

/// True when dpkg reports `package` as installed.
fn dpkg_installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|s| s.trim() == "install ok installed")
}

/// Install the missing Debian packages (one `apt-get update` first).
fn apt_packages() -> Result<bool> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    let list = missing.join(" ");
    if !cmd::is_root() {
        bail!("packages missing: {list}; run as root, or: sudo apt-get install {list}");
    }
    println!("setup: installing Debian packages: {list}");
    cmd::run(Command::new("apt-get").args(["-q", "update"]))
        .context("apt-get update failed: check the network and /etc/apt/sources.list*")?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["-q", "-y", "--no-install-recommends", "install"])
            .args(&missing),
    )
    .with_context(|| format!("apt-get install failed: install by hand: apt-get install {list}"))?;
    Ok(true)
}

/// Make sure the nightly toolchain (for the eBPF build) has `rust-src`.
fn nightly_rust_src() -> Result<bool> {
    let toolchains = cmd::output(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is needed to manage the nightly toolchain: install it from rustup.rs")?;
    let mut acted = false;
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        println!("setup: installing the nightly toolchain (for the eBPF programs)");
        cmd::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
        acted = true;
    }
    let installed = cmd::output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))?;
    if !installed.lines().any(|l| l.trim().starts_with("rust-src")) {
        println!("setup: adding rust-src to the nightly toolchain");
        cmd::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
        acted = true;
    }
    Ok(acted)
}

/// The LLVM major version in a libLLVM file name
/// (`libLLVM.so.22.1-rust-…` or `libLLVM-22-rust-….so`).
fn llvm_major(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix("libLLVM")?;
    let digits: String = rest
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The nightly toolchain's libLLVM shared library and its major version.
fn nightly_libllvm() -> Result<(PathBuf, u32)> {
    let sysroot = cmd::output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))?;
    let lib = Path::new(sysroot.trim()).join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .with_context(|| format!("cannot read {}", lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libLLVM") && n.contains(".so") && llvm_major(n).is_some()
            })
        })
        .collect();
    // Prefer the `libLLVM.so.N…` spelling (the soname) when both exist.
    found.sort_by_key(|p| !p.to_string_lossy().contains("libLLVM.so."));
    let path = found.into_iter().next().with_context(|| {
        format!(
            "no libLLVM*.so* in {}: reinstall the nightly toolchain",
            lib.display()
        )
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let major = llvm_major(name).with_context(|| format!("no LLVM version in {name}"))?;
    Ok((path, major))
}

/// Install bpf-linker against the nightly toolchain's LLVM unless it runs.
fn bpf_linker() -> Result<bool> {
    if cmd::succeeds(Command::new("bpf-linker").arg("--version")) {
        return Ok(false);
    }
    let (libllvm, major) = nightly_libllvm()?;
    let prefix = cmd::cache_dir()?.join("llvm");
    let prefix_lib = prefix.join("lib");
    std::fs::create_dir_all(&prefix_lib)
        .with_context(|| format!("cannot create {}", prefix_lib.display()))?;
    let link = prefix_lib.join("libLLVM.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&libllvm, &link)
        .with_context(|| format!("cannot link {} to {}", link.display(), libllvm.display()))?;
    let rpath = libllvm
        .parent()
        .unwrap_or(Path::new("/"))
        .display()
        .to_string();
    println!(
        "setup: installing bpf-linker {BPF_LINKER_VERSION} against LLVM {major} ({})",
        libllvm.display()
    );
    cmd::run(
        cmd::cargo()
            .env("LLVM_PREFIX", &prefix)
            .env("RUSTFLAGS", format!("-C link-args=-Wl,-rpath,{rpath}"))
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args(["--no-default-features", "--features"])
            .arg(format!("llvm-{major}")),
    )
    .context("installing bpf-linker failed: see the cargo output above")?;
    if !cmd::succeeds(Command::new("bpf-linker").arg("--version")) {
        bail!(
            "bpf-linker was installed but `bpf-linker --version` fails: is ~/.cargo/bin on PATH?"
        );
    }
    Ok(true)
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
fn tracefs() -> Result<bool> {
    if tracefs_mounted()? {
        return Ok(false);
    }
    if !cmd::is_root() {
        bail!("tracefs is not mounted at {TRACEFS}: run as root: mount -t tracefs nodev {TRACEFS}");
    }
    println!("setup: mounting tracefs at {TRACEFS}");
    cmd::run(Command::new("mount").args(["-t", "tracefs", "nodev", TRACEFS]))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{llvm_major, nightly_libllvm};

    #[test]
    fn the_nightly_toolchain_ships_a_libllvm() -> anyhow::Result<()> {
        let (path, major) = nightly_libllvm()?;
        assert!(path.is_file(), "{}", path.display());
        assert!(major >= 15, "LLVM {major} is too old for bpf-linker");
        Ok(())
    }

    #[test]
    fn llvm_major_is_read_from_both_spellings() {
        assert_eq!(llvm_major("libLLVM.so.22.1-rust-1.97.0-nightly"), Some(22));
        assert_eq!(llvm_major("libLLVM-22-rust-1.97.0-nightly.so"), Some(22));
        assert_eq!(llvm_major("libLLVM.so"), None);
        assert_eq!(llvm_major("libfoo.so.1"), None);
    }
}
