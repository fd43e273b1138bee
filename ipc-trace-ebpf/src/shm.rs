//! Shared-memory paths: `newseg` (a segment is created), `do_shmat` (it is
//! attached), `shm_fault` + `shmem_fault` (a page of it is faulted in),
//! `shm_destroy` and `shm_close` (it goes away). The program entry points
//! are in `shm_programs`; the sizes and ranges for the page-fault
//! tracepoint in `shm_ranges`.

use ipc_trace_common::{RawEvent, SegKey, flag, probe, raw_kind};

use crate::{
    diag,
    emit::{
        begin, complete, inflight, ipc_params_entry, ns_inum, pid_tgid, read_or_flag, stash,
        submit, traced,
    },
    maps::{SHM_SIZES, known, koff},
};

/// The shmid of a SysV shm mapping `vma` (`vm_file->private_data->id`).
#[inline(always)]
pub(crate) fn vma_shmid(
    ev: &mut RawEvent,
    vma: u64,
    file_off: u64,
    priv_off: u64,
    id_off: u64,
) -> u64 {
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
pub(crate) fn newseg_entry(ns: u64, params: u64, backend: u8) {
    ipc_params_entry(ns, params, raw_kind::NEWSEG, probe::NEWSEG, backend);
}

/// Return of `newseg`: a created segment's size is known for sure.
#[inline(always)]
pub(crate) fn newseg_exit(ret: i64) {
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
pub(crate) fn do_shmat_entry(shmid: u64, shmaddr: u64, shmflg: u64, raddr: u64, backend: u8) {
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
pub(crate) fn do_shmat_exit(ret: i64) {
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
pub(crate) fn shm_fault_entry(vmf: u64, backend: u8) {
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
pub(crate) fn shm_fault_exit(ret: i64) {
    complete(probe::SHM_FAULT, ret, |_| {});
}

/// Entry of `shmem_fault`: only marks an enclosing `shm_fault` of this task
/// (plain tmpfs faults are not reported).
#[inline(always)]
pub(crate) fn shmem_fault_entry() {
    if let Some(ev) = inflight(pid_tgid(), probe::SHM_FAULT) {
        ev.flags |= flag::SHMEM_SEEN;
    }
}

/// Return of `shmem_fault`: its result goes into the enclosing record.
#[inline(always)]
pub(crate) fn shmem_fault_exit(ret: u64) {
    if let Some(ev) = inflight(pid_tgid(), probe::SHM_FAULT)
        && ev.flags & flag::SHMEM_SEEN != 0
    {
        ev.args[5] = ret;
    }
}

/// Entry of `shm_destroy(ns, shp)`: reported at once.
#[inline(always)]
pub(crate) fn shm_destroy_entry(ns: u64, shp: u64, backend: u8, stack: i32) {
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
    ev.stack_id = stack;
    ev.stack_at = ev.probe;
    submit(ev);
    let seg = SegKey {
        ipc_ns: ev.ipc_ns,
        id: id as u32,
    };
    let _ = SHM_SIZES.remove(seg);
}

/// Entry of `shm_close(vma)`: reported at once.
#[inline(always)]
pub(crate) fn shm_close_entry(vma: u64, backend: u8, stack: i32) {
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
    ev.stack_id = stack;
    ev.stack_at = ev.probe;
    submit(ev);
}
