//! Exit before `exit_mm`: on kernels after 6.12 `sched_process_exit` comes
//! before the process's mappings go, and their `shm_close`/`shm_destroy`
//! are filtered out (the process is no longer traced) or, system-wide,
//! reported after the exit.

use super::*;

/// A segment created and attached by PROD with every kernel-path probe,
/// then removed while still attached.
fn attached_then_removed() -> [Rec; 5] {
    [
        newseg(KEY, IPC_CREAT, SHMID),
        shmget(KEY, IPC_CREAT, SHMID),
        do_shmat(SHMID, ADDR, 0),
        shmat(SHMID, ADDR as i64),
        shmctl(SHMID, IPC_RMID, 0),
    ]
}

#[test]
fn an_exit_before_its_unmapping_infers_the_detach_and_the_free_once() {
    let mut dec = Decoder::new(&all_kernel_paths());
    feed(&mut dec, &attached_then_removed());
    let out = feed(&mut dec, &[exit().at(2000)]);
    assert_eq!(
        kinds(&out),
        vec![
            (K::ProcExit, false),
            (K::ShmDetach, true),
            (K::ShmDestroy, true)
        ]
    );
    assert_eq!((out[1].id, out[1].addr), (Some(SHMID as i32), Some(ADDR)));
    // Traced system-wide, the kernel's own reports follow: duplicates.
    let late = feed(
        &mut dec,
        &[shm_close(SHMID, ADDR).at(2100), shm_destroy(SHMID).at(2200)],
    );
    assert_eq!(kinds(&late), vec![]);
}

#[test]
fn an_exit_after_its_unmapping_infers_nothing() {
    let mut dec = Decoder::new(&all_kernel_paths());
    feed(&mut dec, &attached_then_removed());
    let out = feed(
        &mut dec,
        &[
            shm_close(SHMID, ADDR).at(1900),
            shm_destroy(SHMID).at(1950),
            exit().at(2000),
        ],
    );
    assert_eq!(
        kinds(&out),
        vec![
            (K::ShmDetach, false),
            (K::ShmDestroy, false),
            (K::ProcExit, false)
        ]
    );
}

#[test]
fn only_the_exiting_process_s_own_late_report_is_a_duplicate() {
    let mut dec = Decoder::new(&all_kernel_paths());
    feed(&mut dec, &attached_then_removed()[..4]);
    feed(&mut dec, &[exit().at(2000)]);
    // Another process closing a mapping at the same address of the same
    // segment is its own detach, reported as the kernel gives it.
    let other = feed(&mut dec, &[shm_close(SHMID, ADDR).by(CONS).at(2100)]);
    assert_eq!(kinds(&other), vec![(K::ShmDetach, false)]);
    // The exiting process's own report is still recognised once.
    let own = feed(&mut dec, &[shm_close(SHMID, ADDR).at(2200)]);
    assert_eq!(kinds(&own), vec![]);
    let again = feed(&mut dec, &[shm_close(SHMID, ADDR).at(2300)]);
    assert_eq!(kinds(&again), vec![(K::ShmDetach, false)]);
}
