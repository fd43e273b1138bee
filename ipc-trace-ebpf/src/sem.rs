//! Semaphore paths: `newary` (a set is created), `do_semtimedop` and
//! `__do_semtimedop` (one semop, sleeping or not), `freeary` (a set is
//! freed); and the sembuf / value decoding shared with the syscall
//! tracepoints.

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel, bpf_probe_read_user},
    macros::{fentry, fexit, kprobe, kretprobe},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext},
};
use ipc_trace_common::{
    MAX_SEMVALS, MAX_SOPS, RawEvent, RawSembuf, backend, flag, probe, raw_kind,
};

use crate::{
    diag,
    emit::{
        begin, complete, inflight, ipc_params_entry, ns_inum, pid_tgid, read_or_flag, stash,
        submit, traced,
    },
    maps::{BPF_NOEXIST, SYSCALLS, ZERO_EVENT, known, koff},
    stacks::{capture, keep},
};

/// Copies up to `MAX_SOPS` sembufs from `ptr` (user memory when `user`,
/// kernel memory otherwise) into `ev.sops`; `ev.nsops` gets the real count.
#[inline(always)]
pub fn read_sops(ev: &mut RawEvent, ptr: u64, nsops: u64, user: bool) {
    let nsops = nsops as u32;
    ev.nsops = nsops;
    if nsops as usize > MAX_SOPS {
        ev.flags |= flag::SOPS_TRUNCATED;
    }
    let size = core::mem::size_of::<RawSembuf>() as u64;
    for i in 0..MAX_SOPS {
        if i as u32 >= nsops {
            break;
        }
        let src = (ptr + i as u64 * size) as *const RawSembuf;
        // SAFETY (both reads): the helper copies into a stack slot and
        // fails instead of faulting when `src` is not readable user (resp.
        // kernel) memory; any bytes are a valid `RawSembuf` (three 16-bit
        // integers). `ptr` is the caller's `sops` argument (user) or
        // `__do_semtimedop`'s kernel copy of it.
        let read = if user {
            unsafe { bpf_probe_read_user(src) }
        } else {
            unsafe { bpf_probe_read_kernel(src) }
        };
        match read {
            Ok(sop) => ev.sops[i] = sop,
            Err(_) => {
                ev.flags |= flag::READ_FAILED;
                if user {
                    diag::sembuf_read_failed(ev.probe, i as u32, nsops);
                }
                break;
            }
        }
    }
}

/// Copies `semctl(SETALL)` values (u16 each) from user memory at `ptr`
/// until `MAX_SEMVALS` or the first failed read; `ev.nvals` = how many.
#[inline(always)]
pub fn read_semvals(ev: &mut RawEvent, ptr: u64) {
    let mut n = 0u32;
    for i in 0..MAX_SEMVALS {
        let src = (ptr + i as u64 * 2) as *const u16;
        // SAFETY: the helper copies into a stack slot and fails instead of
        // faulting when `src` (the caller's `semctl` array argument) is not
        // readable user memory; any bytes are a valid u16.
        match unsafe { bpf_probe_read_user(src) } {
            Ok(v) => {
                ev.vals[i] = v;
                n += 1;
            }
            Err(_) => break,
        }
    }
    if n == 0 {
        ev.flags |= flag::READ_FAILED;
        diag::semvals_read_failed(ptr);
    }
    ev.nvals = n;
}

/// Entry of `newary(ns, params)`.
#[inline(always)]
fn newary_entry(ns: u64, params: u64, backend: u8) {
    ipc_params_entry(ns, params, raw_kind::NEWARY, probe::NEWARY, backend);
}

/// Entry of `do_semtimedop` (user sembufs) or `__do_semtimedop` (kernel
/// sembufs, `ns` given). When `__do_semtimedop` runs inside a reported
/// `do_semtimedop`, it only marks that record.
#[inline(always)]
fn semtimedop_entry(
    semid: u64,
    sops: u64,
    nsops: u64,
    timeout: u64,
    ns: u64,
    probe_id: u8,
    backend: u8,
) {
    let id = pid_tgid();
    if probe_id == probe::DO_SEMTIMEDOP_INNER
        && let Some(outer) = inflight(id, probe::DO_SEMTIMEDOP)
    {
        outer.flags |= flag::INNER_SEEN;
        return;
    }
    if !traced(id) {
        return;
    }
    let Some(ev) = begin(raw_kind::SEMTIMEDOP, probe_id, backend) else {
        return;
    };
    if ns != 0
        && let Some(inum) = ns_inum(ns)
    {
        ev.ipc_ns = inum;
    }
    ev.args[0] = semid as u32 as u64;
    ev.args[1] = nsops as u32 as u64;
    ev.args[2] = (timeout != 0) as u64;
    read_sops(ev, sops, nsops, probe_id == probe::DO_SEMTIMEDOP);
    stash(ev);
    watch_sleep(id as u32, probe_id);
}

/// Return of `do_semtimedop` / `__do_semtimedop`: result and sleep time.
#[inline(always)]
fn semtimedop_exit(ret: i64, probe_id: u8) {
    complete(probe_id, ret, mark_sleep);
    let tid = pid_tgid() as u32;
    // Only the watch this function placed: `__do_semtimedop` returns
    // inside `do_semtimedop`, whose watch must outlive it.
    if let Some(ev) = SYSCALLS.get_ptr(tid)
        // SAFETY: non-null pointer from the lookup of this task's own
        // entry; the verifier bounds the read to the value.
        && unsafe { (*ev).probe } == probe_id
    {
        let _ = SYSCALLS.remove(tid);
    }
}

/// Gives a kernel-path semop a first-sleep slot when its syscall has no
/// `SYSCALLS` record: the syscall's enter program did not run (the kernel
/// skips a tracepoint program that would nest in another on the same CPU,
/// which preemptible syscall tracepoints make happen: Debian's 7.2 skipped
/// a few `sys_enter_4` runs per VM test) or the caller is a 32-bit compat
/// task, whose syscalls have no tracepoints of ours. The slot is a
/// `SYSCALLS` entry whose `probe` is the kernel-path probe (a "sleep
/// watch", see `is_sleep_watch`); it goes at the function's return, or at
/// the syscall exit when that return was missed.
#[inline(always)]
fn watch_sleep(tid: u32, probe_id: u8) {
    if SYSCALLS.get_ptr(tid).is_some() {
        return;
    }
    let Some(zero) = ZERO_EVENT.get(0) else {
        return;
    };
    if SYSCALLS.insert(tid, zero, BPF_NOEXIST).is_err() {
        return;
    }
    if let Some(ev) = SYSCALLS.get_ptr_mut(tid) {
        // SAFETY: this task's own entry, just inserted; the verifier
        // bounds the write. A scheduler program that reads it before the
        // store sees probe 0 and leaves the entry alone.
        unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!((*ev).probe), probe_id) };
    }
}

/// Whether a `SYSCALLS` record with this probe is a sleep watch placed by
/// the kernel path (`watch_sleep`) rather than a syscall's record.
#[inline(always)]
pub fn is_sleep_watch(probe_id: u8) -> bool {
    probe_id == probe::DO_SEMTIMEDOP || probe_id == probe::DO_SEMTIMEDOP_INNER
}

/// The first-sleep slot of thread `tid`'s semop in flight: the `wait_ns`
/// field of its `SYSCALLS` record, which holds the time of its first sleep
/// inside the call (0 until then) until the exit turns it into the wait.
/// None when the thread is not inside a semop or semtimedop.
#[inline(always)]
pub fn first_sleep_slot(tid: u32) -> Option<*mut u64> {
    let ev = SYSCALLS.get_ptr_mut(tid)?;
    // SAFETY: the lookup returned a non-null pointer to the `RawEvent`
    // value, which stays allocated while the program runs (RCU); the
    // verifier bounds both field accesses. `probe` is written once, at
    // sys_enter, before the task can sleep; a reader on another CPU that
    // sees the record half-filled sees 0 there and leaves it alone.
    unsafe {
        let probe_id = core::ptr::read_volatile(core::ptr::addr_of!((*ev).probe));
        if probe_id != probe::SYS_SEMOP
            && probe_id != probe::SYS_SEMTIMEDOP
            && !is_sleep_watch(probe_id)
        {
            return None;
        }
        Some(core::ptr::addr_of_mut!((*ev).wait_ns))
    }
}

/// Reads a first-sleep slot (see `first_sleep_slot`). `sched_waking` on
/// another CPU may store to it meanwhile: every access is one volatile
/// 8-byte load or store through the raw pointer (one BPF instruction,
/// never torn; the BPF target has no atomics in `core`).
#[inline(always)]
pub fn read_first_sleep(slot: *mut u64) -> u64 {
    // SAFETY: `slot` comes from `first_sleep_slot`: aligned, inside a map
    // value that outlives the program's run.
    unsafe { core::ptr::read_volatile(slot) }
}

/// Marks a first sleep at `t` unless one is marked already.
#[inline(always)]
pub fn mark_first_sleep(slot: *mut u64, t: u64) {
    if read_first_sleep(slot) == 0 {
        // SAFETY: as `read_first_sleep`; a lost race with the other
        // scheduler program only moves the mark by the width of the race.
        unsafe { core::ptr::write_volatile(slot, t) };
    }
}

/// Sets `SLEPT` and `wait_ns` on a kernel-path semop record from the
/// task's first sleep inside the call, kept in its syscall record.
#[inline(always)]
pub fn mark_sleep(ev: &mut RawEvent) {
    if let Some(slot) = first_sleep_slot(pid_tgid() as u32) {
        set_wait(ev, read_first_sleep(slot));
    }
}

/// Sets `SLEPT` and `wait_ns` (from `first_sleep` to the record's end)
/// when the call slept.
#[inline(always)]
pub fn set_wait(ev: &mut RawEvent, first_sleep: u64) {
    if first_sleep != 0 {
        ev.flags |= flag::SLEPT;
        ev.wait_ns = ev.ts_ns.saturating_sub(first_sleep);
    } else {
        ev.wait_ns = 0;
    }
}

/// Entry of `freeary(ns, ipcp)`: reported at once.
#[inline(always)]
fn freeary_entry(ns: u64, ipcp: u64, backend: u8, stack: i32) {
    let (id_off, key_off) = (koff!(ipc_perm_id), koff!(ipc_perm_key));
    if !known(id_off) || !known(key_off) || !traced(pid_tgid()) {
        return;
    }
    let Some(ev) = begin(raw_kind::FREEARY, probe::FREEARY, backend) else {
        return;
    };
    if let Some(inum) = ns_inum(ns) {
        ev.ipc_ns = inum;
    }
    let semid: i32 = read_or_flag(ev, ipcp + id_off);
    let key: i32 = read_or_flag(ev, ipcp + key_off);
    ev.args[0] = semid as u32 as u64;
    ev.args[1] = key as u32 as u64;
    ev.stack_id = stack;
    ev.stack_at = ev.probe;
    submit(ev);
}

/// The `n`th kprobe argument as a raw register value.
#[inline(always)]
pub fn karg(ctx: &ProbeContext, n: usize) -> u64 {
    ctx.arg::<u64>(n).unwrap_or(0)
}

// ---- newary ----

#[kprobe]
pub fn kprobe_newary(ctx: ProbeContext) -> u32 {
    newary_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE);
    keep(&ctx, probe::NEWARY);
    0
}

#[kretprobe]
pub fn kretprobe_newary(ctx: RetProbeContext) -> u32 {
    complete(probe::NEWARY, ctx.ret::<i32>() as i64, |_| {});
    0
}

#[fentry(function = "newary")]
pub fn fentry_newary(ctx: FEntryContext) -> i32 {
    newary_entry(ctx.arg::<u64>(0), ctx.arg::<u64>(1), backend::FENTRY);
    keep(&ctx, probe::NEWARY);
    0
}

#[fexit(function = "newary")]
pub fn fexit_newary(ctx: FExitContext) -> i32 {
    complete(probe::NEWARY, ctx.arg::<i32>(2) as i64, |_| {});
    0
}

// ---- do_semtimedop(semid, tsops __user, nsops, timeout) ----

#[kprobe]
pub fn kprobe_do_semtimedop(ctx: ProbeContext) -> u32 {
    semtimedop_entry(
        karg(&ctx, 0),
        karg(&ctx, 1),
        karg(&ctx, 2),
        karg(&ctx, 3),
        0,
        probe::DO_SEMTIMEDOP,
        backend::KPROBE,
    );
    keep(&ctx, probe::DO_SEMTIMEDOP);
    0
}

#[kretprobe]
pub fn kretprobe_do_semtimedop(ctx: RetProbeContext) -> u32 {
    semtimedop_exit(ctx.ret::<i64>(), probe::DO_SEMTIMEDOP);
    0
}

#[fentry(function = "do_semtimedop")]
pub fn fentry_do_semtimedop(ctx: FEntryContext) -> i32 {
    semtimedop_entry(
        ctx.arg::<u64>(0),
        ctx.arg::<u64>(1),
        ctx.arg::<u64>(2),
        ctx.arg::<u64>(3),
        0,
        probe::DO_SEMTIMEDOP,
        backend::FENTRY,
    );
    keep(&ctx, probe::DO_SEMTIMEDOP);
    0
}

#[fexit(function = "do_semtimedop")]
pub fn fexit_do_semtimedop(ctx: FExitContext) -> i32 {
    semtimedop_exit(ctx.arg::<i64>(4), probe::DO_SEMTIMEDOP);
    0
}

// ---- __do_semtimedop(semid, sops (kernel), nsops, timeout, ns) ----

#[kprobe]
pub fn kprobe_do_semtimedop_inner(ctx: ProbeContext) -> u32 {
    semtimedop_entry(
        karg(&ctx, 0),
        karg(&ctx, 1),
        karg(&ctx, 2),
        karg(&ctx, 3),
        karg(&ctx, 4),
        probe::DO_SEMTIMEDOP_INNER,
        backend::KPROBE,
    );
    keep(&ctx, probe::DO_SEMTIMEDOP_INNER);
    0
}

#[kretprobe]
pub fn kretprobe_do_semtimedop_inner(ctx: RetProbeContext) -> u32 {
    semtimedop_exit(ctx.ret::<i64>(), probe::DO_SEMTIMEDOP_INNER);
    0
}

#[fentry(function = "__do_semtimedop")]
pub fn fentry_do_semtimedop_inner(ctx: FEntryContext) -> i32 {
    semtimedop_entry(
        ctx.arg::<u64>(0),
        ctx.arg::<u64>(1),
        ctx.arg::<u64>(2),
        ctx.arg::<u64>(3),
        ctx.arg::<u64>(4),
        probe::DO_SEMTIMEDOP_INNER,
        backend::FENTRY,
    );
    keep(&ctx, probe::DO_SEMTIMEDOP_INNER);
    0
}

#[fexit(function = "__do_semtimedop")]
pub fn fexit_do_semtimedop_inner(ctx: FExitContext) -> i32 {
    semtimedop_exit(ctx.arg::<i64>(5), probe::DO_SEMTIMEDOP_INNER);
    0
}

// ---- freeary(ns, ipcp) ----

#[kprobe]
pub fn kprobe_freeary(ctx: ProbeContext) -> u32 {
    freeary_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE, capture(&ctx));
    0
}

#[fentry(function = "freeary")]
pub fn fentry_freeary(ctx: FEntryContext) -> i32 {
    freeary_entry(
        ctx.arg::<u64>(0),
        ctx.arg::<u64>(1),
        backend::FENTRY,
        capture(&ctx),
    );
    0
}
