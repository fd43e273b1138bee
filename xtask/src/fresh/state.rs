//! Making the fresh state inside a private mount namespace (see
//! [`super`]); the caller must already be in one, or these mounts would
//! land on the real machine.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The rustup proxies `~/.cargo/bin` keeps; every other file there was
/// `cargo install`ed and is hidden.
const RUSTUP_PROXIES: &[&str] = &[
    "cargo",
    "cargo-clippy",
    "cargo-fmt",
    "cargo-miri",
    "clippy-driver",
    "rls",
    "rust-analyzer",
    "rust-gdb",
    "rust-gdbgui",
    "rust-lldb",
    "rustc",
    "rustdoc",
    "rustfmt",
    "rustup",
];

/// The variable through which the outer run tells the inner one its mount
/// namespace, so the inner one can check it is in another.
pub const OUTER_NS_ENV: &str = "IPC_TRACE_FRESH_OUTER_MNT_NS";

/// This process's mount namespace (`mnt:[inode]`).
pub fn mount_namespace() -> Result<PathBuf> {
    std::fs::read_link("/proc/self/ns/mnt").context("cannot read /proc/self/ns/mnt")
}

/// Lay the overlays, check the state holds, and return the scratch
/// directory (a tmpfs private to the namespace).
pub fn make() -> Result<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let scratch = std::env::temp_dir().join(format!("ipc-trace-fresh-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    // Refuse to mount anything unless this namespace is private: a mount
    // here must never reach the machine's own mount table.
    let outer = std::env::var_os(OUTER_NS_ENV).map(PathBuf::from);
    if outer.is_none() || outer == Some(mount_namespace()?) {
        bail!("not in a private mount namespace: run `cargo xtask fresh`, not `--inner`");
    }
    mount(&["-t", "tmpfs", "tmpfs"], &scratch)?;

    let rustup = home.join(".rustup");
    if rustup.is_dir() {
        overlay(&rustup, &scratch.join("rustup"))?;
        for toolchain in nightly_toolchains(&rustup)? {
            hide_rust_src(&toolchain.join("lib/rustlib"))?;
        }
    }
    let cargo = home.join(".cargo");
    if cargo.is_dir() {
        overlay(&cargo, &scratch.join("cargo"))?;
        hide_installed_tools(&cargo)?;
    }
    let cache = cmd::cache_dir()?;
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;
    overlay(&cache, &scratch.join("cache"))?;
    for entry in read_dir(&cache)? {
        remove(&entry)?;
    }
    verify(&cache)?;
    println!(
        "fresh: private mount namespace: nightly without rust-src, no bpf-linker, empty {}",
        cache.display()
    );
    Ok(scratch)
}

/// Check that the state holds as a new user's machine has it.
fn verify(cache: &Path) -> Result<()> {
    if crate::setup::nightly_has_rust_src()? {
        bail!("rust-src is still installed in the nightly toolchain after hiding it");
    }
    if let Some(p) = cmd::which("bpf-linker") {
        bail!(
            "bpf-linker is still on PATH after hiding it: {}",
            p.display()
        );
    }
    if !read_dir(cache)?.is_empty() {
        bail!("{} is not empty after emptying it", cache.display());
    }
    Ok(())
}

/// `mount ARGS... TARGET`.
fn mount(args: &[&str], target: &Path) -> Result<()> {
    cmd::run(Command::new("mount").args(args).arg(target))
}

/// Make `dir` writable over a throw-away upper layer under `work`.
fn overlay(dir: &Path, work: &Path) -> Result<()> {
    let (up, wk) = (work.join("up"), work.join("work"));
    for d in [&up, &wk] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        dir.display(),
        up.display(),
        wk.display()
    );
    // redirect_dir lets rustup rename directories that live in the lower layer.
    let with_redirect = format!("{opts},redirect_dir=on");
    mount(&["-t", "overlay", "overlay", "-o", &with_redirect], dir)
        .or_else(|_| mount(&["-t", "overlay", "overlay", "-o", &opts], dir))
        .with_context(|| format!("cannot lay an overlay over {}", dir.display()))
}

/// The nightly toolchain directories of a rustup home.
fn nightly_toolchains(rustup: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir(&rustup.join("toolchains"))?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("nightly"))
        })
        .collect())
}

/// Remove the rust-src component from a toolchain's rustlib, including
/// rustup's records of it (so `rustup component add` really installs it).
fn hide_rust_src(rustlib: &Path) -> Result<()> {
    for p in [rustlib.join("src"), rustlib.join("manifest-rust-src")] {
        if p.exists() {
            remove(&p)?;
        }
    }
    let components = rustlib.join("components");
    if let Ok(text) = std::fs::read_to_string(&components) {
        let kept: String = text
            .lines()
            .filter(|l| l.trim() != "rust-src")
            .map(|l| format!("{l}\n"))
            .collect();
        write(&components, &kept)?;
    }
    let config = rustlib.join("multirust-config.toml");
    if let Ok(text) = std::fs::read_to_string(&config) {
        write(&config, &without_component(&text, "rust-src"))?;
    }
    Ok(())
}

/// `text` (rustup's multirust-config.toml) without the `[[components]]`
/// table whose `pkg` is `pkg`.
pub fn without_component(text: &str, pkg: &str) -> String {
    let wanted = format!("pkg = \"{pkg}\"");
    let mut out = String::new();
    for (i, table) in text.split("[[components]]").enumerate() {
        if i == 0 {
            out.push_str(table);
        } else if !table.lines().any(|l| l.trim() == wanted) {
            out.push_str("[[components]]");
            out.push_str(table);
        }
    }
    out
}

/// Remove every `cargo install`ed tool from `~/.cargo/bin`, and cargo's
/// records of them.
fn hide_installed_tools(cargo: &Path) -> Result<()> {
    for tool in read_dir(&cargo.join("bin"))? {
        let name = tool.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !RUSTUP_PROXIES.contains(&name) {
            remove(&tool)?;
        }
    }
    for record in [".crates.toml", ".crates2.json"] {
        let p = cargo.join(record);
        if p.exists() {
            remove(&p)?;
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

fn remove(p: &Path) -> Result<()> {
    let r = if p.is_dir() && !p.is_symlink() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    r.with_context(|| format!("cannot remove {}", p.display()))
}

fn write(p: &Path, text: &str) -> Result<()> {
    std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::without_component;

    #[test]
    fn only_the_named_component_table_is_removed() {
        let text = "config_version = \"1\"\n\n[[components]]\npkg = \"rust-src\"\ntarget = \"*\"\nis_extension = true\n\n[[components]]\npkg = \"rustc\"\ntarget = \"x86_64-unknown-linux-gnu\"\n";
        let out = without_component(text, "rust-src");
        assert!(!out.contains("rust-src"), "{out}");
        assert!(out.contains("pkg = \"rustc\""), "{out}");
        assert!(out.starts_with("config_version"), "{out}");
        // A name that is not there leaves the text as it was.
        assert_eq!(without_component(text, "miri"), text);
    }
}
