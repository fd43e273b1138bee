//! The kernel steps of docs/STEPS.md (SHM-1…SHM-12, SEM-1…SEM-9) and which
//! of them an event proves.

use crate::event::{Event, EventKind};

/// One numbered step of docs/STEPS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Step {
    /// `shmget` is called to create or find the segment.
    SHM1,
    /// `ipc_findkey` finds an existing segment by key.
    SHM2,
    /// `newseg` creates a `shmid_kernel`.
    SHM3,
    /// A shmem file (file1) backs the segment.
    SHM4,
    /// `shmat` maps the segment.
    SHM5,
    /// `shm_obtain_object_check` finds the `shmid_kernel`.
    SHM6,
    /// file2 and `shm_file_data` are created.
    SHM7,
    /// The vma is tied to file2 and its mmap is called.
    SHM8,
    /// `shm_mmap` calls `shmem_mmap`, which sets `vm_ops`.
    SHM9,
    /// Touching the memory raises a page fault.
    SHM10,
    /// `shm_fault` calls `shmem_fault`.
    SHM11,
    /// A page is found in or added to the page cache.
    SHM12,
    /// `semget` is called to create or find the set.
    SEM1,
    /// `ipc_findkey` finds an existing set by key.
    SEM2,
    /// `newary` creates a `sem_array`.
    SEM3,
    /// `semctl(SETALL)` initialises the semaphores.
    SEM4,
    /// `sem_obtain_object_check` finds the `sem_array`.
    SEM5,
    /// `sems[]` are set from the user's array.
    SEM6,
    /// `semop` operates on the semaphores.
    SEM7,
    /// A `sem_queue` is queued: the caller waits.
    SEM8,
    /// An undo structure is linked (`SEM_UNDO`).
    SEM9,
}

impl Step {
    /// Every step, in the order of docs/STEPS.md.
    pub const ALL: [Step; 21] = [
        Step::SHM1,
        Step::SHM2,
        Step::SHM3,
        Step::SHM4,
        Step::SHM5,
        Step::SHM6,
        Step::SHM7,
        Step::SHM8,
        Step::SHM9,
        Step::SHM10,
        Step::SHM11,
        Step::SHM12,
        Step::SEM1,
        Step::SEM2,
        Step::SEM3,
        Step::SEM4,
        Step::SEM5,
        Step::SEM6,
        Step::SEM7,
        Step::SEM8,
        Step::SEM9,
    ];

    /// The label used on screen and in docs: `"SHM-3"`.
    pub fn label(self) -> &'static str {
        match self {
            Step::SHM1 => "SHM-1",
            Step::SHM2 => "SHM-2",
            Step::SHM3 => "SHM-3",
            Step::SHM4 => "SHM-4",
            Step::SHM5 => "SHM-5",
            Step::SHM6 => "SHM-6",
            Step::SHM7 => "SHM-7",
            Step::SHM8 => "SHM-8",
            Step::SHM9 => "SHM-9",
            Step::SHM10 => "SHM-10",
            Step::SHM11 => "SHM-11",
            Step::SHM12 => "SHM-12",
            Step::SEM1 => "SEM-1",
            Step::SEM2 => "SEM-2",
            Step::SEM3 => "SEM-3",
            Step::SEM4 => "SEM-4",
            Step::SEM5 => "SEM-5",
            Step::SEM6 => "SEM-6",
            Step::SEM7 => "SEM-7",
            Step::SEM8 => "SEM-8",
            Step::SEM9 => "SEM-9",
        }
    }

    /// The step in a few words (from docs/STEPS.md).
    pub fn describe(self) -> &'static str {
        match self {
            Step::SHM1 => "shmget called to create or find the segment",
            Step::SHM2 => "ipc_findkey found the existing segment by key",
            Step::SHM3 => "newseg created the shmid_kernel",
            Step::SHM4 => "shmem file (file1) backs the segment",
            Step::SHM5 => "shmat maps the segment",
            Step::SHM6 => "shm_obtain_object_check found the shmid_kernel",
            Step::SHM7 => "file2 and shm_file_data created for the mapping",
            Step::SHM8 => "vma tied to file2, file2's mmap called",
            Step::SHM9 => "shm_mmap calls shmem_mmap, vm_ops set",
            Step::SHM10 => "touching the memory raised a page fault",
            Step::SHM11 => "shm_fault calls shmem_fault",
            Step::SHM12 => "page found in / added to the page cache",
            Step::SEM1 => "semget called to create or find the set",
            Step::SEM2 => "ipc_findkey found the existing set by key",
            Step::SEM3 => "newary created the sem_array",
            Step::SEM4 => "semctl(SETALL) initialises the semaphores",
            Step::SEM5 => "sem_obtain_object_check found the sem_array",
            Step::SEM6 => "sems[] set from the user's array",
            Step::SEM7 => "semop operates on the semaphores",
            Step::SEM8 => "sem_queue created and queued: the caller waits",
            Step::SEM9 => "undo structure created and linked (SEM_UNDO)",
        }
    }

    /// Parses a label (`"SHM-3"`).
    pub fn from_label(label: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// A small set of steps (one bit per step).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StepSet(u32);

impl StepSet {
    /// The empty set.
    pub const EMPTY: StepSet = StepSet(0);

    /// A set of the given steps.
    pub fn of(steps: &[Step]) -> StepSet {
        let mut s = StepSet::EMPTY;
        for step in steps {
            s.insert(*step);
        }
        s
    }

    /// Adds a step.
    pub fn insert(&mut self, step: Step) {
        self.0 |= 1 << step as u8;
    }

    /// Adds every step of `other`.
    pub fn extend(&mut self, other: StepSet) {
        self.0 |= other.0;
    }

    /// True when `step` is in the set.
    pub fn contains(self, step: Step) -> bool {
        self.0 & (1 << step as u8) != 0
    }

    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The steps, in the order of docs/STEPS.md.
    pub fn iter(self) -> impl Iterator<Item = Step> {
        Step::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The steps as a vector.
    pub fn to_vec(self) -> Vec<Step> {
        self.iter().collect()
    }

    /// Labels joined by commas: `"SHM-1,SHM-2"`.
    pub fn labels(self) -> String {
        self.iter().map(Step::label).collect::<Vec<_>>().join(",")
    }
}

/// How a `*_get` call was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetOutcome {
    /// The call created the object.
    Created,
    /// The call found an existing object by key.
    Found,
    /// The call failed.
    Failed,
}

/// The steps an event proves, given how the model resolved it (`get` is the
/// outcome of a `shm_get`/`sem_get`; ignored for other kinds).
pub fn steps_of(ev: &Event, get: Option<GetOutcome>) -> StepSet {
    use Step::*;
    let ok = !ev.failed();
    match ev.kind {
        EventKind::ShmGet => match get {
            Some(GetOutcome::Created) => StepSet::of(&[SHM1, SHM3, SHM4]),
            Some(GetOutcome::Found) => StepSet::of(&[SHM1, SHM2]),
            _ => StepSet::of(&[SHM1]),
        },
        EventKind::ShmCreate => StepSet::of(&[SHM3, SHM4]),
        EventKind::ShmAttach if ok => StepSet::of(&[SHM5, SHM6, SHM7, SHM8, SHM9]),
        EventKind::ShmAttach => StepSet::of(&[SHM5]),
        EventKind::ShmFault => {
            let mut s = StepSet::of(&[SHM10, SHM11]);
            if ev.shmem == Some(true) || ev.inferred {
                s.insert(SHM12);
            }
            s
        }
        EventKind::SemGet => match get {
            Some(GetOutcome::Created) => StepSet::of(&[SEM1, SEM3]),
            Some(GetOutcome::Found) => StepSet::of(&[SEM1, SEM2]),
            _ => StepSet::of(&[SEM1]),
        },
        EventKind::SemCreate => StepSet::of(&[SEM3]),
        EventKind::SemCtl => match (ev.cmd.as_deref(), ok) {
            (Some("SETALL"), true) => StepSet::of(&[SEM4, SEM5, SEM6]),
            (Some("SETALL"), false) => StepSet::of(&[SEM4]),
            (Some("SETVAL"), true) => StepSet::of(&[SEM5, SEM6]),
            (Some("GETVAL" | "GETALL" | "GETPID" | "GETNCNT" | "GETZCNT"), true) => {
                StepSet::of(&[SEM5])
            }
            _ => StepSet::EMPTY,
        },
        EventKind::SemOp => {
            let mut s = StepSet::of(&[SEM7]);
            if ev.blocked == Some(true) {
                s.insert(SEM8);
            }
            if ev
                .ops
                .as_ref()
                .is_some_and(|ops| ops.iter().any(|o| o.undo()))
            {
                s.insert(SEM9);
            }
            s
        }
        EventKind::ShmDetach
        | EventKind::ShmCtl
        | EventKind::ShmDestroy
        | EventKind::SemDestroy
        | EventKind::ProcExit
        | EventKind::ProcFork
        | EventKind::ProcExec
        | EventKind::Drops => StepSet::EMPTY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_sets_keep_order() {
        for s in Step::ALL {
            assert_eq!(Step::from_label(s.label()), Some(s));
        }
        let set = StepSet::of(&[Step::SEM9, Step::SHM1, Step::SEM7]);
        assert_eq!(set.labels(), "SHM-1,SEM-7,SEM-9");
        assert!(set.contains(Step::SEM7));
        assert!(!set.contains(Step::SEM8));
    }
}
