//! The kernel struct members ipc-trace's programs read, resolved from BTF
//! into `KernelOffsets`. Which probe needs which of them is the attach
//! table's business (`probe::kernel_path::KERNEL_PROBES`).

use super::Btf;
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
/// members as `"struct.member"` (the names `KernelProbe::needs` uses), in
/// field order.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::kernel_path::KERNEL_PROBES;

    /// Every offset a kernel-path probe needs (the attach table,
    /// `kernel_path::KERNEL_PROBES`) is resolved by exactly the field of
    /// the same name here, or a probe would be skipped or fed the wrong
    /// offset.
    #[test]
    fn attach_table_names_match_the_fields_resolved() {
        let mut o = KernelOffsets::UNKNOWN;
        for (i, f) in FIELDS.iter().enumerate() {
            (f.store)(&mut o, i as u32);
        }
        for probe in KERNEL_PROBES {
            for (name, get) in probe.needs {
                let index = FIELDS.iter().position(|f| {
                    f.parts.len() == 1 && format!("{}.{}", f.parts[0].0, f.parts[0].1) == *name
                });
                let index =
                    index.unwrap_or_else(|| panic!("{} needs unknown {name}", probe.function));
                assert_eq!(get(&o), index as u32, "{}: {name}", probe.function);
            }
        }
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
