//! `cargo xtask`: the project's developer commands.
//!
//! - `demo`: set up, build, and open the live TUI on the demos (the main job).
//! - `setup`: install and check everything the build and the tests need.
//! - `build`: build `ipc-trace` and the demo programs.
//! - `vm-test`: run the tracer under real Debian kernels in QEMU.
//! - `bench`: traced vs untraced overhead ratios, and the cargo benches.
//! - `soak`: trace a steady workload for minutes; memory, maps and drops judged.
//! - `fuzz`: run the fuzz targets for a while.
//! - `fresh`: set up and build a fresh clone as on a new user's machine.
//! - `ci`: the whole pipeline, as CI runs it.

mod bench;
mod build;
mod ci;
mod cmd;
mod demo;
mod fresh;
mod fuzz;
mod setup;
mod soak;
mod vm;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Developer commands for ipc-trace.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "ipc-trace developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set up, build, and open the live TUI on the demo producer/consumer.
    Demo(demo::DemoArgs),
    /// Install and check the packages, toolchain parts, mounts and kernel images the project needs.
    Setup(setup::SetupArgs),
    /// Build ipc-trace and the demos (release unless --debug) and print the binary paths.
    Build(build::BuildArgs),
    /// Boot Debian kernels under QEMU and check ipc-trace's recordings of the demos.
    VmTest(vm::VmTestArgs),
    /// Measure what tracing costs the traced programs (target/bench/overhead.json).
    Bench(bench::BenchArgs),
    /// Trace a steady mixed workload for minutes: RSS flat, map entries bounded, 0 drops (not in CI).
    Soak(soak::SoakArgs),
    /// Run the fuzz targets for a while (cargo-fuzz, nightly).
    Fuzz(fuzz::FuzzArgs),
    /// Set up and build a fresh clone as on a new machine (hidden rust-src, bpf-linker, cache).
    Fresh(fresh::FreshArgs),
    /// Run the CI pipeline (in a fresh clone unless --here): setup, fmt, clippy, build, tests, vm-test, bench smoke, fuzz.
    Ci(ci::CiArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Setup(args) => setup::run(args.purpose),
        Command::Build(args) => build::run(&args).map(|_| true),
        Command::VmTest(args) => vm::run(&args),
        Command::Fresh(args) => fresh::run(&args),
        Command::Ci(args) => ci::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Soak(args) => soak::run(&args),
        Command::Bench(args) => bench::run(args).map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
