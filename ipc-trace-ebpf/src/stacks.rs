//! Kernel stacks for the teaching modes (`--stacks`): a kernel-path probe
//! stores the stack it fired on in `STACKS` and puts the id in its record,
//! which userspace symbolizes from /proc/kallsyms. Off (one lookup of a
//! global) unless `TRACE_CONFIG.stacks` is set; never on tracepoints.

use aya_ebpf::{macros::map, maps::StackTrace, programs::tracing::StackIdContext};
use ipc_trace_common::{NO_STACK, RawEvent};

use crate::{
    emit::{inflight, pid_tgid},
    maps::{TRACE_CONFIG, read_global_u32},
};

/// Kernel stacks by id. Userspace sizes it (one entry when stacks are off).
/// Without `BPF_F_REUSE_STACKID` an id, once given, always names the same
/// stack, so userspace may cache what it symbolized; a different stack
/// that hashes to a taken bucket gets no id (`NO_STACK`).
#[map]
pub static STACKS: StackTrace = StackTrace::with_max_entries(1, 0);

/// True when stacks are asked for.
#[inline(always)]
fn enabled() -> bool {
    read_global_u32(&TRACE_CONFIG.stacks) != 0
}

/// The id of the current kernel stack, or `NO_STACK` when stacks are off
/// or the kernel gave none.
#[inline(always)]
pub fn capture<C: StackIdContext>(ctx: &C) -> i32 {
    if !enabled() {
        return NO_STACK;
    }
    match ctx.get_stackid(&STACKS, 0) {
        Ok(id) => id as i32,
        Err(_) => NO_STACK,
    }
}

/// Puts the current stack, taken by `probe`'s program, into the in-flight
/// record of `probe` of this task, if there is one (after its entry
/// stashed it).
#[inline(always)]
pub fn keep<C: StackIdContext>(ctx: &C, probe: u8) {
    keep_in(ctx, probe, probe);
}

/// Puts the current stack, taken by probe `at`'s program, into this task's
/// in-flight record of `record` (`shmem_fault` into its `shm_fault`'s).
#[inline(always)]
pub fn keep_in<C: StackIdContext>(ctx: &C, record: u8, at: u8) {
    if !enabled() {
        return;
    }
    if let Some(ev) = inflight(pid_tgid(), record) {
        set(ev, ctx, at);
    }
}

/// Puts the current stack, taken by probe `at`'s program, into `ev`.
#[inline(always)]
pub fn set<C: StackIdContext>(ev: &mut RawEvent, ctx: &C, at: u8) {
    ev.stack_id = capture(ctx);
    ev.stack_at = at;
}
