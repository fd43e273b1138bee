//! Fork and exec: the mappings a child inherits and an exec drops.

use super::*;

fn fork(ts: u64, parent: u32, child: u32) -> Event {
    let mut e = ev(ts, EventKind::ProcFork, parent, "producer");
    e.probe = "task_newtask".into();
    e.ret = Some(i64::from(child));
    e
}

#[test]
fn a_forked_child_holds_a_copy_of_each_mapping() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 4096),
            attach(2, 100, 1, 0x1000),
            fork(3, 100, 101),
        ],
    );
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(o.nattch(), 2, "the kernel counts the child's copy");
    let heirs: Vec<(u32, u64)> = o
        .shm
        .iter()
        .flat_map(|m| m.mappings.iter())
        .map(|m| (m.actor.tgid, m.addr))
        .collect();
    assert_eq!(heirs, vec![(100, 0x1000), (101, 0x1000)]);
    let tl = s.timeline(o);
    let last = tl.entries.last().expect("an entry");
    assert_eq!(last.kind, EventKind::ProcFork);
    assert!(last.text.contains("forked pid 101"), "{}", last.text);

    // The child's shmdt names only the address: found through its copy.
    s.apply(&detach(4, 101, 0x1000));
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(o.nattch(), 1);
    assert_eq!(o.shm.as_ref().map(|m| m.unknown_attaches), Some(0));
    // The parent exits: the creator is gone, nothing attached.
    s.apply(&ev(5, EventKind::ProcExit, 100, "producer"));
    assert_eq!(s.orphans().len(), 1);
}

#[test]
fn a_fork_of_a_process_without_mappings_changes_no_segment() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 4096),
            attach(2, 200, 1, 0x1000),
            fork(3, 100, 101),
        ],
    );
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(o.nattch(), 1);
    assert_eq!(o.timeline.total(), 2);
}

#[test]
fn exec_detaches_every_mapping_and_the_process_lives_on() {
    let mut s = State::new();
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 4096),
            attach(2, 100, 1, 0x1000),
            attach(3, 100, 1, 0x9000),
            ev(4, EventKind::ProcExec, 100, "producer"),
        ],
    );
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(o.nattch(), 0);
    let ops: Vec<AttachOp> = o
        .shm
        .iter()
        .flat_map(|m| m.history.iter())
        .map(|r| r.op)
        .collect();
    assert_eq!(ops.iter().filter(|op| **op == AttachOp::Exec).count(), 2);
    let tl = s.timeline(o);
    assert!(tl.entries.iter().any(|e| e.text.contains("exec'd")));
    assert!(s.orphans().is_empty(), "the creator is still running");
    // The exit that follows has no mapping left to detach.
    s.apply(&ev(5, EventKind::ProcExit, 100, "producer"));
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(o.timeline.total(), 5);
}

/// The exit detaches what the process had; the `shm_detach` that reports
/// the same unmapping (inferred right after it, or a kernel's `shm_close`
/// after the exit tracepoint) is not a second detach. A later attach at
/// the same address is a new mapping again.
#[test]
fn the_detach_reporting_an_exit_unmapping_is_not_counted_twice() {
    let mut s = State::new();
    let mut d = detach(5, 100, 0x1000);
    d.id = Some(1);
    d.inferred = true;
    apply_all(
        &mut s,
        &[
            shm_create(1, 100, 1, KEY, 4096),
            attach(2, 100, 1, 0x1000),
            ev(4, EventKind::ProcExit, 100, "producer"),
            d,
        ],
    );
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(
        o.shm.as_ref().map(|m| (m.attaches, m.detaches)),
        Some((1, 1))
    );
    let mut again = detach(9, 100, 0x1000);
    again.id = Some(1);
    apply_all(&mut s, &[attach(7, 100, 1, 0x1000), again]);
    let o = s.live(shm_key(1)).expect("live");
    assert_eq!(
        o.shm.as_ref().map(|m| (m.attaches, m.detaches)),
        Some((2, 2))
    );
}
