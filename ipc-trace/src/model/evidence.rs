//! How well an event proves a kernel step (docs/STEPS.md): the words the
//! labs, and anything that names a step, may use. Nothing is "seen in the
//! kernel" unless a kernel-path probe on the very function that does the
//! step fired; a syscall's entry and return only show the call; the rest
//! follows from what was seen.

use super::steps::Step;
use crate::event::{Backend, Event};

/// The evidence for a step, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evidence {
    /// A kernel-path probe (kprobe or fentry) on the function doing the
    /// step fired, with its arguments.
    InKernel,
    /// Only the syscall's entry and return were seen; the step is the call.
    SyscallBoundary,
    /// Follows from other events: a function around the step, a successful
    /// syscall that must have done it, or an inference from tracepoints.
    Implied,
    /// Not shown on this kernel in this run.
    NotVisible,
}

impl Evidence {
    /// The words shown for it.
    pub fn words(self) -> &'static str {
        match self {
            Evidence::InKernel => "seen in the kernel",
            Evidence::SyscallBoundary => "seen at the syscall boundary",
            Evidence::Implied => "implied",
            Evidence::NotVisible => "not visible",
        }
    }
}

/// Who does a step, as far as a probe can tell.
enum Doer {
    /// The step is the syscall itself.
    Syscall,
    /// This kernel function (one of these probes) does it.
    Function(&'static [&'static str]),
    /// A function nested inside the call does it, hooked by this step
    /// probe, which reports in the enclosing call's `inner`.
    Step(&'static str),
    /// It happens inside a function no probe hooks (inlined, or not probed).
    Inside,
}

fn doer(step: Step) -> Doer {
    match step {
        Step::SHM1 | Step::SEM1 | Step::SEM4 => Doer::Syscall,
        Step::SHM3 => Doer::Function(&["newseg"]),
        Step::SHM5 => Doer::Function(&["do_shmat"]),
        Step::SHM10 | Step::SHM11 => Doer::Function(&["shm_fault"]),
        Step::SHM12 => Doer::Function(&["shmem_fault"]),
        Step::SEM3 => Doer::Function(&["newary"]),
        Step::SEM7 => Doer::Function(&["do_semtimedop", "__do_semtimedop"]),
        Step::SHM2 => Doer::Step("shm_more_checks"),
        Step::SEM2 => Doer::Step("sem_more_checks"),
        Step::SHM4 => Doer::Step("shmem_kernel_file_setup"),
        Step::SHM8 | Step::SHM9 => Doer::Step("shm_mmap"),
        Step::SHM6 | Step::SHM7 | Step::SEM5 | Step::SEM6 | Step::SEM8 | Step::SEM9 => Doer::Inside,
    }
}

/// How well `ev` (an event the model says proves `step`) proves it.
pub fn evidence(step: Step, ev: &Event) -> Evidence {
    if ev.inferred {
        return Evidence::Implied;
    }
    let kernel_path = matches!(ev.backend, Backend::Kprobe | Backend::Fentry);
    let from_syscall = ev.probe.starts_with("sys_");
    match doer(step) {
        Doer::Syscall if from_syscall || kernel_path => Evidence::SyscallBoundary,
        Doer::Syscall => Evidence::Implied,
        Doer::Function(names) => {
            // shmem_fault is reported as the shm_fault event it ran under.
            let probe: &str = if step == Step::SHM12 && ev.shmem == Some(true) {
                "shmem_fault"
            } else {
                &ev.probe
            };
            if kernel_path && names.contains(&probe) {
                Evidence::InKernel
            } else if from_syscall && matches!(step, Step::SHM5 | Step::SEM7) {
                Evidence::SyscallBoundary
            } else {
                Evidence::Implied
            }
        }
        // A step probe fired inside this very call (it is a kernel-path
        // probe whatever backend the enclosing event came from).
        Doer::Step(function) if ev.inner_seen(function) => Evidence::InKernel,
        Doer::Step(_) | Doer::Inside => Evidence::Implied,
    }
}

/// The step probe that proves `step` from inside an enclosing call, if
/// one does (docs/STEPS.md): what a lab names as the missing probe.
pub fn step_probe(step: Step) -> Option<&'static str> {
    match doer(step) {
        Doer::Step(function) => Some(function),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn event(probe: &'static str, backend: Backend, inferred: bool) -> Event {
        let mut e = Event::new(1, EventKind::ShmAttach, 7, 7, "t");
        e.probe = probe.into();
        e.backend = backend;
        e.inferred = inferred;
        e
    }

    #[test]
    fn nothing_from_tracepoints_is_seen_in_the_kernel() {
        for probe in [
            "sys_shmget",
            "sys_shmat",
            "sys_semop",
            "page_fault_user",
            "sched_switch",
        ] {
            for inferred in [false, true] {
                let e = event(probe, Backend::Tracepoint, inferred);
                for step in Step::ALL {
                    assert_ne!(evidence(step, &e), Evidence::InKernel, "{step:?} {probe}");
                }
            }
        }
    }

    #[test]
    fn a_probe_on_the_doing_function_is_seen_in_the_kernel_and_an_enclosing_one_implies() {
        let e = event("do_shmat", Backend::Fentry, false);
        assert_eq!(evidence(Step::SHM5, &e), Evidence::InKernel);
        assert_eq!(evidence(Step::SHM6, &e), Evidence::Implied);
        let k = event("do_semtimedop", Backend::Kprobe, false);
        assert_eq!(evidence(Step::SEM7, &k), Evidence::InKernel);
        assert_eq!(evidence(Step::SEM9, &k), Evidence::Implied);
        assert_eq!(
            evidence(Step::SHM1, &event("newseg", Backend::Kprobe, false)),
            Evidence::SyscallBoundary
        );
    }

    #[test]
    fn a_step_probe_inside_the_call_is_seen_in_the_kernel_and_nothing_else_is() {
        let mut get = event("sys_shmget", Backend::Tracepoint, false);
        assert_eq!(evidence(Step::SHM2, &get), Evidence::Implied);
        get.inner = Some(vec!["shm_more_checks".into()]);
        assert_eq!(evidence(Step::SHM2, &get), Evidence::InKernel);
        // The probe proves its own step only.
        assert_eq!(evidence(Step::SHM4, &get), Evidence::Implied);
        assert_eq!(evidence(Step::SEM2, &get), Evidence::Implied);
        let mut attach = event("do_shmat", Backend::Kprobe, false);
        assert_eq!(evidence(Step::SHM8, &attach), Evidence::Implied);
        attach.inner = Some(vec!["shm_mmap".into()]);
        for step in [Step::SHM8, Step::SHM9] {
            assert_eq!(evidence(step, &attach), Evidence::InKernel);
        }
        assert_eq!(evidence(Step::SHM7, &attach), Evidence::Implied);
        // An inferred event never claims what its record's probes saw.
        attach.inferred = true;
        assert_eq!(evidence(Step::SHM8, &attach), Evidence::Implied);
    }

    #[test]
    fn the_syscall_alone_shows_the_call_and_implies_the_rest() {
        let e = event("sys_shmat", Backend::Tracepoint, false);
        assert_eq!(evidence(Step::SHM5, &e), Evidence::SyscallBoundary);
        for step in [Step::SHM6, Step::SHM7, Step::SHM8, Step::SHM9] {
            assert_eq!(evidence(step, &e), Evidence::Implied);
        }
        assert_eq!(
            evidence(
                Step::SHM10,
                &event("page_fault_user", Backend::Tracepoint, true)
            ),
            Evidence::Implied
        );
    }

    #[test]
    fn shmem_fault_is_seen_only_when_it_ran_beneath_shm_fault() {
        let mut f = event("shm_fault", Backend::Fentry, false);
        assert_eq!(evidence(Step::SHM12, &f), Evidence::Implied);
        f.shmem = Some(true);
        assert_eq!(evidence(Step::SHM12, &f), Evidence::InKernel);
        assert_eq!(evidence(Step::SHM11, &f), Evidence::InKernel);
    }
}
