//! Model tests from hand-written event sequences.

mod evidence;
mod process;

use super::object::{AttachOp, ObjKind, ObjectKey, Origin};
use super::state::{Limits, State};
use super::steps::Step::{self, *};
use crate::event::{Backend, Event, EventKind, SEM_UNDO, SemOpSpec};
use crate::sysvipc::{SemEntry, ShmEntry};

const NS: u32 = 4026531839;
const KEY: i32 = 0x16988;

fn ev(ts: u64, kind: EventKind, tgid: u32, comm: &str) -> Event {
    let mut e = Event::new(ts, kind, tgid, tgid, comm);
    e.ipc_ns = NS;
    e.probe = "test".into();
    e
}

fn shm_create(ts: u64, tgid: u32, id: i32, key: i32, size: u64) -> Event {
    let mut e = ev(ts, EventKind::ShmCreate, tgid, "producer");
    e.probe = "newseg".into();
    e.backend = Backend::Kprobe;
    e.id = Some(id);
    e.key = Some(key);
    e.size = Some(size);
    e.flags = Some(0o1666);
    e
}

fn shm_get(ts: u64, tgid: u32, comm: &str, id: i32, key: i32, flags: i64) -> Event {
    let mut e = ev(ts, EventKind::ShmGet, tgid, comm);
    e.id = Some(id);
    e.key = Some(key);
    e.size = Some(516);
    e.flags = Some(flags);
    e.ret = Some(i64::from(id));
    e
}

fn attach(ts: u64, tgid: u32, id: i32, addr: u64) -> Event {
    let mut e = ev(ts, EventKind::ShmAttach, tgid, "p");
    e.id = Some(id);
    e.addr = Some(addr);
    e.ret = Some(addr as i64);
    e
}

fn fault(ts: u64, tgid: u32, id: i32, page: u64, write: bool) -> Event {
    let mut e = ev(ts, EventKind::ShmFault, tgid, "p");
    e.id = Some(id);
    e.addr = Some(0x7000_0000 + page * 4096);
    e.page = Some(page);
    e.write = Some(write);
    e.shmem = Some(true);
    e
}

fn detach(ts: u64, tgid: u32, addr: u64) -> Event {
    let mut e = ev(ts, EventKind::ShmDetach, tgid, "p");
    e.addr = Some(addr);
    e
}

fn ctl(ts: u64, kind: EventKind, tgid: u32, id: i32, cmd: &str) -> Event {
    let mut e = ev(ts, kind, tgid, "p");
    e.id = Some(id);
    e.cmd = Some(cmd.into());
    e.ret = Some(0);
    e
}

fn destroy(ts: u64, kind: EventKind, id: i32) -> Event {
    let mut e = ev(ts, kind, 0, "");
    e.id = Some(id);
    e
}

fn semop(ts: u64, tgid: u32, id: i32, ops: &[(u16, i16, i16)], blocked: bool, ret: i64) -> Event {
    let mut e = ev(ts, EventKind::SemOp, tgid, "p");
    e.id = Some(id);
    e.ops = Some(
        ops.iter()
            .map(|&(num, op, flg)| SemOpSpec { num, op, flg })
            .collect(),
    );
    e.blocked = Some(blocked);
    e.wait_ns = blocked.then_some(2_000_000);
    e.ret = Some(ret);
    if ret < 0 {
        e.errno = Some(-ret as i32);
    }
    e
}

fn shm_key(id: i32) -> ObjectKey {
    ObjectKey {
        ipc_ns: NS,
        kind: ObjKind::Shm,
        id,
    }
}

fn sem_key(id: i32) -> ObjectKey {
    ObjectKey {
        ipc_ns: NS,
        kind: ObjKind::Sem,
        id,
    }
}

fn apply_all(s: &mut State, evs: &[Event]) {
    for e in evs {
        s.apply(e);
    }
}

#[test]
fn segment_create_find_attach_fault_detach_remove() {
    let mut s = State::new();
    let create = shm_create(10, 100, 32768, KEY, 516);
    assert_eq!(s.steps_for(&create), vec![SHM3, SHM4]);
    s.apply(&create);
    let get_p = shm_get(11, 100, "producer", 32768, KEY, 0o1666);
    assert_eq!(
        s.steps_for(&get_p),
        vec![SHM1, SHM3, SHM4],
        "creator's shmget"
    );
    s.apply(&get_p);
    let get_c = shm_get(20, 200, "consumer", 32768, KEY, 0o666);
    assert_eq!(s.steps_for(&get_c), vec![SHM1, SHM2], "consumer finds it");
    s.apply(&get_c);
    let f = fault(31, 100, 32768, 0, true);
    assert_eq!(s.steps_for(&f), vec![SHM10, SHM11, SHM12]);
    apply_all(
        &mut s,
        &[
            attach(30, 100, 32768, 0x7000_0000),
            f,
            attach(32, 200, 32768, 0x7100_0000),
            fault(33, 200, 32768, 0, false),
            fault(34, 100, 32768, 2, true),
            fault(35, 100, 32768, 1, true),
        ],
    );
    let o = s.live(shm_key(32768)).expect("segment is live");
    assert_eq!(o.origin, Origin::Created);
    assert!(!o.create_inferred);
    assert_eq!(o.creator.as_ref().map(|c| c.tgid), Some(100));
    assert_eq!(
        (o.size, o.perms, o.ipc_key),
        (Some(516), Some(0o666), Some(KEY))
    );
    assert_eq!(o.key_hex(), "0x00016988");
    assert_eq!(o.finds, 1);
    assert_eq!(o.nattch(), 2);
    let pages = &o.shm.as_ref().expect("shm state").pages;
    assert_eq!(pages.faults, 4);
    assert_eq!(pages.pages_touched(), 3);
    let order: Vec<u64> = pages.in_touch_order().iter().map(|p| p.page).collect();
    assert_eq!(order, vec![0, 2, 1]);
    assert_eq!(
        pages.get(0).map(|p| p.procs().to_vec()),
        Some(vec![100, 200])
    );
    assert!(o.steps_seen.contains(SHM9) && o.steps_seen.contains(SHM12));

    apply_all(
        &mut s,
        &[
            detach(40, 200, 0x7100_0000),
            ctl(41, EventKind::ShmCtl, 100, 32768, "IPC_RMID"),
        ],
    );
    let o = s
        .live(shm_key(32768))
        .expect("still live until the last detach");
    assert_eq!(o.nattch(), 1);
    assert_eq!(s.status_words(o), vec!["dest"]);
    apply_all(
        &mut s,
        &[
            detach(42, 100, 0x7000_0000),
            destroy(43, EventKind::ShmDestroy, 32768),
        ],
    );
    assert!(s.live(shm_key(32768)).is_none());
    let all = s.by_key(NS, ObjKind::Shm, KEY);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].removed, Some(43));
    assert_eq!(all[0].nattch(), 0);
    let hist: Vec<AttachOp> = all[0]
        .shm
        .as_ref()
        .map(|sh| sh.history.iter().map(|r| r.op).collect())
        .unwrap_or_default();
    assert_eq!(
        hist,
        vec![
            AttachOp::Attach,
            AttachOp::Attach,
            AttachOp::Detach,
            AttachOp::Detach
        ]
    );
    assert_eq!(s.status_words(all[0]), vec!["removed"]);
    assert_eq!(s.events(), 13);
}

#[test]
fn tracepoint_only_create_is_inferred_and_merged_in_either_order() {
    // shmget first, inferred create after.
    let mut s = State::new();
    s.apply(&shm_get(1, 100, "producer", 5, KEY, 0o1600));
    let mut c = shm_create(1, 100, 5, KEY, 516);
    c.inferred = true;
    c.backend = Backend::Tracepoint;
    s.apply(&c);
    assert_eq!(s.object_count(), 1);
    let o = s.live(shm_key(5)).expect("live");
    assert!(o.create_inferred);
    assert_eq!(o.origin, Origin::Created);
    assert_eq!(o.finds, 0);
    let tl = s.timeline(o).entries;
    assert_eq!(tl[0].steps.to_vec(), vec![SHM1, SHM3, SHM4]);
    assert!(tl[1].inferred);

    // Inferred create first, shmget after.
    let mut s = State::new();
    s.apply(&c);
    s.apply(&shm_get(1, 100, "producer", 5, KEY, 0o1600));
    assert_eq!(s.object_count(), 1);
    assert_eq!(s.live(shm_key(5)).map(|o| o.finds), Some(0));
}

#[test]
fn a_recycled_id_is_a_new_lifecycle() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 7, KEY, 4096),
            destroy(2, EventKind::ShmDestroy, 7),
            shm_create(3, 101, 7, KEY, 8192),
        ],
    );
    let lives = s.by_key(NS, ObjKind::Shm, KEY);
    assert_eq!(lives.len(), 2);
    assert_eq!((lives[0].generation, lives[0].removed), (0, Some(2)));
    assert_eq!((lives[1].generation, lives[1].removed), (1, None));
    assert_eq!(s.live(shm_key(7)).and_then(|o| o.size), Some(8192));
    // A create over a live id whose end was never seen ends the old one.
    s.apply(&shm_create(4, 102, 7, KEY, 1));
    let lives = s.by_key(NS, ObjKind::Shm, KEY);
    assert_eq!(lives.len(), 3);
    assert!(lives[1].incomplete && lives[1].removal_inferred);
}

#[test]
fn the_same_key_in_two_namespaces_is_two_objects() {
    let mut s = State::new();
    let a = shm_create(1, 100, 0, KEY, 516);
    let mut b = shm_create(2, 200, 0, KEY, 1024);
    b.ipc_ns = NS + 1;
    apply_all(&mut s, &[a, b]);
    assert_eq!(s.object_count(), 2);
    assert_eq!(s.by_key(NS, ObjKind::Shm, KEY).len(), 1);
    assert_eq!(
        s.by_key(NS + 1, ObjKind::Shm, KEY)
            .first()
            .and_then(|o| o.size),
        Some(1024)
    );
    // IPC_PRIVATE is not a shared key: not indexed.
    s.apply(&shm_create(3, 100, 1, 0, 1));
    assert!(s.by_key(NS, ObjKind::Shm, 0).is_empty());
}

#[test]
fn seeded_objects_are_mid_life() {
    let mut s = State::new();
    let shm = ShmEntry {
        key: KEY,
        shmid: 9,
        perms: 0o1640,
        size: 516,
        cpid: 4242,
        lpid: 4243,
        nattch: 1,
        uid: 0,
        gid: 0,
        cuid: 0,
        cgid: 0,
        atime: 0,
        dtime: 0,
        ctime: 0,
        rss: None,
        swap: None,
    };
    let sem = SemEntry {
        key: KEY + 1,
        semid: 3,
        perms: 0o600,
        nsems: 2,
        uid: 0,
        gid: 0,
        cuid: 0,
        cgid: 0,
        otime: 0,
        ctime: 0,
    };
    s.seed(&[shm], &[sem], NS, 1000);
    let o = s.live(shm_key(9)).expect("seeded segment");
    assert!(o.seen_mid_life());
    assert_eq!((o.perms, o.nattch()), (Some(0o640), 1));
    assert!(o.marked_for_removal.is_some(), "SHM_DEST carried over");
    assert_eq!(s.status_words(o), vec!["dest", "mid-life"]);
    let set = s.live(sem_key(3)).expect("seeded set");
    assert_eq!(set.nsems, Some(2));
    assert_eq!(set.sem.as_ref().map(|x| x.values.len()), Some(2));
    // Detaching the pre-existing attach (address unknown) brings nattch to 0.
    let mut d = detach(1001, 4243, 0x1234);
    d.id = Some(9);
    s.apply(&d);
    assert_eq!(s.live(shm_key(9)).map(|o| o.nattch()), Some(0));
    // An object first met in use (no seed) is mid-life too.
    s.apply(&semop(1002, 5, 77, &[(0, 1, 0)], false, 0));
    assert!(s.live(sem_key(77)).is_some_and(|o| o.seen_mid_life()));
}

#[test]
fn drops_mark_live_objects_incomplete() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 10),
            shm_create(2, 100, 2, KEY + 1, 10),
            destroy(3, EventKind::ShmDestroy, 2),
        ],
    );
    let mut d = ev(4, EventKind::Drops, 0, "");
    d.probe = "page_fault_user".into();
    d.count = Some(17);
    s.apply(&d);
    s.apply(&shm_create(5, 100, 3, KEY + 2, 10));
    assert!(s.live(shm_key(1)).is_some_and(|o| o.incomplete));
    assert!(s.live(shm_key(3)).is_some_and(|o| !o.incomplete));
    assert!(
        s.by_key(NS, ObjKind::Shm, KEY + 1)
            .first()
            .is_some_and(|o| !o.incomplete),
        "already removed before the drops"
    );
    assert_eq!(s.drops(), 17);
    assert_eq!(s.probes().get("page_fault_user").map(|p| p.drops), Some(17));
}

#[test]
fn drops_mark_the_lifecycles_alive_in_their_window_also_after_removal() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 10),
            destroy(2, EventKind::ShmDestroy, 1),
            shm_create(5, 100, 2, KEY + 1, 10),
            destroy(6, EventKind::ShmDestroy, 2),
            shm_create(20, 100, 3, KEY + 2, 10),
        ],
    );
    // Counted at 10, covering (4, 10]: segment 2 lived in it, segment 1
    // was gone before and segment 3 came after.
    let mut d = ev(10, EventKind::Drops, 0, "");
    d.probe = "page_fault_user".into();
    d.count = Some(1);
    d.since_ns = Some(4);
    s.apply(&d);
    let incomplete = |key: i32| {
        s.by_key(NS, ObjKind::Shm, key)
            .first()
            .is_some_and(|o| o.incomplete)
    };
    assert!(!incomplete(KEY), "removed before the window");
    assert!(incomplete(KEY + 1), "alive in the window, removed since");
    assert!(!incomplete(KEY + 2), "created after the window");
}

#[test]
fn drops_of_a_semaphore_probe_leave_segments_complete() {
    let mut s = State::new();
    s.apply(&shm_create(1, 100, 1, KEY, 10));
    s.apply(&semop(2, 5, 77, &[(0, 1, 0)], false, 0));
    let mut d = ev(3, EventKind::Drops, 0, "");
    d.probe = "sys_semop".into();
    d.count = Some(3);
    s.apply(&d);
    assert!(s.live(sem_key(77)).is_some_and(|o| o.incomplete));
    assert!(s.live(shm_key(1)).is_some_and(|o| !o.incomplete));
    // A probe that serves both kinds marks both.
    d.probe = "sched_process_exit".into();
    s.apply(&d);
    assert!(s.live(shm_key(1)).is_some_and(|o| o.incomplete));
}

#[test]
fn deadlock_cycle_is_detected() {
    let mut s = State::new();
    let mut c = ev(1, EventKind::SemCreate, 10, "a");
    c.id = Some(1);
    c.nsems = Some(2);
    c.key = Some(KEY);
    let mut set = ctl(2, EventKind::SemCtl, 10, 1, "SETALL");
    set.values = Some(vec![1, 1]);
    apply_all(
        &mut s,
        &[
            c,
            set,
            semop(3, 10, 1, &[(0, -1, 0)], false, 0),
            semop(4, 20, 1, &[(1, -1, 0)], false, 0),
            // Each times out waiting for what the other holds.
            semop(5, 10, 1, &[(1, -1, 0)], true, -11),
            semop(6, 20, 1, &[(0, -1, 0)], true, -11),
        ],
    );
    let hints = s.deadlock_hints();
    assert_eq!(hints.len(), 1);
    let pairs: Vec<(u32, u32)> = hints[0]
        .edges
        .iter()
        .map(|e| (e.waiter, e.holder))
        .collect();
    assert_eq!(pairs, vec![(10, 20), (20, 10)]);
    // One side exits: no cycle any more.
    s.apply(&ev(7, EventKind::ProcExit, 20, "b"));
    assert!(s.deadlock_hints().is_empty());
}

#[test]
fn orphan_segment_is_found() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 10),
            shm_create(2, 100, 2, KEY + 1, 10),
            shm_create(3, 100, 3, KEY + 2, 10),
            attach(4, 100, 1, 0x1000),
            attach(5, 200, 2, 0x2000),
            ctl(6, EventKind::ShmCtl, 100, 3, "IPC_RMID"),
        ],
    );
    assert!(s.orphans().is_empty(), "creator alive");
    s.apply(&ev(7, EventKind::ProcExit, 100, "producer"));
    // 1: its only attach went with the exit -> orphan. 2: still attached by
    // 200. 3: marked for removal.
    let orphans: Vec<i32> = s.orphans().iter().map(|o| o.key.id).collect();
    assert_eq!(orphans, vec![1]);
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(s.status_words(o), vec!["orphan"]);
    assert_eq!(
        o.shm
            .as_ref()
            .and_then(|x| x.history.iter().last())
            .map(|r| r.op),
        Some(AttachOp::Exit)
    );
    // Seeded segment whose creator is known gone.
    let mut t = State::new();
    t.seed(
        &[ShmEntry {
            key: 1,
            shmid: 1,
            perms: 0o600,
            size: 1,
            cpid: 999_999,
            lpid: 0,
            nattch: 0,
            uid: 0,
            gid: 0,
            cuid: 0,
            cgid: 0,
            atime: 0,
            dtime: 0,
            ctime: 0,
            rss: None,
            swap: None,
        }],
        &[],
        NS,
        0,
    );
    assert!(t.orphans().is_empty());
    t.process_gone(999_999);
    assert_eq!(t.orphans().len(), 1);
}

#[test]
fn semaphore_values_counters_and_undo() {
    let mut s = State::new();
    let mut g = ev(1, EventKind::SemGet, 10, "producer");
    g.key = Some(KEY);
    g.nsems = Some(2);
    g.flags = Some(0o1666);
    g.ret = Some(4);
    assert_eq!(s.steps_for(&g), vec![SEM1, SEM3]);
    s.apply(&g);
    let mut set = ctl(2, EventKind::SemCtl, 10, 4, "SETALL");
    set.values = Some(vec![1, 0]);
    assert_eq!(s.steps_for(&set), vec![SEM4, SEM5, SEM6]);
    s.apply(&set);
    let mut found = g.clone();
    found.tgid = 20;
    found.pid = 20;
    found.flags = Some(0o666);
    assert_eq!(s.steps_for(&found), vec![SEM1, SEM2]);
    s.apply(&found);
    let p = semop(3, 10, 4, &[(0, -1, SEM_UNDO)], false, 0);
    assert_eq!(s.steps_for(&p), vec![SEM7, SEM9]);
    let blocked = semop(5, 20, 4, &[(1, -1, 0)], true, 0);
    assert_eq!(s.steps_for(&blocked), vec![SEM7, SEM8]);
    apply_all(
        &mut s,
        &[p, semop(4, 10, 4, &[(1, 1, 0)], false, 0), blocked],
    );
    let o = s.live(sem_key(4)).expect("set");
    let st = o.sem.as_ref().expect("sem state");
    assert_eq!(st.values, vec![Some(0), Some(0)]);
    assert_eq!((st.ops, st.p_ops, st.v_ops, st.blocked), (3, 2, 1, 1));
    assert_eq!((st.total_wait_ns, st.max_wait_ns), (2_000_000, 2_000_000));
    assert!(st.undo_used());
    let samples: Vec<(u16, i32)> = st.samples.iter().map(|x| (x.num, x.value)).collect();
    assert_eq!(samples, vec![(0, 1), (1, 0), (0, 0), (1, 1), (1, 0)]);
    assert_eq!(o.finds, 1);
    // A failed semop changes no value.
    s.apply(&semop(6, 20, 4, &[(0, -1, 0x800)], false, -11));
    let st = s.live(sem_key(4)).and_then(|o| o.sem.clone()).expect("sem");
    assert_eq!((st.failed, st.values[0]), (1, Some(0)));
}

#[test]
fn every_kind_maps_to_its_steps() {
    let s = State::new();
    let mut a = attach(1, 1, 1, 0x1000);
    let steps: Vec<Step> = s.steps_for(&a);
    assert_eq!(steps, vec![SHM5, SHM6, SHM7, SHM8, SHM9]);
    a.ret = Some(-22);
    a.errno = Some(22);
    assert_eq!(s.steps_for(&a), vec![SHM5]);
    let mut f = fault(1, 1, 1, 0, false);
    f.shmem = None;
    assert_eq!(s.steps_for(&f), vec![SHM10, SHM11]);
    f.inferred = true;
    assert_eq!(s.steps_for(&f), vec![SHM10, SHM11, SHM12]);
    let mut g = shm_get(1, 1, "x", 1, KEY, 0o666);
    assert_eq!(s.steps_for(&g), vec![SHM1, SHM2], "no IPC_CREAT: found");
    g.ret = Some(-2);
    g.errno = Some(2);
    assert_eq!(s.steps_for(&g), vec![SHM1]);
    let mut sc = ev(1, EventKind::SemCreate, 1, "x");
    sc.id = Some(1);
    sc.nsems = Some(1);
    assert_eq!(s.steps_for(&sc), vec![SEM3]);
    for k in [
        EventKind::ShmDetach,
        EventKind::ShmDestroy,
        EventKind::SemDestroy,
        EventKind::ProcExit,
        EventKind::Drops,
    ] {
        assert!(s.steps_for(&ev(1, k, 1, "x")).is_empty(), "{k:?}");
    }
}

#[test]
fn the_log_is_bounded_and_counters_are_not() {
    let mut s = State::with_limits(Limits {
        log: 10,
        removed_objects: 2,
        removed_detailed: 1,
    });
    for i in 0..100u64 {
        s.apply(&shm_create(i * 2, 1, i as i32, KEY + i as i32, 1));
        s.apply(&destroy(i * 2 + 1, EventKind::ShmDestroy, i as i32));
    }
    assert_eq!(s.log().len(), 10);
    assert_eq!(s.log().last().map(|l| l.seq), Some(199));
    assert_eq!(s.events(), 200);
    assert_eq!(s.object_count(), 2, "removed history capped");
    assert!(s.by_key(NS, ObjKind::Shm, KEY).is_empty());
    assert_eq!(s.by_key(NS, ObjKind::Shm, KEY + 99).len(), 1);
}

#[test]
fn long_timelines_keep_their_start_and_their_recent_past() {
    let mut s = State::with_limits(Limits {
        log: 50,
        ..Limits::default()
    });
    s.apply(&shm_create(1, 100, 1, KEY, 4096));
    s.apply(&attach(2, 100, 1, 0x1000));
    for i in 0..500u64 {
        s.apply(&fault(10 + i, 100, 1, 0, false));
    }
    let o = s.live(shm_key(1)).expect("live");
    let tl = s.timeline(o);
    assert_eq!(o.timeline.total(), 502);
    assert_eq!(tl.entries[0].kind, EventKind::ShmCreate);
    assert_eq!(tl.entries[1].kind, EventKind::ShmAttach);
    // 16 whole entries, then the last 64 references of which the log (50)
    // still holds 50.
    assert_eq!(tl.entries.len(), 16 + 50);
    assert_eq!(tl.skipped, 502 - 66);
    assert_eq!(tl.gap_at, Some(16));
    assert_eq!(tl.entries.last().map(|e| e.ts_ns), Some(509));
    assert!(tl.entries.last().is_some_and(|e| e.steps.contains(SHM10)));
}

/// A lifecycle pushed out of the detailed window keeps its first timeline
/// entry and its counters only (thousands of whole heads were most of a
/// long session's memory).
#[test]
fn a_compacted_lifecycle_keeps_its_first_entry_and_its_counters() {
    let mut s = State::with_limits(Limits {
        removed_detailed: 1,
        ..Limits::default()
    });
    for i in 0..2 {
        s.apply(&shm_create(
            i * 100 + 1,
            100,
            i as i32,
            KEY + i as i32,
            4096,
        ));
        s.apply(&attach(i * 100 + 2, 100, i as i32, 0x1000));
        for p in 0..5 {
            s.apply(&fault(i * 100 + 10 + p, 100, i as i32, p, false));
        }
        s.apply(&destroy(i * 100 + 50, EventKind::ShmDestroy, i as i32));
    }
    let objs: Vec<_> = s.objects().collect();
    assert_eq!(objs.len(), 2);
    let (old, recent) = (objs[0], objs[1]);
    let old_tl = s.timeline(old);
    assert_eq!(old_tl.entries.len(), 1, "only how it began");
    assert_eq!(old_tl.entries[0].kind, EventKind::ShmCreate);
    assert_eq!(old_tl.skipped, 7);
    assert_eq!(old_tl.gap_at, Some(1));
    assert_eq!(old.timeline.total(), 8, "the count stays");
    assert_eq!(
        s.timeline(recent).entries.len(),
        8,
        "the recent one is whole"
    );
    assert_eq!(old.shm.as_ref().map(|m| m.attaches), Some(1));
}

/// A finder's get can complete before the creator's record arrives; the
/// late create (timestamped before the find) joins the same lifecycle.
#[test]
fn a_create_that_arrives_after_a_find_joins_that_lifecycle() {
    let mut s = State::new();
    s.apply(&shm_get(2000, 200, "consumer", 32768, 0x16988, 0o600));
    let mut create = shm_create(1500, 100, 32768, 0x16988, 516);
    create.inferred = true;
    s.apply(&create);
    s.apply(&shm_get(2500, 100, "producer", 32768, 0x16988, 0o1666));
    let objs: Vec<_> = s.objects().collect();
    assert_eq!(objs.len(), 1, "one lifecycle, not two");
    let o = objs[0];
    assert_eq!(o.creator.as_ref().map(|c| c.tgid), Some(100));
    assert!(o.create_inferred && !o.seen_mid_life());
    assert_eq!(o.created_ts, 1500);
    // A create after the object was already seen is a new lifecycle.
    let mut later = shm_create(9000, 300, 32768, 0x16988, 516);
    later.inferred = true;
    s.apply(&later);
    assert_eq!(s.objects().count(), 2);
}

#[test]
fn calls_that_name_no_object_open_no_lifecycle() {
    let mut s = State::new();
    // IPC_INFO/SEM_STAT take no id (or an index), a semop on a removed or
    // bad id fails with EINVAL/EIDRM, an attach of id -1 with EINVAL.
    let mut info = ctl(1, EventKind::SemCtl, 5, 0, "IPC_INFO");
    info.ret = Some(41);
    s.apply(&info);
    s.apply(&ctl(2, EventKind::ShmCtl, 5, 47, "SHM_STAT"));
    s.apply(&semop(
        3,
        5,
        99,
        &[(0, 1, 0)],
        false,
        -(libc::EINVAL as i64),
    ));
    s.apply(&semop(4, 5, 98, &[(0, 1, 0)], false, -(libc::EIDRM as i64)));
    let mut bad = attach(5, 5, -1, 0);
    bad.addr = None;
    bad.ret = Some(-(libc::EINVAL as i64));
    bad.errno = Some(libc::EINVAL);
    s.apply(&bad);
    assert_eq!(s.objects().count(), 0, "phantom lifecycles");
    // A failure that shows the set exists (EAGAIN) still opens one.
    s.apply(&semop(
        6,
        5,
        77,
        &[(0, -1, 0o4000)],
        false,
        -(libc::EAGAIN as i64),
    ));
    assert!(s.live(sem_key(77)).is_some());
}

#[test]
fn an_ipc_rmid_recorded_after_the_destroy_it_caused_is_that_lifecycle() {
    let mut s = State::new();
    s.apply(&shm_create(1, 100, 1, KEY, 10));
    // Kernel-path probes see the free inside shmctl; the syscall's own
    // record comes at its exit.
    s.apply(&destroy(20, EventKind::ShmDestroy, 1));
    let mut rmid = ctl(25, EventKind::ShmCtl, 100, 1, "IPC_RMID");
    rmid.dur_ns = Some(10);
    s.apply(&rmid);
    assert_eq!(s.objects().count(), 1, "no second lifecycle");
    assert!(s.live(shm_key(1)).is_none());
    // An IPC_RMID on an id not freed during the call is still a mid-life one.
    let mut later = ctl(100, EventKind::ShmCtl, 100, 1, "IPC_RMID");
    later.dur_ns = Some(10);
    s.apply(&later);
    assert_eq!(s.objects().count(), 2);
}
