//! Every way out of `record -o FILE -- CMD` leaves nothing behind: no BPF
//! program, map or link of the tracer (ids collected from its fdinfo while
//! it runs, then looked up by id), nothing pinned, the traced command ended
//! (not stopped, not left running), and FILE complete (header … stats) or,
//! when ipc-trace could not finish it, FILE.partial that the reader reports
//! truncated. Paths: SIGINT, SIGTERM, SIGHUP, SIGKILL, a panic mid-session
//! (`IPC_TRACE_TEST_PANIC`, see src/session/test_hook.rs), and starts that
//! fail before and after loading the programs.
//! Alone in its file: it loads programs, which other files count.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;
use common::exits::{self, Ended, Kind, Objects, Watcher};

/// One tracer at a time: they share two cores with other builds.
static SERIAL: Mutex<()> = Mutex::new(());

fn ipc_trace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
}

fn scratch(name: &str) -> PathBuf {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test needs root (eBPF)"
    );
    let dir = std::env::temp_dir().join(format!("ipc-trace-exit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `record -o FILE -- CMD` with `IPC_TRACE_TEST_PANIC=panic` when given,
/// and a watcher of its BPF objects.
fn start(file: &Path, panic: Option<&str>, cmd: &[&str]) -> (Child, Watcher) {
    let mut c = ipc_trace();
    c.args(["record", "-o"]).arg(file).arg("--").args(cmd);
    // The one-line messages are checked: no backtraces.
    c.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(point) = panic {
        c.env("IPC_TRACE_TEST_PANIC", point);
    }
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ipc-trace");
    let watcher = Watcher::start(child.id());
    (child, watcher)
}

/// Waits until the tracer runs `comm` as its child (the session is up:
/// probes attached, self-test done, signal handlers installed); returns
/// the command's pid.
fn traced_command(tracer: u32, comm: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = exits::children_of(tracer).into_iter().find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        });
        if let Some(pid) = found {
            return pid;
        }
        assert!(
            Instant::now() < deadline && exits::alive(tracer),
            "ipc-trace never started `{comm}`"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// While it runs: the tracer holds programs, maps and links, all of them
/// visible by id (the check below can see an object that exists), the
/// traced command is not stopped and holds none of them.
fn assert_running_state(tracer: u32, traced: u32) -> Objects {
    std::thread::sleep(Duration::from_millis(200));
    let held = exits::objects_of(tracer);
    for kind in [Kind::Prog, Kind::Map, Kind::Link] {
        assert!(
            exits::count(&held, kind) > 0,
            "the tracer holds no {kind:?}"
        );
    }
    for &(kind, id) in &held {
        assert!(exits::exists(kind, id), "{kind:?} {id} held but not found");
    }
    assert_eq!(exits::state(traced), Some('S'), "the traced command");
    assert!(
        exits::objects_of(traced).is_empty(),
        "the traced command inherited BPF objects"
    );
    held
}

fn assert_all_gone(objects: &Objects, how: &str) {
    let left = exits::left_after(objects, 5);
    assert!(
        left.is_empty(),
        "after {how}, still in the kernel: {left:?}"
    );
    eprintln!(
        "{how}: {} programs, {} maps, {} links freed",
        exits::count(objects, Kind::Prog),
        exits::count(objects, Kind::Map),
        exits::count(objects, Kind::Link)
    );
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(String::from)
        .collect()
}

fn partial(file: &Path) -> PathBuf {
    ipc_trace::recording::partial_path(file)
}

/// FILE is absent, FILE.partial starts with the header and has no stats
/// line, and the reader says it is truncated.
fn assert_partial_marked_truncated(file: &Path) {
    assert!(!file.exists(), "{} exists", file.display());
    let text = lines(&partial(file));
    assert!(
        text.first()
            .is_some_and(|l| l.starts_with(r#"{"schema":"ipc-trace/"#)),
        "no header first in the partial file: {text:?}"
    );
    assert!(!text.iter().any(|l| l.contains(r#""kind":"stats""#)));
    let out = ipc_trace()
        .arg("summary")
        .arg(partial(file))
        .output()
        .expect("run summary");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the recording ends without its stats line (truncated?)"),
        "{err}"
    );
}

/// Waits up to `secs` for the tracer to exit (a session that ignores a
/// signal would run on with its command); kills it and fails if not.
fn exited_within(mut tracer: Child, secs: u64, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while tracer.try_wait().expect("try_wait").is_none() {
        if Instant::now() >= deadline {
            let _ = tracer.kill();
            panic!("ipc-trace still runs {secs} s after {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracer.wait_with_output().expect("wait")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ends_completely_on(sig: i32, name: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    exits::become_subreaper();
    let dir = scratch(name);
    let file = dir.join("r.ndjson");
    let pinned = exits::pinned();
    let (tracer, watcher) = start(&file, None, &["sleep", "30"]);
    let traced = traced_command(tracer.id(), "sleep");
    let held = assert_running_state(tracer.id(), traced);
    // SAFETY: signalling the process we spawned.
    unsafe { libc::kill(tracer.id() as i32, sig) };
    let out = exited_within(tracer, 8, name);
    let objects = watcher.finish();
    assert!(objects.is_superset(&held));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        exits::state(traced),
        None,
        "the traced command was not reaped by ipc-trace after {name}"
    );
    let text = lines(&file);
    assert!(
        text[0].starts_with(r#"{"schema":"ipc-trace/"#),
        "{}",
        text[0]
    );
    let last = text.last().map(String::as_str).unwrap_or_default();
    assert!(last.starts_with(r#"{"kind":"stats""#), "{last}");
    assert!(!partial(&file).exists(), "the partial file was left");
    assert_all_gone(&objects, name);
    assert_eq!(exits::pinned(), pinned, "something was pinned");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigint_completes_the_recording_and_leaves_nothing() {
    ends_completely_on(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_completes_the_recording_and_leaves_nothing() {
    ends_completely_on(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_completes_the_recording_and_leaves_nothing() {
    ends_completely_on(libc::SIGHUP, "SIGHUP");
}

/// SIGKILL runs no code of ours: the kernel frees the objects with the
/// last fd, the traced command gets SIGTERM (PR_SET_PDEATHSIG) and, an
/// orphan, is reaped here; what was written stays in FILE.partial, which
/// blocks a new recording to the same name until it is dealt with.
#[test]
fn sigkill_frees_everything_ends_the_command_and_keeps_a_partial_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    exits::become_subreaper();
    let dir = scratch("sigkill");
    let file = dir.join("r.ndjson");
    let pinned = exits::pinned();
    let (mut tracer, watcher) = start(&file, None, &["sleep", "30"]);
    let traced = traced_command(tracer.id(), "sleep");
    assert_running_state(tracer.id(), traced);
    tracer.kill().expect("SIGKILL");
    tracer.wait().expect("wait");
    let objects = watcher.finish();
    assert_eq!(
        exits::wait_ended(traced, 5),
        Some(Ended::Signal(libc::SIGTERM)),
        "the traced command of a killed ipc-trace"
    );
    assert_all_gone(&objects, "SIGKILL");
    assert_eq!(exits::pinned(), pinned, "something was pinned");
    assert_partial_marked_truncated(&file);

    let again = ipc_trace()
        .args(["record", "-o"])
        .arg(&file)
        .args(["--", "true"])
        .output()
        .expect("record again");
    assert_eq!(again.status.code(), Some(2), "{}", stderr_of(&again));
    assert!(
        stderr_of(&again).contains("r.ndjson.partial exists"),
        "{}",
        stderr_of(&again)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A panic in the session loop: one line saying it is a bug, status 101,
/// the probes detached while unwinding, the command killed with its
/// handle, the recording kept as FILE.partial.
#[test]
fn a_panic_mid_session_detaches_ends_the_command_and_keeps_a_partial_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    exits::become_subreaper();
    let dir = scratch("panic");
    let file = dir.join("r.ndjson");
    let (tracer, watcher) = start(&file, Some("mid-session"), &["sleep", "30"]);
    let traced = traced_command(tracer.id(), "sleep");
    let out = exited_within(tracer, 10, "the panic");
    let objects = watcher.finish();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(101), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with(
            "ipc-trace: internal error (a bug, please report it): IPC_TRACE_TEST_PANIC"
        )),
        "{err}"
    );
    let ended = exits::wait_ended(traced, 5);
    assert!(
        matches!(ended, Some(Ended::Reaped | Ended::Signal(_))),
        "the traced command after the panic: {ended:?}"
    );
    assert!(exits::count(&objects, Kind::Prog) > 0, "nothing was loaded");
    assert_all_gone(&objects, "a panic");
    assert_partial_marked_truncated(&file);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A failed start prints one line, exits 2 (the user's input) or 101 (a
/// bug), writes no file and leaves no object, also when it fails after
/// loading the programs.
fn assert_failed_start(out: &Output, status: i32, says: &str, file: &Path) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(status), "{err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(
        err.starts_with("ipc-trace: ") && err.contains(says),
        "{err}"
    );
    assert!(!file.exists() && !partial(file).exists(), "a file was left");
}

#[test]
fn a_missing_command_fails_before_loading_anything() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("missing");
    let file = dir.join("r.ndjson");
    let mut cmd = ipc_trace();
    cmd.args(["record", "-o"])
        .arg(&file)
        .args(["--", "/nonexistent-command"]);
    let (out, loaded) = common::output_and_prog_loads(&mut cmd);
    assert_failed_start(&out, 2, "command not found", &file);
    assert!(!loaded, "BPF programs were loaded for a missing command");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_right_after_attaching_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("after-attach");
    let file = dir.join("r.ndjson");
    let (tracer, watcher) = start(&file, Some("after-attach"), &["sleep", "30"]);
    let out = exited_within(tracer, 15, "the panic");
    let objects = watcher.finish();
    assert_failed_start(&out, 101, "internal error", &file);
    assert!(exits::count(&objects, Kind::Prog) > 0, "nothing was loaded");
    assert_all_gone(&objects, "a panic after attaching");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An executable on a `noexec` mount passes the PATH check but cannot be
/// executed: the spawn fails after the probes were attached and
/// self-tested.
#[test]
fn a_command_that_cannot_be_executed_fails_after_loading_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("noexec");
    let mnt = dir.join("noexec");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "noexec", "ipc-trace-test"])
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(mounted.success(), "mount tmpfs -o noexec");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap_or(&self.0));
        }
    }
    let _unmount = Unmount(mnt.clone());
    let program = mnt.join("true");
    std::fs::copy("/bin/true", &program).expect("copy /bin/true");
    let file = dir.join("r.ndjson");
    let program = program.to_string_lossy().into_owned();
    let (tracer, watcher) = start(&file, None, &[&program]);
    let out = exited_within(tracer, 15, "the failed spawn");
    let objects = watcher.finish();
    assert_failed_start(&out, 2, "Permission denied", &file);
    assert!(
        stderr_of(&out).contains(&format!("cannot start `{program}`")),
        "{}",
        stderr_of(&out)
    );
    assert!(exits::count(&objects, Kind::Prog) > 0, "nothing was loaded");
    assert_all_gone(&objects, "a failed spawn");
}
