//! The `labs` cell of each VM: `ipc-trace lab NAME --auto --plain` for every
//! lab, run in the VM after the recordings. Each must exit 0 with its
//! closing line, and the steps the mission probes do must be *seen in the
//! kernel* wherever the kernel offers kprobes and has the function (every
//! kernel of the matrix does); on a kernel without a kprobe PMU none may be.
//! The transcripts stay in `target/vm-test/<kernel>/labs/`.

use super::cells::{key_values, last_lines, seconds};
use super::channel::Channel;
use super::matrix::Cell;
use std::collections::BTreeMap;

/// The labs run in the VM.
pub const LABS: &[&str] = &["shm", "sem", "leak", "deadlock"];

/// Per lab, the steps a mission probe or a step probe does, with that
/// probe's function.
fn mission_steps(lab: &str) -> &'static [(&'static str, &'static str)] {
    match lab {
        "shm" => &[
            ("SHM-2", "shm_more_checks"),
            ("SHM-3", "newseg"),
            ("SHM-4", "shmem_kernel_file_setup"),
            ("SHM-5", "do_shmat"),
            ("SHM-8", "shm_mmap"),
            ("SHM-9", "shm_mmap"),
            ("SHM-10", "shm_fault"),
            ("SHM-11", "shm_fault"),
            ("SHM-12", "shmem_fault"),
        ],
        "sem" | "deadlock" => &[("SEM-3", "newary"), ("SEM-7", "do_semtimedop")],
        "leak" => &[
            ("SHM-3", "newseg"),
            ("SHM-5", "do_shmat"),
            ("SHM-10", "shm_fault"),
        ],
        _ => &[],
    }
}

/// Per lab, a step whose proof must come with the kernel's stack (a live
/// lab records stacks), and the frames it must show in that order: the
/// fault path from the exception entry down to shmem's handler.
fn stack_steps(lab: &str) -> &'static [(&'static str, &'static [&'static str])] {
    match lab {
        // The first step of its stage: the next ones say "the same as above".
        // Not shm_fault: Debian's 7.2 shows none between __do_fault and
        // shmem_fault (docs/KERNELS.md).
        "shm" => &[("SHM-10", &["exc_page_fault", "__do_fault", "shmem_fault"])],
        _ => &[],
    }
}

/// The `Kernel stack: a → b → …` line under step `label`'s proof, if any,
/// with the lines it was wrapped onto (the arrow ends a line or starts
/// the next) joined again.
fn stack_of(transcript: &str, label: &str) -> Option<String> {
    let mut lines = transcript.lines();
    while let Some(line) = lines.next() {
        if line.split_whitespace().next() == Some(label) && !line.starts_with(' ') {
            lines.next()?;
            let mut stack = lines
                .next()
                .map(str::trim)
                .filter(|l| l.starts_with("Kernel stack:"))?
                .to_string();
            let mut lines = lines.peekable();
            while let Some(more) = lines.peek().map(|l| l.trim())
                && (stack.ends_with('→') || more.starts_with('→'))
            {
                stack.push(' ');
                stack.push_str(more);
                lines.next();
            }
            return Some(stack);
        }
    }
    None
}

/// True when `frames` appear in `stack` (a `Kernel stack:` line) in order.
fn frames_in_order(stack: &str, frames: &[&str]) -> bool {
    let names: Vec<&str> = stack
        .trim_start_matches("Kernel stack:")
        .split('→')
        .map(str::trim)
        .collect();
    let mut at = 0;
    frames
        .iter()
        .all(|f| match names[at..].iter().position(|n| n == f) {
            Some(i) => {
                at += i + 1;
                true
            }
            None => false,
        })
}

/// The line below step `label`'s own line in a transcript: its evidence,
/// or `not visible — why`.
fn proof_line<'a>(transcript: &'a str, label: &str) -> Option<&'a str> {
    let mut lines = transcript.lines();
    while let Some(line) = lines.next() {
        if line.split_whitespace().next() == Some(label) && !line.starts_with(' ') {
            return lines.next();
        }
    }
    None
}

/// The evidence printed under step `label` (the text after ` — `).
fn evidence_of<'a>(transcript: &'a str, label: &str) -> Option<&'a str> {
    proof_line(transcript, label)
        .and_then(|l| l.split_once(" — "))
        .map(|(_, e)| e)
}

/// Moments every kernel must show at some level: the leak lab's detach at
/// exit (lost on 7.2 once, when the exit tracepoint moved before `exit_mm`).
const ALWAYS_SHOWN: &[(&str, &str)] = &[("leak", "detach")];

/// The first number of the closing line (`Of N steps: A seen in the kernel, …`).
fn seen_in_kernel(transcript: &str) -> Option<u64> {
    let line = transcript
        .lines()
        .find(|l| l.starts_with("Of ") && l.contains(" steps: "))?;
    line.split(" steps: ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How many of each lab's stages end with its demo stopped (every stage
/// but the last: `pause_at` in ipc-trace's `lab/catalog.rs`); a live lab
/// prints one `Stopped now:` line at each.
const STOPS: &[(&str, usize)] = &[("shm", 3), ("sem", 2), ("leak", 1), ("deadlock", 2)];

/// What one lab's transcript fails, given the kernel's facts.
pub fn check(lab: &str, transcript: &str, facts: &BTreeMap<String, String>) -> Vec<String> {
    let mut failures = Vec::new();
    let Some(in_kernel) = seen_in_kernel(transcript) else {
        return vec![format!(
            "lab {lab}: no closing line: {}",
            last_lines(transcript, 4)
        )];
    };
    let stops = transcript.matches("Stopped now: ").count();
    if let Some((_, expected)) = STOPS.iter().find(|(l, _)| *l == lab)
        && stops != *expected
    {
        failures.push(format!(
            "lab {lab}: shown {stops} times with its demo stopped, not at each of its {expected} stage boundaries"
        ));
    }
    for (l, label) in ALWAYS_SHOWN {
        let hidden =
            proof_line(transcript, label).is_none_or(|p| p.trim_start().starts_with("not visible"));
        if *l == lab && hidden {
            failures.push(format!("lab {lab}: `{label}` is not shown"));
        }
    }
    let kprobes = facts.get("kprobe_pmu").map(String::as_str) == Some("yes");
    if !kprobes {
        if in_kernel != 0 {
            failures.push(format!(
                "lab {lab}: {in_kernel} steps claimed seen in the kernel on a kernel without kprobes"
            ));
        }
        return failures;
    }
    for (step, function) in mission_steps(lab) {
        let present = facts
            .get(&format!("kallsyms.{function}"))
            .is_some_and(|n| n != "0");
        if !present {
            continue;
        }
        match evidence_of(transcript, step) {
            Some(e) if e.starts_with("seen in the kernel by ") => {}
            Some(e) => failures.push(format!(
                "lab {lab}: {step} ({function} is in this kernel) is only: {}",
                e.split(':').next().unwrap_or(e)
            )),
            None => failures.push(format!("lab {lab}: {step} is missing from the transcript")),
        }
    }
    for (step, frames) in stack_steps(lab) {
        // Held to it where the probed function (the last frame) exists.
        let present = frames.last().is_some_and(|f| {
            facts
                .get(&format!("kallsyms.{f}"))
                .is_some_and(|n| n != "0")
        });
        if !present {
            continue;
        }
        match stack_of(transcript, step) {
            Some(stack) if frames_in_order(&stack, frames) => {}
            Some(stack) => failures.push(format!(
                "lab {lab}: the stack of {step} lacks {} in that order: {stack}",
                frames.join(" → ")
            )),
            None => failures.push(format!(
                "lab {lab}: {step} is shown without its kernel stack"
            )),
        }
    }
    failures
}

/// The `labs` cell of a kernel.
pub fn cell(kernel: &str, facts: &BTreeMap<String, String>, ch: &Channel) -> Cell {
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: "labs".to_string(),
        ..Cell::default()
    };
    let mut total = 0.0;
    for lab in LABS {
        let (Some(text), Some(rc)) = (
            ch.text(&format!("labs/{lab}.txt")),
            ch.text(&format!("labs/{lab}.rc")),
        ) else {
            cell.failures
                .push(format!("lab {lab}: its transcript did not arrive"));
            continue;
        };
        let kv = key_values(&rc);
        total += seconds(&kv).unwrap_or(0.0);
        match kv.get("rc").map(String::as_str) {
            Some("0") => {}
            other => {
                cell.failures.push(format!(
                    "lab {lab} exited {}: {}",
                    other.unwrap_or("?"),
                    last_lines(&text, 4)
                ));
                continue;
            }
        }
        let failures = check(lab, &text, facts);
        if failures.is_empty() {
            cell.facts.push(format!(
                "lab {lab}: {} seen in the kernel",
                seen_in_kernel(&text).unwrap_or(0)
            ));
        }
        cell.failures.extend(failures);
    }
    cell.seconds = Some(total);
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEN: &str = "\
SHM-3   newseg created the shmid_kernel
        +1.0ms shm-producer[9] — seen in the kernel by newseg (fentry): shm_create id 1
        The key was new.

SHM-5   shmat maps the segment
        +2.0ms shm-producer[9] — seen at the syscall boundary by sys_shmat (tracepoint): shm_attach
Stopped now: 9 at `created`, 10 at `found`.
Stopped now: 9 at `attached`, 10 at `attached`.
Stopped now: 9 at `touched`, 10 at `touched`.
Of 15 steps: 1 seen in the kernel, 1 seen at the syscall boundary, 0 implied, 13 not visible.
";

    fn facts(kprobes: bool) -> BTreeMap<String, String> {
        let mut f = BTreeMap::new();
        f.insert(
            "kprobe_pmu".into(),
            if kprobes { "yes" } else { "no" }.into(),
        );
        for s in ["newseg", "do_shmat"] {
            f.insert(format!("kallsyms.{s}"), "1".into());
        }
        f
    }

    #[test]
    fn a_mission_step_only_at_the_boundary_fails_where_kprobes_work() {
        assert_eq!(
            evidence_of(SEEN, "SHM-3").map(|e| &e[..18]),
            Some("seen in the kernel")
        );
        let failures = check("shm", SEEN, &facts(true));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("SHM-5 (do_shmat"), "{failures:?}");
    }

    #[test]
    fn a_leak_lab_without_its_detach_fails() {
        let with = format!(
            "{SEEN}detach  a mapping went away\n        +3.0ms shm-leak[9] — implied (inferred from tracepoints: sched_process_exit): detach 1\n"
        );
        let without = format!(
            "{SEEN}detach  a mapping went away\n        not visible — the demo did not do it in this run\n"
        );
        let about_detach = |text: &str| {
            check("leak", text, &facts(false))
                .into_iter()
                .filter(|f| f.contains("detach"))
                .count()
        };
        assert_eq!(about_detach(&with), 0);
        assert_eq!(about_detach(&without), 1);
    }

    #[test]
    fn kernel_sight_without_kprobes_fails_and_none_passes() {
        let failures = check("shm", SEEN, &facts(false));
        assert_eq!(failures.len(), 1, "{failures:?}");
        let none = SEEN.replace("Of 15 steps: 1 seen", "Of 15 steps: 0 seen");
        assert!(check("shm", &none, &facts(false)).is_empty());
        assert!(!check("shm", "no closing line", &facts(false)).is_empty());
    }

    #[test]
    fn a_lab_not_stopped_at_each_boundary_fails() {
        let one_less = SEEN.replacen("Stopped now: 9 at `created`, 10 at `found`.\n", "", 1);
        let failures = check("shm", &one_less, &facts(false));
        assert!(
            failures.iter().any(|f| f.contains("2 times")),
            "{failures:?}"
        );
        assert!(
            check(
                "shm",
                SEEN.replace("1 seen in", "0 seen in").as_str(),
                &facts(false)
            )
            .is_empty()
        );
    }

    #[test]
    fn the_fault_proof_needs_its_stack_in_the_kernels_order() {
        let fault = |stack: &str| {
            format!(
                "{SEEN}SHM-10  touching the memory raised a page fault
        +4.0ms shm-consumer[10] — seen in the kernel by shm_fault (fentry): shm_fault
{stack}        The page cache.
"
            )
        };
        let mut f = facts(true);
        for s in ["shm_fault", "shmem_fault"] {
            f.insert(format!("kallsyms.{s}"), "1".into());
        }
        let about_stack = |text: &str| {
            check("shm", text, &f)
                .into_iter()
                .filter(|e| e.contains("stack"))
                .collect::<Vec<_>>()
        };
        let good = "        Kernel stack: asm_exc_page_fault → exc_page_fault →\n        do_user_addr_fault → __do_fault → shm_fault\n        → shmem_fault\n";
        assert!(about_stack(&fault(good)).is_empty());
        let reversed = "        Kernel stack: exc_page_fault → shmem_fault → __do_fault\n";
        assert_eq!(about_stack(&fault(reversed)).len(), 1);
        assert_eq!(about_stack(&fault("")).len(), 1, "a proof without a stack");
    }
}
