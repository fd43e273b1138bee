//! Scheduler tracepoints: `sched_switch` marks semops that slept,
//! `sched_process_fork` follows children of traced processes,
//! `sched_process_exec` forgets attached ranges of a replaced image, and
//! `sched_process_exit` reports the end of a traced process.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use ipc_trace_common::{ShmRanges, backend, probe, raw_kind};

use crate::{
    emit::{begin, now, pid_tgid, submit, tgid_of},
    maps::{SHM_RANGES, SLEEPS, TRACE_CONFIG, TRACED_TGIDS, tpoff},
};

/// `sched:sched_switch`; current is the task being switched out.
#[tracepoint]
pub fn sched_switch(ctx: TracePointContext) -> u32 {
    let id = pid_tgid();
    let Some(first_sleep) = SLEEPS.get_ptr_mut(id) else {
        return 0;
    };
    // SAFETY: only this task touches its own entry.
    let first_sleep = unsafe { &mut *first_sleep };
    if *first_sleep != 0 {
        return 0;
    }
    let Ok(prev_state) = (unsafe { ctx.read_at::<i64>(tpoff!(switch_prev_state)) }) else {
        return 0;
    };
    // Preempted tasks report a state above the low byte: only real sleeps count.
    if prev_state & 0xff != 0 {
        *first_sleep = now();
    }
    0
}

/// `sched:sched_process_fork`; current is the parent.
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let parent = tgid_of(pid_tgid());
    let Ok(child) = (unsafe { ctx.read_at::<i32>(tpoff!(fork_child_pid)) }) else {
        return 0;
    };
    let child = child as u32;
    let filtering = crate::maps::read_global_u32(&raw const TRACE_CONFIG.filter_tgids);
    if filtering != 0 {
        if TRACED_TGIDS.get_ptr(parent).is_none() {
            return 0;
        }
        let _ = TRACED_TGIDS.insert(child, 1u8, 0);
    }
    // A forked child inherits its parent's shm attachments.
    if let Some(ranges) = SHM_RANGES.get_ptr(parent) {
        // By reference: the value is too big to copy onto the BPF stack.
        let ranges: &ShmRanges = unsafe { &*ranges };
        let _ = SHM_RANGES.insert(child, ranges, 0);
    }
    0
}

/// `sched:sched_process_exec`: the old image and its attachments are gone.
#[tracepoint]
pub fn sched_process_exec(_ctx: TracePointContext) -> u32 {
    let tgid = tgid_of(pid_tgid());
    let _ = SHM_RANGES.remove(tgid);
    0
}

/// `sched:sched_process_exit`, once per exiting thread.
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let id = pid_tgid();
    let pid = id as u32;
    let tgid = tgid_of(id);
    if pid != tgid {
        // A thread: forget what fork may have recorded under its tid.
        let _ = TRACED_TGIDS.remove(pid);
        let _ = SHM_RANGES.remove(pid);
    }
    let group_dead_off = tpoff!(exit_group_dead);
    let whole_process = if group_dead_off != 0 {
        matches!(unsafe { ctx.read_at::<u8>(group_dead_off) }, Ok(v) if v != 0)
    } else {
        pid == tgid
    };
    if !whole_process {
        return 0;
    }
    // Two separate tests: LLVM would otherwise OR the two map pointers,
    // which the verifier rejects.
    if TRACED_TGIDS.get_ptr(tgid).is_none() {
        let has_ranges = SHM_RANGES.get_ptr(tgid).is_some();
        if !core::hint::black_box(has_ranges) {
            return 0;
        }
    }
    if let Some(ev) = begin(raw_kind::PROC_EXIT, probe::SCHED_EXIT, backend::TRACEPOINT) {
        submit(ev);
    }
    let _ = SHM_RANGES.remove(tgid);
    let _ = TRACED_TGIDS.remove(tgid);
    0
}
