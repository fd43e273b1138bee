//! What the kernel's facts say must become of each kernel-path probe, and
//! a check of a probe table against it. The host tests and the VM matrix
//! use this so one assertion holds on every kernel: where a backend is
//! available a probe whose function exists must be attached with it;
//! where not, it must be skipped with the reason that names why.

use super::ProbeTable;
use super::attach::{BackendChoice, EXCLUDED_REASON};
use super::facts::KernelFacts;
use super::kernel_path::{KERNEL_PROBES, KernelProbe, ProbeSet};
use crate::event::Backend;
use ipc_trace_common::{KernelOffsets, probe as ids};

/// What must become of one kernel-path probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Attached with this backend.
    Attached(Backend),
    /// Not attached; the reason contains every one of these fragments.
    Skipped(Vec<&'static str>),
}

/// Everything the expectation depends on besides the kernel's facts.
#[derive(Clone, Copy, Debug)]
pub struct Setup<'a> {
    /// The backend policy the table was attached with.
    pub choice: BackendChoice,
    /// The offsets the table was attached with.
    pub offsets: &'a KernelOffsets,
    /// `--exclude-probe`.
    pub excluded: ProbeSet,
}

/// The backend `choice` must give a probe whose function exists and whose
/// offsets are known, or the reason fragments when the kernel allows none.
fn backend_for(facts: &KernelFacts, choice: BackendChoice) -> Expected {
    let fentry = facts.fentry_allowed == Some(true);
    let kprobe = facts.kprobe_pmu;
    let fentry_ok = matches!(choice, BackendChoice::Auto | BackendChoice::Fentry) && fentry;
    let kprobe_ok = matches!(choice, BackendChoice::Auto | BackendChoice::Kprobe) && kprobe;
    if fentry_ok {
        return Expected::Attached(Backend::Fentry);
    }
    if kprobe_ok {
        return Expected::Attached(Backend::Kprobe);
    }
    match choice {
        BackendChoice::Tracepoint => Expected::Skipped(vec!["backend tracepoint chosen"]),
        BackendChoice::Fentry => Expected::Skipped(vec!["fentry:"]),
        BackendChoice::Kprobe => Expected::Skipped(vec!["kprobe: kprobes missing"]),
        BackendChoice::Auto => {
            let mut why = vec!["fentry:"];
            if !kprobe {
                why.push("kprobe: kprobes missing");
            }
            Expected::Skipped(why)
        }
    }
}

/// What must become of `spec` on a kernel with `facts`.
pub fn expected(facts: &KernelFacts, spec: &KernelProbe, setup: Setup<'_>) -> Expected {
    if setup.excluded.contains(spec.id) {
        return Expected::Skipped(vec![EXCLUDED_REASON]);
    }
    if setup.choice == BackendChoice::Tracepoint {
        return Expected::Skipped(vec!["backend tracepoint chosen"]);
    }
    if !facts.function_present(spec.id) {
        return Expected::Skipped(vec!["not in this kernel"]);
    }
    if !spec.missing_offsets(setup.offsets).is_empty() {
        return Expected::Skipped(vec!["kernel BTF lacks"]);
    }
    if spec.id == ids::SHMEM_FAULT {
        let shm_fault = KERNEL_PROBES.iter().find(|p| p.id == ids::SHM_FAULT);
        if let Some(shm_fault) = shm_fault
            && !matches!(expected(facts, shm_fault, setup), Expected::Attached(_))
        {
            return Expected::Skipped(vec!["beneath shm_fault"]);
        }
    }
    backend_for(facts, setup.choice)
}

/// Every way `table` differs from what `facts` and `setup` require, one
/// line each (empty when it matches): tracepoints attached, each
/// kernel-path probe as [`expected`] says, `page_fault_user` attached
/// exactly when `shm_fault` is not.
pub fn check_table(facts: &KernelFacts, table: &ProbeTable, setup: Setup<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    for row in &table.probes[..(ids::FIRST_KERNEL_PATH as usize).min(table.probes.len())] {
        let name = row.name.as_str();
        let want = if name == ids::name(ids::PAGE_FAULT_USER) {
            !table.is_attached(ids::SHM_FAULT)
        } else {
            true
        };
        if row.attached != want {
            problems.push(format!(
                "{name}: attached {} but must be {want} ({:?})",
                row.attached, row.reason
            ));
        }
    }
    for spec in &KERNEL_PROBES {
        let name = ids::name(spec.id);
        let Some(row) = table.get(spec.id) else {
            problems.push(format!("{name}: no row in the probe table"));
            continue;
        };
        match expected(facts, spec, setup) {
            Expected::Attached(backend) => {
                if !row.attached || row.backend != Some(backend) {
                    problems.push(format!(
                        "{name}: must be attached with {} (function present, backend available), got attached {} backend {:?}: {}",
                        backend.as_str(),
                        row.attached,
                        row.backend,
                        row.reason.as_deref().unwrap_or("no reason")
                    ));
                }
            }
            Expected::Skipped(fragments) => {
                let reason = row.reason.as_deref().unwrap_or("");
                if row.attached {
                    problems.push(format!(
                        "{name}: attached but must be skipped ({})",
                        fragments.join(", ")
                    ));
                } else if let Some(missing) = fragments.iter().find(|f| !reason.contains(**f)) {
                    problems.push(format!(
                        "{name}: reason {reason:?} does not say {missing:?}"
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::facts::FunctionFact;

    fn facts(kprobe_pmu: bool, fentry: Option<bool>, absent: &[u8]) -> KernelFacts {
        KernelFacts {
            kernel_release: "test".into(),
            btf_present: true,
            btf_missing_offsets: Vec::new(),
            kprobe_pmu,
            fentry_allowed: fentry,
            fentry_detail: String::new(),
            functions: KERNEL_PROBES
                .iter()
                .map(|p| FunctionFact {
                    probe: ids::name(p.id).to_string(),
                    function: p.function.to_string(),
                    in_kallsyms: !absent.contains(&p.id),
                })
                .collect(),
        }
    }

    fn known_offsets() -> KernelOffsets {
        let mut o = KernelOffsets::UNKNOWN;
        o.ipc_params_key = 0;
        o.ipc_params_flg = 4;
        o.ipc_params_u = 8;
        o.vm_fault_vma = 0;
        o.vm_fault_address = 24;
        o.vm_fault_pgoff = 16;
        o.vm_fault_flags = 8;
        o.vma_vm_start = 0;
        o.vma_vm_end = 8;
        o.vma_vm_file = 160;
        o.file_private_data = 200;
        o.shm_file_data_id = 0;
        o.ipc_perm_id = 8;
        o.ipc_perm_key = 12;
        o.shmid_kernel_perm = 0;
        o.shmid_kernel_segsz = 184;
        o
    }

    fn setup(choice: BackendChoice, offsets: &KernelOffsets) -> Setup<'_> {
        Setup {
            choice,
            offsets,
            excluded: ProbeSet::EMPTY,
        }
    }

    /// A table as attach would fill it on a kernel where `backend` works
    /// for every probe whose function is present.
    fn table_with(backend: Option<Backend>, absent: &[u8], reason: &str) -> ProbeTable {
        let mut table = ProbeTable::unattached();
        for row in table
            .probes
            .iter_mut()
            .take(ids::FIRST_KERNEL_PATH as usize)
        {
            row.attached = true;
            row.backend = Some(Backend::Tracepoint);
        }
        for p in KERNEL_PROBES {
            let Some(row) = table.get_mut(p.id) else {
                continue;
            };
            match backend {
                Some(b) if !absent.contains(&p.id) => {
                    row.attached = true;
                    row.backend = Some(b);
                }
                _ if absent.contains(&p.id) => {
                    row.reason = Some("not in this kernel: x is not in /proc/kallsyms".into());
                }
                _ => row.reason = Some(reason.to_string()),
            }
        }
        if backend.is_some()
            && let Some(row) = table.get_mut(ids::PAGE_FAULT_USER)
        {
            row.attached = false;
            row.backend = None;
        }
        table
    }

    #[test]
    fn a_kprobe_kernel_table_with_everything_attached_passes() {
        let o = known_offsets();
        let f = facts(true, Some(false), &[ids::DO_SEMTIMEDOP_INNER]);
        let table = table_with(Some(Backend::Kprobe), &[ids::DO_SEMTIMEDOP_INNER], "");
        let problems = check_table(&f, &table, setup(BackendChoice::Auto, &o));
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// The negative control: kprobes available, one present probe not attached.
    #[test]
    fn kprobes_available_but_a_probe_not_attached_is_rejected() {
        let o = known_offsets();
        let f = facts(true, Some(false), &[]);
        let mut table = table_with(Some(Backend::Kprobe), &[], "");
        if let Some(row) = table.get_mut(ids::NEWSEG) {
            row.attached = false;
            row.backend = None;
            row.reason = Some("kprobe: attach failed: ENOENT".into());
        }
        let problems = check_table(&f, &table, setup(BackendChoice::Auto, &o));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("newseg: must be attached with kprobe"));
        // Attached, but with the wrong backend (fentry is the one allowed).
        let f = facts(true, Some(true), &[]);
        let table = table_with(Some(Backend::Kprobe), &[], "");
        let problems = check_table(&f, &table, setup(BackendChoice::Auto, &o));
        assert_eq!(problems.len(), KERNEL_PROBES.len(), "{problems:?}");
    }

    #[test]
    fn a_locked_down_kprobeless_kernel_must_say_why() {
        let o = known_offsets();
        let f = facts(false, Some(false), &[]);
        let reason = "fentry: load failed: EPERM (kernel lockdown: integrity); kprobe: kprobes missing: no kprobe PMU";
        let mut table = table_with(None, &[], reason);
        if let Some(row) = table.get_mut(ids::SHMEM_FAULT) {
            row.reason =
                Some("not attached: shmem_fault is only reported beneath shm_fault".into());
        }
        let s = setup(BackendChoice::Auto, &o);
        assert!(
            check_table(&f, &table, s).is_empty(),
            "{:?}",
            check_table(&f, &table, s)
        );
        // A probe attached anyway, and a reason that does not name kprobes.
        if let Some(row) = table.get_mut(ids::NEWARY) {
            row.attached = true;
            row.backend = Some(Backend::Kprobe);
        }
        if let Some(row) = table.get_mut(ids::FREEARY) {
            row.reason = Some("fentry: load failed: EPERM".into());
        }
        let problems = check_table(&f, &table, s);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("newary: attached but must be skipped"));
        assert!(problems[1].contains("kprobes missing"), "{problems:?}");
    }

    #[test]
    fn absent_excluded_and_offsetless_probes_are_skipped() {
        let o = known_offsets();
        let f = facts(true, Some(true), &[ids::DO_SEMTIMEDOP_INNER]);
        let inner = &KERNEL_PROBES[6];
        let mut s = setup(BackendChoice::Kprobe, &o);
        assert_eq!(
            expected(&f, inner, s),
            Expected::Skipped(vec!["not in this kernel"])
        );
        assert_eq!(
            expected(&f, &KERNEL_PROBES[0], s),
            Expected::Attached(Backend::Kprobe)
        );
        s.excluded = [ids::SHM_FAULT].into_iter().collect();
        let shmem = &KERNEL_PROBES[3];
        assert_eq!(shmem.id, ids::SHMEM_FAULT);
        assert_eq!(
            expected(&f, shmem, s),
            Expected::Skipped(vec!["beneath shm_fault"])
        );
        assert_eq!(
            expected(&f, &KERNEL_PROBES[2], s),
            Expected::Skipped(vec![EXCLUDED_REASON])
        );
        let unknown = KernelOffsets::UNKNOWN;
        let s = setup(BackendChoice::Auto, &unknown);
        assert_eq!(
            expected(&f, &KERNEL_PROBES[0], s),
            Expected::Skipped(vec!["kernel BTF lacks"])
        );
        // do_shmat reads no offsets: attached with fentry, the preferred one.
        assert_eq!(
            expected(&f, &KERNEL_PROBES[1], s),
            Expected::Attached(Backend::Fentry)
        );
    }
}
