//! Scheduler tracepoints: `sched_switch` marks semops that slept,
//! `sched_process_fork` follows children of traced processes,
//! `task_newtask` reports a fork that copies shm attachments,
//! `sched_process_exec` reports (and forgets) the attachments of a replaced
//! image, and `sched_process_exit` reports the end of a traced process.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use ipc_trace_common::{ShmRanges, backend, probe, raw_kind};

use crate::{
    diag,
    emit::{begin, now, pid_tgid, submit, tgid_of},
    maps::{INFLIGHT, InflightKey, SHM_RANGES, SYSCALLS, TRACE_CONFIG, TRACED_TGIDS, tpoff},
    sem::{first_sleep_slot, mark_first_sleep, read_first_sleep},
    shm_ranges::has_ranges,
};

/// `sched:sched_waking`: a task inside a semop is woken (by a V, a
/// timeout or a signal). It had queued itself and set its sleeping state,
/// even when the wakeup comes before it reaches `schedule()`: the
/// operation waited. Marks the first such moment, like `sched_switch`.
#[tracepoint]
pub fn sched_waking(ctx: TracePointContext) -> u32 {
    // SAFETY: `ctx` is the tracepoint record the kernel passes; the offset
    // comes from tracefs's format file, and `read_at` is
    // `bpf_probe_read_kernel`, which checks the read (any bytes are an i32).
    let Ok(tid) = (unsafe { ctx.read_at::<i32>(tpoff!(waking_pid)) }) else {
        return 0;
    };
    if let Some(slot) = first_sleep_slot(tid as u32) {
        mark_first_sleep(slot, now());
    }
    0
}

/// `sched:sched_switch`; current is the task being switched out.
#[tracepoint]
pub fn sched_switch(ctx: TracePointContext) -> u32 {
    let Some(slot) = first_sleep_slot(pid_tgid() as u32) else {
        return 0;
    };
    if read_first_sleep(slot) != 0 {
        return 0;
    }
    // SAFETY: `ctx` is the tracepoint record the kernel passes; the offset
    // comes from tracefs's format file and `bpf_probe_read_kernel` (behind
    // `read_at`) checks the read; any bytes are an i64.
    let Ok(prev_state) = (unsafe { ctx.read_at::<i64>(tpoff!(switch_prev_state)) }) else {
        return 0;
    };
    // Preempted tasks report a state above the low byte: only real sleeps count.
    if prev_state & 0xff != 0 {
        mark_first_sleep(slot, now());
    }
    0
}

/// `sched:sched_process_fork`; current is the parent.
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let parent = tgid_of(pid_tgid());
    // SAFETY: `ctx` is the tracepoint record the kernel passes; the offset
    // comes from tracefs's format file (it moved in 6.x) and
    // `bpf_probe_read_kernel` (behind `read_at`) checks the read.
    let Ok(child) = (unsafe { ctx.read_at::<i32>(tpoff!(fork_child_pid)) }) else {
        return 0;
    };
    let child = child as u32;
    let filtering = crate::maps::read_global_u32(&TRACE_CONFIG.filter_tgids);
    if filtering != 0 {
        if TRACED_TGIDS.get_ptr(parent).is_none() {
            return 0;
        }
        if let Err(err) = TRACED_TGIDS.insert(child, 1u8, 0) {
            diag::map_insert_failed(diag::once::TRACED_TGIDS_FULL, err);
        }
    }
    // A forked child inherits its parent's shm attachments.
    if let Some(ranges) = SHM_RANGES.get_ptr(parent) {
        // By reference: the value is too big to copy onto the BPF stack.
        // SAFETY: the lookup returned a non-null pointer to the parent's
        // value; it is only handed to the update helper, which copies it in
        // the kernel (the verifier checks it covers the value size): the
        // program never reads through the reference. The parent's other
        // threads may change a slot meanwhile; the child then inherits the
        // ranges of a moment before or after.
        let ranges: &ShmRanges = unsafe { &*ranges };
        let _ = SHM_RANGES.insert(child, ranges, 0);
    }
    0
}

/// `CLONE_VM`: the new task shares the parent's memory (a thread, or a
/// vfork child until it execs): no mapping is copied.
const CLONE_VM: u64 = 0x100;
/// `CLONE_THREAD`: the new task is a thread of the parent's process.
const CLONE_THREAD: u64 = 0x10000;

/// `task:task_newtask`; current is the parent, the new task is complete
/// but has not run. A new process (own memory) of a parent with segments
/// attached holds a copy of each of its mappings (the kernel's `shm_open`
/// counted each one): reported, so that userspace knows who detaches them.
#[tracepoint]
pub fn task_newtask(ctx: TracePointContext) -> u32 {
    if !has_ranges(tgid_of(pid_tgid())) {
        return 0;
    }
    // SAFETY: `ctx` is the tracepoint record the kernel passes; the offset
    // comes from tracefs's format file and `bpf_probe_read_kernel` (behind
    // `read_at`) checks the read; any bytes are a u64.
    let Ok(flags) = (unsafe { ctx.read_at::<u64>(tpoff!(newtask_clone_flags)) }) else {
        return 0;
    };
    if flags & (CLONE_VM | CLONE_THREAD) != 0 {
        return 0;
    }
    // SAFETY: as above; any bytes are an i32.
    let Ok(child) = (unsafe { ctx.read_at::<i32>(tpoff!(newtask_pid)) }) else {
        return 0;
    };
    if let Some(ev) = begin(
        raw_kind::PROC_FORK,
        probe::TASK_NEWTASK,
        backend::TRACEPOINT,
    ) {
        ev.args[0] = child as u32 as u64;
        submit(ev);
    }
    0
}

/// `sched:sched_process_exec`: the old image and its attachments are gone;
/// reported when it had any.
#[tracepoint]
pub fn sched_process_exec(_ctx: TracePointContext) -> u32 {
    let tgid = tgid_of(pid_tgid());
    if has_ranges(tgid)
        && let Some(ev) = begin(raw_kind::PROC_EXEC, probe::SCHED_EXEC, backend::TRACEPOINT)
    {
        submit(ev);
    }
    let _ = SHM_RANGES.remove(tgid);
    0
}

/// `sched:sched_process_exit`, once per exiting thread.
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let id = pid_tgid();
    let pid = id as u32;
    let tgid = tgid_of(id);
    // A syscall or kernel function the thread never returned from (killed
    // inside it, or a return probe that was missed): plain hashes keep
    // such entries until removed.
    let _ = SYSCALLS.remove(pid);
    for p in probe::FIRST_KERNEL_PATH..=probe::DO_SEMTIMEDOP_INNER {
        let _ = INFLIGHT.remove(InflightKey::new(id, p));
    }
    if pid != tgid {
        // A thread: forget what fork may have recorded under its tid.
        let _ = TRACED_TGIDS.remove(pid);
        let _ = SHM_RANGES.remove(pid);
    }
    let group_dead_off = tpoff!(exit_group_dead);
    let whole_process = if group_dead_off != 0 {
        // SAFETY: `ctx` is the tracepoint record the kernel passes; the
        // offset comes from tracefs's format file (0 when the field is
        // absent, handled above) and `bpf_probe_read_kernel` checks the read.
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
