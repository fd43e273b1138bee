//! The ABI shared by the eBPF programs (`ipc-trace-ebpf`) and userspace
//! (`ipc-trace`).
//!
//! Rules: `#[repr(C)]`, fixed-size, no `bool` or Rust `enum` (kinds and ids are
//! plain integers with named constants), explicit padding. Every struct here
//! is read by userspace straight out of a ring buffer or a map, so its layout
//! is part of the contract; `tests` at the bottom pin the sizes.
#![no_std]

pub mod inner;
pub mod probe;

/// Longest task name the kernel keeps (`TASK_COMM_LEN`).
pub const COMM_LEN: usize = 16;
/// Most `sembuf`s one `sem_op` record carries; `RawEvent::nsops` still tells
/// the real count, and `FLAG_SOPS_TRUNCATED` is set when more were passed.
pub const MAX_SOPS: usize = 8;
/// Most semaphore values one `semctl(SETALL)` record carries.
pub const MAX_SEMVALS: usize = 16;
/// Most attached shm ranges tracked per process for the tracepoint fault path.
pub const MAX_RANGES: usize = 16;

/// What a `RawEvent` reports. Meaning of `args` per kind is given on each
/// constant; `ret` is the function's or syscall's return value.
/// Why a record was lost: the second index of the `DROPS` counters
/// (slot `cpu * probe::COUNT * loss::REASONS + reason * probe::COUNT + probe`).
pub mod loss {
    /// The record could not be handed over: the ring buffer was full.
    pub const RECORD_LOST: u32 = 0;
    /// A stashed entry record never got its exit or return (the kernel
    /// skipped that program, or a kretprobe ran out of instances); the
    /// record is discarded. On kernel-path backends the function's own
    /// record may still carry the event.
    pub const EXIT_NOT_SEEN: u32 = 1;
    /// The record could not be stashed from entry to exit: more tasks were
    /// inside traced calls at once than the in-flight maps hold
    /// (`--max-inflight`).
    pub const INFLIGHT_FULL: u32 = 2;
    /// Number of reasons.
    pub const REASONS: usize = 3;
}

/// Indices of the `SWITCHES` array: u64 words userspace sets while
/// tracing, through a shared mapping, and the programs read.
pub mod switch {
    /// Non-zero while kernel-path programs (kprobe or fentry) may be
    /// attached: the syscall exit then completes their records whose
    /// return never fired. Zero spares every semop exit those lookups.
    pub const KERNEL_PATH: u32 = 0;
    /// Number of switches.
    pub const COUNT: u32 = 1;
}

pub mod raw_kind {
    /// A syscall, paired enter+exit in the kernel. `probe` is the
    /// `probe::SYS_*` id, `args` the six syscall arguments, `start_ns` the
    /// entry time, `ret` the return value. semop/semtimedop carry `sops`;
    /// semctl(SETALL) carries `vals`; semop/semtimedop set `FLAG_SLEPT` and
    /// `wait_ns` when the task slept inside the call.
    pub const SYSCALL: u8 = 1;
    /// `newseg(ns, params)`: args = [key, size, shmflg]; ret = new id or -errno.
    pub const NEWSEG: u8 = 2;
    /// `newary(ns, params)`: args = [key, nsems, semflg]; ret = new id or -errno.
    pub const NEWARY: u8 = 3;
    /// `do_shmat(shmid, shmaddr, shmflg, raddr, shmlba)`: args = [shmid,
    /// requested addr, shmflg, attached addr (read from `*raddr` on success)];
    /// ret = 0 or -errno.
    pub const DO_SHMAT: u8 = 4;
    /// `shm_fault(vmf)` on a SysV segment: args = [shmid, fault address,
    /// pgoff, vmf->flags, vma->vm_start, shmem_fault's return]; ret =
    /// vm_fault_t. `FLAG_SHMEM_SEEN` when `shmem_fault` ran beneath it.
    pub const SHM_FAULT: u8 = 5;
    /// `do_semtimedop`/`__do_semtimedop`: args = [semid, nsops, has timeout];
    /// `sops` decoded; ret = 0 or -errno; `FLAG_SLEPT` + `wait_ns` when the
    /// task slept; `FLAG_INNER_SEEN` when `__do_semtimedop` ran inside
    /// `do_semtimedop` (one operation, reported once).
    pub const SEMTIMEDOP: u8 = 6;
    /// `shm_destroy(ns, shp)`: args = [id, key, size].
    pub const SHM_DESTROY: u8 = 7;
    /// `shm_close(vma)`: a mapping of a segment goes away (shmdt, munmap,
    /// exit). args = [id, vm_start, vm_end].
    pub const SHM_CLOSE: u8 = 8;
    /// `freeary(ns, ipcp)`: a semaphore set is freed. args = [id, key].
    pub const FREEARY: u8 = 9;
    /// `exceptions:page_fault_user` inside an attached shm range (tracepoint
    /// backend): args = [shmid, address, error_code, range start, range
    /// end].
    pub const PAGE_FAULT_USER: u8 = 10;
    /// A traced process exited (`sched:sched_process_exit`, group leader).
    /// No args.
    pub const PROC_EXIT: u8 = 11;
    /// A process with segments attached forked a new process
    /// (`task:task_newtask`, neither a thread nor a child sharing the
    /// parent's memory): the child holds a copy of each mapping.
    /// args = [child pid].
    pub const PROC_FORK: u8 = 12;
    /// A process with segments attached replaced its image
    /// (`sched:sched_process_exec`): its mappings are gone. No args.
    pub const PROC_EXEC: u8 = 13;
}

/// Bits of `RawEvent::flags`.
pub mod flag {
    /// The task waited inside the operation: it switched out asleep, or it
    /// was queued and woken (`sched_waking` while inside the call) — a V
    /// can wake a queued P before it even reaches `schedule()`.
    pub const SLEPT: u8 = 1 << 0;
    /// `__do_semtimedop` ran inside the reported `do_semtimedop`.
    pub const INNER_SEEN: u8 = 1 << 1;
    /// `shmem_fault` ran beneath the reported `shm_fault`.
    pub const SHMEM_SEEN: u8 = 1 << 2;
    /// More sembufs (or values) were passed than the record holds.
    pub const SOPS_TRUNCATED: u8 = 1 << 3;
    /// A read of user or kernel memory failed; some args are missing (0).
    pub const READ_FAILED: u8 = 1 << 4;
    /// The function's return probe did not fire (a kretprobe has few
    /// return instances: `num_possible_cpus()` on kernels without
    /// CONFIG_PREEMPTION), so the record was completed at the exit of the
    /// syscall that called it, with the syscall's result.
    pub const RET_AT_SYSCALL_EXIT: u8 = 1 << 5;
}

/// How a probe is attached. Stored in `RawEvent::backend`.
pub mod backend {
    /// A tracepoint (syscall, exceptions, sched).
    pub const TRACEPOINT: u8 = 0;
    /// kprobe + kretprobe.
    pub const KPROBE: u8 = 1;
    /// fentry + fexit (BPF trampolines, BTF-typed).
    pub const FENTRY: u8 = 2;
}

/// One `struct sembuf` as the kernel ABI defines it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawSembuf {
    /// Semaphore index in the set.
    pub num: u16,
    /// Operation: <0 P (wait and decrement), >0 V (increment), 0 wait-for-zero.
    pub op: i16,
    /// `IPC_NOWAIT` (0o4000) and `SEM_UNDO` (0x1000).
    pub flg: i16,
}

/// The one record type in the ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawEvent {
    /// When the event completed (`bpf_ktime_get_ns`, CLOCK_MONOTONIC).
    pub ts_ns: u64,
    /// When it started (entry of a paired enter/exit); equals `ts_ns` otherwise.
    pub start_ns: u64,
    /// `bpf_get_current_pid_tgid()`: tgid in the high 32 bits, tid low.
    pub pid_tgid: u64,
    /// Task name, NUL-padded.
    pub comm: [u8; COMM_LEN],
    /// Inode number of the task's IPC namespace (0 when unreadable).
    pub ipc_ns: u32,
    /// `raw_kind::*`.
    pub kind: u8,
    /// `probe::*`: the hook that produced this record.
    pub probe: u8,
    /// `backend::*`.
    pub backend: u8,
    /// `flag::*` bits.
    pub flags: u8,
    /// Kind-specific arguments (see `raw_kind`).
    pub args: [u64; 6],
    /// Return value of the function or syscall.
    pub ret: i64,
    /// Nanoseconds from the first sleep inside the call to its return.
    pub wait_ns: u64,
    /// Number of sembufs the caller passed (semop) — may exceed `MAX_SOPS`.
    pub nsops: u32,
    /// Number of valid entries in `vals`.
    pub nvals: u32,
    /// Decoded sembufs (first `min(nsops, MAX_SOPS)` are valid).
    pub sops: [RawSembuf; MAX_SOPS],
    /// semctl(SETALL) values / semctl(SETVAL) value.
    pub vals: [u16; MAX_SEMVALS],
    /// `inner::*` bits: the step probes on functions nested inside this
    /// record's function or syscall that fired while it ran.
    pub inner: u16,
    /// `probe::*` id of the probe whose program took the stack (the
    /// innermost function of `stack_id`'s stack; `shmem_fault` for a
    /// `shm_fault` record that ran it, a step probe for a syscall's).
    pub stack_at: u8,
    /// Explicit padding.
    pub _pad: u8,
    /// Id of the kernel stack at the probe in the `STACKS` map, or
    /// `NO_STACK` (stacks off, not a kernel-path probe, or not capturable).
    pub stack_id: i32,
}

impl RawEvent {
    /// An all-zero record, the starting point for every program.
    pub const ZERO: RawEvent = RawEvent {
        ts_ns: 0,
        start_ns: 0,
        pid_tgid: 0,
        comm: [0; COMM_LEN],
        ipc_ns: 0,
        kind: 0,
        probe: 0,
        backend: 0,
        flags: 0,
        args: [0; 6],
        ret: 0,
        wait_ns: 0,
        nsops: 0,
        nvals: 0,
        sops: [RawSembuf {
            num: 0,
            op: 0,
            flg: 0,
        }; MAX_SOPS],
        vals: [0; MAX_SEMVALS],
        inner: 0,
        stack_at: 0,
        _pad: 0,
        stack_id: NO_STACK,
    };
}

/// `RawEvent::stack_id` when the record has no kernel stack.
pub const NO_STACK: i32 = -1;

/// Field offsets inside kernel structs, read from the running kernel's BTF
/// at load time and handed to the programs as the global `KERNEL_OFFSETS`.
/// `OFFSET_UNKNOWN` marks a field the kernel's BTF does not have; programs
/// that need it are not attached (userspace decides, see `probe::needs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOffsets {
    /// `task_struct.nsproxy`
    pub task_nsproxy: u32,
    /// `nsproxy.ipc_ns`
    pub nsproxy_ipc_ns: u32,
    /// `ipc_namespace.ns` + `ns_common.inum` (sum: offset of the inode number)
    pub ipc_ns_inum: u32,
    /// `ipc_params.key`
    pub ipc_params_key: u32,
    /// `ipc_params.flg`
    pub ipc_params_flg: u32,
    /// `ipc_params.u` (size for shm, nsems for sem)
    pub ipc_params_u: u32,
    /// `vm_fault.vma` (inside an anonymous struct on newer kernels)
    pub vm_fault_vma: u32,
    /// `vm_fault.address`
    pub vm_fault_address: u32,
    /// `vm_fault.pgoff`
    pub vm_fault_pgoff: u32,
    /// `vm_fault.flags`
    pub vm_fault_flags: u32,
    /// `vm_area_struct.vm_start`
    pub vma_vm_start: u32,
    /// `vm_area_struct.vm_end`
    pub vma_vm_end: u32,
    /// `vm_area_struct.vm_file`
    pub vma_vm_file: u32,
    /// `file.private_data`
    pub file_private_data: u32,
    /// `shm_file_data.id`
    pub shm_file_data_id: u32,
    /// `kern_ipc_perm.id`
    pub ipc_perm_id: u32,
    /// `kern_ipc_perm.key`
    pub ipc_perm_key: u32,
    /// `shmid_kernel.shm_perm`
    pub shmid_kernel_perm: u32,
    /// `shmid_kernel.shm_segsz`
    pub shmid_kernel_segsz: u32,
    /// Explicit padding to a multiple of 8 bytes.
    pub _pad: u32,
}

/// Marks an offset the running kernel's BTF does not provide.
pub const OFFSET_UNKNOWN: u32 = u32::MAX;

impl KernelOffsets {
    /// Every offset unknown.
    pub const UNKNOWN: KernelOffsets = KernelOffsets {
        task_nsproxy: OFFSET_UNKNOWN,
        nsproxy_ipc_ns: OFFSET_UNKNOWN,
        ipc_ns_inum: OFFSET_UNKNOWN,
        ipc_params_key: OFFSET_UNKNOWN,
        ipc_params_flg: OFFSET_UNKNOWN,
        ipc_params_u: OFFSET_UNKNOWN,
        vm_fault_vma: OFFSET_UNKNOWN,
        vm_fault_address: OFFSET_UNKNOWN,
        vm_fault_pgoff: OFFSET_UNKNOWN,
        vm_fault_flags: OFFSET_UNKNOWN,
        vma_vm_start: OFFSET_UNKNOWN,
        vma_vm_end: OFFSET_UNKNOWN,
        vma_vm_file: OFFSET_UNKNOWN,
        file_private_data: OFFSET_UNKNOWN,
        shm_file_data_id: OFFSET_UNKNOWN,
        ipc_perm_id: OFFSET_UNKNOWN,
        ipc_perm_key: OFFSET_UNKNOWN,
        shmid_kernel_perm: OFFSET_UNKNOWN,
        shmid_kernel_segsz: OFFSET_UNKNOWN,
        _pad: 0,
    };
}

/// Field offsets inside tracepoint records, read from tracefs `format`
/// files at load time (they differ between kernels, e.g.
/// `sched_process_fork` switched to `__data_loc` comm fields).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracepointOffsets {
    /// `sched:sched_switch` `prev_state` (a `long`).
    pub switch_prev_state: u32,
    /// `sched:sched_process_fork` `child_pid`.
    pub fork_child_pid: u32,
    /// `sched:sched_process_exit` `group_dead` (0 = field absent: use pid == tgid).
    pub exit_group_dead: u32,
    /// `exceptions:page_fault_user` `address`.
    pub fault_address: u32,
    /// `exceptions:page_fault_user` `error_code`.
    pub fault_error_code: u32,
    /// `sched:sched_waking` `pid` (the task being woken).
    pub waking_pid: u32,
    /// `task:task_newtask` `pid` (the new task).
    pub newtask_pid: u32,
    /// `task:task_newtask` `clone_flags` (8 bytes on every kernel here).
    pub newtask_clone_flags: u32,
}

impl TracepointOffsets {
    /// Fallbacks (the 5.10 layout on x86_64); the real offsets are always read
    /// from tracefs at load time — on 6.x `sched_process_fork` moved `child_pid`.
    pub const DEFAULT: TracepointOffsets = TracepointOffsets {
        switch_prev_state: 32,
        fork_child_pid: 44,
        exit_group_dead: 0,
        fault_address: 8,
        fault_error_code: 24,
        waking_pid: 24,
        newtask_pid: 8,
        newtask_clone_flags: 32,
    };
}

/// Run-time switches for the programs (global `TRACE_CONFIG`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// Non-zero: only tasks whose tgid is in `TRACED_TGIDS` are reported
    /// (children are added on fork).
    pub filter_tgids: u32,
    /// Non-zero: kernel-path probes record the kernel stack (`--stacks`).
    pub stacks: u32,
}

impl TraceConfig {
    /// Report everything.
    pub const DEFAULT: TraceConfig = TraceConfig {
        filter_tgids: 0,
        stacks: 0,
    };
}

/// Key of `SHM_SIZES`: a segment in an IPC namespace.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegKey {
    /// IPC namespace inode.
    pub ipc_ns: u32,
    /// shmid.
    pub id: u32,
}

/// One attached shm range of a process (tracepoint fault path).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShmRange {
    /// First byte of the mapping (what shmat returned).
    pub start: u64,
    /// One past the last byte (start + page-rounded segment size).
    pub end: u64,
    /// The segment's shmid.
    pub id: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// Value of `SHM_RANGES`, keyed by tgid: the process's attached segments.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ShmRanges {
    /// The slots; a slot with `end == 0` is free.
    pub ranges: [ShmRange; MAX_RANGES],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are #[repr(C)], contain only integers and arrays
    // of integers, and have no implicit padding (see the size tests).
    unsafe impl aya::Pod for super::RawEvent {}
    unsafe impl aya::Pod for super::RawSembuf {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::TracepointOffsets {}
    unsafe impl aya::Pod for super::TraceConfig {}
    unsafe impl aya::Pod for super::SegKey {}
    unsafe impl aya::Pod for super::ShmRange {}
    unsafe impl aya::Pod for super::ShmRanges {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(size_of::<RawSembuf>(), 6);
        assert_eq!(
            size_of::<RawEvent>(),
            8 * 3
                + COMM_LEN
                + 4
                + 4
                + 8 * 6
                + 8
                + 8
                + 4
                + 4
                + 6 * MAX_SOPS
                + 2 * MAX_SEMVALS
                + 4
                + 4
        );
        assert_eq!(size_of::<KernelOffsets>(), 4 * 20);
        assert_eq!(size_of::<TracepointOffsets>(), 4 * 8);
        assert_eq!(size_of::<TraceConfig>(), 8);
        assert_eq!(probe::NAMES.len(), probe::COUNT);
        assert_eq!(probe::by_name("freeary"), Some(probe::FREEARY));
        assert_eq!(
            probe::FIRST_STEP as usize + inner::COUNT,
            probe::COUNT,
            "every inner bit has a probe id"
        );
        assert_eq!(size_of::<ShmRange>(), 24);
        assert_eq!(size_of::<ShmRanges>(), 24 * MAX_RANGES);
    }
}
