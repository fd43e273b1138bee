//! Why loading the probes failed as a whole.

use aya::{maps::MapError, programs::ProgramError};

use crate::probe::{reason::describe, skip::ForcedBackendError};

/// Why the probes could not be loaded (individual probes that fail to
/// attach are not errors: see the probe table).
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The process lacks capabilities tracing needs; the line names them
    /// (`Privileges::error_line`).
    #[error("{0}")]
    NotPrivileged(String),
    /// The eBPF object could not be loaded (maps, BTF, relocation).
    #[error("cannot load the eBPF object: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    /// A map the programs define is missing from the object.
    #[error("the eBPF object has no map {0}")]
    MissingMap(&'static str),
    /// A map operation failed.
    #[error("eBPF map {name}: {source}")]
    Map {
        /// The map's name.
        name: &'static str,
        /// What failed.
        #[source]
        source: MapError,
    },
    /// `--backend fentry|kprobe` could not attach every probe whose
    /// function this kernel has (nothing stays attached).
    #[error(transparent)]
    ForcedBackend(Box<ForcedBackendError>),
    /// `take_ring` was already called.
    #[error("the event ring buffer was already taken")]
    RingTaken,
    /// The drop counters cannot be read without `bpf()` calls.
    #[error("cannot map the drop counters (DROPS) into memory: {0}")]
    DropCounters(#[source] std::io::Error),
    /// The programs' switches cannot be set without `bpf()` calls.
    #[error("cannot map the program switches (SWITCHES) into memory: {0}")]
    Switches(#[source] std::io::Error),
}

/// Why one tracepoint program could not be loaded or attached; its text is
/// the probe-table reason.
#[derive(Debug, thiserror::Error)]
pub enum AttachStepError {
    /// The object lacks the program (a build mismatch).
    #[error("program {0} is missing from the eBPF object")]
    MissingProgram(String),
    /// The program has another type than expected (a build mismatch).
    #[error("program {name}: {source}")]
    WrongType {
        /// The program's name.
        name: String,
        /// What aya said.
        #[source]
        source: ProgramError,
    },
    /// The kernel refused to load it (the verifier's log is summarised).
    #[error("{}", describe("load failed", .0))]
    Load(#[source] ProgramError),
    /// tracefs is not mounted, so no tracepoint can be found.
    #[error("tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing")]
    NoTracefs,
    /// Attaching to the tracepoint failed.
    #[error("{}", describe(&format!("{event}: attach failed"), .source))]
    Attach {
        /// `category:event`.
        event: String,
        /// What the kernel said.
        #[source]
        source: ProgramError,
    },
}
