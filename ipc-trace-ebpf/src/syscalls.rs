//! The syscall tracepoints `syscalls:sys_{enter,exit}_X` for X in shmget,
//! shmat, shmdt, shmctl, semget, semop, semtimedop, semctl: one program
//! for all enters and one for all exits, told apart by `__syscall_nr`
//! (x86_64 numbers). The enter stashes a record by pid_tgid; the exit
//! completes and sends it.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use ipc_trace_common::{backend, flag, probe, raw_kind};

use crate::{
    diag,
    emit::{complete, fill_common, now, pid_tgid, submit, traced},
    maps::{SLEEPS, SYSCALLS, ZERO_EVENT},
    sem::{mark_sleep, read_semvals, read_sops},
    shm::newseg_finish,
    shm_ranges::{on_shmat_exit, on_shmctl_exit, on_shmdt_exit, on_shmget_exit},
};

/// `bpf_map_update_elem` flag: only create, never overwrite.
const BPF_NOEXIST: u64 = 1;
/// Offset of `__syscall_nr` in both enter and exit records.
const NR_OFFSET: usize = 8;
/// Offset of the first argument (enter) or of `ret` (exit).
const ARGS_OFFSET: usize = 16;
/// `semctl` commands (the low byte; glibc ORs in `IPC_64`).
const SETVAL: u64 = 16;
const SETALL: u64 = 17;

/// The probe id and argument count of an x86_64 syscall number.
#[inline(always)]
fn syscall_probe(nr: i32) -> Option<(u8, usize)> {
    match nr {
        29 => Some((probe::SYS_SHMGET, 3)),
        30 => Some((probe::SYS_SHMAT, 3)),
        31 => Some((probe::SYS_SHMCTL, 3)),
        64 => Some((probe::SYS_SEMGET, 3)),
        65 => Some((probe::SYS_SEMOP, 3)),
        66 => Some((probe::SYS_SEMCTL, 4)),
        67 => Some((probe::SYS_SHMDT, 1)),
        220 => Some((probe::SYS_SEMTIMEDOP, 4)),
        _ => None,
    }
}

#[tracepoint]
pub fn sys_enter(ctx: TracePointContext) -> u32 {
    on_enter(&ctx);
    0
}

#[tracepoint]
pub fn sys_exit(ctx: TracePointContext) -> u32 {
    on_exit(&ctx);
    0
}

#[inline(always)]
fn on_enter(ctx: &TracePointContext) -> Option<()> {
    // SAFETY: `ctx` is the `syscalls:sys_enter_*` record the kernel passes
    // (fixed layout: common fields, `__syscall_nr` at 8, six u64 args from
    // 16); `read_at` is `bpf_probe_read_kernel`, which checks the read.
    let nr: i32 = unsafe { ctx.read_at(NR_OFFSET) }.ok()?;
    let (probe_id, nargs) = syscall_probe(nr)?;
    let id = pid_tgid();
    if !traced(id) {
        return None;
    }
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
    if SYSCALLS.insert(id, zero, BPF_NOEXIST).is_err() {
        // A record of this task is still stashed: the exit of its previous
        // syscall never came (or the map is full). That record is lost,
        // and counted, never silently.
        if let Some(old) = SYSCALLS.get_ptr(id) {
            // SAFETY: non-null pointer from the lookup of this task's own
            // entry; the verifier bounds the read to the value.
            crate::emit::count_exit_not_seen(unsafe { (*old).probe });
        }
        if let Err(err) = SYSCALLS.insert(id, zero, 0) {
            crate::emit::count_inflight_full(probe_id);
            diag::map_insert_failed(diag::once::INFLIGHT_FULL, err);
            return None;
        }
    }
    let Some(ptr) = SYSCALLS.get_ptr_mut(id) else {
        crate::emit::count_drop(probe_id);
        return None;
    };
    // SAFETY: the lookup returned this task's entry, non-null; the
    // verifier bounds every access to the `RawEvent`. The key is this
    // task's pid_tgid, so only this task (its sys_exit) touches the entry.
    let ev = unsafe { &mut *ptr };
    fill_common(ev, raw_kind::SYSCALL, probe_id, backend::TRACEPOINT);
    for i in 0..6 {
        if i < nargs {
            // SAFETY: as above; i < 6 keeps the offset inside `args`.
            ev.args[i] = unsafe { ctx.read_at::<u64>(ARGS_OFFSET + 8 * i) }.unwrap_or(0);
        }
    }
    if probe_id == probe::SYS_SEMOP || probe_id == probe::SYS_SEMTIMEDOP {
        read_sops(ev, ev.args[1], ev.args[2], true);
        if let Err(err) = SLEEPS.insert(id as u32, 0u64, 0) {
            // Cannot happen while SLEEPS is as large as SYSCALLS; if it
            // does, the record could not say whether the call blocked:
            // it is dropped, and counted, rather than sent half-known.
            let _ = SYSCALLS.remove(id);
            crate::emit::count_inflight_full(probe_id);
            diag::map_insert_failed(diag::once::INFLIGHT_FULL, err);
            return None;
        }
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
    // SAFETY: `ctx` is the `syscalls:sys_exit_*` record the kernel passes
    // (fixed layout: `__syscall_nr` at 8, `ret` at 16); `read_at` is
    // `bpf_probe_read_kernel`, which checks the read.
    let nr: i32 = unsafe { ctx.read_at(NR_OFFSET) }.ok()?;
    let (probe_id, _) = syscall_probe(nr)?;
    let id = pid_tgid();
    let is_semop = probe_id == probe::SYS_SEMOP || probe_id == probe::SYS_SEMTIMEDOP;
    let Some(ev) = SYSCALLS.get_ptr_mut(id) else {
        if is_semop {
            let _ = SLEEPS.remove(id as u32);
        }
        return None;
    };
    // SAFETY: the lookup returned a non-null pointer to the value, and the
    // verifier bounds every access to the `RawEvent`; the element is not
    // freed while the program runs (RCU). The key is this task's pid_tgid
    // and a task runs one of our programs at a time, so nothing else writes
    // it meanwhile (a plain hash never evicts it).
    let ev = unsafe { &mut *ev };
    if ev.probe != probe_id {
        // A stashed record of another syscall whose exit never came: that
        // record is lost, and counted as such, never silently.
        crate::emit::count_exit_not_seen(ev.probe);
        let _ = SYSCALLS.remove(id);
        return None;
    }
    // SAFETY: as the first read: `ret` of the exit record.
    let ret: i64 = unsafe { ctx.read_at(ARGS_OFFSET) }.unwrap_or(0);
    complete_missed_returns(probe_id, ret);
    ev.ts_ns = now();
    ev.ret = ret;
    if is_semop {
        mark_sleep(ev);
        let _ = SLEEPS.remove(id as u32);
    }
    match probe_id {
        probe::SYS_SHMGET => on_shmget_exit(ev),
        probe::SYS_SHMAT => on_shmat_exit(ev),
        probe::SYS_SHMDT => on_shmdt_exit(ev),
        probe::SYS_SHMCTL => on_shmctl_exit(ev),
        _ => {}
    }
    submit(ev);
    let _ = SYSCALLS.remove(id);
    Some(())
}
