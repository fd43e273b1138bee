//! Why a kernel-path probe is not attached, as typed errors that keep the
//! kernel's error as their source; their text is the probe table's
//! `reason`. Also the error of a forced `--backend` that could not attach
//! every probe whose function this kernel has.

use super::attach::{BackendChoice, EXCLUDED_REASON};
use super::reason::describe;
use crate::event::Backend;
use aya::programs::ProgramError;
use std::sync::Arc;

/// Why one backend could not attach one probe.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No kernel BTF: fentry/fexit cannot be loaded.
    #[error("no kernel BTF (/sys/kernel/btf/vmlinux): {0}")]
    NoBtf(#[source] Arc<aya::BtfError>),
    /// `--btf none`: fentry/fexit are not tried.
    #[error("no BTF (--btf none)")]
    BtfDisabled,
    /// The kernel has no kprobe PMU.
    #[error("kprobes missing: no kprobe PMU (CONFIG_KPROBES off)")]
    NoKprobePmu,
    /// The object lacks a program it should have.
    #[error("program {0} is missing from the eBPF object")]
    MissingProgram(String),
    /// A load or attach step failed in the kernel.
    #[error("{}", describe(.step, .source))]
    Program {
        /// `"load failed"`, `"fexit attach failed"`, ...
        step: &'static str,
        /// The kernel's answer.
        #[source]
        source: ProgramError,
    },
}

/// One backend that was tried and failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", .backend.as_str())]
pub struct BackendFailure {
    /// The backend tried.
    pub backend: Backend,
    /// Why it failed.
    #[source]
    pub error: BackendError,
}

/// Why a kernel-path probe is not attached.
#[derive(Debug, thiserror::Error)]
pub enum ProbeSkip {
    /// `--exclude-probe` named it.
    #[error("{}", EXCLUDED_REASON)]
    Excluded,
    /// `--backend tracepoint`.
    #[error("not tried: backend tracepoint chosen")]
    TracepointChosen,
    /// The kernel's BTF lacks offsets its programs read.
    #[error("kernel BTF lacks {}", .0.join(", "))]
    MissingOffsets(Vec<&'static str>),
    /// Only a compiler-specialised copy of the function exists.
    #[error(
        "not in this kernel: {function} exists only as {variant} (specialised by the compiler)"
    )]
    OnlyVariant {
        /// The hooked function.
        function: &'static str,
        /// The symbol that exists instead.
        variant: String,
    },
    /// The function has no symbol.
    #[error("not in this kernel: {0} is not in /proc/kallsyms (inlined or absent)")]
    Absent(&'static str),
    /// `shmem_fault` is only reported beneath `shm_fault`, which is not attached.
    #[error("not attached: shmem_fault is only reported beneath shm_fault")]
    NeedsShmFault,
    /// Every backend tried failed (the first is the source; all are shown).
    #[error("{}", join(.first, .more))]
    Failed {
        /// The first backend's failure (boxed: it holds the kernel's error).
        #[source]
        first: Box<BackendFailure>,
        /// The other backends' failures.
        more: Vec<BackendFailure>,
    },
}

fn join(first: &BackendFailure, more: &[BackendFailure]) -> String {
    std::iter::once(first)
        .chain(more)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ProbeSkip {
    /// The skip of a probe whose backends all failed (`None` when none was tried).
    pub fn failed(mut failures: Vec<BackendFailure>) -> Option<ProbeSkip> {
        if failures.is_empty() {
            return None;
        }
        let first = Box::new(failures.remove(0));
        Some(ProbeSkip::Failed {
            first,
            more: failures,
        })
    }

    /// True when a forced backend must treat this skip as a failure: the
    /// function exists and was not excluded, yet the probe is not attached.
    /// `shm_fault_excluded` tells whether `NeedsShmFault` follows from the
    /// user's own exclusion.
    pub fn fails_forced_backend(&self, shm_fault_excluded: bool) -> bool {
        match self {
            ProbeSkip::Excluded
            | ProbeSkip::TracepointChosen
            | ProbeSkip::OnlyVariant { .. }
            | ProbeSkip::Absent(_) => false,
            ProbeSkip::NeedsShmFault => !shm_fault_excluded,
            ProbeSkip::MissingOffsets(_) | ProbeSkip::Failed { .. } => true,
        }
    }
}

/// A probe a forced backend could not attach, and why.
#[derive(Debug, thiserror::Error)]
#[error("{probe} ({skip})")]
pub struct ProbeFailure {
    /// Probe name, as in the probe table.
    pub probe: &'static str,
    /// Why it is not attached.
    #[source]
    pub skip: ProbeSkip,
}

/// `--backend fentry|kprobe` could not attach every kernel-path probe whose
/// function this kernel has: nothing is traced (the first failure is the
/// source; all are in the message).
#[derive(Debug, thiserror::Error)]
#[error("--backend {}: cannot attach {}", BackendChoice::as_str(*.backend), list(.first, .more))]
pub struct ForcedBackendError {
    /// The backend that was forced.
    pub backend: BackendChoice,
    /// The first probe that failed.
    #[source]
    pub first: ProbeFailure,
    /// The others.
    pub more: Vec<ProbeFailure>,
}

impl ForcedBackendError {
    /// Every probe that failed, in probe-id order.
    pub fn failures(&self) -> impl Iterator<Item = &ProbeFailure> {
        std::iter::once(&self.first).chain(&self.more)
    }
}

fn list(first: &ProbeFailure, more: &[ProbeFailure]) -> String {
    std::iter::once(first)
        .chain(more)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The forced-backend error for `skips` (probe name and why it is not
/// attached), or `None` when `choice` is not forced or nothing failed.
pub fn forced_backend_error(
    choice: BackendChoice,
    skips: Vec<(&'static str, ProbeSkip)>,
    shm_fault_excluded: bool,
) -> Option<Box<ForcedBackendError>> {
    if !matches!(choice, BackendChoice::Fentry | BackendChoice::Kprobe) {
        return None;
    }
    let mut failures: Vec<ProbeFailure> = skips
        .into_iter()
        .filter(|(_, skip)| skip.fails_forced_backend(shm_fault_excluded))
        .map(|(probe, skip)| ProbeFailure { probe, skip })
        .collect();
    if failures.is_empty() {
        return None;
    }
    let first = failures.remove(0);
    Some(Box::new(ForcedBackendError {
        backend: choice,
        first,
        more: failures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    fn eperm() -> BackendFailure {
        BackendFailure {
            backend: Backend::Fentry,
            error: BackendError::Program {
                step: "load failed",
                source: ProgramError::IOError(std::io::Error::from_raw_os_error(libc::EPERM)),
            },
        }
    }

    /// What the EPERM load failure reads as on this machine (its hint
    /// depends on the lockdown mode the kernel shows).
    fn eperm_text() -> String {
        crate::probe::reason::describe(
            "load failed",
            &ProgramError::IOError(std::io::Error::from_raw_os_error(libc::EPERM)),
        )
    }

    #[test]
    fn reasons_read_as_before_and_keep_the_kernel_error() {
        let skip = ProbeSkip::failed(vec![
            eperm(),
            BackendFailure {
                backend: Backend::Kprobe,
                error: BackendError::NoKprobePmu,
            },
        ]);
        let skip = skip.expect("two failures");
        assert_eq!(
            skip.to_string(),
            format!(
                "fentry: {}; kprobe: kprobes missing: no kprobe PMU (CONFIG_KPROBES off)",
                eperm_text()
            )
        );
        let io = skip
            .source()
            .and_then(Error::source)
            .and_then(Error::source)
            .and_then(|e| e.downcast_ref::<ProgramError>());
        let errno = match io {
            Some(ProgramError::IOError(e)) => e.raw_os_error(),
            _ => None,
        };
        assert_eq!(errno, Some(libc::EPERM));
        assert!(ProbeSkip::failed(Vec::new()).is_none());
        assert!(
            ProbeSkip::Absent("x")
                .to_string()
                .starts_with("not in this kernel")
        );
        assert!(ProbeSkip::Excluded.to_string().starts_with(EXCLUDED_REASON));
    }

    #[test]
    fn forced_backend_fails_only_for_present_unexcluded_probes() {
        let skips = || {
            vec![
                ("newseg", ProbeSkip::failed(vec![eperm()]).expect("one")),
                ("__do_semtimedop", ProbeSkip::Absent("__do_semtimedop")),
                ("freeary", ProbeSkip::Excluded),
                ("shmem_fault", ProbeSkip::NeedsShmFault),
                (
                    "shm_close",
                    ProbeSkip::MissingOffsets(vec!["file.private_data"]),
                ),
            ]
        };
        let err = forced_backend_error(BackendChoice::Fentry, skips(), false).expect("fails");
        assert_eq!(
            err.to_string(),
            format!(
                "--backend fentry: cannot attach newseg (fentry: {}), \
                 shmem_fault (not attached: shmem_fault is only reported beneath shm_fault), \
                 shm_close (kernel BTF lacks file.private_data)",
                eperm_text()
            )
        );
        assert_eq!(err.failures().count(), 3);
        // shm_fault excluded by the user: shmem_fault follows, not a failure.
        let err = forced_backend_error(BackendChoice::Kprobe, skips(), true).expect("fails");
        assert_eq!(
            err.failures().map(|f| f.probe).collect::<Vec<_>>(),
            ["newseg", "shm_close"]
        );
        // auto falls back; tracepoint tries nothing.
        assert!(forced_backend_error(BackendChoice::Auto, skips(), false).is_none());
        assert!(forced_backend_error(BackendChoice::Tracepoint, skips(), false).is_none());
        let fine = vec![("__do_semtimedop", ProbeSkip::Absent("__do_semtimedop"))];
        assert!(forced_backend_error(BackendChoice::Fentry, fine, false).is_none());
    }
}
