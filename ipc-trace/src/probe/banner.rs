//! The start-up banner: what this session cannot see and what that costs
//! the user, in the user's terms ("page faults are inferred"), built from
//! the probe table and why each kernel-path probe was skipped. Printed on
//! standard error before tracing and stored in the recording header's
//! `limits`.

use super::ProbeTable;
use super::skip::{BackendError, ProbeSkip};
use ipc_trace_common::probe as ids;
use std::collections::BTreeMap;

/// How a fact is still known when its probes are not attached.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// Derived from syscall and page-fault tracepoints (`"inferred": true`).
    Inferred,
    /// Seen at the syscall only, not inside the kernel.
    SyscallOnly,
    /// Not visible at all.
    Hidden,
}

/// One fact the kernel-path probes give: lost when none of its probes is
/// attached.
struct Fact {
    probes: &'static [u8],
    what: &'static str,
    fallback: Fallback,
}

const FACTS: &[Fact] = &[
    Fact {
        probes: &[ids::NEWSEG],
        what: "segment creates",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::SHM_FAULT],
        what: "page faults",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::SHM_CLOSE],
        what: "detaches",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::SHM_DESTROY],
        what: "segment destroys",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::NEWARY],
        what: "semaphore set creates",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::FREEARY],
        what: "semaphore set destroys",
        fallback: Fallback::Inferred,
    },
    Fact {
        probes: &[ids::DO_SHMAT],
        what: "attaches",
        fallback: Fallback::SyscallOnly,
    },
    Fact {
        probes: &[ids::DO_SEMTIMEDOP, ids::DO_SEMTIMEDOP_INNER],
        what: "semops",
        fallback: Fallback::SyscallOnly,
    },
    Fact {
        probes: &[ids::SHMEM_FAULT],
        what: "shmem faults",
        fallback: Fallback::Hidden,
    },
];

/// Why a kernel-path probe was skipped, in the banner's words (several
/// when several backends failed; none when it follows from another probe).
/// `no_btf_offsets` is said for missing struct offsets when the session has
/// no BTF at all (`--btf none`, or a kernel without it).
pub fn causes(skip: &ProbeSkip, no_btf_offsets: Option<&str>) -> Vec<String> {
    match skip {
        ProbeSkip::Excluded => vec!["excluded by --exclude-probe".into()],
        ProbeSkip::TracepointChosen => vec!["--backend tracepoint chosen".into()],
        ProbeSkip::MissingOffsets(_) => vec![
            no_btf_offsets
                .unwrap_or("the BTF lacks struct members the probes read")
                .to_string(),
        ],
        ProbeSkip::OnlyVariant { function, .. } | ProbeSkip::Absent(function) => {
            vec![format!("{function} is not in this kernel")]
        }
        ProbeSkip::NeedsShmFault => Vec::new(),
        ProbeSkip::Failed { first, more } => std::iter::once(first.as_ref())
            .chain(more)
            .map(|f| match &f.error {
                BackendError::NoBtf(_) => {
                    "no BTF on this kernel (/sys/kernel/btf/vmlinux): no fentry".to_string()
                }
                BackendError::BtfDisabled => NO_BTF_CHOSEN.to_string(),
                BackendError::NoKprobePmu => "no kprobes on this kernel (no kprobe PMU)".into(),
                other => format!("{} refused ({other})", f.backend.as_str()),
            })
            .collect(),
    }
}

/// The cause of `--btf none`, for fentry and for missing offsets alike.
pub const NO_BTF_CHOSEN: &str = "no BTF (--btf none)";

/// The banner's lines (empty when every fact is seen): what is missing,
/// then what it costs. `causes` holds [`causes`] per skipped probe id.
pub fn lines(table: &ProbeTable, causes: &BTreeMap<u8, Vec<String>>) -> Vec<String> {
    let lost: Vec<&Fact> = FACTS
        .iter()
        .filter(|f| !f.probes.iter().any(|&id| table.is_attached(id)))
        .collect();
    if lost.is_empty() {
        return Vec::new();
    }
    let mut why: Vec<&str> = Vec::new();
    for fact in &lost {
        for id in fact.probes {
            for cause in causes.get(id).into_iter().flatten() {
                if !why.contains(&cause.as_str()) {
                    why.push(cause);
                }
            }
        }
    }
    let mut out = Vec::new();
    if !why.is_empty() {
        out.push(format!("limited: {}", why.join("; ")));
    }
    let named = |fallback| -> Vec<&str> {
        lost.iter()
            .filter(|f| f.fallback == fallback)
            .map(|f| f.what)
            .collect()
    };
    let mut cost = Vec::new();
    let inferred = named(Fallback::Inferred);
    if !inferred.is_empty() {
        cost.push(format!(
            "{} are inferred from syscall and page-fault tracepoints (\"inferred\": true)",
            and_list(&inferred)
        ));
    }
    let syscall = named(Fallback::SyscallOnly);
    if !syscall.is_empty() {
        cost.push(format!(
            "{} are seen at their syscalls only",
            and_list(&syscall)
        ));
    }
    let hidden = named(Fallback::Hidden);
    if !hidden.is_empty() {
        cost.push(format!("{} are not visible", and_list(&hidden)));
    }
    out.push(format!(
        "so {}: the steps inside the kernel are not shown (see `ipc-trace doctor`)",
        cost.join("; ")
    ));
    out
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Backend;

    fn table(attached: &[u8]) -> ProbeTable {
        let mut t = ProbeTable::unattached();
        for &id in attached {
            if let Some(row) = t.get_mut(id) {
                row.attached = true;
                row.backend = Some(Backend::Kprobe);
            }
        }
        t
    }

    #[test]
    fn everything_attached_gives_no_banner() {
        let all: Vec<u8> = (ids::FIRST_KERNEL_PATH..ids::COUNT as u8).collect();
        assert!(lines(&table(&all), &BTreeMap::new()).is_empty());
        // A function this kernel lacks costs nothing while its twin is attached.
        let no_inner: Vec<u8> = all
            .iter()
            .copied()
            .filter(|&id| id != ids::DO_SEMTIMEDOP_INNER)
            .collect();
        let causes = [(
            ids::DO_SEMTIMEDOP_INNER,
            super::causes(&ProbeSkip::Absent("__do_semtimedop"), None),
        )]
        .into_iter()
        .collect();
        assert!(lines(&table(&no_inner), &causes).is_empty());
    }

    #[test]
    fn nothing_attached_names_the_causes_once_and_every_cost() {
        let skip = || {
            ProbeSkip::failed(vec![super::super::skip::BackendFailure {
                backend: Backend::Kprobe,
                error: BackendError::NoKprobePmu,
            }])
            .expect("one failure")
        };
        let causes: BTreeMap<u8, Vec<String>> = (ids::FIRST_KERNEL_PATH..ids::COUNT as u8)
            .map(|id| (id, super::causes(&skip(), None)))
            .collect();
        let banner = lines(&table(&[]), &causes);
        assert_eq!(
            banner,
            [
                "limited: no kprobes on this kernel (no kprobe PMU)",
                "so segment creates, page faults, detaches, segment destroys, semaphore set \
                 creates and semaphore set destroys are inferred from syscall and page-fault \
                 tracepoints (\"inferred\": true); attaches and semops are seen at their \
                 syscalls only; shmem faults are not visible: the steps inside the kernel are \
                 not shown (see `ipc-trace doctor`)"
            ]
        );
    }

    #[test]
    fn one_missing_probe_costs_only_its_fact() {
        let all_but_fault: Vec<u8> = (ids::FIRST_KERNEL_PATH..ids::COUNT as u8)
            .filter(|&id| id != ids::SHM_FAULT && id != ids::SHMEM_FAULT)
            .collect();
        let causes = [
            (ids::SHM_FAULT, super::causes(&ProbeSkip::Excluded, None)),
            (
                ids::SHMEM_FAULT,
                super::causes(&ProbeSkip::NeedsShmFault, None),
            ),
        ]
        .into_iter()
        .collect();
        let banner = lines(&table(&all_but_fault), &causes);
        assert_eq!(banner[0], "limited: excluded by --exclude-probe");
        assert!(
            banner[1].starts_with("so page faults are inferred"),
            "{banner:?}"
        );
        assert!(banner[1].contains("shmem faults are not visible"));
        assert!(!banner[1].contains("semops"));
    }
}
