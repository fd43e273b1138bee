//! A lab as text: each stage with its moments in the kernel's order (what
//! the kernel did, the evidence, where to look next), the closing counts and
//! the questions' answers. Colour only when asked ([`Ink`]); `--plain` text
//! is the same without escape codes.

use super::catalog::{Lab, Stage};
use super::explain::explain;
use super::facts::RunFacts;
use super::moment::Moment;
use super::quiz::{Grade, Question, grade};
use super::walk::{Proof, Walk};
use crate::model::Step;
use crate::model::describe::duration;
use crate::model::evidence::Evidence;
use crate::probe::ProbeTable;

/// Width explanations are wrapped to.
const WIDTH: usize = 78;
/// Indent of everything under a moment's label.
const INDENT: &str = "        ";

/// Colour, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ink {
    colour: bool,
}

impl Ink {
    /// ANSI colours.
    pub fn colour() -> Ink {
        Ink { colour: true }
    }

    /// Plain text.
    pub fn plain() -> Ink {
        Ink { colour: false }
    }

    fn paint(self, sgr: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn level(self, level: Evidence, text: &str) -> String {
        let sgr = match level {
            Evidence::InKernel => "1;32",
            Evidence::SyscallBoundary => "36",
            Evidence::Implied => "33",
            Evidence::NotVisible => "31",
        };
        self.paint(sgr, text)
    }
}

/// Words wrapped to [`WIDTH`], each line starting with `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The evidence of a proof in words: `seen in the kernel by newseg (fentry)`.
fn how(p: &Proof) -> String {
    match p.level {
        Evidence::Implied if p.probe.is_empty() => "implied (derived by the model)".into(),
        Evidence::Implied if p.inferred => {
            format!("implied (inferred from tracepoints: {})", p.probe)
        }
        level => match &p.inside {
            Some(call) => format!("{} by {} inside {}", level.words(), p.probe, call),
            None => format!("{} by {} ({})", level.words(), p.probe, p.backend.as_str()),
        },
    }
}

/// A kernel stack as a lab shows it: function names (offsets dropped),
/// outermost first, joined by arrows.
fn stack_line(frames: &[String]) -> String {
    let names: Vec<&str> = frames
        .iter()
        .map(|f| f.split_once('+').map_or(f.as_str(), |(name, _)| name))
        .collect();
    format!("Kernel stack: {}", names.join(" → "))
}

/// One moment: label, what it is, the evidence or why there is none (with
/// the kernel stack of a proof seen in the kernel; `shown` is the stack
/// printed last in this stage, which is not printed again), what the
/// kernel did.
fn moment_text(
    ink: Ink,
    m: Moment,
    walk: &Walk,
    table: &ProbeTable,
    shown: &mut Option<Vec<String>>,
) -> String {
    let mut out = format!(
        "{} {}\n",
        ink.bold(&format!("{:<7}", m.label())),
        m.describe()
    );
    match walk.proof(m) {
        Some(p) => {
            let at = walk
                .facts()
                .first_ns
                .map_or(0, |first| p.ts_ns.saturating_sub(first));
            out.push_str(&format!(
                "{INDENT}+{} {} — {}: {}\n",
                duration(at),
                p.who,
                ink.level(p.level, &how(p)),
                p.text
            ));
            if let Some(frames) = p.stack.as_ref().filter(|_| p.level == Evidence::InKernel) {
                let line = if shown.as_ref() == Some(frames) {
                    "Kernel stack: the same as above".to_string()
                } else {
                    stack_line(frames)
                };
                out.push_str(&ink.dim(wrap(&line, INDENT).trim_end()));
                out.push('\n');
                *shown = Some(frames.clone());
            }
        }
        None => out.push_str(&format!(
            "{INDENT}{} — {}\n",
            ink.level(Evidence::NotVisible, "not visible"),
            why_not(m, table)
        )),
    }
    out.push_str(&ink.dim(wrap(explain(m), INDENT).trim_end()));
    out.push('\n');
    if let Some(note) = here(m, walk) {
        out.push_str(&wrap(&format!("Here: {note}"), INDENT));
    }
    out
}

/// What this run shows about `m` beyond its proof: when a segment was
/// freed relative to its IPC_RMID, whether an exit had undo left to apply.
fn here(m: Moment, walk: &Walk) -> Option<String> {
    let at = |m: Moment| walk.proof(m).map(|p| p.ts_ns);
    match m {
        Moment::SegmentFreed => {
            let (rmid, freed) = (at(Moment::RemovalRequested)?, at(m)?);
            Some(if freed > rmid {
                format!(
                    "freed {} after the IPC_RMID, at the last detach.",
                    duration(freed - rmid)
                )
            } else {
                "freed at the IPC_RMID itself: nobody had it attached any more.".into()
            })
        }
        Moment::UndoAtExit => {
            let (removed, exit) = (at(Moment::SetRemoved)?, at(m)?);
            (removed <= exit).then(|| {
                format!(
                    "the set was freed {} before this exit, so exit_sem found nothing to apply.",
                    duration(exit - removed)
                )
            })
        }
        _ => None,
    }
}

/// Stage `index` (0-based) of `lab`, as the lab prints it.
pub fn stage_text(ink: Ink, lab: &Lab, index: usize, walk: &Walk, table: &ProbeTable) -> String {
    let Some(stage) = lab.stages.get(index) else {
        return String::new();
    };
    let Stage {
        title,
        moments,
        look,
        ..
    } = stage;
    let mut out = ink.bold(&format!(
        "── Stage {} of {}: {title} ──",
        index + 1,
        lab.stages.len()
    ));
    out.push_str("\n\n");
    let mut shown = None;
    for m in moments.iter() {
        out.push_str(&moment_text(ink, *m, walk, table, &mut shown));
        out.push('\n');
    }
    out.push_str(&wrap(&format!("Look next: {look}"), ""));
    out
}

/// How many of the lab's moments were shown at each level.
pub fn counts(lab: &Lab, walk: &Walk) -> [usize; 4] {
    let mut c = [0; 4];
    for m in lab.moments() {
        let level = walk.proof(m).map_or(Evidence::NotVisible, |p| p.level);
        c[level as usize] += 1;
    }
    c
}

/// The closing line: `Of N steps: A seen in the kernel, B seen at the
/// syscall boundary, C implied, D not visible.`
pub fn closing_text(lab: &Lab, walk: &Walk) -> String {
    let [k, b, i, n] = counts(lab, walk);
    let mut out = format!(
        "Of {} steps: {k} seen in the kernel, {b} seen at the syscall boundary, {i} implied, {n} not visible.\n",
        k + b + i + n
    );
    let lost = walk.facts().lost;
    if lost > 0 {
        out.push_str(&format!(
            "{lost} events were lost in this run (counted drops): what follows from the run are lower bounds.\n"
        ));
    }
    out
}

/// Why `m` has no proof in this run.
pub fn why_not(m: Moment, table: &ProbeTable) -> String {
    let probe = match m {
        Moment::Step(Step::SHM3 | Step::SHM4) => "newseg",
        Moment::Step(Step::SHM5 | Step::SHM6 | Step::SHM7 | Step::SHM8 | Step::SHM9) => "do_shmat",
        Moment::Step(Step::SHM10 | Step::SHM11) => "shm_fault",
        Moment::Step(Step::SHM12) => "shmem_fault",
        Moment::Step(Step::SEM3) => "newary",
        Moment::Step(Step::SEM7 | Step::SEM8 | Step::SEM9) => "do_semtimedop",
        Moment::SegmentFreed => "shm_destroy",
        Moment::SetRemoved => "freeary",
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

/// Question `n` (1-based) with the answer from the run, and the grade of
/// `given` when the student answered; no grade when the run cannot answer
/// it (the question is then shown as not asked, with why).
pub fn question_text(
    ink: Ink,
    n: usize,
    q: &Question,
    facts: &RunFacts,
    given: Option<&str>,
) -> (String, Option<Grade>) {
    let mut out = ink.bold(&format!("Q{n}. {}", q.text));
    out.push('\n');
    let right = match (q.answer)(facts) {
        Ok(a) => a,
        Err(why) => {
            out.push_str(&format!("    not asked: {why}\n"));
            return (out, None);
        }
    };
    let mark = given.map(|g| (g, grade(&right, g)));
    if let Some((g, verdict)) = mark {
        let word = match verdict {
            Grade::Right => ink.level(Evidence::InKernel, "right"),
            Grade::Wrong => ink.level(Evidence::NotVisible, "wrong"),
            Grade::Unreadable => ink.level(Evidence::Implied, "no answer read"),
        };
        out.push_str(&format!("    your answer: {} — {word}\n", g.trim()));
    }
    out.push_str(&format!("    answer from this run: {right}\n"));
    let why = (q.why)(facts);
    if !why.is_empty() {
        out.push_str(&wrap(&format!("why: {why}"), "    "));
    }
    (out, mark.map(|(_, v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let text = "word ".repeat(60);
        let out = wrap(&text, INDENT);
        assert!(
            out.lines()
                .all(|l| l.len() <= WIDTH && l.starts_with(INDENT))
        );
        assert_eq!(out.split_whitespace().count(), 60);
    }

    #[test]
    fn plain_ink_has_no_escape_codes() {
        assert_eq!(Ink::plain().bold("x"), "x");
        assert!(Ink::colour().bold("x").contains('\x1b'));
    }
}
