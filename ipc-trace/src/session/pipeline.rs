//! What every raw record goes through on its way out of a session: decode,
//! drop the tracer's own, filter, name its kernel stack (`--stacks`),
//! count for the stats line.

use super::filter::LiveFilter;
use crate::decode::Decoder;
use crate::event::{Event, ProbeName};
use crate::probe::stacks::KernelStacks;
use ipc_trace_common::RawEvent;
use std::collections::BTreeMap;

/// Decode, filter and count: what every raw record goes through.
pub(super) struct Pipeline {
    pub(super) decoder: Decoder,
    pub(super) filter: LiveFilter,
    pub(super) self_tgid: u32,
    /// The stack map, when the session records stacks.
    pub(super) stacks: Option<KernelStacks>,
    pub(super) events: u64,
    pub(super) events_by_probe: BTreeMap<ProbeName, u64>,
}

impl Pipeline {
    pub(super) fn push(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        if (raw.pid_tgid >> 32) as u32 == self.self_tgid {
            return;
        }
        let start = out.len();
        self.decoder.decode(raw, out);
        let mut keep = start;
        for i in start..out.len() {
            if self.filter.pass(&out[i]) {
                out.swap(keep, i);
                keep += 1;
            }
        }
        out.truncate(keep);
        if let Some(stacks) = &mut self.stacks
            && keep > start
            && let Some(frames) = stacks.resolve(raw.stack_id, stack_function(raw.stack_at))
        {
            // The stack is where the probe fired: it belongs to what the
            // probe saw, not to what was inferred from the record.
            for ev in out[start..].iter_mut().filter(|e| !e.inferred) {
                ev.stack = Some(frames.clone());
            }
        }
        for ev in &out[start..] {
            self.count(ev);
        }
    }

    /// Counts an event that leaves the session (the stats line's totals).
    pub(super) fn count(&mut self, ev: &Event) {
        self.events += 1;
        *self.events_by_probe.entry(ev.probe.clone()).or_default() += 1;
    }
}

/// The kernel function of the probe that took a record's stack.
fn stack_function(probe: u8) -> &'static str {
    crate::probe::kernel_path::KERNEL_PROBES
        .iter()
        .find(|p| p.id == probe)
        .map_or("", |p| p.function)
}
