//! Shared by the tests that trace well-known programs: finding the built
//! `ipc-trace`, recording a command under it, and reading the recording.
#![allow(dead_code)]

#[path = "../built/mod.rs"]
mod built;
pub use built::ipc_trace_bin;
#[path = "../../../ipc-trace/tests/common/mod.rs"]
mod schema;

use demos::check::recording::Recording;
use ipc_trace::event::Event;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Panics unless this test runs as root (tracing needs CAP_BPF and CAP_PERFMON).
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test traces the kernel with eBPF and must run as root (CAP_BPF, CAP_PERFMON)"
    );
}

/// Panics with `install` advice unless `program` is on PATH.
pub fn require_program(program: &str, package: &str) -> PathBuf {
    find_program(program)
        .unwrap_or_else(|| panic!("`{program}` is not installed: apt-get install -y {package}"))
}

/// `program` on PATH, if it is there.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after the test.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ipc-trace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch(dir)
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A finished `ipc-trace record -- CMD`.
pub struct Recorded {
    /// The tracer's own output (the command's output passes through it).
    pub output: Output,
    /// The parsed recording.
    pub recording: Recording,
}

impl Recorded {
    /// The command's standard output.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Everything the tracer and the command printed, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "status: {}\nstdout:\n{}\nstderr:\n{}",
            self.output.status,
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// Every event, in file order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.recording.events.iter().map(|l| &l.event)
    }

    /// Panics unless the recording parsed cleanly, ends with its stats line,
    /// and nothing was dropped.
    pub fn assert_complete(&self) {
        let rec = &self.recording;
        assert!(
            rec.problems.is_empty(),
            "the recording has problems: {:?}\n{}",
            rec.problems,
            self.transcript()
        );
        let stats = rec
            .stats
            .as_ref()
            .unwrap_or_else(|| panic!("no stats line\n{}", self.transcript()));
        assert_eq!(stats.dropped, 0, "events were dropped: {stats:?}");
        assert_eq!(
            stats.events,
            rec.events.len() as u64,
            "the stats line disagrees with the events in the file"
        );
        let drops = rec
            .events
            .iter()
            .filter(|l| l.event.kind == ipc_trace::event::EventKind::Drops)
            .count();
        assert_eq!(drops, 0, "the recording has drops events");
    }
}

/// Runs `ipc-trace record -o <scratch>/<name>.ndjson --no-selftest -- argv`
/// and parses the recording; panics (with the transcript) unless both the
/// tracer and the command succeeded.
pub fn record(scratch: &Scratch, name: &str, argv: &[&str]) -> Recorded {
    record_with(scratch, name, &[], argv)
}

/// [`record`] with extra `ipc-trace record` flags before the `--`.
pub fn record_with(scratch: &Scratch, name: &str, flags: &[&str], argv: &[&str]) -> Recorded {
    let file = scratch.path(&format!("{name}.ndjson"));
    let output = Command::new(ipc_trace_bin())
        .arg("record")
        .arg("-o")
        .arg(&file)
        .arg("--no-selftest")
        .args(flags)
        .arg("--")
        .args(argv)
        .output()
        .expect("run ipc-trace record");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if output.status.success() {
        let validator = schema::validator().expect("the JSON Schema loads");
        let problems = schema::violations(&validator, &file).expect("the recording is readable");
        assert!(
            problems.is_empty(),
            "schema violations:\n{}",
            problems.join("\n")
        );
    }
    let recorded = Recorded {
        output,
        recording: Recording::parse(&text),
    };
    assert!(
        recorded.output.status.success(),
        "`ipc-trace record -- {}` failed\n{}",
        argv.join(" "),
        recorded.transcript()
    );
    recorded
}

/// `ipc-trace lab NAME --plain ARGS`'s standard output; panics (with both
/// outputs) unless it succeeded.
pub fn run_lab(name: &str, args: &[&str]) -> String {
    let out = Command::new(ipc_trace_bin())
        .args(["lab", name, "--plain"])
        .args(args)
        .output()
        .expect("run ipc-trace lab");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lab {name} failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
