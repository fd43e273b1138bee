//! Probes: which hooks exist, which backend each one got, and why a probe
//! was skipped. The table is shown by `doctor`, stored in every recording's
//! header, and drives `decode` (a kernel-path probe that is not attached is
//! replaced by an inference from tracepoints).

pub mod btf;
pub mod doctor;
pub mod expect;
pub mod facts;
pub mod system;
pub mod tracefs;

use crate::event::Backend;
use ipc_trace_common::probe as ids;
use serde::{Deserialize, Serialize};

/// Whether a probe is a tracepoint or a kernel-function probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeClass {
    /// Always-on tracepoints (syscalls, exceptions, sched).
    Tracepoint,
    /// kprobe/kretprobe or fentry/fexit on a kernel function (the mission).
    KernelPath,
}

/// One row of the probe table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeStatus {
    /// Probe name (`ipc_trace_common::probe::NAMES`).
    pub name: String,
    /// Tracepoint or kernel-path.
    pub class: ProbeClass,
    /// The backend it is attached with (None when not attached).
    pub backend: Option<Backend>,
    /// True when attached and delivering.
    pub attached: bool,
    /// Why it is not attached, or which backends were tried and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Result of the start-up self-test: did it actually fire? None = not tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired: Option<bool>,
}

/// The probe table, one row per `ipc_trace_common::probe` id, in id order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProbeTable {
    /// Rows in probe-id order.
    pub probes: Vec<ProbeStatus>,
}

impl ProbeTable {
    /// A table with every probe present but not attached.
    pub fn unattached() -> ProbeTable {
        let probes = ids::NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| ProbeStatus {
                name: (*name).to_string(),
                class: if (i as u8) < ids::FIRST_KERNEL_PATH {
                    ProbeClass::Tracepoint
                } else {
                    ProbeClass::KernelPath
                },
                backend: None,
                attached: false,
                reason: None,
                fired: None,
            })
            .collect();
        ProbeTable { probes }
    }

    /// The row of a probe id.
    pub fn get(&self, id: u8) -> Option<&ProbeStatus> {
        self.probes.get(id as usize)
    }

    /// The row of a probe id, mutable.
    pub fn get_mut(&mut self, id: u8) -> Option<&mut ProbeStatus> {
        self.probes.get_mut(id as usize)
    }

    /// True when probe `id` is attached.
    pub fn is_attached(&self, id: u8) -> bool {
        self.get(id).is_some_and(|p| p.attached)
    }

    /// The backend probe `id` is attached with.
    pub fn backend(&self, id: u8) -> Option<Backend> {
        self.get(id)
            .and_then(|p| if p.attached { p.backend } else { None })
    }
}

pub mod array_mmap;
pub mod attach;
pub mod banner;
pub mod drop_counters;
pub mod ebpf_log;
pub mod kallsyms;
pub mod kernel_path;
pub mod loaded;
pub mod privilege;
pub mod prog_stats;
pub mod reason;
pub mod skip;
pub mod stacks;
pub mod unpreempted;
