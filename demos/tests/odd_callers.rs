//! Live host test (root): hostile and odd System V IPC calls (the
//! `sysv-odd` demo: empty, SEMOPM-long and oversized semop arrays, a bad
//! `sops` pointer, every semctl command on a set of SEMMSL semaphores,
//! shmat with SHM_RDONLY/SHM_RND/SHM_REMAP and bad addresses,
//! SHM_HUGETLB, a segment over 4 GiB, SHM_LOCK, a fork and an exec while
//! attached) are recorded call for call as strace saw the same run: the
//! same calls per process, in order, with the same result or errno, the
//! same semctl/shmctl command and semop array length; sembufs that could
//! not be read are absent, never garbage; `summary` and `export` read it.
//!
//! ipc-trace traces `strace … sysv-odd`, so both watch one run. The
//! tracepoint backend is forced: the comparison is at the syscall
//! boundary, one record per call, on every kernel.

mod tracer;

use ipc_trace::event::{Event, EventKind};
use std::process::Command;
use tracer::{Scratch, ipc_trace_bin, record_with, require_program, require_root};

/// The syscalls compared.
const CALLS: &str = "shmget,shmat,shmdt,shmctl,semget,semop,semtimedop,semctl";

/// One call as either side saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Call {
    pid: u32,
    name: String,
    /// The return value, or `-errno`.
    result: i64,
    /// The semctl/shmctl command name, or the semop array length.
    detail: Option<String>,
}

/// errno names strace prints, as numbers.
fn errno_named(name: &str) -> Option<i64> {
    let n = match name {
        "EPERM" => libc::EPERM,
        "ENOENT" => libc::ENOENT,
        "EINTR" => libc::EINTR,
        "E2BIG" => libc::E2BIG,
        "EAGAIN" => libc::EAGAIN,
        "ENOMEM" => libc::ENOMEM,
        "EACCES" => libc::EACCES,
        "EFAULT" => libc::EFAULT,
        "EEXIST" => libc::EEXIST,
        "EINVAL" => libc::EINVAL,
        "ENOSPC" => libc::ENOSPC,
        "ERANGE" => libc::ERANGE,
        "EIDRM" => libc::EIDRM,
        "EOVERFLOW" => libc::EOVERFLOW,
        _ => return None,
    };
    Some(i64::from(n))
}

/// The top-level arguments of `args` (commas inside brackets and braces
/// do not split).
fn split_args(args: &str) -> Vec<String> {
    let (mut out, mut depth, mut cur) = (Vec::new(), 0i32, String::new());
    for c in args.chars() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// A semctl/shmctl command as strace prints it (`SETALL`, `IPC_64|IPC_STAT`,
/// `0x63 /* SEM_??? */`), named as the recording names it.
fn command_name(arg: &str) -> String {
    let arg = arg.trim_start_matches("IPC_64|");
    match arg.split_whitespace().next() {
        Some(hex) if hex.starts_with("0x") => {
            let n = i64::from_str_radix(&hex[2..], 16).unwrap_or(-1);
            format!("CMD_{n}")
        }
        _ => arg.to_string(),
    }
}

/// The calls of a `strace -f -qq -o FILE` log.
fn strace_calls(log: &str) -> Vec<Call> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let (Ok(pid), Some((call, result))) = (pid.parse::<u32>(), rest.trim().rsplit_once(" = "))
        else {
            continue;
        };
        let Some((name, args)) = call.trim_end().split_once('(') else {
            continue;
        };
        let args = split_args(args.strip_suffix(')').unwrap_or(args));
        let mut words = result.split_whitespace();
        let result = match (words.next(), words.next()) {
            (Some("-1"), Some(err)) => -errno_named(err).unwrap_or_else(|| panic!("errno {err}")),
            (Some(v), _) if v.starts_with("0x") => {
                i64::from_str_radix(&v[2..], 16).expect("a hex result")
            }
            (Some(v), _) => v.parse().expect("a decimal result"),
            _ => continue,
        };
        let detail = match name {
            "semctl" => args.get(2).map(|a| command_name(a)),
            "shmctl" => args.get(1).map(|a| command_name(a)),
            "semop" | "semtimedop" => args.get(2).cloned(),
            _ => None,
        };
        out.push(Call {
            pid,
            name: name.to_string(),
            result,
            detail,
        });
    }
    out
}

/// The calls of the recording: its syscall records (not the inferred ones).
fn recorded_calls(events: &[&Event]) -> Vec<Call> {
    events
        .iter()
        .filter(|e| !e.inferred && e.kind != EventKind::Drops)
        .filter_map(|e| {
            let name = e.probe.strip_prefix("sys_")?;
            let result = e.errno.map_or(e.ret.unwrap_or(i64::MIN), |n| -i64::from(n));
            let detail = match e.kind {
                EventKind::SemCtl | EventKind::ShmCtl => e.cmd.clone(),
                EventKind::SemOp => {
                    let n = e
                        .nsops
                        .unwrap_or_else(|| e.ops.as_ref().map_or(0, |o| o.len() as u32));
                    Some(n.to_string())
                }
                _ => None,
            };
            Some(Call {
                pid: e.pid,
                name: name.to_string(),
                result,
                detail,
            })
        })
        .collect()
}

/// What differs between the two views, process by process.
fn mismatches(strace: &[Call], recorded: &[Call]) -> Vec<String> {
    let mut pids: Vec<u32> = strace.iter().chain(recorded).map(|c| c.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    let mut out = Vec::new();
    for pid in pids {
        let a: Vec<&Call> = strace.iter().filter(|c| c.pid == pid).collect();
        let b: Vec<&Call> = recorded.iter().filter(|c| c.pid == pid).collect();
        for i in 0..a.len().max(b.len()) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => out.push(format!("pid {pid} call {i}: strace {x:?}, recorded {y:?}")),
            }
        }
    }
    out
}

#[test]
fn odd_and_hostile_calls_are_recorded_as_strace_sees_them() {
    require_root();
    let strace = require_program("strace", "strace");
    let scratch = Scratch::new("odd-callers");
    let log = scratch.path("strace.log");
    let odd = env!("CARGO_BIN_EXE_sysv-odd");
    let strace = strace.to_string_lossy().into_owned();
    let log_arg = log.to_string_lossy().into_owned();
    let rec = record_with(
        &scratch,
        "odd",
        &["--backend", "tracepoint"],
        &[
            &strace,
            "-f",
            "-qq",
            "-o",
            &log_arg,
            "-e",
            &format!("trace={CALLS}"),
            odd,
        ],
    );
    rec.assert_complete();
    let events: Vec<&Event> = rec.events().collect();
    let mut seen = strace_calls(&std::fs::read_to_string(&log).expect("the strace log"));
    let recorded = recorded_calls(&events);
    assert!(
        seen.len() >= 40,
        "strace saw only {} calls: {seen:#?}",
        seen.len()
    );
    let diff = mismatches(&seen, &recorded);
    assert!(
        diff.is_empty(),
        "the recording differs from strace:\n{}",
        diff.join("\n")
    );
    // The checker can fail: one errno changed is one mismatch.
    let efault = seen
        .iter()
        .position(|c| c.result == -i64::from(libc::EFAULT))
        .expect("the bad sops pointer gave EFAULT");
    seen[efault].result = -i64::from(libc::EINVAL);
    assert_eq!(mismatches(&seen, &recorded).len(), 1);

    // Never garbage: decoded sembufs are what the caller passed, at most
    // the record's 8, and none when the array could not be read.
    for e in events.iter().filter(|e| e.kind == EventKind::SemOp) {
        let ops = e.ops.as_deref().unwrap_or_default();
        let nsops = e.nsops.map_or(ops.len(), |n| n as usize);
        assert!(ops.len() <= nsops.min(8), "{e:?}");
        if e.errno == Some(libc::EFAULT) {
            assert!(ops.is_empty(), "sembufs decoded from a bad pointer: {e:?}");
        }
        for (i, op) in ops.iter().enumerate() {
            assert_eq!((op.num as usize, op.op), (i, 1), "{e:?}");
        }
    }
    // The rest of the tool reads it, and sees the objects the run made and
    // no others (no lifecycle for an INFO/STAT index or a refused id).
    let file = scratch.path("odd.ndjson");
    let made = seen
        .iter()
        .filter(|c| (c.name == "shmget" || c.name == "semget") && c.result >= 0)
        .count();
    let out = Command::new(ipc_trace_bin())
        .arg("summary")
        .arg(&file)
        .arg("--json")
        .output()
        .expect("run ipc-trace summary");
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("summary --json is JSON");
    let objects = summary["objects"].as_array().map_or(0, Vec::len);
    assert_eq!(objects, made, "lifecycles in the summary: {summary:#}");
    inherited_and_exec_mappings_are_accounted(&events, &seen, &summary);
    for args in [
        vec!["summary".to_string(), file.display().to_string()],
        vec![
            "export".to_string(),
            file.display().to_string(),
            "--format".to_string(),
            "perfetto".to_string(),
            "-o".to_string(),
            scratch.path("odd.json").display().to_string(),
        ],
    ] {
        let out = Command::new(ipc_trace_bin())
            .args(&args)
            .output()
            .expect("run ipc-trace");
        assert!(
            out.status.success(),
            "ipc-trace {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fork while attached is one `proc_fork` by the parent: the child's
/// `shmdt` names the segment, and the exec while attached is one
/// `proc_exec` whose detach is the last of its process. Every mapping made
/// (by shmat or inherited) is detached once: the segment's attaches and
/// detaches agree, and number the successful shmats plus one.
fn inherited_and_exec_mappings_are_accounted(
    events: &[&Event],
    strace: &[Call],
    summary: &serde_json::Value,
) {
    let of = |kind: EventKind| -> Vec<&Event> {
        events.iter().copied().filter(|e| e.kind == kind).collect()
    };
    let forks = of(EventKind::ProcFork);
    assert_eq!(forks.len(), 1, "one fork while attached: {forks:#?}");
    let child = forks[0].ret.and_then(|r| u32::try_from(r).ok());
    let child_detach = of(EventKind::ShmDetach)
        .into_iter()
        .find(|e| Some(e.tgid) == child);
    let seg = child_detach.and_then(|d| d.id);
    assert!(
        seg.is_some(),
        "the child's shmdt names no segment: {child_detach:?}"
    );
    let execs = of(EventKind::ProcExec);
    assert_eq!(execs.len(), 1, "one exec while attached: {execs:#?}");
    let exec_detach = of(EventKind::ShmDetach)
        .into_iter()
        .any(|d| d.tgid == execs[0].tgid && d.id == seg && d.ts_ns >= execs[0].ts_ns);
    assert!(exec_detach, "the exec detached nothing");
    let shmats = strace
        .iter()
        .filter(|c| c.name == "shmat" && c.result > 0)
        .count() as u64;
    let objects = summary["objects"].as_array().cloned().unwrap_or_default();
    let segment = objects
        .iter()
        .find(|o| o["kind"] == "shm" && o["id"].as_i64() == seg.map(i64::from))
        .unwrap_or_else(|| panic!("segment {seg:?} in {summary:#}"));
    assert_eq!(
        (segment["attaches"].as_u64(), segment["detaches"].as_u64()),
        (Some(shmats + 1), Some(shmats + 1)),
        "{segment:#}"
    );
}
