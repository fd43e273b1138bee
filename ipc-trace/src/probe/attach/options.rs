//! What `Tracer::load_and_attach` is asked to do: the backend policy and
//! the load-time settings of the eBPF object.

use ipc_trace_common::{KernelOffsets, TracepointOffsets};

use crate::probe::kernel_path::ProbeSet;

/// Which backend the kernel-path probes may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// fentry/fexit where possible, else kprobe/kretprobe, else not attached.
    #[default]
    Auto,
    /// Only fentry/fexit.
    Fentry,
    /// Only kprobe/kretprobe.
    Kprobe,
    /// No kernel-path probe: tracepoints only.
    Tracepoint,
}

impl BackendChoice {
    /// The name the command line and the recording header use.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Fentry => "fentry",
            BackendChoice::Kprobe => "kprobe",
            BackendChoice::Tracepoint => "tracepoint",
        }
    }
}

/// Everything `Tracer::load_and_attach` needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachOptions {
    /// Backend policy for the kernel-path probes.
    pub backend: BackendChoice,
    /// Size of the event ring buffer in bytes (rounded up to a power of
    /// two of at least one page).
    pub ringbuf_bytes: u32,
    /// Entries of each in-flight map (`SYSCALLS`, `INFLIGHT`):
    /// how many tasks may be inside a traced call at once before further
    /// records are dropped (and counted).
    pub max_inflight: u32,
    /// Report only tgids added with `Tracer::add_traced_tgid` (and their
    /// children).
    pub filter_tgids: bool,
    /// Kernel struct offsets from the running kernel's BTF.
    pub kernel_offsets: KernelOffsets,
    /// Tracepoint record offsets from tracefs.
    pub tracepoint_offsets: TracepointOffsets,
    /// Kernel-path probes not to attach (`--exclude-probe`): their rows say
    /// [`EXCLUDED_REASON`] and their events are inferred.
    pub excluded: ProbeSet,
    /// False for `--btf none`: no fentry/fexit and no BTF relocations
    /// (the offsets above are then all unknown too).
    pub use_kernel_btf: bool,
    /// Kernel-path probes record the kernel stack they fired on
    /// (`--stacks`, the teaching modes): one `bpf_get_stackid` per record.
    pub stacks: bool,
}

/// The reason in the probe table of a probe the user excluded.
pub const EXCLUDED_REASON: &str = "excluded by --exclude-probe";

impl AttachOptions {
    /// Default ring buffer size: 4 MiB.
    pub const DEFAULT_RINGBUF_BYTES: u32 = 4 * 1024 * 1024;
    /// Default in-flight map size: 10240 tasks inside traced calls at once
    /// (a database host with thousands of backends asleep in `semop` may
    /// need more: `--max-inflight`).
    pub const DEFAULT_MAX_INFLIGHT: u32 = 10240;
    /// Distinct kernel stacks kept with `--stacks` (1016 bytes each). A lab
    /// sees a few dozen; a stack beyond the map is recorded without one.
    pub const STACK_ENTRIES: u32 = 2048;
}

impl Default for AttachOptions {
    fn default() -> AttachOptions {
        AttachOptions {
            backend: BackendChoice::Auto,
            ringbuf_bytes: AttachOptions::DEFAULT_RINGBUF_BYTES,
            max_inflight: AttachOptions::DEFAULT_MAX_INFLIGHT,
            filter_tgids: false,
            kernel_offsets: KernelOffsets::UNKNOWN,
            tracepoint_offsets: TracepointOffsets::DEFAULT,
            excluded: ProbeSet::EMPTY,
            use_kernel_btf: true,
            stacks: false,
        }
    }
}

/// The ring buffer size the kernel accepts: a power of two, at least a page.
pub fn ring_size(bytes: u32) -> u32 {
    bytes
        .max(4096)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
}
