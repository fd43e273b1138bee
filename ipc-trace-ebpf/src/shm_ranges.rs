//! What the syscall exits of shmget, shmat, shmdt and shmctl keep for the
//! page-fault tracepoint: each segment's size, and each process's attached
//! ranges (so a user fault can be told to be in a SysV segment without a
//! kernel-path probe).

use ipc_trace_common::{MAX_RANGES, RawEvent, SegKey, ShmRanges};

use crate::{
    diag,
    emit::{BPF_NOEXIST, tgid_of},
    maps::{SHM_RANGES, SHM_SIZES, ZERO_RANGES},
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
pub(crate) fn add_range(tgid: u32, start: u64, end: u64, id: u32) {
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
pub(crate) fn remove_range(tgid: u32, start: u64) {
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

/// True when `tgid` has some attached range (an entry whose slots were all
/// freed by shmdt stays in the map).
#[inline(always)]
pub(crate) fn has_ranges(tgid: u32) -> bool {
    let Some(ranges) = SHM_RANGES.get_ptr(tgid) else {
        return false;
    };
    for i in 0..MAX_RANGES {
        // SAFETY: as in `add_range`; only read, through the raw pointer.
        if unsafe { (*ranges).ranges[i].end } != 0 {
            return true;
        }
    }
    false
}
