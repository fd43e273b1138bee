//! What every program does the same way: the tgid filter, the common
//! record fields (time, task, comm, IPC namespace), kernel reads, the
//! in-flight stash between a function's entry and its return, and ring
//! buffer output with per-probe drop counting.

use aya_ebpf::helpers::{
    bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_smp_processor_id,
    bpf_ktime_get_ns, bpf_probe_read_kernel,
};
use ipc_trace_common::{COMM_LEN, NO_STACK, RawEvent, RawSembuf, backend, flag, loss};

use crate::{
    diag,
    maps::{
        DROPS, EVENTS, INFLIGHT, InflightKey, SCRATCH, TRACE_CONFIG, TRACED_TGIDS, known, koff,
    },
};

/// `BPF_NOEXIST`: insert only when the key is absent.
pub const BPF_NOEXIST: u64 = 1;

/// CLOCK_MONOTONIC in nanoseconds.
#[inline(always)]
pub fn now() -> u64 {
    // SAFETY: a helper without arguments; it only returns a number.
    unsafe { bpf_ktime_get_ns() }
}

/// The current task's pid (low 32 bits) and tgid (high 32 bits).
#[inline(always)]
pub fn pid_tgid() -> u64 {
    bpf_get_current_pid_tgid()
}

/// The tgid part of a `pid_tgid`.
#[inline(always)]
pub fn tgid_of(pid_tgid: u64) -> u32 {
    (pid_tgid >> 32) as u32
}

/// True when the task is to be reported: filtering is off, or its tgid is
/// in `TRACED_TGIDS`.
#[inline(always)]
pub fn traced(pid_tgid: u64) -> bool {
    let filtering = crate::maps::read_global_u32(&TRACE_CONFIG.filter_tgids);
    if filtering == 0 {
        return true;
    }
    TRACED_TGIDS.get_ptr(tgid_of(pid_tgid)).is_some()
}

/// Plain data: every bit pattern is a valid value, so a `T` may be filled
/// by a byte copy from memory the program does not own.
///
/// # Safety
/// Only for types for which every bit pattern is a valid value.
pub unsafe trait Plain: Copy {}
// SAFETY: integers accept every bit pattern.
unsafe impl Plain for u8 {}
// SAFETY: as above.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for u32 {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for i32 {}
// SAFETY: as above.
unsafe impl Plain for i64 {}
// SAFETY: `#[repr(C)]` of three 16-bit integers.
unsafe impl Plain for RawSembuf {}

/// Reads a `T` from kernel memory at `addr` (None for NULL or a failed read).
#[inline(always)]
pub fn read_kernel<T: Plain>(addr: u64) -> Option<T> {
    if addr == 0 {
        return None;
    }
    // SAFETY: `bpf_probe_read_kernel` copies into a stack slot of the
    // program and fails (instead of faulting) when `addr` is not readable
    // kernel memory; any bytes are a valid `T` (`Plain`).
    unsafe { bpf_probe_read_kernel(addr as *const T) }.ok()
}

/// The inode number of the IPC namespace at `ns` (a `struct
/// ipc_namespace *`), or None when the offset is unknown or unreadable.
#[inline(always)]
pub fn ns_inum(ns: u64) -> Option<u32> {
    let inum = koff!(ipc_ns_inum);
    if !known(inum) {
        return None;
    }
    read_kernel::<u32>(ns + inum)
}

/// The inode number of the current task's IPC namespace (0 when unknown).
/// A read that fails or gives 0 where the BTF offsets said a pointer or an
/// inode number is (the task's `nsproxy` aside, NULL in a dying task) is
/// reported once: the offsets do not fit this kernel.
#[inline(always)]
pub fn current_ipc_ns() -> u32 {
    let nsproxy_off = koff!(task_nsproxy);
    let ipc_ns_off = koff!(nsproxy_ipc_ns);
    if !known(nsproxy_off) || !known(ipc_ns_off) {
        return 0;
    }
    // SAFETY: a helper without arguments; it returns the address of the
    // current `task_struct`, only ever read through `read_kernel`.
    let task = unsafe { bpf_get_current_task() };
    let Some(nsproxy) = read_kernel::<u64>(task + nsproxy_off) else {
        diag::ipc_ns_offset_nonsense(1, nsproxy_off);
        return 0;
    };
    if nsproxy == 0 {
        return 0;
    }
    let ns = read_kernel::<u64>(nsproxy + ipc_ns_off).unwrap_or(0);
    if ns == 0 {
        diag::ipc_ns_offset_nonsense(2, ipc_ns_off);
        return 0;
    }
    match ns_inum(ns) {
        Some(inum) if inum != 0 => inum,
        Some(_) | None => {
            diag::ipc_ns_offset_nonsense(3, koff!(ipc_ns_inum));
            0
        }
    }
}

/// Starts a record in this CPU's scratch slot: zeroed, then the common
/// fields filled (`ts_ns` = `start_ns` = now). The slot is the program's
/// own (see `SCRATCH`): 0, or `1 + probe` for an fentry program.
#[inline(always)]
pub fn begin(kind: u8, probe: u8, backend: u8) -> Option<&'static mut RawEvent> {
    let slot = if backend == backend::FENTRY {
        1 + probe as u32
    } else {
        0
    };
    let ptr = SCRATCH.get_ptr_mut(slot)?;
    // SAFETY: the lookup returned this CPU's value of `slot`, non-null, and
    // the verifier bounds every access to the `RawEvent`. No other program
    // uses the slot while this one runs: slot 0 belongs to programs that
    // run with preemption disabled and never nest, an fentry slot to one
    // program that the kernel never runs twice at once on a CPU (see
    // `SCRATCH`). The reference ends when the program returns.
    let ev = unsafe { &mut *ptr };
    *ev = RawEvent::ZERO;
    fill_common(ev, kind, probe, backend);
    Some(ev)
}

/// Fills the common fields of a zeroed record (`ts_ns` = `start_ns` = now).
#[inline(always)]
pub fn fill_common(ev: &mut RawEvent, kind: u8, probe: u8, backend: u8) {
    let t = now();
    ev.ts_ns = t;
    ev.start_ns = t;
    ev.pid_tgid = pid_tgid();
    ev.comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
    ev.ipc_ns = current_ipc_ns();
    ev.kind = kind;
    ev.probe = probe;
    ev.backend = backend;
    ev.stack_id = NO_STACK;
}

/// `bpf_ringbuf_query` flag: bytes not yet consumed.
const BPF_RB_AVAIL_DATA: u64 = 0;
/// `bpf_ringbuf_output` flags.
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
/// The reader is woken only once this much is waiting (it also drains on a
/// short timer). Waking it for every record was most of the cost a traced
/// semop paid.
const WAKEUP_BYTES: u64 = 64 * 1024;

/// Sends a finished record; counts a drop for its probe when the ring is full.
#[inline(always)]
pub fn submit(ev: &RawEvent) {
    let flags = if EVENTS.query(BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    if EVENTS.output::<RawEvent>(ev, flags).is_err() {
        count_drop(ev.probe);
    }
}

/// Adds one to this CPU's counter of records of `probe` lost because the
/// ring was full (or for a reason with no counter of its own).
#[inline(always)]
pub fn count_drop(probe: u8) {
    count_loss(loss::RECORD_LOST, probe);
}

/// Adds one to this CPU's counter of stashed records of `probe` whose exit
/// or return never came.
#[inline(always)]
pub fn count_exit_not_seen(probe: u8) {
    count_loss(loss::EXIT_NOT_SEEN, probe);
}

/// Adds one to this CPU's counter of records of `probe` that could not be
/// stashed because an in-flight map was full.
#[inline(always)]
pub fn count_inflight_full(probe: u8) {
    count_loss(loss::INFLIGHT_FULL, probe);
}

#[inline(always)]
fn count_loss(reason: u32, probe: u8) {
    const COUNT: u32 = ipc_trace_common::probe::COUNT as u32;
    // SAFETY: a helper without arguments or preconditions.
    let cpu = unsafe { bpf_get_smp_processor_id() };
    let index = cpu.wrapping_mul(COUNT * loss::REASONS as u32) + reason * COUNT + probe as u32;
    if let Some(slot) = DROPS.get_ptr_mut(index) {
        // SAFETY: an aligned u64 of the array, non-null from the lookup;
        // the verifier bounds the access to the value. The slot is this
        // CPU's, so only programs on this CPU write it: a load and a store
        // (the BPF target has no atomic add in `core`) lose a count only
        // if an fentry program is preempted between the two by a task
        // whose program also counts on this CPU.
        unsafe { *slot += 1 };
    }
}

/// Keeps `ev` in `INFLIGHT` until the function it describes returns.
#[inline(always)]
pub fn stash(ev: &RawEvent) {
    let key = InflightKey::new(ev.pid_tgid, ev.probe);
    // A record still in flight for this task and probe lost its return
    // (a missed kretprobe outside a syscall, e.g. shm_fault): it is lost,
    // and counted so that the lifecycle is marked incomplete.
    if INFLIGHT.get_ptr(key).is_some() {
        count_drop(ev.probe);
    }
    if let Err(err) = INFLIGHT.insert(key, ev, 0) {
        count_inflight_full(ev.probe);
        diag::map_insert_failed(diag::once::INFLIGHT_FULL, err);
    }
}

/// The in-flight record of `probe` on task `pid_tgid`, if its entry ran.
#[inline(always)]
pub fn inflight(pid_tgid: u64, probe: u8) -> Option<&'static mut RawEvent> {
    let key = InflightKey::new(pid_tgid, probe);
    // SAFETY: the lookup returned a non-null pointer to the value, and the
    // verifier bounds every access to the `RawEvent`; the element is not
    // freed while the program runs (RCU). The key is this task's, and a
    // task runs one of our programs at a time, so no other program writes
    // the value meanwhile (a plain hash never evicts it).
    INFLIGHT.get_ptr_mut(key).map(|p| unsafe { &mut *p })
}

/// Forgets the in-flight record of `probe` on task `pid_tgid`.
#[inline(always)]
pub fn forget(pid_tgid: u64, probe: u8) {
    let key = InflightKey::new(pid_tgid, probe);
    let _ = INFLIGHT.remove(key);
}

/// Completes an in-flight record at the function's return: sets `ts_ns`
/// and `ret`, lets `finish` add kind-specific fields, sends it, forgets it.
#[inline(always)]
pub fn complete(probe: u8, ret: i64, finish: impl FnOnce(&mut RawEvent)) {
    let id = pid_tgid();
    let Some(ev) = inflight(id, probe) else {
        return;
    };
    ev.ts_ns = now();
    ev.ret = ret;
    finish(ev);
    submit(ev);
    forget(id, probe);
}

/// Reads a kernel value for a record, flagging `READ_FAILED` (and giving
/// 0) when it cannot be read.
#[inline(always)]
pub fn read_or_flag<T: Plain + Default>(ev: &mut RawEvent, addr: u64) -> T {
    match read_kernel::<T>(addr) {
        Some(v) => v,
        None => {
            ev.flags |= flag::READ_FAILED;
            T::default()
        }
    }
}

/// Entry of `newseg(ns, params)` or `newary(ns, params)`: both read the
/// `struct ipc_params` the get built. args = [key, size or nsems, flg]; the
/// record waits in `INFLIGHT` for the return (the new id). `params.u` is a
/// union of `size_t size` and `int nsems`: a set keeps its low 32 bits.
#[inline(always)]
pub fn ipc_params_entry(ns: u64, params: u64, kind: u8, probe: u8, backend: u8) {
    let (key_off, u_off, flg_off) = (
        koff!(ipc_params_key),
        koff!(ipc_params_u),
        koff!(ipc_params_flg),
    );
    if !known(key_off) || !known(u_off) || !known(flg_off) || !traced(pid_tgid()) {
        return;
    }
    let Some(ev) = begin(kind, probe, backend) else {
        return;
    };
    if let Some(inum) = ns_inum(ns) {
        ev.ipc_ns = inum;
    }
    let key: i32 = read_or_flag(ev, params + key_off);
    let u: u64 = read_or_flag(ev, params + u_off);
    let flg: i32 = read_or_flag(ev, params + flg_off);
    ev.args[0] = key as u32 as u64;
    ev.args[1] = if kind == ipc_trace_common::raw_kind::NEWARY {
        u as u32 as u64
    } else {
        u
    };
    ev.args[2] = flg as u32 as u64;
    stash(ev);
}
