//! Fork and exec: what they do to the attaches the decoder tracks.

use super::*;

/// The process a fork of PROD creates (its comm is still "prod").
const CHILD: u32 = 300;

fn fork(child: u64) -> Rec {
    Rec::new(
        raw_kind::PROC_FORK,
        probe::TASK_NEWTASK,
        &[child],
        0,
        backend::TRACEPOINT,
    )
}

fn exec() -> Rec {
    Rec::new(
        raw_kind::PROC_EXEC,
        probe::SCHED_EXEC,
        &[],
        0,
        backend::TRACEPOINT,
    )
}

#[test]
fn a_forked_child_detaches_what_it_inherited() {
    let setup = [shmget(KEY, IPC_CREAT, SHMID), shmat(SHMID, ADDR as i64)];
    let child_detach = shmdt(ADDR, 0).by(CHILD).at(3000);

    // Without the fork record the child's shmdt names no segment.
    let mut blind = Decoder::new(&tracepoints_only());
    feed(&mut blind, &setup);
    assert_eq!(feed(&mut blind, &[child_detach])[0].id, None);

    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &setup);
    let forked = fork(u64::from(CHILD)).at(2000);
    let out = feed(&mut dec, &[forked]);
    let mut expected = expect(&forked, K::ProcFork, "task_newtask", false);
    expected.ret = Some(i64::from(CHILD));
    assert_eq!(out, vec![expected]);
    assert_eq!(out[0].missing_field(), None);

    let out = feed(&mut dec, &[child_detach]);
    assert_eq!(kinds(&out), vec![(K::ShmDetach, false)]);
    assert_eq!((out[0].tgid, out[0].id), (CHILD, Some(SHMID as i32)));

    // Removed while the parent still has it: freed at the parent's exit.
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, 0).at(4000)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);
    let out = feed(&mut dec, &[exit().at(5000)]);
    assert_eq!(
        kinds(&out),
        vec![
            (K::ProcExit, false),
            (K::ShmDetach, true),
            (K::ShmDestroy, true)
        ]
    );
    assert_eq!(out[1].tgid, PROD);
}

#[test]
fn a_child_that_exits_with_its_inherited_mappings_detaches_them_in_its_name() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(
        &mut dec,
        &[
            shmget(KEY, IPC_CREAT, SHMID),
            shmat(SHMID, ADDR as i64),
            shmat(SHMID, (ADDR + SIZE) as i64),
            fork(u64::from(CHILD)),
            shmctl(SHMID, IPC_RMID, 0),
        ],
    );
    let out = feed(&mut dec, &[exit().by(CHILD)]);
    let detaches: Vec<_> = out.iter().filter(|e| e.kind == K::ShmDetach).collect();
    assert_eq!(detaches.len(), 2, "{out:#?}");
    assert!(detaches.iter().all(|d| d.tgid == CHILD && d.inferred));
    assert!(
        !out.iter().any(|e| e.kind == K::ShmDestroy),
        "the parent still has it"
    );
    let out = feed(&mut dec, &[exit()]);
    assert_eq!(out.iter().filter(|e| e.kind == K::ShmDestroy).count(), 1);
}

#[test]
fn exec_unmaps_like_exit_and_the_process_goes_on() {
    let setup = [
        shmget(KEY, IPC_CREAT, SHMID),
        shmat(SHMID, ADDR as i64),
        shmctl(SHMID, IPC_RMID, 0),
    ];
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &setup);
    let out = feed(&mut dec, &[exec().at(3000)]);
    assert_eq!(
        kinds(&out),
        vec![
            (K::ProcExec, false),
            (K::ShmDetach, true),
            (K::ShmDestroy, true)
        ]
    );
    assert_eq!(out[1].addr, Some(ADDR));
    assert_eq!(out[1].probe, "sched_process_exec");
    // The exit that follows has nothing left to detach.
    assert_eq!(
        kinds(&feed(&mut dec, &[exit()])),
        vec![(K::ProcExit, false)]
    );

    // With shm_close attached the kernel reports the detach itself.
    let mut dec = Decoder::new(&all_kernel_paths());
    feed(
        &mut dec,
        &[
            newseg(KEY, IPC_CREAT, SHMID),
            do_shmat(SHMID, ADDR, 0),
            shm_close(SHMID, ADDR),
        ],
    );
    assert_eq!(
        kinds(&feed(&mut dec, &[exec()])),
        vec![(K::ProcExec, false)]
    );
}

#[test]
fn a_fork_record_without_a_child_pid_is_counted_not_decoded() {
    let mut dec = Decoder::new(&tracepoints_only());
    assert!(feed(&mut dec, &[fork(0), fork(u64::MAX)]).is_empty());
    assert_eq!(dec.unknown_records(), 2);
}
