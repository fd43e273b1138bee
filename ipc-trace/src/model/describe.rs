//! One-line English descriptions of events, for timelines and the log.

use crate::event::{Event, EventKind, SemOpSpec};

/// Formats nanoseconds as a short duration: `850ns`, `12.3µs`, `4.1ms`, `2.50s`.
pub fn duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{:.1}µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}ms", ns as f64 / 1e6),
        _ => format!("{:.2}s", ns as f64 / 1e9),
    }
}

/// A sembuf as `P(0)`, `V(1)`, `Z(2)`, `-2@0`, with `u` for `SEM_UNDO`
/// and `n` for `IPC_NOWAIT`.
pub fn sem_op(o: &SemOpSpec) -> String {
    let base = match o.op {
        -1 => format!("P({})", o.num),
        1 => format!("V({})", o.num),
        0 => format!("Z({})", o.num),
        x => format!("{x:+}@{}", o.num),
    };
    let mut flags = String::new();
    if o.undo() {
        flags.push('u');
    }
    if o.flg & crate::event::IPC_NOWAIT != 0 {
        flags.push('n');
    }
    if flags.is_empty() {
        base
    } else {
        format!("{base}/{flags}")
    }
}

fn result(ev: &Event) -> String {
    match (ev.errno, ev.ret) {
        (Some(e), _) => format!(" failed (errno {e})"),
        (None, Some(r)) if r < 0 => format!(" failed ({r})"),
        _ => String::new(),
    }
}

/// What the event says, in one line (without who and when).
pub fn event_text(ev: &Event) -> String {
    let id = ev.id.map_or_else(|| "?".to_string(), |i| i.to_string());
    let key = ev
        .key
        .map_or_else(String::new, |k| format!(" key 0x{:08x}", k as u32));
    let r = result(ev);
    match ev.kind {
        EventKind::ShmGet => format!(
            "shmget{key} size {} -> {}{r}",
            ev.size.unwrap_or(0),
            ev.ret.map_or_else(|| "?".into(), |x| x.to_string())
        ),
        EventKind::ShmCreate => {
            format!("segment {id} created{key}, {} bytes", ev.size.unwrap_or(0))
        }
        EventKind::ShmAttach => format!("shmat {id} at 0x{:x}{r}", ev.addr.unwrap_or(0)),
        EventKind::ShmFault => format!(
            "fault page {} ({}) at 0x{:x}{}",
            ev.page.unwrap_or(0),
            if ev.write == Some(true) {
                "write"
            } else {
                "read"
            },
            ev.addr.unwrap_or(0),
            if ev.shmem == Some(true) {
                ", shmem_fault"
            } else {
                ""
            }
        ),
        EventKind::ShmDetach => format!("detach {id} at 0x{:x}", ev.addr.unwrap_or(0)),
        EventKind::ShmCtl => format!("shmctl {id} {}{r}", ev.cmd.as_deref().unwrap_or("?")),
        EventKind::ShmDestroy => format!("segment {id} destroyed"),
        EventKind::SemGet => format!(
            "semget{key} nsems {} -> {}{r}",
            ev.nsems.unwrap_or(0),
            ev.ret.map_or_else(|| "?".into(), |x| x.to_string())
        ),
        EventKind::SemCreate => format!("set {id} created{key}, {} sems", ev.nsems.unwrap_or(0)),
        EventKind::SemCtl => {
            let vals = ev.values.as_ref().map_or_else(String::new, |v| {
                format!(
                    " [{}]",
                    v.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
                )
            });
            let num = match (ev.cmd.as_deref(), ev.semnum) {
                (Some("SETVAL" | "GETVAL" | "GETPID" | "GETNCNT" | "GETZCNT"), Some(n)) => {
                    format!(" #{n}")
                }
                _ => String::new(),
            };
            format!(
                "semctl {id} {}{num}{vals}{r}",
                ev.cmd.as_deref().unwrap_or("?")
            )
        }
        EventKind::SemOp => {
            let ops = ev.ops.as_ref().map_or_else(String::new, |ops| {
                ops.iter().map(sem_op).collect::<Vec<_>>().join(" ")
            });
            let more = match (ev.nsops, ev.ops.as_ref()) {
                (Some(n), Some(ops)) if n as usize > ops.len() => {
                    format!(" (+{} more)", n as usize - ops.len())
                }
                _ => String::new(),
            };
            let wait = if ev.blocked == Some(true) {
                format!(" blocked {}", duration(ev.wait_ns.unwrap_or(0)))
            } else {
                String::new()
            };
            format!("semop {id} {ops}{more}{wait}{r}")
        }
        EventKind::SemDestroy => format!("set {id} freed"),
        EventKind::ProcExit => "process exited".to_string(),
        EventKind::ProcFork => format!("forked pid {}", ev.ret.unwrap_or(0)),
        EventKind::ProcExec => "exec'd a new image".to_string(),
        EventKind::Drops => format!("{} events lost ({})", ev.count.unwrap_or(0), ev.probe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(duration(999), "999ns");
        assert_eq!(duration(2_100_000), "2.1ms");
        let mut e = Event::new(1, EventKind::SemOp, 1, 1, "c");
        e.id = Some(7);
        e.ops = Some(vec![
            SemOpSpec {
                num: 0,
                op: -1,
                flg: crate::event::SEM_UNDO,
            },
            SemOpSpec {
                num: 1,
                op: 2,
                flg: 0,
            },
        ]);
        e.blocked = Some(true);
        e.wait_ns = Some(1500);
        e.ret = Some(0);
        assert_eq!(event_text(&e), "semop 7 P(0)/u +2@1 blocked 1.5µs");
    }
}
