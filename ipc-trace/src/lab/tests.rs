//! Labs over the model's sample trace (`model::fixture`), whose answers are
//! known from how it was built: the stages keep the kernel's order, nothing
//! from a tracepoint backend is claimed seen in the kernel, and every
//! question is answered (and graded) from the run.

use super::catalog::{self, LABS};
use super::moment::Moment;
use super::quiz::{Answer, Grade, grade};
use super::render::{Ink, closing_text, counts, question_text, stage_text};
use super::walk::Walk;
use crate::event::Backend;
use crate::model::evidence::Evidence;
use crate::model::{Step, fixture};
use crate::probe::ProbeTable;

fn walk_of(events: &[crate::event::Event]) -> Walk {
    let mut w = Walk::new();
    for ev in events {
        w.apply(ev);
    }
    w.finish();
    w
}

fn sample() -> Walk {
    walk_of(&fixture::producer_consumer())
}

fn answers(lab: &str, w: &Walk) -> Vec<Result<Answer, String>> {
    let lab = catalog::find(lab).expect("lab");
    lab.questions
        .iter()
        .map(|q| (q.answer)(w.facts()))
        .collect()
}

#[test]
fn the_sample_run_answers_every_question_as_it_was_built() {
    let w = sample();
    let producer = |comm: &str, tgid| {
        Ok(Answer::Process(super::facts::Who {
            tgid,
            comm: comm.into(),
        }))
    };
    let shm = answers("shm", &w);
    assert_eq!(shm[0], producer("shm-producer", fixture::PRODUCER));
    assert_eq!(shm[1], Ok(Answer::Count(2)));
    assert_eq!(shm[2], Ok(Answer::Count(3)));
    // Created at 5 s, first fault 965 µs later (see the fixture's steps).
    match &shm[3] {
        Ok(Answer::Millis(ms)) => assert!((ms - 0.965).abs() < 1e-6, "{ms}"),
        other => panic!("{other:?}"),
    }
    let sem = answers("sem", &w);
    assert_eq!(sem[0], producer("shm-producer", fixture::PRODUCER));
    assert_eq!(sem[1], Ok(Answer::Count(1)));
    assert_eq!(sem[2], Ok(Answer::Millis(1.48)));
    assert_eq!(sem[3], Ok(Answer::Count(12)));
    let leak = answers("leak", &w);
    assert_eq!(leak[0], Ok(Answer::Id(32769)));
    assert_eq!(leak[1], producer("leaker", fixture::LEAKER));
    assert_eq!(leak[2], Ok(Answer::Count(0)));
}

#[test]
fn a_run_without_the_objects_says_why_a_question_is_not_asked() {
    let w = walk_of(&[]);
    for lab in LABS {
        let asked = answers(lab.name, &w)
            .into_iter()
            .filter(Result::is_ok)
            .count();
        // Counts of nothing are still answers (0 attaches, 0 waits); who and
        // when are not.
        assert!(asked < lab.questions.len(), "lab {}", lab.name);
    }
    let q = &catalog::find("leak").expect("leak").questions[0];
    let (text, grade) = question_text(Ink::plain(), 1, q, w.facts(), Some("32769"));
    assert_eq!(grade, None);
    assert!(
        text.contains("not asked: nothing was left behind"),
        "{text}"
    );
}

#[test]
fn answers_are_graded_against_the_run() {
    let w = sample();
    let q = &catalog::find("shm").expect("shm").questions;
    let graded =
        |i: usize, given: &str| question_text(Ink::plain(), i + 1, &q[i], w.facts(), Some(given)).1;
    assert_eq!(graded(0, "producer"), Some(Grade::Right));
    assert_eq!(graded(0, "shm-consumer"), Some(Grade::Wrong));
    assert_eq!(graded(2, "3 pages"), Some(Grade::Right));
    assert_eq!(graded(2, "1"), Some(Grade::Wrong));
    assert_eq!(graded(3, "1 ms"), Some(Grade::Right));
    assert_eq!(graded(3, ""), Some(Grade::Unreadable));
    assert_eq!(grade(&Answer::Count(2), "2"), Grade::Right);
}

#[test]
fn stages_show_their_moments_in_the_kernels_order_with_the_run_s_evidence() {
    let w = sample();
    let lab = catalog::find("shm").expect("shm");
    let table = ProbeTable { probes: Vec::new() };
    let text: String = (0..lab.stages.len())
        .map(|i| stage_text(Ink::plain(), lab, i, &w, &table))
        .collect();
    let mut at = 0;
    for m in lab.moments() {
        let label = format!("{:<7} {}", m.label(), m.describe());
        let found = text[at..]
            .find(&label)
            .unwrap_or_else(|| panic!("{label} missing or out of order in:\n{text}"));
        at += found + label.len();
    }
    assert!(
        text.contains("seen in the kernel by newseg (kprobe)"),
        "{text}"
    );
    assert!(
        text.contains("seen in the kernel by shm_destroy (kprobe)"),
        "{text}"
    );
    assert!(!text.contains('\x1b'));
    // The consumer found the segment: ipc_findkey is never probed, so
    // SHM-2 follows from its shmget returning a known id.
    assert_eq!(
        w.proof(Moment::Step(Step::SHM2)).map(|p| p.level),
        Some(Evidence::Implied)
    );
}

#[test]
fn nothing_from_a_tracepoint_backend_is_claimed_seen_in_the_kernel() {
    let mut events = fixture::producer_consumer();
    for e in &mut events {
        e.backend = Backend::Tracepoint;
    }
    let w = walk_of(&events);
    for lab in LABS {
        let [in_kernel, boundary, ..] = counts(lab, &w);
        assert_eq!(in_kernel, 0, "lab {}", lab.name);
        assert!(boundary > 0, "lab {}", lab.name);
        assert!(closing_text(lab, &w).contains(" 0 seen in the kernel,"));
    }
    // The control: the same events from a kernel-path backend are.
    let [in_kernel, ..] = counts(catalog::find("shm").expect("shm"), &sample());
    assert!(in_kernel > 0);
}

#[test]
fn the_orphan_is_pointed_at_and_implied_never_seen() {
    let w = sample();
    let p = w
        .proof(Moment::Orphaned)
        .expect("the leaker's segment is an orphan");
    assert_eq!(p.level, Evidence::Implied);
    assert!(p.text.contains("segment id 32769"), "{}", p.text);
    assert_eq!(w.facts().orphans.len(), 1);
}

/// An ABBA run: processes 10 and 11 each take one semaphore of set 3,
/// then each waits for the other's until EAGAIN, then give theirs back.
fn abba() -> Vec<crate::event::Event> {
    use crate::event::{Event, EventKind, SemOpSpec};
    let op = |ts: u64, tgid: u32, num: u16, op: i16, wait_ms: Option<u64>| {
        let mut e = Event::new(ts, EventKind::SemOp, tgid, tgid, "abba");
        e.probe = "sys_semtimedop".into();
        e.id = Some(3);
        e.ops = Some(vec![SemOpSpec { num, op, flg: 0 }]);
        e.blocked = Some(wait_ms.is_some());
        e.wait_ns = wait_ms.map(|w| w * 1_000_000);
        match wait_ms {
            Some(_) => e.errno = Some(libc::EAGAIN),
            None => e.ret = Some(0),
        }
        e
    };
    let mut get = Event::new(1, EventKind::SemGet, 10, 10, "abba");
    get.probe = "sys_semget".into();
    get.id = Some(3);
    get.key = Some(0);
    get.nsems = Some(2);
    get.flags = Some(0o1600);
    get.ret = Some(3);
    vec![
        get,
        op(10, 10, 0, -1, None),
        op(11, 11, 1, -1, None),
        op(400, 10, 1, -1, Some(300)),
        op(401, 11, 0, -1, Some(300)),
        op(500, 10, 0, 1, None),
        op(501, 11, 1, 1, None),
    ]
}

#[test]
fn the_deadlock_lab_finds_the_abba_cycle_and_counts_the_timeouts() {
    let w = walk_of(&abba());
    let cycle = w.facts().cycle.as_ref().expect("the cycle is found");
    assert_eq!(cycle.len(), 2);
    assert_eq!(w.facts().timed_out, 2);
    let a = answers("deadlock", &w);
    assert_eq!(a[0], Ok(Answer::Count(2)));
    assert_eq!(
        a[1],
        Ok(Answer::Count(1)),
        "the creator (10) waited for semaphore 1"
    );
    assert_eq!(a[3], Ok(Answer::Count(2)));
    let p = w.proof(Moment::Deadlock).expect("a proof");
    assert_eq!(p.level, Evidence::Implied);
    assert_eq!(
        w.proof(Moment::TimedOut).map(|p| p.level),
        Some(Evidence::SyscallBoundary)
    );
    // The control: without the second wait there is no cycle.
    let mut one_sided = abba();
    one_sided.remove(4);
    assert!(walk_of(&one_sided).facts().cycle.is_none());
}

#[test]
fn every_lab_screen_over_the_sample_run() {
    let w = sample();
    let table = ProbeTable { probes: Vec::new() };
    for lab in LABS {
        let mut text: String = (0..lab.stages.len())
            .map(|i| stage_text(Ink::plain(), lab, i, &w, &table))
            .collect();
        text.push_str(&closing_text(lab, &w));
        for (i, q) in lab.questions.iter().enumerate() {
            text.push_str(&question_text(Ink::plain(), i + 1, q, w.facts(), None).0);
        }
        assert!(text.contains("Of "), "{text}");
        insta::assert_snapshot!(format!("lab_{}", lab.name), text);
    }
}

#[test]
fn a_step_probe_proves_its_step_inside_the_call_with_its_own_stack_only() {
    let mut events = fixture::producer_consumer();
    let stack = |frames: &[&str]| Some(frames.iter().map(|f| f.to_string()).collect());
    let get = events
        .iter_mut()
        .find(|e| e.tgid == fixture::CONSUMER && e.kind == crate::event::EventKind::ShmGet)
        .expect("the consumer's shmget");
    get.inner = Some(vec!["shm_more_checks".into()]);
    get.stack = stack(&[
        "entry_SYSCALL_64+0x76",
        "ipcget+0x2d",
        "shm_more_checks+0x0",
    ]);
    let attach = events
        .iter_mut()
        .find(|e| e.kind == crate::event::EventKind::ShmAttach && e.probe == "do_shmat")
        .expect("an attach seen by do_shmat");
    attach.inner = Some(vec!["shm_mmap".into()]);
    attach.stack = stack(&["__x64_sys_shmat+0x1b", "do_shmat+0x0"]);
    let w = walk_of(&events);

    let found = w.proof(Moment::Step(Step::SHM2)).expect("SHM-2");
    assert_eq!(found.level, Evidence::InKernel);
    assert_eq!(found.probe, "shm_more_checks");
    assert_eq!(found.inside.as_deref(), Some("sys_shmget"));
    assert!(
        found.stack.is_some(),
        "the syscall's stack is the step probe's"
    );
    // The attach's stack is do_shmat's: it goes with SHM-5, not with the
    // steps shm_mmap proved inside it.
    let mmap = w.proof(Moment::Step(Step::SHM8)).expect("SHM-8");
    assert_eq!(
        (mmap.level, mmap.probe.as_str()),
        (Evidence::InKernel, "shm_mmap")
    );
    assert_eq!(mmap.stack, None);
    assert!(
        w.proof(Moment::Step(Step::SHM5))
            .and_then(|p| p.stack.as_ref())
            .is_some()
    );

    let lab = catalog::find("shm").expect("shm");
    let table = ProbeTable { probes: Vec::new() };
    let text: String = (0..lab.stages.len())
        .map(|i| stage_text(Ink::plain(), lab, i, &w, &table))
        .collect();
    assert!(
        text.contains("seen in the kernel by shm_more_checks inside sys_shmget"),
        "{text}"
    );
    assert!(
        text.contains("Kernel stack: entry_SYSCALL_64 → ipcget → shm_more_checks"),
        "{text}"
    );
    assert!(
        text.contains("Kernel stack: __x64_sys_shmat → do_shmat"),
        "{text}"
    );
}
