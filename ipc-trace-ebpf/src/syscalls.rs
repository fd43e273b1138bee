//! The syscall tracepoints `syscalls:sys_{enter,exit}_X` for X in shmget,
//! shmat, shmdt, shmctl, semget, semop, semtimedop, semctl: one enter
//! program per argument count and one exit program, told apart by
//! `__syscall_nr` (x86_64 numbers). The enter stashes a record by thread id; the exit
//! completes and sends it.

use aya_ebpf::{EbpfContext, macros::tracepoint, programs::TracePointContext};
use ipc_trace_common::{backend, flag, probe, raw_kind, switch};

use crate::{
    diag,
    emit::{complete, fill_common, now, pid_tgid, submit, traced},
    maps::{BPF_NOEXIST, SYSCALLS, ZERO_EVENT, switch_on},
    sem::{is_sleep_watch, mark_sleep, read_first_sleep, read_semvals, read_sops, set_wait},
    shm::newseg_finish,
    shm_ranges::{on_shmat_exit, on_shmctl_exit, on_shmdt_exit, on_shmget_exit},
};

/// Offset of `__syscall_nr` in both enter and exit records.
const NR_OFFSET: usize = 8;
/// Offset of the first argument (enter) or of `ret` (exit).
const ARGS_OFFSET: usize = 16;
/// `semctl` commands (the low byte; glibc ORs in `IPC_64`).
const SETVAL: u64 = 16;
const SETALL: u64 = 17;

/// The probe id of an x86_64 syscall number.
#[inline(always)]
fn syscall_probe(nr: i32) -> Option<u8> {
    match nr {
        29 => Some(probe::SYS_SHMGET),
        30 => Some(probe::SYS_SHMAT),
        31 => Some(probe::SYS_SHMCTL),
        64 => Some(probe::SYS_SEMGET),
        65 => Some(probe::SYS_SEMOP),
        66 => Some(probe::SYS_SEMCTL),
        67 => Some(probe::SYS_SHMDT),
        220 => Some(probe::SYS_SEMTIMEDOP),
        _ => None,
    }
}

/// A field of the syscall tracepoint's record, loaded straight from the
/// context (one instruction the verifier checks; `read_at` would be a
/// `bpf_probe_read_kernel` call, and the record's helper reads were most
/// of a semop's tracing cost). `off` must be a constant at every call.
#[inline(always)]
fn field<T: Copy>(ctx: &TracePointContext, off: usize) -> T {
    // SAFETY: `ctx` is the `syscalls:sys_{enter,exit}_*` record the kernel
    // passes, readable at any aligned constant offset below its
    // `PERF_MAX_TRACE_SIZE` buffer (`tp_prog_is_valid_access`); the
    // callers' offsets are the fixed layout's (`__syscall_nr` at 8, six
    // u64 args or `ret` from 16), each aligned to its type, and any bytes
    // are a valid integer.
    unsafe { core::ptr::read(ctx.as_ptr().cast::<u8>().add(off).cast::<T>()) }
}

// One enter program per argument count (`probe::syscall_args`): each
// reads its context only as far as its syscalls' records reach, which the
// kernel checks when the program is attached.

/// `sys_enter` of the one-argument syscall (shmdt).
#[tracepoint]
pub fn sys_enter_1(ctx: TracePointContext) -> u32 {
    on_enter::<1>(&ctx);
    0
}

/// `sys_enter` of the three-argument syscalls.
#[tracepoint]
pub fn sys_enter_3(ctx: TracePointContext) -> u32 {
    on_enter::<3>(&ctx);
    0
}

/// `sys_enter` of the four-argument syscalls (semctl, semtimedop).
#[tracepoint]
pub fn sys_enter_4(ctx: TracePointContext) -> u32 {
    on_enter::<4>(&ctx);
    0
}

#[tracepoint]
pub fn sys_exit(ctx: TracePointContext) -> u32 {
    on_exit(&ctx);
    0
}

/// The enter of a syscall of `ARGS` arguments (the program's own count:
/// its context holds that many).
#[inline(always)]
fn on_enter<const ARGS: usize>(ctx: &TracePointContext) -> Option<()> {
    let nr: i32 = field(ctx, NR_OFFSET);
    let probe_id = syscall_probe(nr)?;
    let nargs = probe::syscall_args(probe_id);
    let id = pid_tgid();
    if !traced(id) {
        return None;
    }
    let tid = id as u32;
    // The record is built in the task's own SYSCALLS entry, not in the
    // per-CPU scratch slot: syscall tracepoints may run their programs
    // preemptible (faultable syscall tracepoints, Linux 6.13 and later), so
    // another task's sys_enter on this CPU could overwrite a shared slot
    // between filling it and copying it (seen on Debian's 7.2 as records
    // of one task stored under another).
    let Some(zero) = ZERO_EVENT.get(0) else {
        crate::emit::count_drop(probe_id);
        return None;
    };
    if SYSCALLS.insert(tid, zero, BPF_NOEXIST).is_err() {
        // A record of this task is still stashed: the exit of its previous
        // syscall never came (or the map is full). That record is lost,
        // and counted, never silently.
        if let Some(old) = SYSCALLS.get_ptr(tid) {
            // SAFETY: non-null pointer from the lookup of this task's own
            // entry; the verifier bounds the read to the value.
            let old_probe = unsafe { (*old).probe };
            // A leftover sleep watch is no syscall record: its kernel-path
            // record is counted when that is found lost.
            if !is_sleep_watch(old_probe) {
                crate::emit::count_exit_not_seen(old_probe);
            }
        }
        if let Err(err) = SYSCALLS.insert(tid, zero, 0) {
            crate::emit::count_inflight_full(probe_id);
            diag::map_insert_failed(diag::once::INFLIGHT_FULL, err);
            return None;
        }
    }
    let Some(ptr) = SYSCALLS.get_ptr_mut(tid) else {
        crate::emit::count_drop(probe_id);
        return None;
    };
    // SAFETY: the lookup returned this task's entry, non-null; the
    // verifier bounds every access to the `RawEvent`. The key is this
    // task's tid, so only this task's programs write the entry (the
    // scheduler programs write `wait_ns` only, and only once the record
    // names a semop and the task sleeps in it).
    let ev = unsafe { &mut *ptr };
    fill_common(ev, raw_kind::SYSCALL, probe_id, backend::TRACEPOINT);
    // Unrolled: each offset a constant, as `field` needs, and none past
    // the program's own `ARGS` (a compile-time bound the verifier sees).
    ev.args[0] = field(ctx, ARGS_OFFSET);
    if ARGS >= 3 && nargs >= 3 {
        ev.args[1] = field(ctx, ARGS_OFFSET + 8);
        ev.args[2] = field(ctx, ARGS_OFFSET + 16);
    }
    if ARGS >= 4 && nargs >= 4 {
        ev.args[3] = field(ctx, ARGS_OFFSET + 24);
    }
    if probe_id == probe::SYS_SEMOP || probe_id == probe::SYS_SEMTIMEDOP {
        // `wait_ns` stays 0: no sleep yet (see `SYSCALLS`).
        read_sops(ev, ev.args[1], ev.args[2], true);
    } else if probe_id == probe::SYS_SEMCTL {
        let cmd = ev.args[2] & 0xff;
        if cmd == SETALL {
            read_semvals(ev, ev.args[3]);
        } else if cmd == SETVAL {
            ev.vals[0] = ev.args[3] as u16;
            ev.nvals = 1;
        }
    }
    Some(())
}

/// Completes the kernel-path records of this syscall whose function
/// returned without its return probe firing: a kretprobe has only a few
/// return instances (`num_possible_cpus()` on kernels without
/// CONFIG_PREEMPTION, e.g. Debian 5.10), so with more tasks asleep in
/// `do_semtimedop` than that, returns are missed. The syscall exit always
/// fires; the record gets the syscall's result and `RET_AT_SYSCALL_EXIT`.
/// (fexit and a kretprobe that fired have already removed their records.)
#[inline(always)]
fn complete_missed_returns(probe_id: u8, ret: i64) {
    let failed = (-4095..0).contains(&ret);
    match probe_id {
        probe::SYS_SHMGET => complete(probe::NEWSEG, ret, |ev| {
            ev.flags |= flag::RET_AT_SYSCALL_EXIT;
            newseg_finish(ev);
        }),
        probe::SYS_SEMGET => complete(probe::NEWARY, ret, |ev| {
            ev.flags |= flag::RET_AT_SYSCALL_EXIT;
        }),
        probe::SYS_SHMAT => {
            // do_shmat returns 0 and stores the address; shmat returns it.
            let fn_ret = if failed { ret } else { 0 };
            complete(probe::DO_SHMAT, fn_ret, |ev| {
                ev.flags |= flag::RET_AT_SYSCALL_EXIT;
                ev.args[3] = if failed { 0 } else { ret as u64 };
            });
        }
        probe::SYS_SEMOP | probe::SYS_SEMTIMEDOP => {
            for p in [probe::DO_SEMTIMEDOP, probe::DO_SEMTIMEDOP_INNER] {
                complete(p, ret, |ev| {
                    ev.flags |= flag::RET_AT_SYSCALL_EXIT;
                    mark_sleep(ev);
                });
            }
        }
        _ => {}
    }
}

#[inline(always)]
fn on_exit(ctx: &TracePointContext) -> Option<()> {
    let nr: i32 = field(ctx, NR_OFFSET);
    let probe_id = syscall_probe(nr)?;
    let tid = pid_tgid() as u32;
    let is_semop = probe_id == probe::SYS_SEMOP || probe_id == probe::SYS_SEMTIMEDOP;
    let ev = SYSCALLS.get_ptr_mut(tid)?;
    // SAFETY: the lookup returned a non-null pointer to the value, and the
    // verifier bounds every access to the `RawEvent`; the element is not
    // freed while the program runs (RCU). The key is this task's pid_tgid
    // and a task runs one of our programs at a time, so nothing else writes
    // it meanwhile (a plain hash never evicts it).
    let ev = unsafe { &mut *ev };
    if is_sleep_watch(ev.probe) {
        // The enter program did not run, the kernel path watched the
        // sleep (`sem::watch_sleep`) and its return probe was missed.
        if switch_on(switch::KERNEL_PATH) {
            let ret: i64 = field(ctx, ARGS_OFFSET);
            complete_missed_returns(probe_id, ret);
        }
        let _ = SYSCALLS.remove(tid);
        return None;
    }
    if ev.probe != probe_id {
        // A stashed record of another syscall whose exit never came: that
        // record is lost, and counted as such, never silently.
        crate::emit::count_exit_not_seen(ev.probe);
        let _ = SYSCALLS.remove(tid);
        return None;
    }
    let ret: i64 = field(ctx, ARGS_OFFSET);
    if switch_on(switch::KERNEL_PATH) {
        complete_missed_returns(probe_id, ret);
    }
    ev.ts_ns = now();
    ev.ret = ret;
    if is_semop {
        // The first sleep's time, kept in `wait_ns` while in flight.
        let first_sleep = read_first_sleep(core::ptr::addr_of_mut!(ev.wait_ns));
        set_wait(ev, first_sleep);
    }
    match probe_id {
        probe::SYS_SHMGET => on_shmget_exit(ev),
        probe::SYS_SHMAT => on_shmat_exit(ev),
        probe::SYS_SHMDT => on_shmdt_exit(ev),
        probe::SYS_SHMCTL => on_shmctl_exit(ev),
        _ => {}
    }
    submit(ev);
    let _ = SYSCALLS.remove(tid);
    Some(())
}
