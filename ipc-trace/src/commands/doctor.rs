//! `ipc-trace doctor` and `--dry-run`: what this kernel lets ipc-trace see.

use super::{CmdError, CmdResult};
use crate::cli::TraceArgs;
use crate::probe::kallsyms::{Kallsyms, SymbolState};
use crate::probe::{doctor as report, system};
use crate::session::live::{End, Live, LiveOptions, kernel_offsets};

/// Kernel functions behind the kernel-path probes, in probe-id order.
fn kernel_functions() -> Vec<&'static str> {
    let first = ipc_trace_common::probe::FIRST_KERNEL_PATH as usize;
    ipc_trace_common::probe::NAMES[first..].to_vec()
}

fn facts_report(table: Option<&crate::probe::ProbeTable>) -> Result<String, CmdError> {
    let facts = system::gather();
    let (_, missing) = kernel_offsets();
    let names = kernel_functions();
    let symbols =
        Kallsyms::read(&names).ok_or_else(|| CmdError::runtime("cannot read /proc/kallsyms"))?;
    let kallsyms: Vec<(String, bool)> = names
        .iter()
        .map(|n| ((*n).to_string(), symbols.state(n) == SymbolState::Present))
        .collect();
    Ok(report::render(&facts, &missing, &kallsyms, table))
}

/// `--dry-run`: the kernel facts and probe plan, without attaching.
pub fn plan(_trace: &TraceArgs) -> CmdResult {
    print!("{}", facts_report(None)?);
    Ok(0)
}

/// Prints the doctor report. With `attach`, attaches every probe, runs the
/// self-test and shows which probes fired, then detaches.
pub async fn doctor(attach: bool, trace: TraceArgs, loaded_programs: bool) -> CmdResult {
    if loaded_programs {
        let n = crate::probe::loaded::count_loaded_programs().map_err(CmdError::runtime)?;
        println!("{n}");
        return Ok(if n == 0 { 0 } else { 1 });
    }
    if !attach {
        print!("{}", facts_report(None)?);
        println!(
            "(run `ipc-trace doctor --attach` as root to attach every probe and self-test it)"
        );
        return Ok(0);
    }
    let live = Live::start(LiveOptions {
        trace,
        cmd: Vec::new(),
        duration: None,
        child_output: None,
    })
    .await?;
    let table = live.probe_table().clone();
    let mut sink = Vec::new();
    let _ = live.finish(End::Stopped, &mut sink).await;
    print!("{}", facts_report(Some(&table))?);
    Ok(0)
}
