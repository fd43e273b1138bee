//! Attaching the kernel-path probes: for each function, fentry/fexit where
//! the choice and the kernel allow it, else kprobe/kretprobe, else the
//! reason it is not attached.

use std::path::Path;
use std::sync::Arc;

use aya::{
    Btf, Ebpf,
    programs::{FEntry, FExit, KProbe, Program, ProgramError},
};
use ipc_trace_common::{KernelOffsets, probe as ids, switch};

use super::{AttachOptions, BackendChoice, Tracer};
use crate::event::Backend;
use crate::probe::{
    banner,
    facts::KPROBE_PMU_TYPE,
    kallsyms::{Kallsyms, SymbolState},
    kernel_path::{KERNEL_PROBES, KernelProbe},
    skip::{BackendError, BackendFailure, ForcedBackendError, ProbeSkip, forced_backend_error},
};

impl Tracer {
    /// Attaches every kernel-path probe; with a forced backend, fails when
    /// one whose function this kernel has could not be attached.
    pub(super) fn attach_kernel_path(
        &mut self,
        opts: &AttachOptions,
    ) -> Result<(), Box<ForcedBackendError>> {
        let (choice, excluded) = (opts.backend, opts.excluded);
        let env = (choice != BackendChoice::Tracepoint)
            .then(|| KernelPathEnv::probe(choice, opts.kernel_offsets, opts.use_kernel_btf));
        // Missing offsets are "no BTF" when there is none at all.
        let no_btf = if !opts.use_kernel_btf {
            Some(banner::NO_BTF_CHOSEN)
        } else if opts.kernel_offsets == KernelOffsets::UNKNOWN {
            Some("no BTF: no struct offsets for the probes that read kernel structs")
        } else {
            None
        };
        let mut skips = Vec::new();
        // On while the probes are being attached: a record stashed by one
        // that is attached already must be completed if its return is missed.
        self.set_switch(switch::KERNEL_PATH, env.is_some());
        let mut attached = 0;
        for spec in KERNEL_PROBES {
            let result = if excluded.contains(spec.id) {
                Err(ProbeSkip::Excluded)
            } else if let Some(env) = &env {
                self.attach_kernel_probe(&spec, choice, env)
            } else {
                Err(ProbeSkip::TracepointChosen)
            };
            match result {
                Ok(backend) => {
                    self.set_attached(spec.id, backend);
                    attached += 1;
                }
                Err(skip) => {
                    self.causes.insert(spec.id, banner::causes(&skip, no_btf));
                    self.set_skipped(spec.id, skip.to_string());
                    skips.push((ids::name(spec.id), skip));
                }
            }
        }
        self.set_switch(switch::KERNEL_PATH, attached > 0);
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
                FentryBtf::Loaded(btf) => attach_fentry(&mut self.ebpf, spec, btf),
                FentryBtf::Missing(e) => Err(BackendError::NoBtf(e.clone())),
                FentryBtf::Disabled => Err(BackendError::BtfDisabled),
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
    /// The kernel's BTF, read only when the choice allows fentry.
    btf: Option<FentryBtf>,
    kprobe_pmu: bool,
    kallsyms: Option<Kallsyms>,
    offsets: KernelOffsets,
}

/// What fentry/fexit programs are loaded against: always the running
/// kernel's BTF (the kernel resolves their function ids in it).
enum FentryBtf {
    Loaded(Btf),
    /// No kernel BTF (`Arc`: every probe's failure keeps it as its source).
    Missing(Arc<aya::BtfError>),
    /// `--btf none`.
    Disabled,
}

impl KernelPathEnv {
    fn probe(choice: BackendChoice, offsets: KernelOffsets, use_btf: bool) -> KernelPathEnv {
        let btf = matches!(choice, BackendChoice::Auto | BackendChoice::Fentry).then(|| {
            if !use_btf {
                return FentryBtf::Disabled;
            }
            match crate::probe::btf::Btf::aya_kernel() {
                Ok(btf) => FentryBtf::Loaded(btf),
                Err(e) => FentryBtf::Missing(Arc::new(e)),
            }
        });
        let names: Vec<&str> = KERNEL_PROBES.iter().map(|p| p.function).collect();
        KernelPathEnv {
            btf,
            kprobe_pmu: Path::new(KPROBE_PMU_TYPE).exists(),
            kallsyms: Kallsyms::read(&names),
            offsets,
        }
    }
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

/// A kernel-path program type: how it loads, attaches and unloads, given
/// what its backend needs (`Btf` for fentry/fexit, nothing for kprobes).
trait Hook<Ctx> {
    fn load_for(&mut self, function: &str, ctx: &Ctx) -> Result<(), ProgramError>;
    fn attach_to(&mut self, function: &str) -> Result<(), ProgramError>;
    fn unload_now(&mut self);
}

/// fentry and fexit load against BTF and attach to the function they were
/// loaded for; aya gives them the same methods on two types.
macro_rules! btf_hook {
    ($($ty:ty),+) => {$(
        impl Hook<Btf> for $ty {
            fn load_for(&mut self, function: &str, btf: &Btf) -> Result<(), ProgramError> {
                self.load(function, btf)
            }
            fn attach_to(&mut self, _: &str) -> Result<(), ProgramError> {
                self.attach().map(|_| ())
            }
            fn unload_now(&mut self) {
                let _ = self.unload();
            }
        }
    )+};
}

btf_hook!(FEntry, FExit);

impl Hook<()> for KProbe {
    fn load_for(&mut self, _: &str, _: &()) -> Result<(), ProgramError> {
        self.load()
    }
    fn attach_to(&mut self, function: &str) -> Result<(), ProgramError> {
        self.attach(function, 0).map(|_| ())
    }
    fn unload_now(&mut self) {
        let _ = self.unload();
    }
}

/// The program prefixes and failure steps of one backend.
struct Pair {
    entry: &'static str,
    exit: &'static str,
    exit_load_failed: &'static str,
    exit_attach_failed: &'static str,
}

const FENTRY_PAIR: Pair = Pair {
    entry: "fentry",
    exit: "fexit",
    exit_load_failed: "fexit load failed",
    exit_attach_failed: "fexit attach failed",
};

const KPROBE_PAIR: Pair = Pair {
    entry: "kprobe",
    exit: "kretprobe",
    exit_load_failed: "kretprobe load failed",
    exit_attach_failed: "kretprobe attach failed",
};

/// fentry (+ fexit) on `spec.function`; on any failure nothing stays loaded.
fn attach_fentry(ebpf: &mut Ebpf, spec: &KernelProbe, btf: &Btf) -> Result<(), BackendError> {
    attach_pair::<FEntry, FExit, Btf>(ebpf, spec, &FENTRY_PAIR, btf)
}

/// kprobe (+ kretprobe) on `spec.function`; on any failure nothing stays loaded.
fn attach_kprobe(ebpf: &mut Ebpf, spec: &KernelProbe) -> Result<(), BackendError> {
    attach_pair::<KProbe, KProbe, ()>(ebpf, spec, &KPROBE_PAIR, &())
}

/// The entry program on `spec.function`, then its return program when the
/// probe has one; on any failure both are unloaded again.
fn attach_pair<E, X, Ctx>(
    ebpf: &mut Ebpf,
    spec: &KernelProbe,
    pair: &Pair,
    ctx: &Ctx,
) -> Result<(), BackendError>
where
    E: Hook<Ctx>,
    X: Hook<Ctx>,
    for<'a> &'a mut E: TryFrom<&'a mut Program, Error = ProgramError>,
    for<'a> &'a mut X: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let entry_name = spec.program(pair.entry);
    let entry = kernel_program::<E>(ebpf, &entry_name)?;
    entry
        .load_for(spec.function, ctx)
        .map_err(step("load failed"))?;
    if let Err(e) = entry.attach_to(spec.function) {
        entry.unload_now();
        return Err(step("attach failed")(e));
    }
    if !spec.has_return {
        return Ok(());
    }
    let exit_result = kernel_program::<X>(ebpf, &spec.program(pair.exit)).and_then(|exit| {
        exit.load_for(spec.function, ctx)
            .map_err(step(pair.exit_load_failed))?;
        exit.attach_to(spec.function).map_err(|e| {
            exit.unload_now();
            step(pair.exit_attach_failed)(e)
        })
    });
    if exit_result.is_err()
        && let Ok(entry) = kernel_program::<E>(ebpf, &entry_name)
    {
        entry.unload_now();
    }
    exit_result
}
