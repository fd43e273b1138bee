//! One kernel of the matrix: fetch it, boot it with the initramfs, read
//! what came back on the channel and turn every column into a cell.

use super::matrix::{BootRecord, Cell};
use super::{Column, VmTestArgs, cells, channel, facts, hosttests, kernels, labs, qemu};
use crate::build;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Fetch, boot and evaluate one kernel; every column gets a cell.
pub fn run_kernel(
    args: &VmTestArgs,
    spec: kernels::KernelSpec,
    initrd: &Result<PathBuf, String>,
    columns: &[Column],
    host_tests: &[String],
    out: &Path,
) -> (BootRecord, Vec<Cell>) {
    let mut boot = BootRecord {
        kernel: spec.series.to_string(),
        ..BootRecord::default()
    };
    let fail_all = |reason: String| -> Vec<Cell> {
        columns
            .iter()
            .map(|c| Cell::failed(spec.series, &column_name(c), reason.clone()))
            .collect()
    };
    let initrd = match initrd {
        Ok(path) => path,
        Err(e) => return (boot, fail_all(format!("no initramfs: {e}"))),
    };
    let kernel = match kernels::fetch(spec, args.refresh_kernels) {
        Ok(k) => k,
        Err(e) => return (boot, fail_all(format!("kernel download failed: {e:#}"))),
    };
    boot.package = Some(kernel.package.clone());
    boot.downloaded = kernel.downloaded;
    boot.fetch_seconds = kernel.fetch_time.as_secs_f64();
    let dir = out.join(spec.series);
    if dir.exists() && std::fs::remove_dir_all(&dir).is_err() {
        return (boot, fail_all(format!("cannot clear {}", dir.display())));
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return (
            boot,
            fail_all(format!("cannot create {}: {e}", dir.display())),
        );
    }
    let console = dir.join("console.log");
    let channel_file = dir.join("channel.out");
    let outcome = qemu::boot(&qemu::Boot {
        kernel: &kernel.vmlinuz,
        initrd,
        console_log: console.clone(),
        channel: channel_file.clone(),
        timeout: Duration::from_secs(args.boot_timeout),
        memory_mb: args.memory_mb,
        cpus: args.cpus,
        append: format!("ipct.series={}", spec.series),
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return (boot, fail_all(format!("{e:#}"))),
    };
    boot.boot_seconds = Some(outcome.elapsed.as_secs_f64());
    println!(
        "vm-test: {} ({}): {} {:.1} s, boot+run {:.1} s",
        spec.series,
        kernel.package,
        if kernel.downloaded {
            "downloaded in"
        } else {
            "cached, looked up in"
        },
        boot.fetch_seconds,
        outcome.elapsed.as_secs_f64()
    );
    let raw = std::fs::read(&channel_file).unwrap_or_default();
    let ch = channel::parse(&raw);
    let mut boot_failures = Vec::new();
    if let Err(e) = ch.write_files(&dir) {
        boot_failures.push(format!("{e:#}"));
    }
    if outcome.timed_out {
        boot_failures.push(format!(
            "VM timed out after {} s (boot and its cells; --boot-timeout)",
            args.boot_timeout
        ));
    } else if !outcome.status.is_some_and(|s| s.success()) {
        boot_failures.push(format!(
            "QEMU failed ({:?}): {}",
            outcome.status,
            cells::last_lines(&outcome.stderr, 5)
        ));
    }
    if !ch.hello {
        let log = std::fs::read_to_string(&console).unwrap_or_default();
        boot_failures.push(format!(
            "the VM script never started; console ends with: {}",
            cells::last_lines(&log, 8)
        ));
    } else if !ch.done {
        boot_failures.push(format!(
            "the VM script did not finish (see {})",
            console.display()
        ));
    }
    boot_failures.extend(ch.problems.iter().map(|p| format!("channel: {p}")));
    boot.facts = cells::key_values(&ch.text("facts.txt").unwrap_or_default());
    if let Some(config) = kernel
        .config
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        boot.facts.extend(facts::config_facts(&config));
    }
    boot.summary = facts::describe_facts(&boot.facts, ch.text("doctor.txt").as_deref());

    let bin_dir = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| build::profile_dir(true));
    let cells = columns
        .iter()
        .map(|column| {
            let mut cell = match column {
                Column::Smoke => cells::smoke_cell(spec.series, &ch),
                Column::Record(run) => {
                    cells::record_cell(spec.series, run, &boot.facts, &ch, &dir, &bin_dir)
                }
                Column::HostTests => hosttests::cell(spec.series, host_tests, &ch),
                Column::Labs => labs::cell(spec.series, &boot.facts, &ch),
            };
            cell.failures.splice(0..0, boot_failures.iter().cloned());
            cell
        })
        .collect();
    (boot, cells)
}

/// The name of a column in the matrix.
fn column_name(column: &Column) -> String {
    match column {
        Column::Smoke => "smoke".to_string(),
        Column::Record(run) => run.label.clone(),
        Column::HostTests => "hosttests".to_string(),
        Column::Labs => "labs".to_string(),
    }
}
