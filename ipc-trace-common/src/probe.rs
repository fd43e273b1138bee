//! Probe ids: which hook produced a record. Also the index into the
//! per-probe drop counters (`DROPS`, a per-CPU array of `COUNT` slots).

/// `syscalls:sys_{enter,exit}_shmget`
pub const SYS_SHMGET: u8 = 0;
/// `syscalls:sys_{enter,exit}_shmat`
pub const SYS_SHMAT: u8 = 1;
/// `syscalls:sys_{enter,exit}_shmdt`
pub const SYS_SHMDT: u8 = 2;
/// `syscalls:sys_{enter,exit}_shmctl`
pub const SYS_SHMCTL: u8 = 3;
/// `syscalls:sys_{enter,exit}_semget`
pub const SYS_SEMGET: u8 = 4;
/// `syscalls:sys_{enter,exit}_semop`
pub const SYS_SEMOP: u8 = 5;
/// `syscalls:sys_{enter,exit}_semtimedop`
pub const SYS_SEMTIMEDOP: u8 = 6;
/// `syscalls:sys_{enter,exit}_semctl`
pub const SYS_SEMCTL: u8 = 7;
/// `exceptions:page_fault_user`, filtered to attached shm ranges.
pub const PAGE_FAULT_USER: u8 = 8;
/// `sched:sched_switch` (marks semops that slept).
pub const SCHED_SWITCH: u8 = 9;
/// `sched:sched_process_fork` (follows children of traced processes).
pub const SCHED_FORK: u8 = 10;
/// `sched:sched_process_exit`.
pub const SCHED_EXIT: u8 = 11;
/// `sched:sched_process_exec` (a traced process that had segments attached
/// replaced its image: the attachments are gone).
pub const SCHED_EXEC: u8 = 12;
/// `task:task_newtask` (a process with segments attached forked: the child
/// has them too).
pub const TASK_NEWTASK: u8 = 13;
/// `newseg` (SHM-3/SHM-4).
pub const NEWSEG: u8 = 14;
/// `do_shmat` (SHM-5…SHM-9).
pub const DO_SHMAT: u8 = 15;
/// `shm_fault` (SHM-10/SHM-11).
pub const SHM_FAULT: u8 = 16;
/// `shmem_fault` (SHM-12), attributed to the enclosing `shm_fault`.
pub const SHMEM_FAULT: u8 = 17;
/// `newary` (SEM-3).
pub const NEWARY: u8 = 18;
/// `do_semtimedop` (SEM-7…SEM-9).
pub const DO_SEMTIMEDOP: u8 = 19;
/// `__do_semtimedop` (kernel-side sembufs; 6.1+).
pub const DO_SEMTIMEDOP_INNER: u8 = 20;
/// `shm_destroy` (segment freed).
pub const SHM_DESTROY: u8 = 21;
/// `shm_close` (a mapping of a segment closed: detach).
pub const SHM_CLOSE: u8 = 22;
/// `freeary` (semaphore set freed).
pub const FREEARY: u8 = 23;
/// `shm_more_checks` (SHM-2: the key was found), a step probe.
pub const SHM_MORE_CHECKS: u8 = 24;
/// `sem_more_checks` (SEM-2: the key was found), a step probe.
pub const SEM_MORE_CHECKS: u8 = 25;
/// `shmem_kernel_file_setup` (SHM-4: file1), a step probe.
pub const SHMEM_KERNEL_FILE_SETUP: u8 = 26;
/// `shm_mmap` (SHM-8/9: file2's mmap), a step probe.
pub const SHM_MMAP: u8 = 27;
/// Number of probe ids.
pub const COUNT: usize = 28;

/// First step probe: kernel-path probes that send no record of their own
/// but mark the enclosing call's (`crate::inner`, bit `id - FIRST_STEP`).
pub const FIRST_STEP: u8 = SHM_MORE_CHECKS;

/// Name of each probe id, as shown in the probe table and in recordings
/// (the `probe` field of every event).
pub const NAMES: [&str; COUNT] = [
    "sys_shmget",
    "sys_shmat",
    "sys_shmdt",
    "sys_shmctl",
    "sys_semget",
    "sys_semop",
    "sys_semtimedop",
    "sys_semctl",
    "page_fault_user",
    "sched_switch",
    "sched_process_fork",
    "sched_process_exit",
    "sched_process_exec",
    "task_newtask",
    "newseg",
    "do_shmat",
    "shm_fault",
    "shmem_fault",
    "newary",
    "do_semtimedop",
    "__do_semtimedop",
    "shm_destroy",
    "shm_close",
    "freeary",
    "shm_more_checks",
    "sem_more_checks",
    "shmem_kernel_file_setup",
    "shm_mmap",
];

/// First id of the kernel-path (kprobe/fentry) probes; lower ids are tracepoints.
pub const FIRST_KERNEL_PATH: u8 = NEWSEG;

/// The name of a probe id, or `"unknown"`.
pub fn name(id: u8) -> &'static str {
    match NAMES.get(id as usize) {
        Some(n) => n,
        None => "unknown",
    }
}

/// The id of a probe name.
pub fn by_name(name: &str) -> Option<u8> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

/// How many arguments syscall probe `id` takes (0 for other probes). The
/// syscall tracepoint's record holds exactly that many, and a program
/// attached to several tracepoints may read its context only as far as
/// the smallest record reaches (the kernel refuses the attach otherwise,
/// `EACCES`): hence one enter program per argument count.
pub const fn syscall_args(id: u8) -> usize {
    match id {
        SYS_SHMDT => 1,
        SYS_SHMGET | SYS_SHMAT | SYS_SHMCTL | SYS_SEMGET | SYS_SEMOP => 3,
        SYS_SEMCTL | SYS_SEMTIMEDOP => 4,
        _ => 0,
    }
}

/// The enter program of syscall probe `id`, by its argument count (see
/// `syscall_args`): `sys_enter_1`, `sys_enter_3` or `sys_enter_4`.
pub const fn syscall_enter_program(id: u8) -> &'static str {
    match syscall_args(id) {
        1 => "sys_enter_1",
        4 => "sys_enter_4",
        _ => "sys_enter_3",
    }
}
