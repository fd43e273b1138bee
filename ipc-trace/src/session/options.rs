//! What a live session is asked to do: the tracing options (the CLI builds
//! them from its flags; the library knows nothing of the command line) and
//! how they are written into a recording's header.

use crate::probe::attach::BackendChoice;
use crate::probe::btf::BtfSource;
use crate::probe::kernel_path::ProbeSet;
use std::time::Duration;

/// Tracing options shared by every live command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceOptions {
    /// Backend policy for the kernel-path probes.
    pub backend: BackendChoice,
    /// Event ring buffer size in bytes (a power of two, ≥ 4096).
    pub ringbuf_bytes: u32,
    /// Tasks that may be inside a traced call at once (in-flight map size).
    pub max_inflight: u32,
    /// Only these processes and their children (empty: all, or the command).
    pub pids: Vec<u32>,
    /// Only processes with this command name.
    pub comm: Option<String>,
    /// Only objects with this IPC key.
    pub key: Option<i32>,
    /// Only this IPC namespace (inode).
    pub ipc_ns: Option<u32>,
    /// Skip the start-up IPC round trip that proves the probes fire.
    pub no_selftest: bool,
    /// Kernel-path probes not to attach.
    pub excluded: ProbeSet,
    /// Where struct offsets come from (`--btf`).
    pub btf: BtfSource,
    /// Record the kernel stack at each kernel-path probe (`--stacks`).
    pub stacks: bool,
}

impl Default for TraceOptions {
    fn default() -> TraceOptions {
        TraceOptions {
            backend: BackendChoice::Auto,
            ringbuf_bytes: crate::probe::attach::AttachOptions::DEFAULT_RINGBUF_BYTES,
            max_inflight: crate::probe::attach::AttachOptions::DEFAULT_MAX_INFLIGHT,
            pids: Vec::new(),
            comm: None,
            key: None,
            ipc_ns: None,
            no_selftest: false,
            excluded: ProbeSet::default(),
            btf: BtfSource::Kernel,
            stacks: false,
        }
    }
}

impl TraceOptions {
    /// The header's `filters` object: the backend policy and every filter set.
    pub fn filters_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        m.insert("backend".into(), Value::from(self.backend.as_str()));
        if !self.pids.is_empty() {
            m.insert("pids".into(), Value::from(self.pids.clone()));
        }
        if let Some(comm) = &self.comm {
            m.insert("comm".into(), Value::from(comm.clone()));
        }
        if let Some(key) = self.key {
            m.insert("key".into(), Value::from(key));
        }
        if let Some(ns) = self.ipc_ns {
            m.insert("ipc_ns".into(), Value::from(ns));
        }
        if let Some(btf) = self.btf.header_value() {
            m.insert("btf".into(), Value::from(btf));
        }
        if self.stacks {
            m.insert("stacks".into(), Value::from(true));
        }
        m
    }
}

/// What a live session needs.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Tracing options.
    pub trace: TraceOptions,
    /// Command to start and trace (empty: trace the system or `--pid`s).
    pub cmd: Vec<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Send the command's stdout and stderr to this file instead of the
    /// terminal (the TUI owns the terminal).
    pub child_output: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_filters_name_the_backend_and_only_the_filters_set() {
        let mut t = TraceOptions::default();
        assert_eq!(
            serde_json::Value::Object(t.filters_json()),
            serde_json::json!({"backend": "auto"})
        );
        t.backend = BackendChoice::Kprobe;
        t.key = Some(0x1234);
        t.pids = vec![7];
        assert_eq!(
            serde_json::Value::Object(t.filters_json()),
            serde_json::json!({"backend": "kprobe", "key": 0x1234, "pids": [7]})
        );
        t.btf = BtfSource::Disabled;
        assert_eq!(t.filters_json()["btf"], "none");
    }
}
