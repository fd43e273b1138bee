//! Maps and globals shared by every program. Userspace looks the public
//! ones up by name (`EVENTS`, `DROPS`, `TRACED_TGIDS`, `SHM_SIZES`,
//! `SHM_RANGES`, and the globals `TRACE_CONFIG`, `KERNEL_OFFSETS`,
//! `TRACEPOINT_OFFSETS`); the others are private to the programs.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use ipc_trace_common::{
    KernelOffsets, RawEvent, SegKey, ShmRanges, TraceConfig, TracepointOffsets, probe, switch,
};

/// The one ring buffer every record goes to. Userspace resizes it.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(4 * 1024 * 1024, 0);

/// `BPF_F_MMAPABLE`: userspace maps the array's values into its memory.
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Records lost, per CPU, reason and probe id (`ipc_trace_common::loss`).
/// Userspace sets the size from the possible CPUs and reads the counters
/// through a shared mapping, without any `bpf()` call: a map syscall holds
/// the CPU's `bpf_prog_active` counter while it runs (preemptibly), and
/// every kprobe or tracepoint program that fires meanwhile on that CPU is
/// skipped — polling the counters that way lost events (seen on Debian's
/// 7.2 as syscall exits never run). Each CPU writes only its own slots.
#[map]
pub static DROPS: Array<u64> = Array::with_max_entries(probe::COUNT as u32, BPF_F_MMAPABLE);

/// Switches userspace sets while tracing (`ipc_trace_common::switch`),
/// through a shared mapping: no `bpf()` call (see `DROPS`).
#[map]
pub static SWITCHES: Array<u64> = Array::with_max_entries(switch::COUNT, BPF_F_MMAPABLE);

/// True when switch `index` is on. Unreadable counts as on: the switches
/// only ever skip work.
#[inline(always)]
pub fn switch_on(index: u32) -> bool {
    match SWITCHES.get_ptr(index) {
        Some(v) => {
            // SAFETY: a non-null pointer to the array's value, which lives
            // as long as the map; userspace writes it through its mapping,
            // hence the volatile 8-byte load (one instruction, never torn).
            let value: u64 = unsafe { core::ptr::read_volatile(v) };
            value != 0
        }
        None => true,
    }
}

/// tgids to report when `TRACE_CONFIG.filter_tgids` is set (value unused).
#[map]
pub static TRACED_TGIDS: HashMap<u32, u8> = HashMap::with_max_entries(16384, 0);

/// Segment sizes by (IPC namespace, shmid), learnt at shmget and seeded by
/// userspace for segments that existed before tracing started.
#[map]
pub static SHM_SIZES: HashMap<SegKey, u64> = HashMap::with_max_entries(4096, 0);

/// Attached shm address ranges per tgid (page-fault tracepoint filter).
#[map]
pub static SHM_RANGES: LruHashMap<u32, ShmRanges> = LruHashMap::with_max_entries(4096, 0);

/// `bpf_map_update_elem` flag: only create, never overwrite.
pub const BPF_NOEXIST: u64 = 1;

/// Syscalls in flight, by thread id: filled at sys_enter, sent at sys_exit,
/// removed there or when the thread exits. Keyed by the tid alone (tids
/// are unique system-wide) so that `sched_waking`, which knows only the
/// wakee's tid, finds a sleeper's semop record. While a semop is in
/// flight its `wait_ns` holds the time of the task's first sleep inside
/// the call (0 until then), written by `sched_switch`/`sched_waking`; the
/// exit turns it into the wait. A semop seen only by the kernel path gets
/// an entry of its own for that slot (a sleep watch, `sem::watch_sleep`).
/// A plain hash, not an LRU one: an LRU hash
/// may evict a live entry before it is full (its free nodes are handed out
/// to CPUs in batches), which lost records of tasks asleep in a semop on
/// Debian's 7.2; here a full map is a counted drop instead. Its size is
/// `--max-inflight` (set at load time).
#[map]
pub static SYSCALLS: HashMap<u32, RawEvent> = HashMap::with_max_entries(10240, 0);

/// Key of `INFLIGHT`: one task inside one kernel function.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct InflightKey {
    /// `bpf_get_current_pid_tgid()`.
    pub pid_tgid: u64,
    /// `probe::*` id of the function.
    pub probe: u32,
    /// Always zero (the key is hashed as bytes).
    pub pad: u32,
}

impl InflightKey {
    /// The key of `probe` on the current task `pid_tgid`.
    #[inline(always)]
    pub fn new(pid_tgid: u64, probe: u8) -> InflightKey {
        InflightKey {
            pid_tgid,
            probe: probe as u32,
            pad: 0,
        }
    }
}

/// Kernel functions in flight: filled at entry, sent at return, removed
/// there, at the syscall's exit or when the thread exits. A plain hash for
/// the reason `SYSCALLS` is one: a full map is a counted drop, never a
/// silent eviction. Its size is `--max-inflight` (set at load time).
#[map]
pub static INFLIGHT: HashMap<InflightKey, RawEvent> = HashMap::with_max_entries(10240, 0);

/// Records to build in (the BPF stack is only 512 bytes), per CPU: slot 0
/// for the tracepoint and kprobe programs, which run with preemption
/// disabled and do not nest (`bpf_prog_active`), except the syscall
/// tracepoints, which build in their `SYSCALLS` entry instead (they may run
/// preemptible on newer kernels, see syscalls.rs), and slot `1 + probe` for
/// the fentry program of each probe. An fentry program runs with only
/// migration disabled and can be preempted by a task whose program then
/// runs on the same CPU; the kernel never runs one fentry program twice at
/// once on a CPU (`prog->active`), so a slot of its own is never shared.
#[map]
pub static SCRATCH: PerCpuArray<RawEvent> =
    PerCpuArray::with_max_entries(1 + probe::COUNT as u32, 0);

/// Per CPU: which once-only diagnostics were already logged (`diag::once`).
#[map]
pub static DIAG_ONCE: PerCpuArray<u32> = PerCpuArray::with_max_entries(crate::diag::once::COUNT, 0);

/// One all-zero `RawEvent`, never written: the initial value of a new
/// `SYSCALLS` entry, which `sys_enter` then fills in place.
#[map]
pub static ZERO_EVENT: Array<RawEvent> = Array::with_max_entries(1, 0);

/// One all-zero `ShmRanges`, never written: the initial value of a new
/// `SHM_RANGES` entry.
#[map]
pub static ZERO_RANGES: Array<ShmRanges> = Array::with_max_entries(1, 0);

// The globals carry an explicit section: LLVM never merges other constants
// into a global that has one. Without it, a promoted `&0u64` can be folded
// onto `TRACE_CONFIG`'s all-zero default and then read the patched value.

// SAFETY (the three `no_mangle` / `link_section` attributes below): each
// name is unique in the object and is the symbol userspace patches; the
// section is the read-only data section the loader turns into a frozen
// array map, which only holds plain data.

/// Run-time switches, set by userspace before loading.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".rodata")]
pub static TRACE_CONFIG: TraceConfig = TraceConfig::DEFAULT;

/// Kernel struct field offsets from the running kernel's BTF.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".rodata")]
pub static KERNEL_OFFSETS: KernelOffsets = KernelOffsets::UNKNOWN;

/// Tracepoint record field offsets from tracefs.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".rodata")]
pub static TRACEPOINT_OFFSETS: TracepointOffsets = TracepointOffsets::DEFAULT;

/// Reads a u32 field of a global (volatile: userspace patches globals at
/// load time, the compiler must not fold the defaults).
#[inline(always)]
pub fn read_global_u32(field: &'static u32) -> u32 {
    // SAFETY: a reference, so aligned and initialised; the globals it
    // points into are never written by the programs (the verifier sees a
    // load from the frozen `.rodata` map at a constant offset inside it).
    unsafe { core::ptr::read_volatile(field) }
}

/// Reads one field of `KERNEL_OFFSETS` (volatile: userspace patches the
/// value at load time, the compiler must not fold the default).
macro_rules! koff {
    ($field:ident) => {
        $crate::maps::read_global_u32(&$crate::maps::KERNEL_OFFSETS.$field) as u64
    };
}
pub(crate) use koff;

/// Reads one field of `TRACEPOINT_OFFSETS` (volatile, as `koff!`).
macro_rules! tpoff {
    ($field:ident) => {
        $crate::maps::read_global_u32(&$crate::maps::TRACEPOINT_OFFSETS.$field) as usize
    };
}
pub(crate) use tpoff;

/// True when `off` (from `koff!`) is a real offset.
#[inline(always)]
pub fn known(off: u64) -> bool {
    off != ipc_trace_common::OFFSET_UNKNOWN as u64
}
