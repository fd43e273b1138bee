//! Live host test (root): the labs' questions are graded against the run.
//! The answers are the demos' own account of what they did (their JSON
//! reports), never the tracer's, so a wrong fact in the lab's walk fails
//! here; the same answers off by one are graded wrong (the control). The
//! leak lab removes the segment it leaves behind, and `--keep` keeps it.

mod tracer;

use demos::report::{DemoReport, Role};
use ipc_trace::event::SEM_UNDO;
use ipc_trace::probe::facts::KernelFacts;
use std::path::Path;
use tracer::{Scratch, record, record_with, require_root, run_lab as lab};

/// The verdict printed for question `n`: `right`, `wrong`, `no answer read`.
fn verdict(text: &str, n: usize) -> &str {
    let at = text
        .find(&format!("Q{n}. "))
        .unwrap_or_else(|| panic!("no Q{n} in:\n{text}"));
    text[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("your answer: "))
        .and_then(|l| l.rsplit(" — ").next())
        .unwrap_or_else(|| panic!("Q{n} was not graded:\n{text}"))
}

/// Writes `answers` (line i answers question i+1) into the scratch directory.
fn answers_file(scratch: &Scratch, name: &str, answers: &[String]) -> String {
    let file = scratch.path(&format!("{name}-answers.txt"));
    let body: String = answers
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}: {a}\n", i + 1))
        .collect();
    std::fs::write(&file, body).expect("write the answers");
    file.to_string_lossy().into_owned()
}

/// Grades `answers` over `recording`.
fn graded(lab_name: &str, recording: &Path, scratch: &Scratch, answers: &[String]) -> String {
    let file = answers_file(scratch, lab_name, answers);
    let replay = recording.to_string_lossy().into_owned();
    lab(lab_name, &["--replay", &replay, "--answers", &file])
}

/// Grades `answers` over a fresh live run of lab `name`.
fn graded_live(name: &str, scratch: &Scratch, answers: &[String]) -> String {
    let file = answers_file(scratch, name, answers);
    lab(name, &["--answers", &file])
}

fn all_verdicts(text: &str, n: usize) -> Vec<&str> {
    (1..=n).map(|i| verdict(text, i)).collect()
}

#[test]
fn the_shm_lab_grades_answers_known_from_the_demos_own_reports() {
    require_root();
    let scratch = Scratch::new("lab-quiz-shm");
    let reports = scratch.path("reports");
    let key = scratch.path("key").to_string_lossy().into_owned();
    let rec = record(
        &scratch,
        "shm",
        &[
            env!("CARGO_BIN_EXE_demo-run"),
            "--messages",
            "2",
            "--path",
            &key,
            "--report-dir",
            &reports.to_string_lossy(),
        ],
    );
    rec.assert_complete();
    let procs = DemoReport::load_dir(&reports).expect("the demos' reports");
    let creator = procs
        .iter()
        .find(|p| p.shm.as_ref().is_some_and(|s| s.created))
        .expect("a report says it created the segment");
    let attaches = procs.iter().filter(|p| p.shm.is_some()).count() as u64;
    let consumer = procs
        .iter()
        .find(|p| p.role == Role::Consumer)
        .and_then(|p| p.shm.as_ref())
        .expect("the consumer's report");
    let pages = consumer.pages_touched.len() as u64;
    let file = scratch.path("shm.ndjson");
    let right = [
        creator.pid.to_string(),
        attaches.to_string(),
        pages.to_string(),
    ];
    let text = graded("shm", &file, &scratch, &right);
    assert_eq!(all_verdicts(&text, 3), ["right"; 3], "{text}");
    assert!(text.contains("Score: 3 of 4 right."), "{text}");
    // The control: each off by one.
    let wrong = [
        (creator.pid + 1).to_string(),
        (attaches + 1).to_string(),
        (pages + 1).to_string(),
    ];
    let text = graded("shm", &file, &scratch, &wrong);
    assert_eq!(all_verdicts(&text, 3), ["wrong"; 3], "{text}");
    assert!(text.contains("Score: 0 of 4 right."), "{text}");
}

#[test]
fn the_sem_lab_grades_answers_known_from_the_demos_own_reports() {
    require_root();
    let scratch = Scratch::new("lab-quiz-sem");
    let report = scratch.path("pingpong.json");
    let key = scratch.path("key").to_string_lossy().into_owned();
    let rec = record(
        &scratch,
        "sem",
        &[
            env!("CARGO_BIN_EXE_sem-pingpong"),
            "--rounds",
            "3",
            "--path",
            &key,
            "--report",
            &report.to_string_lossy(),
        ],
    );
    rec.assert_complete();
    let parent = DemoReport::load(&report).expect("the ping-pong report");
    let procs = parent.processes();
    let sem = |p: &DemoReport| p.sem.clone().expect("a semaphore report");
    let blocked: usize = procs.iter().map(|p| sem(p).blocking_semops.len()).sum();
    let undo: usize = procs
        .iter()
        .map(|p| {
            sem(p)
                .semops
                .iter()
                .filter(|ops| ops.iter().any(|o| o.flg & SEM_UNDO != 0))
                .count()
        })
        .sum();
    assert!(
        blocked > 0 && undo > 0,
        "the demo's report: {blocked} blocked, {undo} undo"
    );
    let file = scratch.path("sem.ndjson");
    let right = [
        parent.pid.to_string(),
        blocked.to_string(),
        String::new(),
        undo.to_string(),
    ];
    let text = graded("sem", &file, &scratch, &right);
    assert_eq!(
        all_verdicts(&text, 4),
        ["right", "right", "no answer read", "right"],
        "{text}"
    );
    let wrong = [
        (parent.pid + 1).to_string(),
        (blocked + 1).to_string(),
        "100000".to_string(),
        (undo + 1).to_string(),
    ];
    let text = graded("sem", &file, &scratch, &wrong);
    assert_eq!(all_verdicts(&text, 4), ["wrong"; 4], "{text}");
}

#[test]
fn the_deadlock_lab_finds_the_cycle_the_demo_made() {
    require_root();
    let scratch = Scratch::new("lab-quiz-deadlock");
    // What sem-deadlock does by construction: two processes, the creator
    // waits for semaphore 1, both waits end with EAGAIN.
    let right = ["2".to_string(), "1".into(), String::new(), "2".into()];
    let text = graded_live("deadlock", &scratch, &right);
    assert_eq!(
        all_verdicts(&text, 4),
        ["right", "right", "no answer read", "right"],
        "{text}"
    );
    assert!(text.contains("waited for semaphore 1, held by"), "{text}");
    // The control: the other semaphore, and one timeout, are wrong.
    let wrong = ["3".to_string(), "0".into(), "0.001".into(), "1".into()];
    let text = graded_live("deadlock", &scratch, &wrong);
    assert_eq!(all_verdicts(&text, 4), ["wrong"; 4], "{text}");
}

/// True when `/proc/sysvipc/shm` lists segment `id`.
fn segment_exists(id: i32) -> bool {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").expect("read /proc/sysvipc/shm");
    table
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some(id.to_string().as_str()))
}

/// The id in `The lab removed segment N` / `remove it with `ipcrm -m N``.
fn orphan_id(text: &str, marker: &str) -> i32 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in:\n{text}"));
    text[at + marker.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id after `{marker}`:\n{text}"))
}

#[test]
fn the_leak_lab_points_at_the_orphan_and_removes_it_unless_kept() {
    require_root();
    let text = lab("leak", &["--auto"]);
    let id = orphan_id(&text, "The lab removed segment ");
    assert!(text.contains("orphan "), "{text}");
    assert!(!segment_exists(id), "segment {id} is still there:\n{text}");
    // The control: --keep leaves it, and it is really there.
    let text = lab("leak", &["--auto", "--keep"]);
    let id = orphan_id(&text, "ipcrm -m ");
    let kept = segment_exists(id);
    // SAFETY: IPC_RMID reads no buffer; removes what the lab kept.
    unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    assert!(kept, "--keep did not keep segment {id}:\n{text}");
    assert!(verdict_free(&text), "{text}");
}

/// With --auto and no answers nothing is graded: the answers are shown.
fn verdict_free(text: &str) -> bool {
    !text.contains("your answer:") && text.contains("answer from this run: ")
}

/// The `A` of the closing line `Of N steps: A seen in the kernel, …`.
fn seen_in_kernel(text: &str) -> usize {
    text.lines()
        .find_map(|l| l.split_once(" steps: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no closing line in:\n{text}"))
}

#[test]
fn a_recording_made_with_the_tracepoint_backend_claims_nothing_in_the_kernel() {
    require_root();
    let scratch = Scratch::new("lab-no-overclaim");
    let key = scratch.path("key").to_string_lossy().into_owned();
    let demo = [
        env!("CARGO_BIN_EXE_demo-run"),
        "--messages",
        "2",
        "--path",
        &key,
    ];
    let mut seen = Vec::new();
    for backend in ["tracepoint", "auto"] {
        record_with(&scratch, backend, &["--backend", backend], &demo).assert_complete();
        let file = scratch.path(&format!("{backend}.ndjson"));
        let text = lab("shm", &["--auto", "--replay", &file.to_string_lossy()]);
        assert!(!text.contains("observed"), "{text}");
        seen.push(seen_in_kernel(&text));
    }
    assert_eq!(seen[0], 0, "a tracepoint recording claims kernel sight");
    // The control: the same demo with the best backend this kernel has.
    let facts = KernelFacts::gather();
    if facts.kprobe_pmu || facts.fentry_allowed == Some(true) {
        assert!(
            seen[1] > 0,
            "kernel-path probes work here, yet nothing seen: {seen:?}"
        );
    } else {
        assert_eq!(seen[1], 0, "{seen:?}");
    }
}
