//! The model's heap stays flat once its bounds are full: a long session of
//! segment and set churn, each lifecycle with a fresh id (as `IPC_PRIVATE`
//! hands out) and a fresh, short-lived process, as a busy host produces for
//! days. The live heap is counted exactly by a wrapping global allocator,
//! so a slow leak of a few bytes per lifecycle shows here where a 10-minute
//! RSS soak (`cargo xtask soak`) cannot tell it from bounds filling up.

use ipc_trace::event::{Event, EventKind, SemOpSpec};
use ipc_trace::model::{Limits, State};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call forwards to `System` with the caller's arguments
// unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from `alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const NS: u32 = 4026531839;

fn ev(ts: u64, kind: EventKind, probe: &'static str, tgid: u32) -> Event {
    let mut e = Event::new(ts, kind, tgid, tgid, "churn");
    e.ipc_ns = NS;
    e.probe = probe.into();
    e
}

/// Lifecycle `n`: a process creates a segment and a set, attaches,
/// touches pages, does semops, detaches, removes both and exits.
fn lifecycle(n: u64) -> Vec<Event> {
    let ts = 1_000_000_000 + n * 1_000_000;
    let tgid = 10_000 + (n % 4_000_000) as u32;
    let shm_id = (n as i32).wrapping_mul(32768) & 0x7fff_ffff;
    let sem_id = shm_id | 1;
    let addr = 0x7f00_0000_0000 + (n % 16) * 0x10_0000;
    let mut out = Vec::new();
    let mut at = ts;
    let mut push = |mut e: Event| {
        at += 1_000;
        e.ts_ns = at;
        out.push(e);
    };
    let mut create = ev(ts, EventKind::ShmCreate, "newseg", tgid);
    create.id = Some(shm_id);
    create.size = Some(8 * 4096);
    create.flags = Some(0o1600);
    create.ret = Some(i64::from(shm_id));
    push(create);
    let mut attach = ev(ts, EventKind::ShmAttach, "do_shmat", tgid);
    attach.id = Some(shm_id);
    attach.addr = Some(addr);
    attach.ret = Some(0);
    push(attach);
    for page in 0..8 {
        let mut fault = ev(ts, EventKind::ShmFault, "shm_fault", tgid);
        fault.id = Some(shm_id);
        fault.page = Some(page);
        fault.addr = Some(addr + page * 4096);
        fault.write = Some(true);
        push(fault);
    }
    let mut screate = ev(ts, EventKind::SemCreate, "newary", tgid);
    screate.id = Some(sem_id);
    screate.nsems = Some(2);
    screate.ret = Some(i64::from(sem_id));
    push(screate);
    for i in 0..10 {
        let mut op = ev(ts, EventKind::SemOp, "do_semtimedop", tgid);
        op.id = Some(sem_id);
        op.ops = Some(vec![SemOpSpec {
            num: i % 2,
            op: if i % 2 == 0 { 1 } else { -1 },
            flg: 0x1000,
        }]);
        op.ret = Some(0);
        push(op);
    }
    let mut detach = ev(ts, EventKind::ShmDetach, "shm_close", tgid);
    detach.id = Some(shm_id);
    detach.addr = Some(addr);
    push(detach);
    let mut rmid = ev(ts, EventKind::ShmCtl, "sys_shmctl", tgid);
    rmid.id = Some(shm_id);
    rmid.cmd = Some("IPC_RMID".into());
    rmid.ret = Some(0);
    push(rmid);
    let mut destroy = ev(ts, EventKind::ShmDestroy, "shm_destroy", tgid);
    destroy.id = Some(shm_id);
    push(destroy);
    let mut sdestroy = ev(ts, EventKind::SemDestroy, "freeary", tgid);
    sdestroy.id = Some(sem_id);
    push(sdestroy);
    push(ev(ts, EventKind::ProcExit, "sched_process_exit", tgid));
    out
}

/// Applies lifecycles `from..to` and returns the live heap afterwards.
fn run(state: &mut State, from: u64, to: u64) -> isize {
    for n in from..to {
        for e in lifecycle(n) {
            state.apply(&e);
        }
    }
    LIVE.load(Ordering::Relaxed)
}

/// Small limits so that they fill in a few thousand lifecycles; the
/// defaults (10 000 removed lifecycles, 100 000 logged events) behave the
/// same, only later.
const LIMITS: Limits = Limits {
    log: 2_000,
    removed_objects: 1_000,
    removed_detailed: 50,
};

/// Lifecycles before the first measure: past every bound, the fixed
/// process table's (`EXITED_CAP` exited processes) included.
const WARM_UP: u64 = 25_000;
/// Lifecycles between the two measures.
const MEASURED: u64 = 40_000;

/// The tests of this file one at a time: they share the counter.
static SERIAL: Mutex<()> = Mutex::new(());

/// Heap growth per lifecycle between two points after the bounds are full.
fn growth_per_lifecycle(limits: Limits) -> (isize, isize, f64) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = State::with_limits(limits);
    let full = run(&mut state, 0, WARM_UP);
    let later = run(&mut state, WARM_UP, WARM_UP + MEASURED);
    let per = (later - full) as f64 / MEASURED as f64;
    drop(state);
    (full, later, per)
}

#[test]
fn heap_is_flat_once_the_bounds_are_full() {
    let (full, later, per) = growth_per_lifecycle(LIMITS);
    // Hash tables double: a real leak of n bytes per lifecycle shows as at
    // least n/2 over the measured lifecycles. 2 bytes is far below any per-object
    // record (an id alone takes 8 with its key).
    assert!(
        per < 2.0,
        "the model's heap grew from {full} to {later} bytes over {MEASURED} lifecycles \
         after its bounds were full: {per:.1} bytes per lifecycle"
    );
    eprintln!("heap {full} bytes with the bounds full, {later} after {MEASURED} more lifecycles");
}

/// Negative control: with room for every lifecycle the same measure must
/// see the heap grow, so the test above can fail.
#[test]
fn the_measure_sees_growth_when_history_is_unbounded() {
    let (full, later, per) = growth_per_lifecycle(Limits {
        removed_objects: 1_000_000,
        ..LIMITS
    });
    assert!(
        per > 100.0,
        "keeping every lifecycle should grow the heap: {full} → {later} bytes, {per:.1} per lifecycle"
    );
    eprintln!("every removed lifecycle kept: {per:.0} bytes per lifecycle (a segment and a set)");
}
