//! A realistic sample trace after the producer/consumer of docs/STEPS.md
//! (its keys; three pages and two semaphores, so every view has something
//! to show): create, find, attach, faults on three pages, semops with a
//! blocked one, removal, plus a segment left orphaned. Used by the TUI tests
//! and the `tui_demo` example (feature `sample-trace`); not compiled into
//! the shipped library.

use crate::event::{Backend, Event, EventKind, SEM_UNDO, SemOpSpec};

/// IPC namespace of the sample.
pub const NS: u32 = 4026531839;
/// Key of the sample segment (the one in the `ipcs` picture of docs/STEPS.md).
pub const SHM_KEY: i32 = 0x16988;
/// Key of the sample semaphore set.
pub const SEM_KEY: i32 = 0x16989;
/// Key of the orphaned segment.
pub const ORPHAN_KEY: i32 = 0x1698a;
/// Producer pid.
pub const PRODUCER: u32 = 4242;
/// Consumer pid.
pub const CONSUMER: u32 = 4243;
/// Pid of the process that leaves a segment behind.
pub const LEAKER: u32 = 4250;
/// Segment size: three pages.
pub const SHM_SIZE: u64 = 12_000;

struct Builder {
    ts: u64,
    out: Vec<Event>,
}

impl Builder {
    fn ev(&mut self, dt_us: u64, kind: EventKind, tgid: u32, probe: &str) -> &mut Event {
        self.ts += dt_us * 1_000;
        let comm = match tgid {
            PRODUCER => "shm-producer",
            CONSUMER => "shm-consumer",
            _ => "leaker",
        };
        let mut e = Event::new(self.ts, kind, tgid, tgid, comm);
        e.ipc_ns = NS;
        e.probe = probe.to_string().into();
        e.backend = if probe.starts_with("sys_") || probe == "page_fault_user" {
            Backend::Tracepoint
        } else {
            Backend::Kprobe
        };
        self.out.push(e);
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn semop(&mut self, dt_us: u64, tgid: u32, ops: &[(u16, i16, i16)], wait_us: Option<u64>) {
        let e = self.ev(dt_us, EventKind::SemOp, tgid, "do_semtimedop");
        e.id = Some(0);
        e.ops = Some(
            ops.iter()
                .map(|&(num, op, flg)| SemOpSpec { num, op, flg })
                .collect(),
        );
        e.blocked = Some(wait_us.is_some());
        e.wait_ns = wait_us.map(|w| w * 1_000);
        e.ret = Some(0);
    }

    fn fault(&mut self, dt_us: u64, tgid: u32, base: u64, page: u64, write: bool, kprobe: bool) {
        let probe = if kprobe {
            "shm_fault"
        } else {
            "page_fault_user"
        };
        let e = self.ev(dt_us, EventKind::ShmFault, tgid, probe);
        e.id = Some(32768);
        e.addr = Some(base + page * 4096 + 8);
        e.page = Some(page);
        e.write = Some(write);
        if kprobe {
            e.shmem = Some(true);
        } else {
            e.inferred = true;
        }
    }
}

/// Producer's attach address.
pub const PRODUCER_ADDR: u64 = 0x7f3a_5c00_0000;
/// Consumer's attach address.
pub const CONSUMER_ADDR: u64 = 0x7f91_2200_0000;

/// The sample events, in time order.
pub fn producer_consumer() -> Vec<Event> {
    let mut b = Builder {
        ts: 5_000_000_000,
        out: Vec::new(),
    };
    // Producer creates the segment and the set (newseg, newary seen).
    let e = b.ev(0, EventKind::ShmCreate, PRODUCER, "newseg");
    e.id = Some(32768);
    e.key = Some(SHM_KEY);
    e.size = Some(SHM_SIZE);
    e.flags = Some(0o1666);
    let e = b.ev(3, EventKind::ShmGet, PRODUCER, "sys_shmget");
    e.id = Some(32768);
    e.key = Some(SHM_KEY);
    e.size = Some(SHM_SIZE);
    e.flags = Some(0o1666);
    e.ret = Some(32768);
    let e = b.ev(20, EventKind::SemCreate, PRODUCER, "newary");
    e.id = Some(0);
    e.key = Some(SEM_KEY);
    e.nsems = Some(2);
    e.flags = Some(0o1666);
    let e = b.ev(2, EventKind::SemGet, PRODUCER, "sys_semget");
    e.id = Some(0);
    e.key = Some(SEM_KEY);
    e.nsems = Some(2);
    e.flags = Some(0o1666);
    e.ret = Some(0);
    let e = b.ev(10, EventKind::SemCtl, PRODUCER, "sys_semctl");
    e.id = Some(0);
    e.cmd = Some("SETALL".into());
    e.values = Some(vec![1, 0]);
    e.ret = Some(0);
    let e = b.ev(15, EventKind::ShmAttach, PRODUCER, "do_shmat");
    e.id = Some(32768);
    e.addr = Some(PRODUCER_ADDR);
    e.flags = Some(0);
    e.ret = Some(0);

    // Consumer finds both and attaches.
    let e = b.ev(800, EventKind::ShmGet, CONSUMER, "sys_shmget");
    e.id = Some(32768);
    e.key = Some(SHM_KEY);
    e.size = Some(SHM_SIZE);
    e.flags = Some(0o666);
    e.ret = Some(32768);
    let e = b.ev(4, EventKind::SemGet, CONSUMER, "sys_semget");
    e.id = Some(0);
    e.key = Some(SEM_KEY);
    e.nsems = Some(2);
    e.flags = Some(0o666);
    e.ret = Some(0);
    let e = b.ev(6, EventKind::ShmAttach, CONSUMER, "do_shmat");
    e.id = Some(32768);
    e.addr = Some(CONSUMER_ADDR);
    e.flags = Some(0o10000);
    e.ret = Some(0);

    // Three messages, one page each: producer P(empty) write V(full),
    // consumer P(full) read V(empty); the consumer blocks on the first.
    for (round, page) in [0u64, 1, 2].into_iter().enumerate() {
        b.semop(100, PRODUCER, &[(0, -1, SEM_UNDO)], None);
        b.fault(5, PRODUCER, PRODUCER_ADDR, page, true, page != 2);
        b.semop(30, PRODUCER, &[(1, 1, SEM_UNDO)], None);
        let wait = (round == 0).then_some(1_480);
        b.semop(2, CONSUMER, &[(1, -1, SEM_UNDO)], wait);
        b.fault(4, CONSUMER, CONSUMER_ADDR, page, false, page != 2);
        b.semop(25, CONSUMER, &[(0, 1, SEM_UNDO)], None);
    }

    // A process that leaves a private-key segment behind.
    let e = b.ev(50, EventKind::ShmCreate, LEAKER, "newseg");
    e.id = Some(32769);
    e.key = Some(ORPHAN_KEY);
    e.size = Some(4096);
    e.flags = Some(0o1600);
    let e = b.ev(2, EventKind::ShmGet, LEAKER, "sys_shmget");
    e.id = Some(32769);
    e.key = Some(ORPHAN_KEY);
    e.size = Some(4096);
    e.flags = Some(0o1600);
    e.ret = Some(32769);
    b.ev(40, EventKind::ProcExit, LEAKER, "sched_process_exit");

    // Consumer detaches; producer removes both and detaches.
    let e = b.ev(300, EventKind::ShmDetach, CONSUMER, "sys_shmdt");
    e.id = Some(32768);
    e.addr = Some(CONSUMER_ADDR);
    e.ret = Some(0);
    let e = b.ev(20, EventKind::ShmCtl, PRODUCER, "sys_shmctl");
    e.id = Some(32768);
    e.cmd = Some("IPC_RMID".into());
    e.ret = Some(0);
    let e = b.ev(5, EventKind::ShmDetach, PRODUCER, "shm_close");
    e.id = Some(32768);
    e.addr = Some(PRODUCER_ADDR);
    let e = b.ev(1, EventKind::ShmDestroy, PRODUCER, "shm_destroy");
    e.id = Some(32768);
    e.key = Some(SHM_KEY);
    e.size = Some(SHM_SIZE);
    let e = b.ev(10, EventKind::SemCtl, PRODUCER, "sys_semctl");
    e.id = Some(0);
    e.cmd = Some("IPC_RMID".into());
    e.ret = Some(0);
    let e = b.ev(1, EventKind::SemDestroy, PRODUCER, "freeary");
    e.id = Some(0);
    e.key = Some(SEM_KEY);
    b.ev(100, EventKind::ProcExit, CONSUMER, "sched_process_exit");
    b.out
}

/// The sample events up to (not including) the removals: both objects are
/// still alive, attached by both processes.
pub fn producer_consumer_running() -> Vec<Event> {
    let all = producer_consumer();
    let cut = all
        .iter()
        .position(|e| e.kind == EventKind::ShmDetach)
        .unwrap_or(all.len());
    all.into_iter().take(cut).collect()
}
