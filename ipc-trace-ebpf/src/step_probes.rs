//! The step probes: functions nested inside a reported call that do one
//! step (docs/STEPS.md) and have nothing else to tell. Each program only
//! sets its `inner` bit in the records of the enclosing call that are in
//! flight for this task (the syscall's, and the kernel function's where
//! that is probed), so the step is *seen in the kernel* without a record
//! of its own. Entry only; every one of them runs once per call at most.
//!
//! - `shm_more_checks` / `sem_more_checks`: `ipcget` found the key
//!   (SHM-2 / SEM-2). Called through `ipc_ops`, so never inlined.
//! - `shmem_kernel_file_setup`: file1 is created (SHM-4), inside `newseg`.
//! - `shm_mmap`: file2's mmap is called (SHM-8/9), inside `do_shmat`.

use aya_ebpf::{
    macros::{fentry, kprobe},
    programs::{FEntryContext, ProbeContext, tracing::StackIdContext},
};
use ipc_trace_common::{NO_STACK, probe};

use crate::{
    emit::{inflight, pid_tgid},
    maps::SYSCALLS,
    stacks,
};

/// Sets step probe `step`'s `inner` bit in this task's in-flight syscall record when it is the
/// syscall `syscall` (a stack too, when stacks are on and it has none),
/// and in its in-flight record of kernel function `function`, if any.
#[inline(always)]
fn mark<C: StackIdContext>(ctx: &C, step: u8, syscall: u8, function: Option<u8>) {
    let bit = 1u16 << (step - probe::FIRST_STEP);
    let id = pid_tgid();
    if let Some(ptr) = SYSCALLS.get_ptr_mut(id as u32) {
        // SAFETY: the lookup returned this task's own entry, non-null; the
        // verifier bounds every access to the `RawEvent`. Only this task's
        // programs use the entry, and they run one at a time.
        let ev = unsafe { &mut *ptr };
        if ev.probe == syscall {
            ev.inner |= bit;
            if ev.stack_id == NO_STACK {
                stacks::set(ev, ctx, step);
            }
        }
    }
    if let Some(function) = function
        && let Some(ev) = inflight(id, function)
    {
        ev.inner |= bit;
    }
}

#[kprobe]
pub fn kprobe_shm_more_checks(ctx: ProbeContext) -> u32 {
    mark(&ctx, probe::SHM_MORE_CHECKS, probe::SYS_SHMGET, None);
    0
}

#[fentry(function = "shm_more_checks")]
pub fn fentry_shm_more_checks(ctx: FEntryContext) -> i32 {
    mark(&ctx, probe::SHM_MORE_CHECKS, probe::SYS_SHMGET, None);
    0
}

#[kprobe]
pub fn kprobe_sem_more_checks(ctx: ProbeContext) -> u32 {
    mark(&ctx, probe::SEM_MORE_CHECKS, probe::SYS_SEMGET, None);
    0
}

#[fentry(function = "sem_more_checks")]
pub fn fentry_sem_more_checks(ctx: FEntryContext) -> i32 {
    mark(&ctx, probe::SEM_MORE_CHECKS, probe::SYS_SEMGET, None);
    0
}

#[kprobe]
pub fn kprobe_shmem_kernel_file_setup(ctx: ProbeContext) -> u32 {
    mark(
        &ctx,
        probe::SHMEM_KERNEL_FILE_SETUP,
        probe::SYS_SHMGET,
        Some(probe::NEWSEG),
    );
    0
}

#[fentry(function = "shmem_kernel_file_setup")]
pub fn fentry_shmem_kernel_file_setup(ctx: FEntryContext) -> i32 {
    mark(
        &ctx,
        probe::SHMEM_KERNEL_FILE_SETUP,
        probe::SYS_SHMGET,
        Some(probe::NEWSEG),
    );
    0
}

#[kprobe]
pub fn kprobe_shm_mmap(ctx: ProbeContext) -> u32 {
    mark(
        &ctx,
        probe::SHM_MMAP,
        probe::SYS_SHMAT,
        Some(probe::DO_SHMAT),
    );
    0
}

#[fentry(function = "shm_mmap")]
pub fn fentry_shm_mmap(ctx: FEntryContext) -> i32 {
    mark(
        &ctx,
        probe::SHM_MMAP,
        probe::SYS_SHMAT,
        Some(probe::DO_SHMAT),
    );
    0
}
