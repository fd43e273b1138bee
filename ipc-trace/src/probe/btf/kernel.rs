//! The kernel struct members ipc-trace's programs read, resolved from BTF
//! into `KernelOffsets`, and which probe needs which of them.

use super::Btf;
use ipc_trace_common::probe as ids;
use ipc_trace_common::{KernelOffsets, OFFSET_UNKNOWN};

/// One `KernelOffsets` field: the members whose offsets add up to it, and
/// where to store the sum.
struct Field {
    parts: &'static [(&'static str, &'static str)],
    store: fn(&mut KernelOffsets, u32),
}

/// Every field of `KernelOffsets`, in declaration order.
const FIELDS: &[Field] = &[
    Field {
        parts: &[("task_struct", "nsproxy")],
        store: |o, v| o.task_nsproxy = v,
    },
    Field {
        parts: &[("nsproxy", "ipc_ns")],
        store: |o, v| o.nsproxy_ipc_ns = v,
    },
    Field {
        parts: &[("ipc_namespace", "ns"), ("ns_common", "inum")],
        store: |o, v| o.ipc_ns_inum = v,
    },
    Field {
        parts: &[("ipc_params", "key")],
        store: |o, v| o.ipc_params_key = v,
    },
    Field {
        parts: &[("ipc_params", "flg")],
        store: |o, v| o.ipc_params_flg = v,
    },
    Field {
        parts: &[("ipc_params", "u")],
        store: |o, v| o.ipc_params_u = v,
    },
    Field {
        parts: &[("vm_fault", "vma")],
        store: |o, v| o.vm_fault_vma = v,
    },
    Field {
        parts: &[("vm_fault", "address")],
        store: |o, v| o.vm_fault_address = v,
    },
    Field {
        parts: &[("vm_fault", "pgoff")],
        store: |o, v| o.vm_fault_pgoff = v,
    },
    Field {
        parts: &[("vm_fault", "flags")],
        store: |o, v| o.vm_fault_flags = v,
    },
    Field {
        parts: &[("vm_area_struct", "vm_start")],
        store: |o, v| o.vma_vm_start = v,
    },
    Field {
        parts: &[("vm_area_struct", "vm_end")],
        store: |o, v| o.vma_vm_end = v,
    },
    Field {
        parts: &[("vm_area_struct", "vm_file")],
        store: |o, v| o.vma_vm_file = v,
    },
    Field {
        parts: &[("file", "private_data")],
        store: |o, v| o.file_private_data = v,
    },
    Field {
        parts: &[("shm_file_data", "id")],
        store: |o, v| o.shm_file_data_id = v,
    },
    Field {
        parts: &[("kern_ipc_perm", "id")],
        store: |o, v| o.ipc_perm_id = v,
    },
    Field {
        parts: &[("kern_ipc_perm", "key")],
        store: |o, v| o.ipc_perm_key = v,
    },
    Field {
        parts: &[("shmid_kernel", "shm_perm")],
        store: |o, v| o.shmid_kernel_perm = v,
    },
    Field {
        parts: &[("shmid_kernel", "shm_segsz")],
        store: |o, v| o.shmid_kernel_segsz = v,
    },
];

/// Resolves every `KernelOffsets` field from `btf`. Fields the BTF cannot
/// provide stay `OFFSET_UNKNOWN`; the second value lists the missing
/// members as `"struct.member"` (the names [`offsets_needed_by`] uses),
/// in field order.
pub fn kernel_offsets(btf: &Btf) -> (KernelOffsets, Vec<String>) {
    let mut offsets = KernelOffsets::UNKNOWN;
    let mut missing = Vec::new();
    for field in FIELDS {
        let mut sum = Some(0u32);
        for (struct_name, member) in field.parts {
            match btf.member_offset(struct_name, member) {
                Ok(off) => sum = sum.and_then(|s| s.checked_add(off)),
                Err(err) => {
                    log::debug!("{err}");
                    missing.push(format!("{struct_name}.{member}"));
                    sum = None;
                }
            }
        }
        if let Some(sum) = sum.filter(|&s| s != OFFSET_UNKNOWN) {
            (field.store)(&mut offsets, sum);
        }
    }
    (offsets, missing)
}

/// The chain from the current task to its IPC namespace's inode number.
const IPC_NS_CHAIN: &[&str] = &[
    "task_struct.nsproxy",
    "nsproxy.ipc_ns",
    "ipc_namespace.ns",
    "ns_common.inum",
];
const NEWSEG_NEWARY: &[&str] = &[
    "ipc_params.key",
    "ipc_params.flg",
    "ipc_params.u",
    "task_struct.nsproxy",
    "nsproxy.ipc_ns",
    "ipc_namespace.ns",
    "ns_common.inum",
];
const FAULT: &[&str] = &[
    "vm_fault.vma",
    "vm_fault.address",
    "vm_fault.pgoff",
    "vm_fault.flags",
    "vm_area_struct.vm_start",
    "vm_area_struct.vm_file",
    "file.private_data",
    "shm_file_data.id",
];
const SHM_DESTROY: &[&str] = &[
    "shmid_kernel.shm_perm",
    "shmid_kernel.shm_segsz",
    "kern_ipc_perm.id",
    "kern_ipc_perm.key",
];
const SHM_CLOSE: &[&str] = &[
    "vm_area_struct.vm_start",
    "vm_area_struct.vm_end",
    "vm_area_struct.vm_file",
    "file.private_data",
    "shm_file_data.id",
];
const FREEARY: &[&str] = &["kern_ipc_perm.id", "kern_ipc_perm.key"];

/// The `"struct.member"` offsets a kernel-path probe (an
/// `ipc_trace_common::probe` id) reads. Tracepoint probes and unknown ids
/// need none.
pub fn offsets_needed_by(probe_id: u8) -> &'static [&'static str] {
    match probe_id {
        ids::NEWSEG | ids::NEWARY => NEWSEG_NEWARY,
        ids::SHM_FAULT | ids::SHMEM_FAULT => FAULT,
        ids::SHM_DESTROY => SHM_DESTROY,
        ids::SHM_CLOSE => SHM_CLOSE,
        ids::FREEARY => FREEARY,
        ids::DO_SHMAT | ids::DO_SEMTIMEDOP | ids::DO_SEMTIMEDOP_INNER => IPC_NS_CHAIN,
        _ => &[],
    }
}

/// Why probe `probe_id` cannot run with the offsets at hand, e.g.
/// `"BTF lacks shm_file_data.id"`; `None` when nothing it needs is in
/// `missing` (the list [`kernel_offsets`] returned).
pub fn missing_offsets_reason(probe_id: u8, missing: &[String]) -> Option<String> {
    let lacking: Vec<&str> = offsets_needed_by(probe_id)
        .iter()
        .copied()
        .filter(|needed| missing.iter().any(|m| m == needed))
        .collect();
    if lacking.is_empty() {
        None
    } else {
        Some(format!("BTF lacks {}", lacking.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name a probe needs must be one `kernel_offsets` can report
    /// missing, or a probe would never be skipped for it.
    #[test]
    fn every_needed_name_is_a_known_field() {
        let known: Vec<String> = FIELDS
            .iter()
            .flat_map(|f| f.parts.iter().map(|(s, m)| format!("{s}.{m}")))
            .collect();
        for id in 0..ids::COUNT as u8 {
            for needed in offsets_needed_by(id) {
                assert!(
                    known.iter().any(|k| k == needed),
                    "{} needs unknown {needed}",
                    ids::name(id)
                );
            }
        }
    }

    #[test]
    fn needs_follow_probe_classes() {
        for id in 0..ids::FIRST_KERNEL_PATH {
            assert!(offsets_needed_by(id).is_empty(), "{}", ids::name(id));
        }
        for id in ids::FIRST_KERNEL_PATH..ids::COUNT as u8 {
            assert!(!offsets_needed_by(id).is_empty(), "{}", ids::name(id));
        }
        assert!(offsets_needed_by(ids::SHM_FAULT).contains(&"shm_file_data.id"));
        assert!(offsets_needed_by(ids::NEWSEG).contains(&"ns_common.inum"));
        assert_eq!(offsets_needed_by(ids::FREEARY), FREEARY);
    }

    #[test]
    fn reason_names_only_what_the_probe_lacks() {
        let missing = vec!["shm_file_data.id".to_string(), "nsproxy.ipc_ns".to_string()];
        assert_eq!(
            missing_offsets_reason(ids::SHM_FAULT, &missing).as_deref(),
            Some("BTF lacks shm_file_data.id")
        );
        assert_eq!(
            missing_offsets_reason(ids::NEWSEG, &missing).as_deref(),
            Some("BTF lacks nsproxy.ipc_ns")
        );
        assert_eq!(missing_offsets_reason(ids::FREEARY, &missing), None);
        assert_eq!(missing_offsets_reason(ids::SYS_SHMGET, &missing), None);
    }

    #[test]
    fn field_table_covers_every_offset() {
        // Store a distinct value through every entry; none may be left
        // unknown (the padding field excepted).
        let mut o = KernelOffsets::UNKNOWN;
        for (i, f) in FIELDS.iter().enumerate() {
            (f.store)(&mut o, i as u32);
        }
        let KernelOffsets {
            task_nsproxy,
            nsproxy_ipc_ns,
            ipc_ns_inum,
            ipc_params_key,
            ipc_params_flg,
            ipc_params_u,
            vm_fault_vma,
            vm_fault_address,
            vm_fault_pgoff,
            vm_fault_flags,
            vma_vm_start,
            vma_vm_end,
            vma_vm_file,
            file_private_data,
            shm_file_data_id,
            ipc_perm_id,
            ipc_perm_key,
            shmid_kernel_perm,
            shmid_kernel_segsz,
            _pad: _,
        } = o;
        let all = [
            task_nsproxy,
            nsproxy_ipc_ns,
            ipc_ns_inum,
            ipc_params_key,
            ipc_params_flg,
            ipc_params_u,
            vm_fault_vma,
            vm_fault_address,
            vm_fault_pgoff,
            vm_fault_flags,
            vma_vm_start,
            vma_vm_end,
            vma_vm_file,
            file_private_data,
            shm_file_data_id,
            ipc_perm_id,
            ipc_perm_key,
            shmid_kernel_perm,
            shmid_kernel_segsz,
        ];
        let expected: Vec<u32> = (0..all.len() as u32).collect();
        assert_eq!(all.to_vec(), expected);
    }
}
