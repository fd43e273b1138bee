//! The `ipc-trace` binary of this very build, for the tests of the demos.
//!
//! Cargo gives a test the paths of its own package's binaries
//! (`CARGO_BIN_EXE_*`), not another package's. So the first call asks
//! cargo itself: it runs `cargo build -p ipc-trace --bin ipc-trace` with the
//! profile and target directory of the running test and takes the path
//! from cargo's JSON messages. That is a no-op when the binary is fresh, and
//! it never picks a stale binary by modification time. `IPC_TRACE_BIN`
//! overrides it where there is no cargo (the VM matrix sets it to the
//! binary it shipped).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `ipc-trace` binary (see the module doc); panics with cargo's
/// errors when it cannot be built.
pub fn ipc_trace_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(find).clone()
}

fn find() -> PathBuf {
    if let Some(p) = std::env::var_os("IPC_TRACE_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "IPC_TRACE_BIN={} is not a file", p.display());
        return p;
    }
    // <target>/<profile>/deps/<test>-<hash>
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile directory name");
    let target = profile_dir.parent().expect("a target directory");
    let mut c = Command::new(env!("CARGO"));
    c.args(["test", "-p", "ipc-trace", "--no-run"])
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target);
    // `debug` is the directory of the `dev` profile; others are named alike.
    if profile != "debug" {
        c.args(["--profile", profile]);
    }
    let out = c.output().expect("run cargo to build ipc-trace");
    assert!(
        out.status.success(),
        "building ipc-trace failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "ipc-trace"
                && m["target"]["kind"][0] == "bin"
                && m["profile"]["test"] == false
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the ipc-trace executable it built")
}
