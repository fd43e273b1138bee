//! What a lab shows: the numbered kernel steps of docs/STEPS.md and the
//! lifecycle moments around them that have no number (a detach, the
//! removal request, the free, what exit does with `SEM_UNDO`, an orphan),
//! which events prove each, and how well ([`Evidence`]).

use crate::event::{Backend, Event, EventKind};
use crate::model::Step;
use crate::model::evidence::{Evidence, evidence};

/// One thing a lab walks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Moment {
    /// A numbered step (SHM-1…12, SEM-1…9).
    Step(Step),
    /// A mapping of a segment went away (`shmdt`, `munmap` or exit).
    Detach,
    /// `shmctl(IPC_RMID)` succeeded: the segment is marked for removal.
    RemovalRequested,
    /// The kernel freed the segment (`shm_destroy`).
    SegmentFreed,
    /// The kernel freed the semaphore set (`freeary`).
    SetRemoved,
    /// A process that used `SEM_UNDO` exited (`exit_sem` runs its undo list).
    UndoAtExit,
    /// A segment is left with no attach, its creator gone, not removed.
    Orphaned,
    /// Processes wait for each other's semaphores in a cycle.
    Deadlock,
    /// A semop that slept gave up at its timeout (`EAGAIN`).
    TimedOut,
}

impl Moment {
    /// The label on screen: `SHM-3`, or a word for unnumbered moments.
    pub fn label(self) -> &'static str {
        match self {
            Moment::Step(s) => s.label(),
            Moment::Detach => "detach",
            Moment::RemovalRequested => "RMID",
            Moment::SegmentFreed => "freed",
            Moment::SetRemoved => "freed",
            Moment::UndoAtExit => "exit",
            Moment::Orphaned => "orphan",
            Moment::Deadlock => "cycle",
            Moment::TimedOut => "timeout",
        }
    }

    /// The moment in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Moment::Step(s) => s.describe(),
            Moment::Detach => "a mapping of the segment went away (shmdt, munmap or exit)",
            Moment::RemovalRequested => "shmctl(IPC_RMID) marked the segment for removal",
            Moment::SegmentFreed => "shm_destroy freed the segment and its pages",
            Moment::SetRemoved => "freeary freed the semaphore set and its undo entries",
            Moment::UndoAtExit => "a process that used SEM_UNDO exited: exit_sem ran",
            Moment::Orphaned => "the segment is left behind: nobody attached, creator gone",
            Moment::Deadlock => "each process waits for a semaphore another one holds",
            Moment::TimedOut => "a waiting semtimedop gave up at its timeout (EAGAIN)",
        }
    }

    /// The unnumbered moments `ev` proves (numbered steps come from the
    /// model: [`crate::model::State::steps_for`]). `used_undo` says whether
    /// the event's process ever passed `SEM_UNDO`.
    pub fn unnumbered_of(ev: &Event, used_undo: bool) -> Option<Moment> {
        let ok = !ev.failed();
        match ev.kind {
            EventKind::ShmDetach if ok => Some(Moment::Detach),
            EventKind::ShmCtl if ok && ev.cmd.as_deref() == Some("IPC_RMID") => {
                Some(Moment::RemovalRequested)
            }
            EventKind::ShmDestroy => Some(Moment::SegmentFreed),
            EventKind::SemDestroy => Some(Moment::SetRemoved),
            EventKind::ProcExit if used_undo => Some(Moment::UndoAtExit),
            EventKind::SemOp if ev.blocked == Some(true) && ev.timed_out() => {
                Some(Moment::TimedOut)
            }
            _ => None,
        }
    }

    /// How well `ev` (an event that proves this moment) proves it.
    pub fn evidence(self, ev: &Event) -> Evidence {
        let doers: &[&str] = match self {
            Moment::Step(s) => return evidence(s, ev),
            Moment::Detach => &["shm_close"],
            Moment::SegmentFreed => &["shm_destroy"],
            Moment::SetRemoved => &["freeary"],
            Moment::RemovalRequested => &[],
            Moment::TimedOut => &["do_semtimedop", "__do_semtimedop"],
            // exit_sem, the orphan's state and the wait-for cycle are never
            // probed: they follow from the exit, the waits and the holds.
            Moment::UndoAtExit | Moment::Orphaned | Moment::Deadlock => {
                return Evidence::Implied;
            }
        };
        if ev.inferred {
            return Evidence::Implied;
        }
        let kernel_path = matches!(ev.backend, Backend::Kprobe | Backend::Fentry);
        if kernel_path && doers.contains(&&*ev.probe) {
            Evidence::InKernel
        } else if ev.probe.starts_with("sys_") {
            Evidence::SyscallBoundary
        } else {
            Evidence::Implied
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, probe: &'static str, backend: Backend) -> Event {
        let mut e = Event::new(1, kind, 7, 7, "t");
        e.probe = probe.into();
        e.backend = backend;
        e
    }

    #[test]
    fn a_detach_is_seen_in_the_kernel_only_from_shm_close_on_a_kernel_path_backend() {
        let m = Moment::Detach;
        let close = event(EventKind::ShmDetach, "shm_close", Backend::Kprobe);
        assert_eq!(m.evidence(&close), Evidence::InKernel);
        let shmdt = event(EventKind::ShmDetach, "sys_shmdt", Backend::Tracepoint);
        assert_eq!(m.evidence(&shmdt), Evidence::SyscallBoundary);
        let mut exit = event(
            EventKind::ShmDetach,
            "sched_process_exit",
            Backend::Tracepoint,
        );
        exit.inferred = true;
        assert_eq!(m.evidence(&exit), Evidence::Implied);
        // The same probe name from a tracepoint backend is not kernel sight.
        let odd = event(EventKind::ShmDetach, "shm_close", Backend::Tracepoint);
        assert_ne!(m.evidence(&odd), Evidence::InKernel);
    }

    #[test]
    fn only_a_successful_rmid_is_a_removal_request() {
        let mut ctl = event(EventKind::ShmCtl, "sys_shmctl", Backend::Tracepoint);
        ctl.cmd = Some("IPC_STAT".into());
        assert_eq!(Moment::unnumbered_of(&ctl, false), None);
        ctl.cmd = Some("IPC_RMID".into());
        assert_eq!(
            Moment::unnumbered_of(&ctl, false),
            Some(Moment::RemovalRequested)
        );
        ctl.errno = Some(1);
        assert_eq!(Moment::unnumbered_of(&ctl, false), None);
    }

    #[test]
    fn an_exit_is_an_undo_moment_only_for_a_process_that_used_sem_undo() {
        let exit = event(
            EventKind::ProcExit,
            "sched_process_exit",
            Backend::Tracepoint,
        );
        assert_eq!(Moment::unnumbered_of(&exit, false), None);
        assert_eq!(Moment::unnumbered_of(&exit, true), Some(Moment::UndoAtExit));
        assert_eq!(Moment::UndoAtExit.evidence(&exit), Evidence::Implied);
    }
}
