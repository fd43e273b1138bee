//! Loads the eBPF object and attaches its programs: the syscall, sched and
//! page-fault tracepoints always, and each kernel-path probe with the best
//! backend the running kernel allows (fentry/fexit, else kprobe/kretprobe).
//! A probe that cannot be attached is skipped with the reason written to
//! its `ProbeTable` row; it never stops the others.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap as BpfHashMap, Map, MapData, MapError, RingBuf},
    programs::{Program, ProgramError},
};
use ipc_trace_common::{SegKey, TraceConfig, switch};

use super::{
    ProbeTable,
    array_mmap::ArrayMapping,
    drop_counters::{self, DropCounters},
    privilege, unpreempted,
};
use crate::event::Backend;

mod error;
mod kernel;
mod options;
mod tracepoints;

pub use error::{AttachError, AttachStepError};
pub use options::{AttachOptions, BackendChoice, EXCLUDED_REASON, ring_size};

/// The compiled eBPF object (built by build.rs from `ipc-trace-ebpf`).
pub fn ebpf_object() -> &'static [u8] {
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ipc-trace"))
}

/// The loaded programs and their attachments. The links are owned by the
/// programs inside the `Ebpf`; dropping the `Tracer` detaches and unloads
/// everything.
pub struct Tracer {
    /// Declared first so they are unmapped before the programs are unloaded.
    drops: DropCounters,
    /// The `SWITCHES` array, mapped read-write (`ipc_trace_common::switch`).
    switches: ArrayMapping,
    ebpf: Ebpf,
    table: ProbeTable,
    /// Why each skipped kernel-path probe was skipped, in the banner's
    /// words (`probe::banner::causes`).
    causes: BTreeMap<u8, Vec<String>>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// Checks privileges, loads the object with the options' globals and
    /// ring size, and attaches every probe it can.
    pub fn load_and_attach(opts: &AttachOptions) -> Result<Tracer, AttachError> {
        if let Some(line) = privilege::Privileges::gather().error_line() {
            return Err(AttachError::NotPrivileged(line));
        }
        raise_memlock_limit();
        let config = TraceConfig {
            filter_tgids: opts.filter_tgids as u32,
            stacks: opts.stacks as u32,
        };
        let cpus = drop_counters::possible_cpu_slots().map_err(AttachError::DropCounters)?;
        let mut loader = EbpfLoader::new();
        if !opts.use_kernel_btf {
            loader.btf(None);
        }
        let ebpf = loader
            .override_global("TRACE_CONFIG", &config, true)
            .override_global("KERNEL_OFFSETS", &opts.kernel_offsets, true)
            .override_global("TRACEPOINT_OFFSETS", &opts.tracepoint_offsets, true)
            .override_global(aya_log::LEVEL, &super::ebpf_log::level(), false)
            .map_max_entries("EVENTS", ring_size(opts.ringbuf_bytes))
            .map_max_entries("DROPS", drop_counters::entries(cpus))
            .map_max_entries("SYSCALLS", opts.max_inflight)
            .map_max_entries("INFLIGHT", opts.max_inflight)
            .map_max_entries(
                "STACKS",
                if opts.stacks {
                    AttachOptions::STACK_ENTRIES
                } else {
                    1
                },
            )
            .load(ebpf_object())
            .map_err(|e| AttachError::Load(Box::new(e)))?;
        let drops = match ebpf.map("DROPS") {
            Some(Map::Array(data)) => {
                DropCounters::map(data.fd(), drop_counters::entries(cpus) as usize)
                    .map_err(AttachError::DropCounters)?
            }
            _ => return Err(AttachError::MissingMap("DROPS")),
        };
        let switches = match ebpf.map("SWITCHES") {
            Some(Map::Array(data)) => ArrayMapping::map(data.fd(), switch::COUNT as usize, true)
                .map_err(AttachError::Switches)?,
            _ => return Err(AttachError::MissingMap("SWITCHES")),
        };
        let mut tracer = Tracer {
            drops,
            switches,
            ebpf,
            table: ProbeTable::unattached(),
            causes: BTreeMap::new(),
        };
        super::ebpf_log::forward(&mut tracer.ebpf);
        tracer.attach_syscalls();
        tracer.attach_sched();
        tracer
            .attach_kernel_path(opts)
            .map_err(AttachError::ForcedBackend)?;
        tracer.attach_page_fault();
        Ok(tracer)
    }

    /// Sets switch `index` (`ipc_trace_common::switch`) for the programs.
    fn set_switch(&self, index: u32, on: bool) {
        // The mapping holds `switch::COUNT` words; a write past it is a bug
        // here, and the programs then keep doing the work (off is only a
        // saving).
        let written = self.switches.write(index as usize, on as u64);
        debug_assert!(written, "switch {index} outside SWITCHES");
    }

    /// The probe table: every probe, its backend, or why it is not attached.
    pub fn table(&self) -> &ProbeTable {
        &self.table
    }

    /// The start-up banner: what this session cannot see and what it costs
    /// (empty when every fact is seen; see `probe::banner`).
    pub fn limits(&self) -> Vec<String> {
        super::banner::lines(&self.table, &self.causes)
    }

    /// The probe table, mutable (e.g. to record self-test results).
    pub fn table_mut(&mut self) -> &mut ProbeTable {
        &mut self.table
    }

    /// Kernel ids of the programs currently loaded (for checks that they
    /// are gone after drop).
    pub fn loaded_program_ids(&self) -> Vec<u32> {
        self.ebpf
            .programs()
            .filter_map(|(_, p)| p.info().ok())
            .map(|info| info.id())
            .collect()
    }

    /// The kernel's counters of every loaded program, by program name.
    pub fn program_counters(&self) -> Vec<(String, super::prog_stats::ProgCounters)> {
        self.ebpf
            .programs()
            .filter_map(|(name, p)| {
                let fd = p.fd().ok()?;
                let counters = super::prog_stats::read(fd.as_fd()).ok()?;
                Some((name.to_string(), counters))
            })
            .collect()
    }

    /// Reports tgid `tgid` (and, from now on, its children) when filtering.
    pub fn add_traced_tgid(&mut self, tgid: u32) -> Result<(), AttachError> {
        let name = "TRACED_TGIDS";
        let mut map: BpfHashMap<&mut MapData, u32, u8> = typed(self.map_mut(name)?, name)?;
        unpreempted::map_call(|| map.insert(tgid, 1, 0))
            .map_err(|source| AttachError::Map { name, source })
    }

    /// Stops reporting tgid `tgid` (no error when it was not traced).
    pub fn remove_traced_tgid(&mut self, tgid: u32) -> Result<(), AttachError> {
        let name = "TRACED_TGIDS";
        let mut map: BpfHashMap<&mut MapData, u32, u8> = typed(self.map_mut(name)?, name)?;
        match unpreempted::map_call(|| map.remove(&tgid)) {
            Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => {
                Ok(())
            }
            other => other.map_err(|source| AttachError::Map { name, source }),
        }
    }

    /// Tells the programs the size of segment `id` in namespace `ipc_ns`
    /// (for segments created before tracing started, so their attaches
    /// get page-fault ranges).
    pub fn seed_shm_size(&mut self, ipc_ns: u32, id: u32, size: u64) -> Result<(), AttachError> {
        let name = "SHM_SIZES";
        let mut map: BpfHashMap<&mut MapData, SegKey, u64> = typed(self.map_mut(name)?, name)?;
        unpreempted::map_call(|| map.insert(SegKey { ipc_ns, id }, size, 0))
            .map_err(|source| AttachError::Map { name, source })
    }

    /// Records lost on the kernel side, per probe id, summed over CPUs:
    /// read from memory, no `bpf()` call (see [`DropCounters`]).
    pub fn drops(&self) -> drop_counters::Losses {
        self.drops.totals()
    }

    /// Takes the event ring buffer out (once) for a reader (`crate::source`).
    pub fn take_ring(&mut self) -> Result<RingBuf<MapData>, AttachError> {
        let name = "EVENTS";
        let map = self.ebpf.take_map(name).ok_or(AttachError::RingTaken)?;
        RingBuf::try_from(map).map_err(|source| AttachError::Map { name, source })
    }

    /// Takes the kernel stack map out (once) for `probe::stacks`; None
    /// when the session was not asked for stacks.
    pub fn take_stacks(
        &mut self,
        opts: &AttachOptions,
    ) -> Result<Option<super::stacks::KernelStacks>, AttachError> {
        if !opts.stacks {
            return Ok(None);
        }
        let name = "STACKS";
        let map = self
            .ebpf
            .take_map(name)
            .ok_or(AttachError::MissingMap(name))?;
        let map = aya::maps::StackTraceMap::try_from(map)
            .map_err(|source| AttachError::Map { name, source })?;
        Ok(Some(super::stacks::KernelStacks::new(map)))
    }

    fn map_mut(&mut self, name: &'static str) -> Result<&mut Map, AttachError> {
        self.ebpf.map_mut(name).ok_or(AttachError::MissingMap(name))
    }

    fn set_attached(&mut self, id: u8, backend: Backend) {
        if let Some(row) = self.table.get_mut(id) {
            row.attached = true;
            row.backend = Some(backend);
            row.reason = None;
        }
    }

    fn set_skipped(&mut self, id: u8, reason: String) {
        if let Some(row) = self.table.get_mut(id) {
            row.attached = false;
            row.backend = None;
            row.reason = Some(reason);
        }
    }
}

/// A program of the object as its concrete type.
fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, AttachStepError>
where
    &'a mut T: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| AttachStepError::MissingProgram(name.to_string()))?;
    prog.try_into()
        .map_err(|source| AttachStepError::WrongType {
            name: name.to_string(),
            source,
        })
}

/// A map of the object as its concrete type.
fn typed<'a, M, T>(map: &'a mut M, name: &'static str) -> Result<T, AttachError>
where
    T: TryFrom<&'a mut M, Error = MapError>,
{
    T::try_from(map).map_err(|source| AttachError::Map { name, source })
}

/// Lifts RLIMIT_MEMLOCK: kernels before 5.11 charge BPF maps against it.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid, initialised struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        log::debug!(
            "cannot lift RLIMIT_MEMLOCK: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_size_is_a_power_of_two_of_at_least_a_page() {
        assert_eq!(ring_size(0), 4096);
        assert_eq!(ring_size(4096), 4096);
        assert_eq!(ring_size(5000), 8192);
        assert_eq!(ring_size(4 << 20), 4 << 20);
        assert_eq!(ring_size(u32::MAX), 1 << 31);
    }
}
