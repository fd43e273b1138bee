//! Every program of the object that the running kernel allows to load must
//! pass its verifier (needs root): kprobe/kretprobe and tracepoint programs
//! always (loading needs no kprobe PMU), fentry/fexit where the kernel's
//! facts say fentry is allowed, against their target function (for the
//! functions this kernel has). Nothing is attached. The expected count
//! comes from the object and the attach table, not from a constant.
//! Needs no file of the source tree: it runs as a copied test binary in
//! the VM matrix too.

use aya::{Btf, EbpfLoader, programs::Program};
use ipc_trace::probe::attach::ebpf_object;
use ipc_trace::probe::facts::KernelFacts;
use ipc_trace::probe::kernel_path::{KERNEL_PROBES, KernelProbe};
use ipc_trace_common::KernelOffsets;

/// Plausible, all-known offsets (the values only steer the verifier
/// through every path; nothing is attached).
fn known_offsets() -> KernelOffsets {
    KernelOffsets {
        task_nsproxy: 2400,
        nsproxy_ipc_ns: 16,
        ipc_ns_inum: 1000,
        ipc_params_key: 0,
        ipc_params_flg: 4,
        ipc_params_u: 8,
        vm_fault_vma: 0,
        vm_fault_address: 24,
        vm_fault_pgoff: 16,
        vm_fault_flags: 12,
        vma_vm_start: 0,
        vma_vm_end: 8,
        vma_vm_file: 160,
        file_private_data: 200,
        shm_file_data_id: 0,
        ipc_perm_id: 8,
        ipc_perm_key: 12,
        shmid_kernel_perm: 0,
        shmid_kernel_segsz: 184,
        _pad: 0,
    }
}

/// The kernel-path probe a fentry/fexit program belongs to.
fn probe_of(program: &str) -> Option<&'static KernelProbe> {
    let suffix = program
        .strip_prefix("fentry_")
        .or_else(|| program.strip_prefix("fexit_"))?;
    KERNEL_PROBES.iter().find(|p| p.programs == suffix)
}

#[test]
fn every_program_the_kernel_allows_passes_its_verifier() {
    let facts = KernelFacts::gather();
    let fentry = match facts.fentry_allowed {
        Some(allowed) => allowed,
        None => panic!("fentry trial not run (needs root): {}", facts.fentry_detail),
    };
    let btf = if fentry {
        Some(Btf::from_sys_fs().expect("fentry is allowed, so the kernel has BTF"))
    } else {
        None
    };
    eprintln!(
        "kernel {}: fentry {} ({})",
        facts.kernel_release,
        if fentry { "allowed" } else { "refused" },
        facts.fentry_detail
    );
    let offsets = known_offsets();
    let mut ebpf = EbpfLoader::new()
        .override_global("KERNEL_OFFSETS", &offsets, true)
        .load(ebpf_object())
        .expect("object loads (run as root)");
    let names: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
    let (mut kprobes, mut tracepoints, mut tracing) = (0, 0, 0);
    let mut expected = 0;
    let mut loaded = 0;
    let mut failures = Vec::new();
    for name in &names {
        let Some(prog) = ebpf.program_mut(name) else {
            failures.push(format!("{name}: listed but not found"));
            continue;
        };
        let result = match prog {
            Program::KProbe(p) => {
                kprobes += 1;
                expected += 1;
                p.load()
            }
            Program::TracePoint(p) => {
                tracepoints += 1;
                expected += 1;
                p.load()
            }
            Program::FEntry(_) | Program::FExit(_) => {
                tracing += 1;
                let target = probe_of(name).unwrap_or_else(|| panic!("{name}: no probe"));
                let Some(btf) = btf.as_ref().filter(|_| facts.function_present(target.id)) else {
                    continue;
                };
                expected += 1;
                match prog {
                    Program::FEntry(p) => p.load(target.function, btf),
                    Program::FExit(p) => p.load(target.function, btf),
                    _ => continue,
                }
            }
            other => {
                failures.push(format!("{name}: unexpected program type {other:?}"));
                continue;
            }
        };
        match result {
            Ok(()) => loaded += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "verifier rejected:\n{}",
        failures.join("\n\n")
    );
    // The object has one entry and one return program per probe with a
    // return half, per kernel-path backend, as the attach table says.
    let per_backend = KERNEL_PROBES.len() + KERNEL_PROBES.iter().filter(|p| p.has_return).count();
    assert_eq!(
        kprobes, per_backend,
        "kprobe/kretprobe programs in the object"
    );
    assert_eq!(tracing, per_backend, "fentry/fexit programs in the object");
    assert!(tracepoints > 0, "no tracepoint programs in the object");
    assert_eq!(
        loaded, expected,
        "programs loaded of those the kernel allows"
    );
    if fentry {
        assert!(
            loaded > kprobes + tracepoints,
            "fentry is allowed but none loaded"
        );
    }
}
