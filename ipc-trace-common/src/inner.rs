//! The step probes: functions nested inside a reported call that do one
//! step and have nothing else to report. Their programs set one of these
//! bits in the enclosing call's in-flight record (`RawEvent::inner`);
//! each bit's probe id is `probe::FIRST_STEP + bit index`.

/// `shm_more_checks`: `ipcget` found the key (SHM-2), inside `shmget`.
pub const SHM_MORE_CHECKS: u16 = 1 << 0;
/// `sem_more_checks`: `ipcget` found the key (SEM-2), inside `semget`.
pub const SEM_MORE_CHECKS: u16 = 1 << 1;
/// `shmem_kernel_file_setup`: file1 created (SHM-4), inside `newseg`.
pub const SHMEM_KERNEL_FILE_SETUP: u16 = 1 << 2;
/// `shm_mmap`: file2's mmap called (SHM-8/9), inside `do_shmat`.
pub const SHM_MMAP: u16 = 1 << 3;
/// Number of bits in use.
pub const COUNT: usize = 4;
