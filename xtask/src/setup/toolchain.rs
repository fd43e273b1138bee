//! The Rust side of set-up: the nightly toolchain's `rust-src` (for
//! `-Z build-std` of the eBPF programs) and `bpf-linker`, built against the
//! nightly toolchain's own libLLVM (the default LLVM of bpf-linker's newest
//! release does not build here; see docs/DESIGN.md, "Set-up").

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bpf-linker release known to build against the nightly toolchain's LLVM.
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Make sure the nightly toolchain (for the eBPF build) has `rust-src`;
/// returns what was done, None when it was already there.
pub fn nightly_rust_src() -> Result<Option<String>> {
    let toolchains = cmd::output(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is needed to manage the nightly toolchain: install it from rustup.rs")?;
    let mut done = Vec::new();
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        println!("setup: nightly toolchain: installing (for the eBPF programs)");
        cmd::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
        done.push("installed the nightly toolchain");
    }
    if !nightly_has_rust_src()? {
        println!("setup: nightly rust-src: adding (a download of about 50 MB)");
        cmd::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
        done.push("added rust-src to nightly");
    }
    Ok((!done.is_empty()).then(|| done.join(", ")))
}

/// True when rustup lists `rust-src` among the nightly toolchain's
/// installed components.
pub fn nightly_has_rust_src() -> Result<bool> {
    let installed = cmd::output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))?;
    Ok(installed.lines().any(|l| l.trim().starts_with("rust-src")))
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

/// Install bpf-linker against the nightly toolchain's LLVM unless it runs;
/// returns what was done, None when it was already there.
pub fn bpf_linker() -> Result<Option<String>> {
    if cmd::succeeds(Command::new("bpf-linker").arg("--version")) {
        return Ok(None);
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
        "setup: bpf-linker: building {BPF_LINKER_VERSION} against LLVM {major} ({}); \
         about a minute, cargo's progress follows",
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
    Ok(Some(format!(
        "built {BPF_LINKER_VERSION} against LLVM {major}"
    )))
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
