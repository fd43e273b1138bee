//! `ipc-trace lab [NAME]`: teaching labs. Each lab runs a demo under a live
//! session and walks through the kernel steps (SHM-1…12, SEM-1…9) as they
//! happen: the first event that proves each step is printed with the step's
//! meaning, who did it, and how well it is proven (`model::evidence`: seen
//! in the kernel, at the syscall boundary, implied); the closing line counts
//! each level, and steps not visible are named with why.

use super::{CmdError, CmdResult};
use ipc_trace::event::Event;
use ipc_trace::model::describe::event_text;
use ipc_trace::model::evidence::{Evidence, evidence};
use ipc_trace::model::{State, Step};
use ipc_trace::session::live::{Live, LiveOptions, TraceOptions};
use ipc_trace::session::run::{exit_status, run_to_end};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One lab: a demo program and the steps it is meant to show.
struct Lab {
    name: &'static str,
    title: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    steps: &'static [Step],
}

const LABS: [Lab; 2] = [
    Lab {
        name: "shm",
        title: "The demo producer/consumer: a 516-byte segment guarded by one semaphore",
        program: "demo-run",
        args: &["--messages", "3"],
        // Every step; SEM-8 (a P that waits) shows when the timing makes one.
        steps: &Step::ALL,
    },
    Lab {
        name: "sem",
        title: "Semaphore ping-pong: P operations that really wait, with and without SEM_UNDO",
        program: "sem-pingpong",
        args: &["--rounds", "3"],
        steps: &[
            Step::SEM1,
            Step::SEM3,
            Step::SEM4,
            Step::SEM7,
            Step::SEM8,
            Step::SEM9,
        ],
    },
];

/// Finds a demo program: beside this executable (a cargo build puts them
/// together), then on PATH.
fn find_demo(program: &str) -> Result<PathBuf, CmdError> {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        let beside = dir.join(program);
        if beside.is_file() {
            return Ok(beside);
        }
    }
    ipc_trace::session::child::resolve(program).map_err(|_| {
        CmdError::usage(format!(
            "lab program `{program}` not found beside ipc-trace or on PATH (build it: cargo build --release -p demos)"
        ))
    })
}

fn list() -> CmdResult {
    println!("Labs (run one with `sudo ipc-trace lab NAME`):");
    for lab in &LABS {
        let steps: Vec<&str> = lab.steps.iter().map(|s| s.label()).collect();
        println!(
            "  {:<5} {}\n        steps: {}",
            lab.name,
            lab.title,
            steps.join(" ")
        );
    }
    Ok(0)
}

fn who(ev: &Event) -> String {
    format!("{}[{}]", ev.comm, ev.tgid)
}

fn how(level: Evidence, ev: &Event) -> String {
    match level {
        Evidence::Implied if ev.inferred => {
            format!("implied (inferred from tracepoints: {})", ev.probe)
        }
        _ => format!(
            "{} by {} ({})",
            level.words(),
            ev.probe,
            ev.backend.as_str()
        ),
    }
}

/// Runs lab `name` live, or over the recording `replay` (no privileges
/// needed), or lists the labs.
pub async fn lab(
    name: Option<&str>,
    exclude_probes: Vec<u8>,
    replay: Option<&std::path::Path>,
) -> CmdResult {
    let Some(name) = name else { return list() };
    let lab = LABS.iter().find(|l| l.name == name).ok_or_else(|| {
        CmdError::usage(format!(
            "no lab `{name}` (run `ipc-trace lab` to list them)"
        ))
    })?;
    if let Some(file) = replay {
        return lab_replay(lab, file);
    }
    let program = find_demo(lab.program)?;
    let mut cmd = vec![program.to_string_lossy().into_owned()];
    cmd.extend(lab.args.iter().map(|a| (*a).to_string()));
    let trace = TraceOptions {
        excluded: exclude_probes.iter().copied().collect(),
        ..TraceOptions::default()
    };
    println!("Lab {}: {}\n", lab.name, lab.title);
    let live = Live::start(LiveOptions {
        trace,
        cmd,
        duration: None,
        child_output: None,
    })
    .await?;
    let table = live.probe_table().clone();
    let mut state = State::new();
    let mut seen: BTreeMap<Step, Evidence> = BTreeMap::new();
    let (end, _) = run_to_end(live, |ev| {
        walk(&mut state, &mut seen, ev);
        Ok::<(), CmdError>(())
    })
    .await?;
    conclude(lab, &seen, &table);
    println!(
        "\nSee it live: sudo ipc-trace -- {} {}",
        lab.program,
        lab.args.join(" ")
    );
    Ok(exit_status(end))
}

/// The lab over a recording: the same walk, from the file's events and
/// probe table.
fn lab_replay(lab: &Lab, file: &std::path::Path) -> CmdResult {
    use ipc_trace::recording::{ReadOptions, Record, RecordingReader};
    let mut reader =
        RecordingReader::open(file, ReadOptions::default()).map_err(CmdError::usage)?;
    let table = ipc_trace::probe::ProbeTable {
        probes: reader.header().probes.clone(),
    };
    println!(
        "Lab {}: {} (replaying {}, recorded on {})\n",
        lab.name,
        lab.title,
        file.display(),
        reader.header().kernel
    );
    let mut state = State::new();
    let mut seen: BTreeMap<Step, Evidence> = BTreeMap::new();
    for record in reader.by_ref() {
        match record.map_err(CmdError::usage)? {
            Record::Event(ev) => walk(&mut state, &mut seen, &ev),
            Record::Header(_) | Record::Stats(_) => {}
        }
    }
    conclude(lab, &seen, &table);
    Ok(0)
}

/// The closing lines: how many steps were shown at each level, and why
/// the others were not.
fn conclude(lab: &Lab, seen: &BTreeMap<Step, Evidence>, table: &ipc_trace::probe::ProbeTable) {
    let missing: Vec<Step> = lab
        .steps
        .iter()
        .copied()
        .filter(|s| !seen.contains_key(s))
        .collect();
    let count = |level: Evidence| {
        lab.steps
            .iter()
            .filter(|s| seen.get(s) == Some(&level))
            .count()
    };
    println!(
        "\nOf {} steps: {} seen in the kernel, {} seen at the syscall boundary, {} implied, {} not visible.",
        lab.steps.len(),
        count(Evidence::InKernel),
        count(Evidence::SyscallBoundary),
        count(Evidence::Implied),
        missing.len()
    );
    if !missing.is_empty() {
        println!("\nNot visible in this run:");
        for s in missing {
            println!(
                "  {:<6} {} — {}",
                s.label(),
                s.describe(),
                why_not(s, table)
            );
        }
    }
}

/// Applies `ev` and prints each step it proves for the first time, with
/// how well it proves it; keeps each step's strongest evidence.
fn walk(state: &mut State, seen: &mut BTreeMap<Step, Evidence>, ev: &Event) {
    let steps = state.steps_for(ev);
    state.apply(ev);
    for step in steps {
        let level = evidence(step, ev);
        match seen.get(&step) {
            Some(best) if *best <= level => continue,
            Some(_) => {
                println!("{:<6} now {}", step.label(), level.words());
            }
            None => println!("{:<6} {}", step.label(), step.describe()),
        }
        seen.insert(step, level);
        println!(
            "       {} — {}: {}",
            who(ev),
            how(level, ev),
            event_text(ev)
        );
    }
}

/// Why a step may be missing on this kernel.
fn why_not(step: Step, table: &ipc_trace::probe::ProbeTable) -> String {
    let probe = match step {
        Step::SHM3 | Step::SHM4 => "newseg",
        Step::SHM5 | Step::SHM6 | Step::SHM7 | Step::SHM8 | Step::SHM9 => "do_shmat",
        Step::SHM10 | Step::SHM11 => "shm_fault",
        Step::SHM12 => "shmem_fault",
        Step::SEM3 => "newary",
        Step::SEM7 | Step::SEM8 | Step::SEM9 => "do_semtimedop",
        _ => return "the demo did not do it in this run".to_string(),
    };
    match table.probes.iter().find(|p| p.name == probe) {
        Some(p) if !p.attached => format!(
            "probe {probe} is not attached here: {}",
            p.reason.as_deref().unwrap_or("unknown reason")
        ),
        _ => "the demo did not do it in this run".to_string(),
    }
}
