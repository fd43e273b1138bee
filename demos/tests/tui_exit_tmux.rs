//! The live TUI leaves a usable terminal and nothing loaded on every way
//! out, as root in real tmux panes: `ipc-trace -- sleep 30` is typed into
//! a shell in the pane and ended by `q`, SIGTERM, SIGHUP, a panic of the
//! session (`IPC_TRACE_TEST_PANIC=mid-session`, see
//! ipc-trace/src/session/test_hook.rs) and by closing the pane. After each:
//! the alternate screen is left (`#{alternate_on}` 0), the cursor shown
//! (`#{cursor_flag}` 1), echo on (`stty -a` in the shell), the tracer's BPF
//! programs, maps and links gone and the traced command ended. While the
//! TUI runs the same checks see the opposite, so they can fail.
//! Alone in its file: it loads programs, which other files count.

mod built;
mod tmux;
use tmux::Session;
#[path = "../../ipc-trace/tests/common/mod.rs"]
mod common;
use common::exits::{self, Kind, Objects};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One TUI at a time: they share two cores with other builds.
static SERIAL: Mutex<()> = Mutex::new(());

/// A tmux pane running a plain bash.
struct Pane(Session);

impl Pane {
    fn new(name: &str) -> Pane {
        assert!(
            unsafe { libc::geteuid() } == 0,
            "this test needs root (eBPF): run it as root"
        );
        Pane(Session::start(
            &format!("exit-{name}"),
            "env PS1='$ ' bash --norc --noprofile -i",
        ))
    }

    /// `stty -a` of the pane's terminal, read from outside (only
    /// meaningful while a program, not the shell's line editor, owns it).
    fn stty_outside(&self) -> String {
        let tty = self.0.format("#{pane_tty}");
        let out = Command::new("stty")
            .args(["-a", "-F", &tty])
            .output()
            .expect("stty");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `echo` or `-echo` in `stty -a` output.
fn echo_flag(stty: &str) -> Option<&str> {
    stty.split([' ', ';', '\n'])
        .find(|w| *w == "echo" || *w == "-echo")
}

/// A TUI started in the pane's shell, up and holding its probes.
struct Tui {
    tracer: u32,
    traced: u32,
    held: Objects,
}

/// Types `ipc-trace -- sleep 30` (with `env` before it) into the shell and
/// waits until the TUI is on screen with its probes attached and `sleep`
/// started; checks the terminal is in the TUI's state then.
fn start_tui(pane: &Pane, env: &str) -> Tui {
    let bin = built::ipc_trace_bin();
    pane.0.wait_for("the shell prompt", 20, |s| s.contains('$'));
    // `EXIT''=` so the typed line itself does not match `EXIT=`.
    // No backtraces: the panic's one line is checked on screen.
    pane.0.type_line(&format!(
        "env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE {env} {} -- sleep 30; echo EXIT''=$?",
        bin.display()
    ));
    let shell: u32 = pane.0.format("#{pane_pid}").parse().expect("pane pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    let (tracer, traced) = loop {
        let tracer = exits::children_of(shell).into_iter().find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "ipc-trace")
        });
        let traced = tracer.and_then(|t| {
            exits::children_of(t).into_iter().find(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            })
        });
        if let (Some(t), Some(c)) = (tracer, traced)
            && pane.0.format("#{alternate_on}") == "1"
        {
            break (t, c);
        }
        assert!(
            Instant::now() < deadline,
            "the TUI never came up:\n{}",
            pane.0.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let held = exits::objects_of(tracer);
    for kind in [Kind::Prog, Kind::Map, Kind::Link] {
        assert!(exits::count(&held, kind) > 0, "the TUI holds no {kind:?}");
    }
    assert_eq!(
        pane.0.format("#{cursor_flag}"),
        "0",
        "cursor shown in the TUI"
    );
    assert_eq!(
        echo_flag(&pane.stty_outside()),
        Some("-echo"),
        "echo on under the TUI"
    );
    Tui {
        tracer,
        traced,
        held,
    }
}

/// The tracer exited, freed its objects and ended its command.
fn assert_nothing_left(tui: &Tui, how: &str) {
    let deadline = Instant::now() + Duration::from_secs(8);
    while exits::alive(tui.tracer) {
        assert!(
            Instant::now() < deadline,
            "ipc-trace still runs after {how}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = exits::left_after(&tui.held, 5);
    assert!(
        left.is_empty(),
        "after {how}, still in the kernel: {left:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while exits::alive(tui.traced) {
        assert!(
            Instant::now() < deadline,
            "the traced command still runs after {how}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shell printed `EXIT=status`, and the terminal is usable: main
/// screen, cursor shown, echo on (as the shell sees it), typed text shown.
fn assert_exit_and_terminal(pane: &Pane, status: u8, how: &str) {
    let screen = pane
        .0
        .wait_for("the exit status", 15, |s| s.contains("EXIT="));
    assert!(
        screen.contains(&format!("EXIT={status}")),
        "after {how}:\n{screen}"
    );
    assert_eq!(
        pane.0.format("#{alternate_on}"),
        "0",
        "alternate screen after {how}"
    );
    assert_eq!(
        pane.0.format("#{cursor_flag}"),
        "1",
        "cursor hidden after {how}"
    );
    pane.0
        .type_line("echo STTY=$(stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo)");
    let screen = pane.0.wait_for("stty's answer", 10, |s| {
        s.contains("STTY=echo") || s.contains("STTY=-echo")
    });
    assert!(
        screen.contains("STTY=echo"),
        "echo off after {how}:\n{screen}"
    );
}

#[test]
fn q_restores_the_terminal_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pane = Pane::new("q");
    let tui = start_tui(&pane, "");
    pane.0.keys("q");
    assert_exit_and_terminal(&pane, 0, "q");
    assert_nothing_left(&tui, "q");
}

#[test]
fn sigterm_closes_the_tui_restores_the_terminal_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pane = Pane::new("term");
    let tui = start_tui(&pane, "");
    // SAFETY: signalling the tracer found in the pane.
    unsafe { libc::kill(tui.tracer as i32, libc::SIGTERM) };
    assert_exit_and_terminal(&pane, 0, "SIGTERM");
    assert_nothing_left(&tui, "SIGTERM");
}

/// SIGHUP with the terminal still there: the TUI closes as on SIGTERM.
#[test]
fn sighup_closes_the_tui_restores_the_terminal_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pane = Pane::new("hup");
    let tui = start_tui(&pane, "");
    // SAFETY: signalling the tracer found in the pane.
    unsafe { libc::kill(tui.tracer as i32, libc::SIGHUP) };
    assert_exit_and_terminal(&pane, 0, "SIGHUP");
    assert_nothing_left(&tui, "SIGHUP");
}

/// The pane closed under the TUI (`kill-pane`: the terminal hangs up, the
/// shell and the TUI get SIGHUP): nothing to restore, nothing left.
#[test]
fn closing_the_pane_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pane = Pane::new("kill-pane");
    let tui = start_tui(&pane, "");
    pane.0.tmux(&["kill-pane", "-t", &pane.0.0]);
    assert_nothing_left(&tui, "kill-pane");
}

/// A panic in the session: the UI closes, the terminal is restored, one
/// line says it is a bug, and the exit status is 101.
#[test]
fn a_panic_restores_the_terminal_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pane = Pane::new("panic");
    let tui = start_tui(&pane, "IPC_TRACE_TEST_PANIC=mid-session");
    assert_exit_and_terminal(&pane, 101, "a panic");
    assert!(
        pane.0.screen().contains("ipc-trace: internal error"),
        "{}",
        pane.0.screen()
    );
    assert_nothing_left(&tui, "a panic");
}
