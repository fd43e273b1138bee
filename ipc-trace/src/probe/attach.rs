//! Loads the eBPF object and attaches its programs: the syscall, sched and
//! page-fault tracepoints always, and each kernel-path probe with the best
//! backend the running kernel allows (fentry/fexit, else kprobe/kretprobe).
//! A probe that cannot be attached is skipped with the reason written to
//! its `ProbeTable` row; it never stops the others.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{HashMap as BpfHashMap, Map, MapData, MapError, RingBuf},
    programs::{FEntry, FExit, KProbe, Program, ProgramError, TracePoint},
};
use ipc_trace_common::{KernelOffsets, SegKey, TraceConfig, TracepointOffsets, probe as ids};

use super::{
    ProbeTable,
    drop_counters::{self, DropCounters},
    facts::KPROBE_PMU_TYPE,
    kallsyms::{Kallsyms, SymbolState},
    kernel_path::{KERNEL_PROBES, KernelProbe, ProbeSet, SYSCALLS},
    privilege,
    reason::describe,
    skip::{BackendError, BackendFailure, ForcedBackendError, ProbeSkip, forced_backend_error},
};
use crate::event::Backend;

/// The compiled eBPF object (built by build.rs from `ipc-trace-ebpf`).
pub fn ebpf_object() -> &'static [u8] {
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ipc-trace"))
}

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
}

/// The reason in the probe table of a probe the user excluded.
pub const EXCLUDED_REASON: &str = "excluded by --exclude-probe";

impl AttachOptions {
    /// Default ring buffer size: 4 MiB.
    pub const DEFAULT_RINGBUF_BYTES: u32 = 4 * 1024 * 1024;
}

impl Default for AttachOptions {
    fn default() -> AttachOptions {
        AttachOptions {
            backend: BackendChoice::Auto,
            ringbuf_bytes: AttachOptions::DEFAULT_RINGBUF_BYTES,
            filter_tgids: false,
            kernel_offsets: KernelOffsets::UNKNOWN,
            tracepoint_offsets: TracepointOffsets::DEFAULT,
            excluded: ProbeSet::EMPTY,
        }
    }
}

/// Why the probes could not be loaded (individual probes that fail to
/// attach are not errors: see the probe table).
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The process lacks the capabilities to load eBPF programs.
    #[error("ipc-trace needs CAP_BPF and CAP_PERFMON to load its probes: run it with sudo")]
    NotPrivileged,
    /// The eBPF object could not be loaded (maps, BTF, relocation).
    #[error("cannot load the eBPF object: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    /// A map the programs define is missing from the object.
    #[error("the eBPF object has no map {0}")]
    MissingMap(&'static str),
    /// A map operation failed.
    #[error("eBPF map {name}: {source}")]
    Map {
        /// The map's name.
        name: &'static str,
        /// What failed.
        #[source]
        source: MapError,
    },
    /// `--backend fentry|kprobe` could not attach every probe whose
    /// function this kernel has (nothing stays attached).
    #[error(transparent)]
    ForcedBackend(Box<ForcedBackendError>),
    /// `take_ring` was already called.
    #[error("the event ring buffer was already taken")]
    RingTaken,
    /// The drop counters cannot be read without `bpf()` calls.
    #[error("cannot map the drop counters (DROPS) into memory: {0}")]
    DropCounters(#[source] std::io::Error),
}

/// The loaded programs and their attachments. The links are owned by the
/// programs inside the `Ebpf`; dropping the `Tracer` detaches and unloads
/// everything.
pub struct Tracer {
    /// Declared first so it is unmapped before the programs are unloaded.
    drops: DropCounters,
    ebpf: Ebpf,
    table: ProbeTable,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// The tracepoint programs and where each is attached: (program, category,
/// event, probe id or None for a helper without its own row).
const SCHED_TRACEPOINTS: [(&str, &str, &str, Option<u8>); 5] = [
    (
        "sched_switch",
        "sched",
        "sched_switch",
        Some(ids::SCHED_SWITCH),
    ),
    (
        "sched_process_fork",
        "sched",
        "sched_process_fork",
        Some(ids::SCHED_FORK),
    ),
    (
        "sched_process_exit",
        "sched",
        "sched_process_exit",
        Some(ids::SCHED_EXIT),
    ),
    ("sched_process_exec", "sched", "sched_process_exec", None),
    ("sched_waking", "sched", "sched_waking", None),
];

impl Tracer {
    /// Checks privileges, loads the object with the options' globals and
    /// ring size, and attaches every probe it can.
    pub fn load_and_attach(opts: &AttachOptions) -> Result<Tracer, AttachError> {
        let caps = privilege::effective_caps().unwrap_or(0);
        if !privilege::can_load_probes(caps) {
            return Err(AttachError::NotPrivileged);
        }
        raise_memlock_limit();
        let config = TraceConfig {
            filter_tgids: opts.filter_tgids as u32,
            _pad: 0,
        };
        let cpus = drop_counters::possible_cpu_slots().map_err(AttachError::DropCounters)?;
        let ebpf = EbpfLoader::new()
            .override_global("TRACE_CONFIG", &config, true)
            .override_global("KERNEL_OFFSETS", &opts.kernel_offsets, true)
            .override_global("TRACEPOINT_OFFSETS", &opts.tracepoint_offsets, true)
            .override_global(aya_log::LEVEL, &super::ebpf_log::level(), false)
            .map_max_entries("EVENTS", ring_size(opts.ringbuf_bytes))
            .map_max_entries("DROPS", drop_counters::entries(cpus))
            .load(ebpf_object())
            .map_err(|e| AttachError::Load(Box::new(e)))?;
        let drops = match ebpf.map("DROPS") {
            Some(Map::Array(data)) => {
                DropCounters::map(data.fd(), drop_counters::entries(cpus) as usize)
                    .map_err(AttachError::DropCounters)?
            }
            _ => return Err(AttachError::MissingMap("DROPS")),
        };
        let mut tracer = Tracer {
            drops,
            ebpf,
            table: ProbeTable::unattached(),
        };
        super::ebpf_log::forward(&mut tracer.ebpf);
        tracer.attach_syscalls();
        tracer.attach_sched();
        tracer
            .attach_kernel_path(opts.backend, opts.kernel_offsets, opts.excluded)
            .map_err(AttachError::ForcedBackend)?;
        tracer.attach_page_fault();
        Ok(tracer)
    }

    /// The probe table: every probe, its backend, or why it is not attached.
    pub fn table(&self) -> &ProbeTable {
        &self.table
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
        map.insert(tgid, 1, 0)
            .map_err(|source| AttachError::Map { name, source })
    }

    /// Stops reporting tgid `tgid` (no error when it was not traced).
    pub fn remove_traced_tgid(&mut self, tgid: u32) -> Result<(), AttachError> {
        let name = "TRACED_TGIDS";
        let mut map: BpfHashMap<&mut MapData, u32, u8> = typed(self.map_mut(name)?, name)?;
        match map.remove(&tgid) {
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
        map.insert(SegKey { ipc_ns, id }, size, 0)
            .map_err(|source| AttachError::Map { name, source })
    }

    /// Records lost on the kernel side, per probe id, summed over CPUs:
    /// read from memory, no `bpf()` call (see [`DropCounters`]).
    pub fn drops(&self) -> [u64; ids::COUNT] {
        self.drops.totals()
    }

    /// Takes the event ring buffer out (once) for a reader (`crate::source`).
    pub fn take_ring(&mut self) -> Result<RingBuf<MapData>, AttachError> {
        let name = "EVENTS";
        let map = self.ebpf.take_map(name).ok_or(AttachError::RingTaken)?;
        RingBuf::try_from(map).map_err(|source| AttachError::Map { name, source })
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

    /// `sys_enter` and `sys_exit` on the eight syscalls; a syscall's row is
    /// attached only when both halves are.
    fn attach_syscalls(&mut self) {
        let enter = load_tracepoint(&mut self.ebpf, "sys_enter");
        let exit = load_tracepoint(&mut self.ebpf, "sys_exit");
        for (id, name) in SYSCALLS {
            let result = match (&enter, &exit) {
                (Err(e), _) | (_, Err(e)) => Err(e.clone()),
                (Ok(()), Ok(())) => self.attach_syscall_pair(name),
            };
            match result {
                Ok(()) => self.set_attached(id, Backend::Tracepoint),
                Err(reason) => self.set_skipped(id, reason),
            }
        }
    }

    fn attach_syscall_pair(&mut self, name: &str) -> Result<(), String> {
        let enter_event = format!("sys_enter_{name}");
        let exit_event = format!("sys_exit_{name}");
        let enter = program::<TracePoint>(&mut self.ebpf, "sys_enter")?;
        let link = enter
            .attach("syscalls", &enter_event)
            .map_err(|e| tracepoint_reason("syscalls", &enter_event, &e))?;
        let exit = program::<TracePoint>(&mut self.ebpf, "sys_exit")?;
        if let Err(e) = exit.attach("syscalls", &exit_event) {
            let reason = tracepoint_reason("syscalls", &exit_event, &e);
            if let Ok(enter) = program::<TracePoint>(&mut self.ebpf, "sys_enter") {
                let _ = enter.detach(link);
            }
            return Err(reason);
        }
        Ok(())
    }

    fn attach_sched(&mut self) {
        for (prog, category, event, id) in SCHED_TRACEPOINTS {
            let result = load_tracepoint(&mut self.ebpf, prog).and_then(|()| {
                let tp = program::<TracePoint>(&mut self.ebpf, prog)?;
                tp.attach(category, event)
                    .map(|_| ())
                    .map_err(|e| tracepoint_reason(category, event, &e))
            });
            match (id, result) {
                (Some(id), Ok(())) => self.set_attached(id, Backend::Tracepoint),
                (Some(id), Err(reason)) => self.set_skipped(id, reason),
                (None, Ok(())) => {}
                (None, Err(reason)) => log::warn!("{prog}: {reason}"),
            }
        }
    }

    /// `exceptions:page_fault_user`, only when `shm_fault` has no
    /// kernel-path backend (it would report the same faults twice).
    fn attach_page_fault(&mut self) {
        if let Some(backend) = self.table.backend(ids::SHM_FAULT) {
            let reason = format!("not needed: shm_fault is attached ({})", backend.as_str());
            self.set_skipped(ids::PAGE_FAULT_USER, reason);
            return;
        }
        let prog = "page_fault_user";
        let result = load_tracepoint(&mut self.ebpf, prog).and_then(|()| {
            let tp = program::<TracePoint>(&mut self.ebpf, prog)?;
            tp.attach("exceptions", "page_fault_user")
                .map(|_| ())
                .map_err(|e| tracepoint_reason("exceptions", "page_fault_user", &e))
        });
        match result {
            Ok(()) => self.set_attached(ids::PAGE_FAULT_USER, Backend::Tracepoint),
            Err(reason) => self.set_skipped(ids::PAGE_FAULT_USER, reason),
        }
    }

    /// Attaches every kernel-path probe; with a forced backend, fails when
    /// one whose function this kernel has could not be attached.
    fn attach_kernel_path(
        &mut self,
        choice: BackendChoice,
        offsets: KernelOffsets,
        excluded: ProbeSet,
    ) -> Result<(), Box<ForcedBackendError>> {
        let env =
            (choice != BackendChoice::Tracepoint).then(|| KernelPathEnv::probe(choice, offsets));
        let mut skips = Vec::new();
        for spec in KERNEL_PROBES {
            let result = if excluded.contains(spec.id) {
                Err(ProbeSkip::Excluded)
            } else if let Some(env) = &env {
                self.attach_kernel_probe(&spec, choice, env)
            } else {
                Err(ProbeSkip::TracepointChosen)
            };
            match result {
                Ok(backend) => self.set_attached(spec.id, backend),
                Err(skip) => {
                    self.set_skipped(spec.id, skip.to_string());
                    skips.push((ids::name(spec.id), skip));
                }
            }
        }
        match forced_backend_error(choice, skips, excluded.contains(ids::SHM_FAULT)) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn attach_kernel_probe(
        &mut self,
        spec: &KernelProbe,
        choice: BackendChoice,
        env: &KernelPathEnv,
    ) -> Result<Backend, ProbeSkip> {
        if let Some(kallsyms) = &env.kallsyms {
            match kallsyms.state(spec.function) {
                SymbolState::Present => {}
                SymbolState::OnlyVariant(variant) => {
                    return Err(ProbeSkip::OnlyVariant {
                        function: spec.function,
                        variant,
                    });
                }
                SymbolState::Absent => return Err(ProbeSkip::Absent(spec.function)),
            }
        }
        let missing = spec.missing_offsets(&env.offsets);
        if !missing.is_empty() {
            return Err(ProbeSkip::MissingOffsets(missing));
        }
        if spec.id == ids::SHMEM_FAULT && !self.table.is_attached(ids::SHM_FAULT) {
            return Err(ProbeSkip::NeedsShmFault);
        }
        let mut failures = Vec::new();
        // `env.btf` is read exactly when the choice allows fentry.
        if let Some(btf) = &env.btf {
            let result = match btf {
                Ok(btf) => attach_fentry(&mut self.ebpf, spec, btf),
                Err(e) => Err(BackendError::NoBtf(e.clone())),
            };
            match result {
                Ok(()) => return Ok(Backend::Fentry),
                Err(error) => failures.push(BackendFailure {
                    backend: Backend::Fentry,
                    error,
                }),
            }
        }
        if matches!(choice, BackendChoice::Auto | BackendChoice::Kprobe) {
            let result = if env.kprobe_pmu {
                attach_kprobe(&mut self.ebpf, spec)
            } else {
                Err(BackendError::NoKprobePmu)
            };
            match result {
                Ok(()) => return Ok(Backend::Kprobe),
                Err(error) => failures.push(BackendFailure {
                    backend: Backend::Kprobe,
                    error,
                }),
            }
        }
        Err(ProbeSkip::failed(failures).unwrap_or(ProbeSkip::TracepointChosen))
    }
}

/// What the kernel offers the kernel-path backends, looked up once.
struct KernelPathEnv {
    /// The kernel's BTF, read only when the choice allows fentry (`Arc`:
    /// every probe's failure keeps it as its source).
    btf: Option<Result<Btf, Arc<aya::BtfError>>>,
    kprobe_pmu: bool,
    kallsyms: Option<Kallsyms>,
    offsets: KernelOffsets,
}

impl KernelPathEnv {
    fn probe(choice: BackendChoice, offsets: KernelOffsets) -> KernelPathEnv {
        let btf = matches!(choice, BackendChoice::Auto | BackendChoice::Fentry)
            .then(|| Btf::from_sys_fs().map_err(Arc::new));
        let names: Vec<&str> = KERNEL_PROBES.iter().map(|p| p.function).collect();
        KernelPathEnv {
            btf,
            kprobe_pmu: Path::new(KPROBE_PMU_TYPE).exists(),
            kallsyms: Kallsyms::read(&names),
            offsets,
        }
    }
}

/// A program of the object as its concrete type.
fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, String>
where
    &'a mut T: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| format!("program {name} is missing from the eBPF object"))?;
    prog.try_into()
        .map_err(|e: ProgramError| format!("program {name}: {e}"))
}

/// A map of the object as its concrete type.
fn typed<'a, M, T>(map: &'a mut M, name: &'static str) -> Result<T, AttachError>
where
    T: TryFrom<&'a mut M, Error = MapError>,
{
    T::try_from(map).map_err(|source| AttachError::Map { name, source })
}

/// Loads a tracepoint program (once).
fn load_tracepoint(ebpf: &mut Ebpf, name: &str) -> Result<(), String> {
    let tp = program::<TracePoint>(ebpf, name)?;
    if tp.fd().is_ok() {
        return Ok(());
    }
    tp.load().map_err(|e| describe("load failed", &e))
}

/// The reason a tracepoint attach failed, with the usual fix when tracefs
/// is not mounted.
fn tracepoint_reason(category: &str, event: &str, err: &ProgramError) -> String {
    let mounted = Path::new("/sys/kernel/tracing/events").exists()
        || Path::new("/sys/kernel/debug/tracing/events").exists();
    if !mounted {
        return "tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing".to_string();
    }
    describe(&format!("{category}:{event}: attach failed"), err)
}

/// A kernel-path program of the object as its concrete type.
fn kernel_program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, BackendError>
where
    &'a mut T: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| BackendError::MissingProgram(name.to_string()))?;
    prog.try_into().map_err(|source| BackendError::Program {
        step: "wrong program type",
        source,
    })
}

/// The error of a failed load or attach step.
fn step(step: &'static str) -> impl FnOnce(ProgramError) -> BackendError {
    move |source| BackendError::Program { step, source }
}

/// fentry (+ fexit) on `spec.function`; on any failure nothing stays loaded.
fn attach_fentry(ebpf: &mut Ebpf, spec: &KernelProbe, btf: &Btf) -> Result<(), BackendError> {
    let entry_name = spec.program("fentry");
    let entry = kernel_program::<FEntry>(ebpf, &entry_name)?;
    entry
        .load(spec.function, btf)
        .map_err(step("load failed"))?;
    if let Err(e) = entry.attach() {
        let _ = entry.unload();
        return Err(step("attach failed")(e));
    }
    if !spec.has_return {
        return Ok(());
    }
    let exit_result = kernel_program::<FExit>(ebpf, &spec.program("fexit")).and_then(|exit| {
        exit.load(spec.function, btf)
            .map_err(step("fexit load failed"))?;
        exit.attach().map(|_| ()).map_err(|e| {
            let _ = exit.unload();
            step("fexit attach failed")(e)
        })
    });
    if exit_result.is_err()
        && let Ok(entry) = kernel_program::<FEntry>(ebpf, &entry_name)
    {
        let _ = entry.unload();
    }
    exit_result
}

/// kprobe (+ kretprobe) on `spec.function`; on any failure nothing stays loaded.
fn attach_kprobe(ebpf: &mut Ebpf, spec: &KernelProbe) -> Result<(), BackendError> {
    let entry_name = spec.program("kprobe");
    let entry = kernel_program::<KProbe>(ebpf, &entry_name)?;
    entry.load().map_err(step("load failed"))?;
    if let Err(e) = entry.attach(spec.function, 0) {
        let _ = entry.unload();
        return Err(step("attach failed")(e));
    }
    if !spec.has_return {
        return Ok(());
    }
    let exit_result = kernel_program::<KProbe>(ebpf, &spec.program("kretprobe")).and_then(|exit| {
        exit.load().map_err(step("kretprobe load failed"))?;
        exit.attach(spec.function, 0).map(|_| ()).map_err(|e| {
            let _ = exit.unload();
            step("kretprobe attach failed")(e)
        })
    });
    if exit_result.is_err()
        && let Ok(entry) = kernel_program::<KProbe>(ebpf, &entry_name)
    {
        let _ = entry.unload();
    }
    exit_result
}

/// The ring buffer size the kernel accepts: a power of two, at least a page.
pub fn ring_size(bytes: u32) -> u32 {
    bytes
        .max(4096)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
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

    #[test]
    fn privilege_error_is_one_clear_line() {
        let msg = AttachError::NotPrivileged.to_string();
        assert_eq!(
            msg,
            "ipc-trace needs CAP_BPF and CAP_PERFMON to load its probes: run it with sudo"
        );
        assert!(!msg.contains('\n'));
    }
}
