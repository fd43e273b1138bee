//! What every raw record goes through on its way out of a session: decode,
//! drop the tracer's own, filter, count for the stats line.

use super::filter::LiveFilter;
use crate::decode::Decoder;
use crate::event::{Event, ProbeName};
use ipc_trace_common::RawEvent;
use std::collections::BTreeMap;

/// Decode, filter and count: what every raw record goes through.
pub(super) struct Pipeline {
    pub(super) decoder: Decoder,
    pub(super) filter: LiveFilter,
    pub(super) self_tgid: u32,
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
