//! `cargo xtask setup`: install and check what the demo, the build and the
//! tests need.
//!
//! Idempotent: every step checks first and acts only when something is
//! missing. Each step prints one line saying what it did (or that it was in
//! place) and how long it took; long steps print a line before they start
//! and let their tool's own progress through. Nothing here needs what it
//! installs: xtask builds with the stable toolchain alone.

mod system;
mod toolchain;

pub use toolchain::nightly_has_rust_src;

use crate::vm::kernels;
use anyhow::{Context, Result};
use std::time::Instant;

/// Debian packages the tests, the benchmarks and the VM matrix use.
/// The demo needs none of them.
pub const TEST_PACKAGES: &[&str] = &[
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
    "git",
];

/// What the set-up is for: each purpose installs only what it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Purpose {
    /// Build and run the demo: rust-src, bpf-linker, tracefs.
    Demo,
    /// Build only (no root needed): rust-src, bpf-linker.
    Build,
    /// Everything the tests need: the demo's set-up, the Debian packages
    /// and the kernel images of the VM matrix.
    #[default]
    Test,
}

/// Options of `cargo xtask setup`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SetupArgs {
    /// What to set up for.
    #[arg(long = "for", value_enum, default_value_t = Purpose::Test)]
    pub purpose: Purpose,
}

/// One step's outcome: what it did, None when all was in place.
type StepResult = Result<Option<String>>;

/// Run `f` as the step `name`, printing one line with its outcome and time.
fn step(name: &str, f: impl FnOnce() -> StepResult) -> Result<bool> {
    let start = Instant::now();
    let outcome = f().with_context(|| format!("setup step `{name}` failed"))?;
    let took = start.elapsed().as_secs_f64();
    match &outcome {
        Some(done) => println!("setup: {name}: {done} ({took:.1} s)"),
        None => println!("setup: {name}: in place ({took:.1} s)"),
    }
    Ok(outcome.is_some())
}

/// Run the set-up for `purpose`; `Ok(true)` when everything is in place.
pub fn run(purpose: Purpose) -> Result<bool> {
    let start = Instant::now();
    let mut acted = false;
    if purpose == Purpose::Test {
        acted |= step("apt packages", || system::apt_packages(TEST_PACKAGES))?;
    }
    acted |= step("nightly rust-src", toolchain::nightly_rust_src)?;
    acted |= step("bpf-linker", toolchain::bpf_linker)?;
    if purpose != Purpose::Build {
        acted |= step("tracefs", system::tracefs)?;
    }
    if purpose == Purpose::Test {
        for spec in kernels::KERNELS {
            let name = format!("kernel {}", spec.series);
            acted |= step(&name, || kernel_image(*spec))?;
        }
    }
    let took = start.elapsed().as_secs_f64();
    let verdict = if acted {
        "done"
    } else {
        "everything was in place"
    };
    println!("setup ({purpose:?}): {verdict} in {took:.1} s");
    Ok(true)
}

/// Fetch one kernel image of the VM matrix into the cache unless it is there.
fn kernel_image(spec: kernels::KernelSpec) -> StepResult {
    let kernel = kernels::fetch(spec, false)?;
    Ok(kernel
        .downloaded
        .then(|| format!("downloaded {}", kernel.package)))
}
