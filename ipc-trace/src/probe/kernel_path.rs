//! The kernel-path probes: which kernel function each one hooks, the names
//! of its eBPF programs, whether it has a return half, and which
//! `KernelOffsets` fields its programs read.

use ipc_trace_common::{KernelOffsets, OFFSET_UNKNOWN, probe};

/// Reads one field of `KernelOffsets`.
pub type OffsetField = fn(&KernelOffsets) -> u32;

/// One kernel-path probe.
#[derive(Clone, Copy, Debug)]
pub struct KernelProbe {
    /// `ipc_trace_common::probe` id.
    pub id: u8,
    /// The kernel function (symbol) it hooks.
    pub function: &'static str,
    /// Suffix of its program names: `kprobe_X`, `kretprobe_X`, `fentry_X`, `fexit_X`.
    pub programs: &'static str,
    /// True when it also has a return program (`kretprobe_X` / `fexit_X`).
    pub has_return: bool,
    /// The `KernelOffsets` fields its programs need, by C name.
    pub needs: &'static [(&'static str, OffsetField)],
}

impl KernelProbe {
    /// The program name for a backend prefix (`kprobe`, `kretprobe`, `fentry`, `fexit`).
    pub fn program(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.programs)
    }

    /// The C names of the offsets this probe needs that `offsets` lacks.
    pub fn missing_offsets(&self, offsets: &KernelOffsets) -> Vec<&'static str> {
        self.needs
            .iter()
            .filter(|(_, field)| field(offsets) == OFFSET_UNKNOWN)
            .map(|(name, _)| *name)
            .collect()
    }
}

const IPC_PARAMS: &[(&str, OffsetField)] = &[
    ("ipc_params.key", |o| o.ipc_params_key),
    ("ipc_params.u", |o| o.ipc_params_u),
    ("ipc_params.flg", |o| o.ipc_params_flg),
];

const SHM_FAULT: &[(&str, OffsetField)] = &[
    ("vm_fault.vma", |o| o.vm_fault_vma),
    ("vm_fault.address", |o| o.vm_fault_address),
    ("vm_fault.pgoff", |o| o.vm_fault_pgoff),
    ("vm_fault.flags", |o| o.vm_fault_flags),
    ("vm_area_struct.vm_start", |o| o.vma_vm_start),
    ("vm_area_struct.vm_file", |o| o.vma_vm_file),
    ("file.private_data", |o| o.file_private_data),
    ("shm_file_data.id", |o| o.shm_file_data_id),
];

const SHM_DESTROY: &[(&str, OffsetField)] = &[
    ("shmid_kernel.shm_perm", |o| o.shmid_kernel_perm),
    ("kern_ipc_perm.id", |o| o.ipc_perm_id),
    ("kern_ipc_perm.key", |o| o.ipc_perm_key),
    ("shmid_kernel.shm_segsz", |o| o.shmid_kernel_segsz),
];

const SHM_CLOSE: &[(&str, OffsetField)] = &[
    ("vm_area_struct.vm_start", |o| o.vma_vm_start),
    ("vm_area_struct.vm_end", |o| o.vma_vm_end),
    ("vm_area_struct.vm_file", |o| o.vma_vm_file),
    ("file.private_data", |o| o.file_private_data),
    ("shm_file_data.id", |o| o.shm_file_data_id),
];

const FREEARY: &[(&str, OffsetField)] = &[
    ("kern_ipc_perm.id", |o| o.ipc_perm_id),
    ("kern_ipc_perm.key", |o| o.ipc_perm_key),
];

/// Every kernel-path probe, in probe-id order (`shm_fault` comes before
/// `shmem_fault`, which is only useful beneath it).
pub const KERNEL_PROBES: [KernelProbe; 14] = [
    KernelProbe {
        id: probe::NEWSEG,
        function: "newseg",
        programs: "newseg",
        has_return: true,
        needs: IPC_PARAMS,
    },
    KernelProbe {
        id: probe::DO_SHMAT,
        function: "do_shmat",
        programs: "do_shmat",
        has_return: true,
        needs: &[],
    },
    KernelProbe {
        id: probe::SHM_FAULT,
        function: "shm_fault",
        programs: "shm_fault",
        has_return: true,
        needs: SHM_FAULT,
    },
    KernelProbe {
        id: probe::SHMEM_FAULT,
        function: "shmem_fault",
        programs: "shmem_fault",
        has_return: true,
        needs: &[],
    },
    KernelProbe {
        id: probe::NEWARY,
        function: "newary",
        programs: "newary",
        has_return: true,
        needs: IPC_PARAMS,
    },
    KernelProbe {
        id: probe::DO_SEMTIMEDOP,
        function: "do_semtimedop",
        programs: "do_semtimedop",
        has_return: true,
        needs: &[],
    },
    KernelProbe {
        id: probe::DO_SEMTIMEDOP_INNER,
        function: "__do_semtimedop",
        programs: "do_semtimedop_inner",
        has_return: true,
        needs: &[],
    },
    KernelProbe {
        id: probe::SHM_DESTROY,
        function: "shm_destroy",
        programs: "shm_destroy",
        has_return: false,
        needs: SHM_DESTROY,
    },
    KernelProbe {
        id: probe::SHM_CLOSE,
        function: "shm_close",
        programs: "shm_close",
        has_return: false,
        needs: SHM_CLOSE,
    },
    KernelProbe {
        id: probe::FREEARY,
        function: "freeary",
        programs: "freeary",
        has_return: false,
        needs: FREEARY,
    },
    // The step probes (`probe::FIRST_STEP` on): entry only, no record of
    // their own; they mark the enclosing call's (`ipc_trace_common::inner`).
    step_probe(probe::SHM_MORE_CHECKS, "shm_more_checks"),
    step_probe(probe::SEM_MORE_CHECKS, "sem_more_checks"),
    step_probe(probe::SHMEM_KERNEL_FILE_SETUP, "shmem_kernel_file_setup"),
    step_probe(probe::SHM_MMAP, "shm_mmap"),
];

/// A step probe: programs named after the function, entry only.
const fn step_probe(id: u8, function: &'static str) -> KernelProbe {
    KernelProbe {
        id,
        function,
        programs: function,
        has_return: false,
        needs: &[],
    }
}

/// The kernel-path probe named `name` (as in the probe table), if any.
pub fn kernel_probe_named(name: &str) -> Option<&'static KernelProbe> {
    KERNEL_PROBES
        .iter()
        .find(|p| probe::NAMES.get(p.id as usize) == Some(&name))
}

/// The names of the kernel-path probes, in probe-id order.
pub fn kernel_probe_names() -> impl Iterator<Item = &'static str> {
    KERNEL_PROBES
        .iter()
        .filter_map(|p| probe::NAMES.get(p.id as usize).copied())
}

/// A set of probe ids (`ipc_trace_common::probe`), e.g. the probes the
/// user excluded. `Copy`, so `AttachOptions` stays `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeSet(u32);

impl ProbeSet {
    /// The empty set.
    pub const EMPTY: ProbeSet = ProbeSet(0);

    /// Adds probe `id` (ids past the last probe are ignored).
    pub fn insert(&mut self, id: u8) {
        if (id as usize) < probe::COUNT {
            self.0 |= 1 << id;
        }
    }

    /// True when probe `id` is in the set.
    pub fn contains(&self, id: u8) -> bool {
        (id as usize) < probe::COUNT && self.0 & (1 << id) != 0
    }

    /// True when no probe is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<u8> for ProbeSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> ProbeSet {
        let mut set = ProbeSet::EMPTY;
        for id in iter {
            set.insert(id);
        }
        set
    }
}

/// The syscalls traced by `sys_enter`/`sys_exit`, with their probe ids.
pub const SYSCALLS: [(u8, &str); 8] = [
    (probe::SYS_SHMGET, "shmget"),
    (probe::SYS_SHMAT, "shmat"),
    (probe::SYS_SHMDT, "shmdt"),
    (probe::SYS_SHMCTL, "shmctl"),
    (probe::SYS_SEMGET, "semget"),
    (probe::SYS_SEMOP, "semop"),
    (probe::SYS_SEMTIMEDOP, "semtimedop"),
    (probe::SYS_SEMCTL, "semctl"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_probes_cover_every_kernel_path_id_once() {
        let ids: Vec<u8> = KERNEL_PROBES.iter().map(|p| p.id).collect();
        let expected: Vec<u8> = (probe::FIRST_KERNEL_PATH..probe::COUNT as u8).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn probes_are_found_by_their_table_name_only() {
        assert_eq!(
            kernel_probe_named("newseg").map(|p| p.id),
            Some(probe::NEWSEG)
        );
        assert_eq!(
            kernel_probe_named("__do_semtimedop").map(|p| p.id),
            Some(probe::DO_SEMTIMEDOP_INNER)
        );
        // Program suffixes and tracepoints are not kernel-path probe names.
        assert!(kernel_probe_named("do_semtimedop_inner").is_none());
        assert!(kernel_probe_named("sys_shmget").is_none());
        assert_eq!(kernel_probe_names().count(), KERNEL_PROBES.len());
    }

    #[test]
    fn probe_set_holds_exactly_what_was_inserted() {
        let set: ProbeSet = [probe::SHM_FAULT, probe::FREEARY, 200]
            .into_iter()
            .collect();
        assert!(set.contains(probe::SHM_FAULT) && set.contains(probe::FREEARY));
        assert!(!set.contains(probe::SHMEM_FAULT) && !set.contains(200));
        assert!(!set.is_empty() && ProbeSet::EMPTY.is_empty());
    }

    #[test]
    fn missing_offsets_names_exactly_the_unknown_fields() {
        let newseg = &KERNEL_PROBES[0];
        assert_eq!(
            newseg.missing_offsets(&KernelOffsets::UNKNOWN),
            vec!["ipc_params.key", "ipc_params.u", "ipc_params.flg"]
        );
        let mut offsets = KernelOffsets::UNKNOWN;
        offsets.ipc_params_key = 0;
        offsets.ipc_params_u = 8;
        assert_eq!(newseg.missing_offsets(&offsets), vec!["ipc_params.flg"]);
        offsets.ipc_params_flg = 4;
        assert!(newseg.missing_offsets(&offsets).is_empty());
        assert_eq!(newseg.program("fexit"), "fexit_newseg");
        assert_eq!(
            KERNEL_PROBES[6].program("kprobe"),
            "kprobe_do_semtimedop_inner"
        );
    }
}
