//! `ipc-trace lab [NAME]`: teaching labs (`ipc_trace::lab`). A live lab
//! runs its demo under a session, stopping it after each stage to show that
//! stage (`lab_live`); a lab over a recording (no privileges needed) walks
//! through the run stage by stage. Both go in the kernel's order, pause
//! between stages on a terminal unless `--auto`, and end with questions
//! graded against the run (typed in, or from `--answers FILE`).

use super::{CmdError, CmdResult};
use ipc_trace::lab::catalog::{self, LABS, Lab};
use ipc_trace::lab::quiz::{Grade, read_answers};
use ipc_trace::lab::render::{Ink, closing_text, question_text, stage_text};
use ipc_trace::lab::walk::Walk;
use ipc_trace::probe::ProbeTable;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The exit status of a lab ended by Ctrl-C (128 + SIGINT, as a shell reports it).
const INTERRUPTED: u8 = 130;

/// What `ipc-trace lab` was asked.
#[derive(Debug, Default)]
pub struct LabArgs {
    /// The lab; `None` lists them.
    pub name: Option<String>,
    /// Kernel-path probes kept off (live runs).
    pub exclude_probes: Vec<u8>,
    /// Walk through this recording instead of running the demo.
    pub replay: Option<PathBuf>,
    /// No pauses, no questions asked: answers shown (or graded from `answers`).
    pub auto: bool,
    /// No colour.
    pub plain: bool,
    /// Grade the answers in this file.
    pub answers: Option<PathBuf>,
    /// Leave the segments a leak lab made behind.
    pub keep: bool,
    /// Do not record kernel stacks (live runs).
    pub no_stacks: bool,
}

/// Finds a demo program: beside this executable (a cargo build puts them
/// together), then on PATH.
pub(super) fn find_demo(program: &str) -> Result<PathBuf, CmdError> {
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
    println!(
        "Labs (run one with `sudo ipc-trace lab NAME`, or `ipc-trace lab NAME --replay FILE`):"
    );
    for lab in LABS {
        println!("  {:<5} {}", lab.name, lab.title);
        for (i, stage) in lab.stages.iter().enumerate() {
            let labels: Vec<&str> = stage.moments.iter().map(|m| m.label()).collect();
            println!("        {}. {} ({})", i + 1, stage.title, labels.join(" "));
        }
        println!("        then {} questions on the run", lab.questions.len());
    }
    Ok(0)
}

/// Runs lab `args.name` live or over a recording, or lists the labs.
pub async fn lab(args: LabArgs) -> CmdResult {
    let Some(name) = args.name.as_deref() else {
        return list();
    };
    let lab = catalog::find(name).ok_or_else(|| {
        CmdError::usage(format!(
            "no lab `{name}` (run `ipc-trace lab` to list them)"
        ))
    })?;
    // Read the answers first: a bad path should not cost a run.
    let answers = match &args.answers {
        Some(path) => Some(read_answers(&std::fs::read_to_string(path).map_err(
            |e| CmdError::usage(format!("cannot read answers {}: {e}", path.display())),
        )?)),
        None => None,
    };
    let ink =
        if args.plain || std::env::var_os("NO_COLOR").is_some() || !std::io::stdout().is_terminal()
        {
            Ink::plain()
        } else {
            Ink::colour()
        };
    let interactive = !args.auto && std::io::stdin().is_terminal();
    println!("{}", ink.bold(&format!("Lab {}: {}", lab.name, lab.title)));
    let (walk, table, status, shown) = match &args.replay {
        Some(file) => {
            let (walk, table) = replay(file)?;
            (walk, table, 0, 0)
        }
        None => {
            let run = super::lab_live::run_live(lab, &args, ink, interactive).await?;
            if run.interrupted {
                println!("The lab was interrupted: no walk-through, no questions.");
                return Ok(INTERRUPTED);
            }
            (run.walk, run.table, run.status, run.shown)
        }
    };
    println!();
    for i in shown..lab.stages.len() {
        print!("{}", stage_text(ink, lab, i, &walk, &table));
        if interactive
            && i + 1 < lab.stages.len()
            && !pause("[Enter] next stage, q: skip to the end")
        {
            break;
        }
        println!();
    }
    print!("{}", closing_text(lab, &walk));
    quiz(ink, lab, &walk, answers.as_ref(), interactive);
    if args.replay.is_none() && lab.leaves_orphans {
        clean_up(&walk, args.keep);
    }
    if args.replay.is_none() {
        println!(
            "\nSee it live: sudo ipc-trace -- {} {}",
            lab.program,
            lab.args.join(" ")
        );
    }
    Ok(status)
}

/// The walk over a recording, with the probe table it was made with.
fn replay(file: &Path) -> Result<(Walk, ProbeTable), CmdError> {
    use ipc_trace::recording::{ReadOptions, Record, RecordingReader};
    let mut reader =
        RecordingReader::open(file, ReadOptions::default()).map_err(CmdError::usage)?;
    let table = ProbeTable {
        probes: reader.header().probes.clone(),
    };
    println!(
        "Replaying {}, recorded on {}.",
        file.display(),
        reader.header().kernel
    );
    let mut walk = Walk::new();
    for record in reader.by_ref() {
        match record.map_err(CmdError::usage)? {
            Record::Event(ev) => walk.apply(&ev),
            Record::Header(_) | Record::Stats(_) => {}
        }
    }
    walk.finish();
    Ok((walk, table))
}

/// Shows `prompt` and waits for a line; false when the reader typed `q`
/// (or standard input ended).
fn pause(prompt: &str) -> bool {
    print!("\n{prompt} ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => !line.trim().eq_ignore_ascii_case("q"),
    }
}

/// The questions: graded from `answers`, asked on a terminal, or shown
/// with their answers; then the score.
fn quiz(ink: Ink, lab: &Lab, walk: &Walk, answers: Option<&BTreeMap<usize, String>>, ask: bool) {
    println!("\n{}", ink.bold("Questions on this run"));
    let (mut right, mut graded) = (0, 0);
    for (i, q) in lab.questions.iter().enumerate() {
        let given = match answers {
            Some(a) => Some(a.get(&i).cloned().unwrap_or_default()),
            None if ask => {
                print!("\nQ{}. {}\n> ", i + 1, q.text);
                let _ = std::io::stdout().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                Some(line)
            }
            None => None,
        };
        let (text, grade) = question_text(ink, i + 1, q, walk.facts(), given.as_deref());
        print!("\n{text}");
        if let Some(g) = grade {
            graded += 1;
            right += usize::from(g == Grade::Right);
        }
    }
    if answers.is_some() || ask {
        println!("\nScore: {right} of {graded} right.");
    }
}

/// Removes the segments a leak lab left behind (what `ipcrm -m ID` does),
/// or says how to.
fn clean_up(walk: &Walk, keep: bool) {
    for o in &walk.facts().orphans {
        if keep {
            println!(
                "\nLeft in place (--keep): remove it with `ipcrm -m {}`.",
                o.id
            );
            continue;
        }
        // SAFETY: shmctl with IPC_RMID reads no buffer; a null pointer is allowed.
        let rc = unsafe { libc::shmctl(o.id, libc::IPC_RMID, std::ptr::null_mut()) };
        if rc == 0 {
            println!(
                "\nThe lab removed segment {} as `ipcrm -m {}` does (shmctl IPC_RMID); `--keep` leaves it for `ipcs -m`.",
                o.id, o.id
            );
        } else {
            println!(
                "\nCould not remove segment {} ({}): run `ipcrm -m {}`.",
                o.id,
                std::io::Error::last_os_error(),
                o.id
            );
        }
    }
}
