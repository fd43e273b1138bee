//! `ipc-trace doctor` and `--dry-run`: what this kernel lets ipc-trace see.

use super::{CmdError, CmdResult};
use crate::cli::TraceArgs;
use ipc_trace::probe::facts::KernelFacts;
use ipc_trace::probe::privilege::Privileges;
use ipc_trace::probe::{ProbeTable, doctor as report, system};
use ipc_trace::session::live::{End, Live, LiveOptions};

/// The report as text, or with `json` as one JSON document: `system`
/// (`SystemFacts`), `kernel` (`KernelFacts`: `kprobe_pmu`,
/// `fentry_allowed`, `fentry_detail`, `btf_present`,
/// `btf_missing_offsets`, `functions[{probe, function, in_kallsyms}]`)
/// `capabilities` (`has` and `lacks`: capability names; `lacks` only
/// those tracing needs here, `error`: the line tracing would fail with or
/// null, `rows[{name, held, needed, effect}]`) and `probes` (the probe
/// table rows, null when nothing was attached).
fn facts_report(table: Option<&ProbeTable>, json: bool) -> Result<String, CmdError> {
    let facts = system::gather();
    let privileges = Privileges::gather();
    let kernel = KernelFacts::gather();
    if json {
        let rows = privileges.rows();
        let has: Vec<&str> = rows.iter().filter(|r| r.held).map(|r| r.name).collect();
        let doc = serde_json::json!({
            "system": facts,
            "capabilities": {
                "has": has,
                "lacks": privileges.missing(),
                "error": privileges.error_line(),
                "rows": rows,
            },
            "kernel": kernel,
            "probes": table.map(|t| &t.probes),
        });
        let text = serde_json::to_string_pretty(&doc).map_err(CmdError::runtime)?;
        return Ok(format!("{text}\n"));
    }
    Ok(report::render(&facts, &privileges, &kernel, table))
}

/// `--dry-run`: the kernel facts and probe plan, without attaching.
pub fn plan(_trace: &TraceArgs) -> CmdResult {
    print!("{}", facts_report(None, false)?);
    Ok(0)
}

/// Prints the doctor report (`json`: as JSON). With `attach`, attaches
/// every probe, runs the self-test and shows which probes fired, then
/// detaches.
pub async fn doctor(
    attach: bool,
    json: bool,
    trace: TraceArgs,
    loaded_programs: bool,
) -> CmdResult {
    if loaded_programs {
        let n = ipc_trace::probe::loaded::count_loaded_programs().map_err(CmdError::runtime)?;
        println!("{n}");
        return Ok(if n == 0 { 0 } else { 1 });
    }
    if !attach {
        print!("{}", facts_report(None, json)?);
        if !json {
            println!(
                "(run `ipc-trace doctor --attach` as root to attach every probe and self-test it)"
            );
        }
        return Ok(0);
    }
    let live = Live::start(LiveOptions {
        trace: trace.options(),
        cmd: Vec::new(),
        duration: None,
        child_output: None,
    })
    .await?;
    let table = live.probe_table().clone();
    let mut sink = Vec::new();
    let _ = live.finish(End::Stopped, &mut sink).await;
    print!("{}", facts_report(Some(&table), json)?);
    Ok(0)
}
