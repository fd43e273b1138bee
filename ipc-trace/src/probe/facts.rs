//! What the running kernel lets the kernel-path probes use, measured
//! rather than guessed: the kprobe PMU, whether a fentry program really
//! loads and attaches, BTF, and which hooked functions exist. `doctor
//! --json` prints these; the host tests and the VM matrix read them to
//! decide what must attach.

use super::attach::ebpf_object;
use super::kallsyms::{Kallsyms, SymbolState};
use super::kernel_path::KERNEL_PROBES;
use super::privilege::Privileges;
use super::{btf, reason::describe, system};
use aya::{EbpfLoader, programs::FEntry};
use ipc_trace_common::probe as ids;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Exists when the kernel can create perf-event kprobes (`CONFIG_KPROBE_EVENTS`).
pub const KPROBE_PMU_TYPE: &str = "/sys/bus/event_source/devices/kprobe/type";

/// Whether one kernel-path probe's function is in `/proc/kallsyms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionFact {
    /// Probe name, as in the probe table.
    pub probe: String,
    /// The kernel function it hooks.
    pub function: String,
    /// The exact symbol is in `/proc/kallsyms` (a compiler-specialised
    /// `name.isra.0` alone does not count: it cannot be hooked by name).
    pub in_kallsyms: bool,
}

/// The kernel's facts for the kernel-path backends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelFacts {
    /// `uname -r`.
    pub kernel_release: String,
    /// `/sys/kernel/btf/vmlinux` exists.
    pub btf_present: bool,
    /// `"struct.member"` offsets the kernel's BTF lacks (all of them when
    /// there is no BTF).
    pub btf_missing_offsets: Vec<String>,
    /// The kprobe PMU is registered (kprobes can be attached).
    pub kprobe_pmu: bool,
    /// A fentry program of the object loaded and attached against a
    /// present function (then was removed). `None` when it could not be
    /// tried (no privileges, no function to try it on).
    pub fentry_allowed: Option<bool>,
    /// What the fentry trial did, e.g. `fentry on do_shmat: load failed:
    /// EPERM (kernel lockdown: integrity)`.
    pub fentry_detail: String,
    /// One row per kernel-path probe, in probe-id order.
    pub functions: Vec<FunctionFact>,
}

impl KernelFacts {
    /// Measures the running kernel. The fentry trial loads one program of
    /// the embedded object, attaches it for a moment and drops it.
    pub fn gather() -> KernelFacts {
        let system = system::gather();
        let functions = function_facts();
        let (fentry_allowed, fentry_detail) = if let Some(msg) = Privileges::gather().error_line() {
            (None, format!("not tried: {msg}"))
        } else {
            try_fentry(&functions)
        };
        let (_, btf_missing_offsets) = kernel_offsets();
        KernelFacts {
            kernel_release: system.kernel_release,
            btf_present: system.btf_present,
            btf_missing_offsets,
            kprobe_pmu: Path::new(KPROBE_PMU_TYPE).exists(),
            fentry_allowed,
            fentry_detail,
            functions,
        }
    }

    /// True when probe `id`'s function is in kallsyms (false for unknown ids).
    pub fn function_present(&self, id: u8) -> bool {
        let name = ids::name(id);
        self.functions
            .iter()
            .any(|f| f.probe == name && f.in_kallsyms)
    }
}

/// Kernel struct offsets from the running kernel's BTF, and the
/// `"struct.member"` names it lacks (or why there is no BTF at all).
pub fn kernel_offsets() -> (ipc_trace_common::KernelOffsets, Vec<String>) {
    match btf::Btf::from_file(Path::new(btf::VMLINUX_BTF)) {
        Ok(b) => btf::kernel_offsets(&b),
        Err(e) => (
            ipc_trace_common::KernelOffsets::UNKNOWN,
            vec![format!("no kernel BTF ({e})")],
        ),
    }
}

/// Looks every kernel-path probe's function up in `/proc/kallsyms`; when
/// it cannot be read, every function counts as absent.
pub fn function_facts() -> Vec<FunctionFact> {
    let names: Vec<&str> = KERNEL_PROBES.iter().map(|p| p.function).collect();
    let kallsyms = Kallsyms::read(&names).unwrap_or_default();
    KERNEL_PROBES
        .iter()
        .map(|p| FunctionFact {
            probe: ids::name(p.id).to_string(),
            function: p.function.to_string(),
            in_kallsyms: kallsyms.state(p.function) == SymbolState::Present,
        })
        .collect()
}

/// Loads and attaches the fentry program of the first probe whose function
/// is present (preferring `do_shmat`, which reads no struct offsets), the
/// way `attach` does.
fn try_fentry(functions: &[FunctionFact]) -> (Option<bool>, String) {
    let present = |id: u8| {
        functions
            .iter()
            .any(|f| f.probe == ids::name(id) && f.in_kallsyms)
    };
    let Some(spec) = std::iter::once(ids::DO_SHMAT)
        .chain(KERNEL_PROBES.iter().map(|p| p.id))
        .find(|&id| present(id))
        .and_then(|id| KERNEL_PROBES.iter().find(|p| p.id == id))
    else {
        return (
            None,
            "not tried: no hooked function is in /proc/kallsyms".into(),
        );
    };
    let btf = match crate::probe::btf::Btf::aya_kernel() {
        Ok(btf) => btf,
        Err(e) => return (Some(false), format!("no kernel BTF: {e}")),
    };
    let mut ebpf = match EbpfLoader::new()
        .map_max_entries("EVENTS", 4096)
        .load(ebpf_object())
    {
        Ok(ebpf) => ebpf,
        Err(e) => return (None, format!("not tried: cannot load the eBPF object: {e}")),
    };
    let name = spec.program("fentry");
    let Some(prog) = ebpf.program_mut(&name) else {
        return (None, format!("not tried: no program {name} in the object"));
    };
    let entry: &mut FEntry = match prog.try_into() {
        Ok(entry) => entry,
        Err(e) => return (None, format!("not tried: program {name}: {e}")),
    };
    let what = format!("fentry on {}", spec.function);
    if let Err(e) = entry.load(spec.function, &btf) {
        return (Some(false), describe(&format!("{what}: load failed"), &e));
    }
    match entry.attach() {
        Ok(_) => (Some(true), format!("{what}: loaded and attached")),
        Err(e) => (Some(false), describe(&format!("{what}: attach failed"), &e)),
    }
}
