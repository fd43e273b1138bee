//! Shared-memory paths: `newseg` (a segment is created), `do_shmat` (it is
//! attached), `shm_fault` + `shmem_fault` (a page of it is faulted in),
//! `shm_destroy` and `shm_close` (it goes away); and the bookkeeping of
//! segment sizes and attached ranges that the page-fault tracepoint uses.

use aya_ebpf::{
    EbpfContext,
    macros::{fentry, fexit, kprobe, kretprobe},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext},
};
use ipc_trace_common::{MAX_RANGES, RawEvent, SegKey, ShmRanges, backend, flag, probe, raw_kind};

use crate::{
    diag,
    emit::{
        BPF_NOEXIST, begin, complete, inflight, ipc_params_entry, ns_inum, pid_tgid, read_kernel,
        read_or_flag, stash, submit, tgid_of, traced,
    },
    maps::{SHM_RANGES, SHM_SIZES, ZERO_RANGES, known, koff},
    sem::karg,
};

/// Page size used to round segment sizes to mapping sizes.
const PAGE_SIZE: u64 = 4096;
/// `IPC_RMID`.
const IPC_RMID: u64 = 0;
/// `EEXIST`: a `BPF_NOEXIST` insert of a key that is there.
const EEXIST: i32 = 17;

/// True when a syscall return value is an address, not `-errno`.
#[inline(always)]
fn is_addr(ret: i64) -> bool {
    !(-4095..=-1).contains(&ret)
}

/// sys_exit of shmget: remember the size of the segment it returned.
/// The first successful shmget of an id is the one that created it.
#[inline(always)]
pub fn on_shmget_exit(ev: &RawEvent) {
    if ev.ret < 0 {
        return;
    }
    let key = SegKey {
        ipc_ns: ev.ipc_ns,
        id: ev.ret as u32,
    };
    if let Err(err) = SHM_SIZES.insert(key, ev.args[1], BPF_NOEXIST)
        && err != -EEXIST
    {
        diag::map_insert_failed(diag::once::SHM_SIZES_FULL, err);
    }
}

/// sys_exit of shmat: record the attached range when the size is known.
#[inline(always)]
pub fn on_shmat_exit(ev: &RawEvent) {
    if !is_addr(ev.ret) {
        return;
    }
    let shmid = ev.args[0] as u32;
    let key = SegKey {
        ipc_ns: ev.ipc_ns,
        id: shmid,
    };
    let Some(size) = SHM_SIZES.get_ptr(key) else {
        return;
    };
    // SAFETY: the lookup returned a non-null, aligned pointer to the u64
    // value; the verifier bounds the read to it, and the element is not
    // freed while the program runs (RCU). An update racing on another CPU
    // can at worst give the size of a moment before.
    let size = unsafe { *size };
    let start = ev.ret as u64;
    let end = start + size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    add_range(tgid_of(ev.pid_tgid), start, end, shmid);
}

/// sys_exit of shmdt: forget the range that started at the address.
#[inline(always)]
pub fn on_shmdt_exit(ev: &RawEvent) {
    if ev.ret == 0 {
        remove_range(tgid_of(ev.pid_tgid), ev.args[0]);
    }
}

/// sys_exit of shmctl: a removed id's size is forgotten (ids come back).
#[inline(always)]
pub fn on_shmctl_exit(ev: &RawEvent) {
    if ev.ret == 0 && ev.args[1] & 0xff == IPC_RMID {
        let key = SegKey {
            ipc_ns: ev.ipc_ns,
            id: ev.args[0] as u32,
        };
        let _ = SHM_SIZES.remove(key);
    }
}

/// Puts `[start, end)` of segment `id` into a free slot of `tgid`'s ranges.
#[inline(always)]
fn add_range(tgid: u32, start: u64, end: u64, id: u32) {
    if SHM_RANGES.get_ptr(tgid).is_none() {
        let Some(zero) = ZERO_RANGES.get_ptr(0) else {
            return;
        };
        // SAFETY: the lookup returned a non-null pointer to the one value
        // of `ZERO_RANGES`, which nothing ever writes; the update helper
        // copies it (the verifier checks it covers the value size).
        let zero: &ShmRanges = unsafe { &*zero };
        let _ = SHM_RANGES.insert(tgid, zero, BPF_NOEXIST);
    }
    let Some(ranges) = SHM_RANGES.get_ptr_mut(tgid) else {
        return;
    };
    for i in 0..MAX_RANGES {
        // SAFETY: `ranges` is the non-null value pointer the lookup
        // returned; the verifier bounds every access to the value (i <
        // MAX_RANGES). Accessed through raw pointers, never a reference:
        // threads of this tgid may shmat/shmdt on other CPUs at once, and
        // two shmats racing for one free slot can lose a range (its faults
        // are then not seen by this filter), never memory.
        unsafe {
            let slot = &raw mut (*ranges).ranges[i];
            if (*slot).end == 0 {
                (*slot).start = start;
                (*slot).end = end;
                (*slot).id = id;
                return;
            }
        }
    }
}

/// Frees the slot of `tgid`'s ranges that starts at `start`.
#[inline(always)]
fn remove_range(tgid: u32, start: u64) {
    let Some(ranges) = SHM_RANGES.get_ptr_mut(tgid) else {
        return;
    };
    for i in 0..MAX_RANGES {
        // SAFETY: as in `add_range`.
        unsafe {
            let slot = &raw mut (*ranges).ranges[i];
            if (*slot).end != 0 && (*slot).start == start {
                (*slot).start = 0;
                (*slot).end = 0;
                (*slot).id = 0;
                return;
            }
        }
    }
}

/// The shmid of a SysV shm mapping `vma` (`vm_file->private_data->id`).
#[inline(always)]
fn vma_shmid(ev: &mut RawEvent, vma: u64, file_off: u64, priv_off: u64, id_off: u64) -> u64 {
    let file: u64 = read_or_flag(ev, vma + file_off);
    if file == 0 {
        return 0;
    }
    let sfd: u64 = read_or_flag(ev, file + priv_off);
    if sfd == 0 {
        return 0;
    }
    let id: i32 = read_or_flag(ev, sfd + id_off);
    id as u32 as u64
}

/// Entry of `newseg(ns, params)`.
#[inline(always)]
fn newseg_entry(ns: u64, params: u64, backend: u8) {
    ipc_params_entry(ns, params, raw_kind::NEWSEG, probe::NEWSEG, backend);
}

/// Return of `newseg`: a created segment's size is known for sure.
#[inline(always)]
fn newseg_exit(ret: i64) {
    complete(probe::NEWSEG, ret, newseg_finish);
}

/// What `newseg`'s return adds to its record (also used when the record is
/// completed at the syscall exit).
#[inline(always)]
pub fn newseg_finish(ev: &mut RawEvent) {
    if ev.ret >= 0 {
        let key = SegKey {
            ipc_ns: ev.ipc_ns,
            id: ev.ret as u32,
        };
        if let Err(err) = SHM_SIZES.insert(key, ev.args[1], 0) {
            diag::map_insert_failed(diag::once::SHM_SIZES_FULL, err);
        }
    }
}

/// Entry of `do_shmat(shmid, shmaddr, shmflg, raddr, shmlba)`; `raddr` is
/// kept in args[3] until the return replaces it with the attached address.
#[inline(always)]
fn do_shmat_entry(shmid: u64, shmaddr: u64, shmflg: u64, raddr: u64, backend: u8) {
    if !traced(pid_tgid()) {
        return;
    }
    let Some(ev) = begin(raw_kind::DO_SHMAT, probe::DO_SHMAT, backend) else {
        return;
    };
    ev.args[0] = shmid as u32 as u64;
    ev.args[1] = shmaddr;
    ev.args[2] = shmflg as u32 as u64;
    ev.args[3] = raddr;
    stash(ev);
}

/// Return of `do_shmat`: on success read the attached address from `*raddr`.
#[inline(always)]
fn do_shmat_exit(ret: i64) {
    complete(probe::DO_SHMAT, ret, |ev| {
        let raddr = ev.args[3];
        ev.args[3] = 0;
        if ret == 0 {
            ev.args[3] = read_or_flag(ev, raddr);
        }
    });
}

/// Entry of `shm_fault(vmf)`.
#[inline(always)]
fn shm_fault_entry(vmf: u64, backend: u8) {
    let vma_off = koff!(vm_fault_vma);
    let addr_off = koff!(vm_fault_address);
    let pgoff_off = koff!(vm_fault_pgoff);
    let flags_off = koff!(vm_fault_flags);
    let start_off = koff!(vma_vm_start);
    let file_off = koff!(vma_vm_file);
    let priv_off = koff!(file_private_data);
    let id_off = koff!(shm_file_data_id);
    if !known(vma_off)
        || !known(addr_off)
        || !known(pgoff_off)
        || !known(flags_off)
        || !known(start_off)
        || !known(file_off)
        || !known(priv_off)
        || !known(id_off)
        || !traced(pid_tgid())
    {
        return;
    }
    let Some(ev) = begin(raw_kind::SHM_FAULT, probe::SHM_FAULT, backend) else {
        return;
    };
    let vma: u64 = read_or_flag(ev, vmf + vma_off);
    ev.args[1] = read_or_flag(ev, vmf + addr_off);
    ev.args[2] = read_or_flag(ev, vmf + pgoff_off);
    ev.args[3] = read_or_flag::<u32>(ev, vmf + flags_off) as u64;
    if vma != 0 {
        ev.args[4] = read_or_flag(ev, vma + start_off);
        ev.args[0] = vma_shmid(ev, vma, file_off, priv_off, id_off);
    }
    stash(ev);
}

/// Return of `shm_fault`.
#[inline(always)]
fn shm_fault_exit(ret: i64) {
    complete(probe::SHM_FAULT, ret, |_| {});
}

/// Entry of `shmem_fault`: only marks an enclosing `shm_fault` of this task
/// (plain tmpfs faults are not reported).
#[inline(always)]
fn shmem_fault_entry() {
    if let Some(ev) = inflight(pid_tgid(), probe::SHM_FAULT) {
        ev.flags |= flag::SHMEM_SEEN;
    }
}

/// Return of `shmem_fault`: its result goes into the enclosing record.
#[inline(always)]
fn shmem_fault_exit(ret: u64) {
    if let Some(ev) = inflight(pid_tgid(), probe::SHM_FAULT)
        && ev.flags & flag::SHMEM_SEEN != 0
    {
        ev.args[5] = ret;
    }
}

/// Entry of `shm_destroy(ns, shp)`: reported at once.
#[inline(always)]
fn shm_destroy_entry(ns: u64, shp: u64, backend: u8) {
    let perm_off = koff!(shmid_kernel_perm);
    let id_off = koff!(ipc_perm_id);
    let key_off = koff!(ipc_perm_key);
    let segsz_off = koff!(shmid_kernel_segsz);
    if !known(perm_off)
        || !known(id_off)
        || !known(key_off)
        || !known(segsz_off)
        || !traced(pid_tgid())
    {
        return;
    }
    let Some(ev) = begin(raw_kind::SHM_DESTROY, probe::SHM_DESTROY, backend) else {
        return;
    };
    if let Some(inum) = ns_inum(ns) {
        ev.ipc_ns = inum;
    }
    let id: i32 = read_or_flag(ev, shp + perm_off + id_off);
    let key: i32 = read_or_flag(ev, shp + perm_off + key_off);
    ev.args[0] = id as u32 as u64;
    ev.args[1] = key as u32 as u64;
    ev.args[2] = read_or_flag(ev, shp + segsz_off);
    submit(ev);
    let seg = SegKey {
        ipc_ns: ev.ipc_ns,
        id: id as u32,
    };
    let _ = SHM_SIZES.remove(seg);
}

/// Entry of `shm_close(vma)`: reported at once.
#[inline(always)]
fn shm_close_entry(vma: u64, backend: u8) {
    let start_off = koff!(vma_vm_start);
    let end_off = koff!(vma_vm_end);
    let file_off = koff!(vma_vm_file);
    let priv_off = koff!(file_private_data);
    let id_off = koff!(shm_file_data_id);
    if !known(start_off)
        || !known(end_off)
        || !known(file_off)
        || !known(priv_off)
        || !known(id_off)
        || !traced(pid_tgid())
    {
        return;
    }
    let Some(ev) = begin(raw_kind::SHM_CLOSE, probe::SHM_CLOSE, backend) else {
        return;
    };
    ev.args[0] = vma_shmid(ev, vma, file_off, priv_off, id_off);
    ev.args[1] = read_or_flag(ev, vma + start_off);
    ev.args[2] = read_or_flag(ev, vma + end_off);
    submit(ev);
}

// ---- newseg(ns, params) ----

#[kprobe]
pub fn kprobe_newseg(ctx: ProbeContext) -> u32 {
    newseg_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE);
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
    0
}

#[fexit(function = "shm_fault")]
pub fn fexit_shm_fault(ctx: FExitContext) -> i32 {
    shm_fault_exit(ctx.arg::<u32>(1) as i64);
    0
}

// ---- shmem_fault(vmf) -> vm_fault_t ----

#[kprobe]
pub fn kprobe_shmem_fault(_ctx: ProbeContext) -> u32 {
    shmem_fault_entry();
    0
}

#[kretprobe]
pub fn kretprobe_shmem_fault(ctx: RetProbeContext) -> u32 {
    shmem_fault_exit(ctx.ret::<u32>() as u64);
    0
}

#[fentry(function = "shmem_fault")]
pub fn fentry_shmem_fault(_ctx: FEntryContext) -> i32 {
    shmem_fault_entry();
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
    shm_destroy_entry(karg(&ctx, 0), karg(&ctx, 1), backend::KPROBE);
    0
}

#[fentry(function = "shm_destroy")]
pub fn fentry_shm_destroy(ctx: FEntryContext) -> i32 {
    shm_destroy_entry(ctx.arg::<u64>(0), ctx.arg::<u64>(1), backend::FENTRY);
    0
}

#[kprobe]
pub fn kprobe_shm_close(ctx: ProbeContext) -> u32 {
    shm_close_entry(karg(&ctx, 0), backend::KPROBE);
    0
}

#[fentry(function = "shm_close")]
pub fn fentry_shm_close(ctx: FEntryContext) -> i32 {
    shm_close_entry(ctx.arg::<u64>(0), backend::FENTRY);
    0
}
