//! A synthetic event stream for the benchmarks: many processes working on
//! many segments and sets, with id reuse, faults, attaches and semops.

use ipc_trace::event::{Backend, Event, EventKind, SemOpSpec};

/// Generates events `from..to` of an endless deterministic stream.
/// `churn`: segments are re-created every 50 events (a worst case of id
/// reuse and page maps rebuilt); otherwise lifecycles last 100,000 events,
/// with the mix of a busy producer/consumer workload (70 % semops, faults
/// once per page and process, attach/detach, gets).
pub fn events(from: u64, to: u64, objects: u64, churn: bool) -> Vec<Event> {
    if churn {
        (from..to).map(|i| churn_event(i, objects)).collect()
    } else {
        (from..to).map(|i| busy_event(i, objects)).collect()
    }
}

fn busy_event(i: u64, objects: u64) -> Event {
    let ts = 1_000_000_000 + i * 1_000;
    let round = i / 100_000;
    let at = i % 100_000;
    let obj = (i / 3) % objects;
    let tgid = 1000 + (obj as u32 % 32) * 2 + (i % 2) as u32;
    let id = (obj as i32) | ((round as i32 & 0xff) << 16);
    let mut e = Event::new(ts, EventKind::SemOp, tgid, tgid, "bench-worker");
    e.ipc_ns = 4026531839;
    e.backend = Backend::Kprobe;
    e.id = Some(id);
    let first = at < objects * 4; // the start of a round: create, get, attach
    let last = at >= 100_000 - objects * 3; // its end: detach, remove
    if first {
        match at / objects {
            0 => {
                e.kind = EventKind::ShmCreate;
                e.probe = "newseg".into();
                e.key = Some(0x1000 + obj as i32);
                e.size = Some(64 * 4096);
                e.flags = Some(0o1666);
            }
            1 => {
                e.kind = EventKind::ShmGet;
                e.probe = "sys_shmget".into();
                e.key = Some(0x1000 + obj as i32);
                e.size = Some(64 * 4096);
                e.flags = Some(0o666);
                e.ret = Some(i64::from(id));
            }
            _ => {
                e.kind = EventKind::ShmAttach;
                e.probe = "do_shmat".into();
                e.addr = Some(0x7f00_0000_0000);
                e.ret = Some(0);
            }
        }
        e.id = Some(id);
        return e;
    }
    if last {
        match (100_000 - at) / objects {
            2 => {
                e.kind = EventKind::ShmDetach;
                e.probe = "shm_close".into();
                e.addr = Some(0x7f00_0000_0000);
            }
            1 => {
                e.kind = EventKind::ShmCtl;
                e.probe = "sys_shmctl".into();
                e.cmd = Some("IPC_RMID".into());
                e.ret = Some(0);
            }
            _ => {
                e.kind = EventKind::ShmDestroy;
                e.probe = "shm_destroy".into();
            }
        }
        return e;
    }
    if i % 10 < 3 {
        let page = (at / objects) % 64;
        e.kind = EventKind::ShmFault;
        e.probe = "shm_fault".into();
        e.page = Some(page);
        e.addr = Some(0x7f00_0000_0000 + page * 4096);
        e.write = Some(i.is_multiple_of(2));
        e.shmem = Some(true);
        return e;
    }
    e.probe = "do_semtimedop".into();
    e.id = Some(obj as i32);
    e.ops = Some(vec![SemOpSpec {
        num: (i % 2) as u16,
        op: if i % 4 < 2 { -1 } else { 1 },
        flg: 0x1000,
    }]);
    e.blocked = Some(i % 16 == 5);
    e.wait_ns = (i % 16 == 5).then_some(5_000);
    e.ret = Some(0);
    e
}

fn churn_event(i: u64, objects: u64) -> Event {
    let ts = 1_000_000_000 + i * 1_000;
    let obj = (i / 7) % objects;
    let tgid = 1000 + (i % 64) as u32;
    let round = i / (objects * 7 * 50); // lifecycles end and ids come back
    let id = (obj as i32) | ((round as i32 & 0xff) << 16);
    let phase = i % 50;
    let (kind, probe) = match phase {
        0 => (EventKind::ShmCreate, "newseg"),
        1 => (EventKind::ShmGet, "sys_shmget"),
        2 | 3 => (EventKind::ShmAttach, "do_shmat"),
        4..=30 => (EventKind::ShmFault, "shm_fault"),
        31..=45 => (EventKind::SemOp, "do_semtimedop"),
        46 => (EventKind::ShmDetach, "shm_close"),
        47 => (EventKind::ShmCtl, "sys_shmctl"),
        48 => (EventKind::ShmDetach, "shm_close"),
        _ => (EventKind::ShmDestroy, "shm_destroy"),
    };
    let mut e = Event::new(ts, kind, tgid, tgid, "bench-worker");
    e.ipc_ns = 4026531839;
    e.probe = probe.to_string().into();
    e.backend = Backend::Kprobe;
    e.id = Some(id);
    match kind {
        EventKind::ShmCreate | EventKind::ShmGet => {
            e.key = Some(0x1000 + obj as i32);
            e.size = Some(1 << 20);
            e.flags = Some(0o1666);
            e.ret = Some(i64::from(id));
        }
        EventKind::ShmAttach | EventKind::ShmDetach => {
            e.addr = Some(0x7f00_0000_0000 + (phase % 2) * 0x1000_0000);
            e.ret = Some(0);
        }
        EventKind::ShmFault => {
            let page = (i * 31) % 256;
            e.page = Some(page);
            e.addr = Some(0x7f00_0000_0000 + page * 4096);
            e.write = Some(i.is_multiple_of(3));
            e.shmem = Some(true);
        }
        EventKind::SemOp => {
            e.id = Some(obj as i32);
            e.ops = Some(vec![SemOpSpec {
                num: (i % 4) as u16,
                op: if i.is_multiple_of(2) { -1 } else { 1 },
                flg: 0x1000,
            }]);
            e.blocked = Some(i % 10 == 1);
            e.wait_ns = (i % 10 == 1).then_some(5_000);
            e.ret = Some(0);
        }
        EventKind::ShmCtl => {
            e.cmd = Some("IPC_RMID".into());
            e.ret = Some(0);
        }
        _ => {}
    }
    e
}
