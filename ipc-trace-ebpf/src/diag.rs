//! Diagnostics for userspace (aya-log, forwarded to the `log` crate by
//! `ipc-trace/src/probe/ebpf_log.rs`), only ever called from error
//! branches, never per record. Each is one `#[inline(never)]` function, so
//! its log call site exists once in the object (a BPF subprogram) however
//! many programs reach it. Userspace sets `AYA_LOG_LEVEL` from its own log
//! level: a disabled level costs one load and compare.
//!
//! The warnings about the tracer itself (a full map, offsets that read
//! nonsense) are sent at most once per CPU (`DIAG_ONCE`); the drop counters
//! already count every occurrence. A failed output to the `EVENTS` ring is
//! not logged at all: it is counted as a drop, and logging it would add cost
//! exactly when the system is overloaded.

use aya_log_ebpf::{debug, warn};

use crate::maps::DIAG_ONCE;

/// `DIAG_ONCE` slots.
pub mod once {
    /// An offset of the IPC namespace path read nonsense.
    pub const IPC_NS_OFFSETS: u32 = 0;
    /// `INFLIGHT` or `SYSCALLS` refused an insert.
    pub const INFLIGHT_FULL: u32 = 1;
    /// `TRACED_TGIDS` refused a forked child.
    pub const TRACED_TGIDS_FULL: u32 = 2;
    /// `SHM_SIZES` refused a segment size.
    pub const SHM_SIZES_FULL: u32 = 3;
    /// Number of slots.
    pub const COUNT: u32 = 4;
}

/// True the first time slot `slot` is claimed on this CPU.
#[inline(always)]
fn first_time(slot: u32) -> bool {
    let Some(flag) = DIAG_ONCE.get_ptr_mut(slot) else {
        return false;
    };
    // SAFETY: a per-CPU array slot that the lookup returned non-null; the
    // verifier bounds the access to the u32 value. Programs that share a
    // CPU may race here; the worst case is one more log line.
    unsafe {
        if *flag != 0 {
            return false;
        }
        *flag = 1;
    }
    true
}

/// `bpf_probe_read_user` of sembuf `index` (of `nsops`) at `addr` failed:
/// the traced program passed a bad pointer (the call fails with EFAULT).
#[inline(never)]
///
/// The address is not logged: in an fentry program it is a BTF-typed
/// pointer, and the verifier refuses the byte shifts aya-log would store
/// it with ("pointer arithmetic with >>= operator prohibited", 6.12).
pub fn sembuf_read_failed(probe: u8, index: u32, nsops: u32) {
    debug!(
        &(),
        "probe {}: cannot read sembuf {} of {} (user memory)", probe, index, nsops
    );
}

/// `bpf_probe_read_user` of the first `semctl(SETALL)` value at `addr` failed.
#[inline(never)]
pub fn semvals_read_failed(addr: u64) {
    debug!(&(), "semctl(SETALL): cannot read the values at {:x}", addr);
}

/// The IPC namespace of the current task read `value` (0 or unreadable)
/// at `step` (1 task->nsproxy, 2 nsproxy->ipc_ns, 3 ipc_ns inum), whose
/// offset is `off`: that KERNEL_OFFSETS field does not fit this kernel.
#[inline(never)]
pub fn ipc_ns_offset_nonsense(step: u32, off: u64) {
    if first_time(once::IPC_NS_OFFSETS) {
        warn!(
            &(),
            "KERNEL_OFFSETS look wrong: IPC namespace step {} (offset {}) reads 0 or fails; records get ipc_ns 0",
            step,
            off
        );
    }
}

/// A map refused an insert (`err` from the helper, -E2BIG when full);
/// `slot` is its `once` slot, which names the map.
#[inline(never)]
pub fn map_insert_failed(slot: u32, err: i32) {
    if first_time(slot) {
        warn!(
            &(),
            "eBPF map insert failed: map {} (1 INFLIGHT or SYSCALLS, 2 TRACED_TGIDS, 3 SHM_SIZES), error {}; not logged again",
            slot,
            err
        );
    }
}
