//! The kernel-path programs cannot be attached on this host (no kprobes,
//! fentry refused), but the kprobe/kretprobe ones can be loaded: with
//! every offset known, the host kernel's verifier must accept all of them
//! (and the tracepoint programs), proving their bodies verify.

use aya::{EbpfLoader, programs::Program};
use ipc_trace::probe::attach::ebpf_object;
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

#[test]
fn kprobe_and_tracepoint_programs_pass_the_host_verifier() {
    let offsets = known_offsets();
    let mut ebpf = EbpfLoader::new()
        .override_global("KERNEL_OFFSETS", &offsets, true)
        .load(ebpf_object())
        .expect("object loads (run as root)");
    let names: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
    let mut loaded = 0;
    let mut failures = Vec::new();
    for name in &names {
        let Some(prog) = ebpf.program_mut(name) else {
            continue;
        };
        let result = match prog {
            Program::KProbe(p) => p.load(),
            Program::TracePoint(p) => p.load(),
            _ => continue,
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
    // 10 kprobe + 7 kretprobe + 7 tracepoint programs.
    assert_eq!(loaded, 24, "programs loaded");
}
