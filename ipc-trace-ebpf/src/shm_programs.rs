//! The program entry points of the shared-memory kernel paths: for each
//! function a kprobe/kretprobe and an fentry/fexit pair (entry only for
//! `shm_destroy` and `shm_close`), each reading its arguments the way its
//! backend passes them and handing them to `shm`.

use aya_ebpf::{
    EbpfContext,
    macros::{fentry, fexit, kprobe, kretprobe},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext},
};
use ipc_trace_common::backend;

use ipc_trace_common::probe;

use crate::{
    emit::read_kernel,
    sem::karg,
    shm::*,
    stacks::{capture, keep, keep_in},
};

// ---- newseg(ns, params) ----

#[kprobe]
pub fn kprobe_newseg(ctx: ProbeContext) -> u32 {
    newseg_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE);
    keep(&ctx, probe::NEWSEG);
    0
}

#[kretprobe]
pub fn kretprobe_newseg(ctx: RetProbeContext) -> u32 {
    newseg_exit(ctx.ret::<i32>() as i64);
    0
}

#[fentry(function = "newseg")]
pub fn fentry_newseg(ctx: FEntryContext) -> i32 {
    newseg_entry(ctx.arg::<u64>(0), ctx.arg::<u64>(1), backend::FENTRY);
    keep(&ctx, probe::NEWSEG);
    0
}

#[fexit(function = "newseg")]
pub fn fexit_newseg(ctx: FExitContext) -> i32 {
    newseg_exit(ctx.arg::<i32>(2) as i64);
    0
}

// ---- do_shmat(shmid, shmaddr, shmflg, raddr, shmlba) ----

#[kprobe]
pub fn kprobe_do_shmat(ctx: ProbeContext) -> u32 {
    do_shmat_entry(
        karg(&ctx, 0),
        karg(&ctx, 1),
        karg(&ctx, 2),
        karg(&ctx, 3),
        backend::KPROBE,
    );
    keep(&ctx, probe::DO_SHMAT);
    0
}

#[kretprobe]
pub fn kretprobe_do_shmat(ctx: RetProbeContext) -> u32 {
    do_shmat_exit(ctx.ret::<i64>());
    0
}

/// The `n`th fentry argument read from the trampoline's argument array
/// through `bpf_probe_read_kernel` instead of a typed context load.
/// Kernels before 5.17 refuse typed loads of pointer arguments that do not
/// point to a struct (`ulong *raddr`: "arg3 type INT is not a struct").
#[inline(always)]
fn fentry_raw_arg(ctx: &FEntryContext, n: u64) -> u64 {
    read_kernel::<u64>(ctx.as_ptr() as u64 + 8 * n).unwrap_or(0)
}

#[fentry(function = "do_shmat")]
pub fn fentry_do_shmat(ctx: FEntryContext) -> i32 {
    do_shmat_entry(
        ctx.arg::<u64>(0),
        fentry_raw_arg(&ctx, 1),
        ctx.arg::<u64>(2),
        fentry_raw_arg(&ctx, 3),
        backend::FENTRY,
    );
    keep(&ctx, probe::DO_SHMAT);
    0
}

#[fexit(function = "do_shmat")]
pub fn fexit_do_shmat(ctx: FExitContext) -> i32 {
    do_shmat_exit(ctx.arg::<i64>(5));
    0
}

// ---- shm_fault(vmf) -> vm_fault_t ----

#[kprobe]
pub fn kprobe_shm_fault(ctx: ProbeContext) -> u32 {
    shm_fault_entry(karg(&ctx, 0), backend::KPROBE);
    keep(&ctx, probe::SHM_FAULT);
    0
}

#[kretprobe]
pub fn kretprobe_shm_fault(ctx: RetProbeContext) -> u32 {
    shm_fault_exit(ctx.ret::<u32>() as i64);
    0
}

#[fentry(function = "shm_fault")]
pub fn fentry_shm_fault(ctx: FEntryContext) -> i32 {
    shm_fault_entry(ctx.arg::<u64>(0), backend::FENTRY);
    keep(&ctx, probe::SHM_FAULT);
    0
}

#[fexit(function = "shm_fault")]
pub fn fexit_shm_fault(ctx: FExitContext) -> i32 {
    shm_fault_exit(ctx.arg::<u32>(1) as i64);
    0
}

// ---- shmem_fault(vmf) -> vm_fault_t ----

#[kprobe]
pub fn kprobe_shmem_fault(ctx: ProbeContext) -> u32 {
    shmem_fault_entry();
    // The deeper stack, with shm_fault and shmem_fault both on it.
    keep_in(&ctx, probe::SHM_FAULT, probe::SHMEM_FAULT);
    0
}

#[kretprobe]
pub fn kretprobe_shmem_fault(ctx: RetProbeContext) -> u32 {
    shmem_fault_exit(ctx.ret::<u32>() as u64);
    0
}

#[fentry(function = "shmem_fault")]
pub fn fentry_shmem_fault(ctx: FEntryContext) -> i32 {
    shmem_fault_entry();
    keep_in(&ctx, probe::SHM_FAULT, probe::SHMEM_FAULT);
    0
}

#[fexit(function = "shmem_fault")]
pub fn fexit_shmem_fault(ctx: FExitContext) -> i32 {
    shmem_fault_exit(ctx.arg::<u32>(1) as u64);
    0
}

// ---- shm_destroy(ns, shp), shm_close(vma) ----

#[kprobe]
pub fn kprobe_shm_destroy(ctx: ProbeContext) -> u32 {
    shm_destroy_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE, capture(&ctx));
    0
}

#[fentry(function = "shm_destroy")]
pub fn fentry_shm_destroy(ctx: FEntryContext) -> i32 {
    shm_destroy_entry(
        ctx.arg::<u64>(0),
        ctx.arg::<u64>(1),
        backend::FENTRY,
        capture(&ctx),
    );
    0
}

#[kprobe]
pub fn kprobe_shm_close(ctx: ProbeContext) -> u32 {
    shm_close_entry(karg(&ctx, 0), backend::KPROBE, capture(&ctx));
    0
}

#[fentry(function = "shm_close")]
pub fn fentry_shm_close(ctx: FEntryContext) -> i32 {
    shm_close_entry(ctx.arg::<u64>(0), backend::FENTRY, capture(&ctx));
    0
}
