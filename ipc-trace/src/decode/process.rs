//! What process events do to the attaches the decoder tracks: an exit or
//! an exec unmaps every one of the process, a fork copies them to the child.

use super::shm::inferred_detach;
use super::state::{Attach, ObjKey};
use super::{Decoder, seen, tgid_of};
use crate::event::{Event, EventKind};
use ipc_trace_common::RawEvent;

impl Decoder {
    /// A process exited: its mappings are gone.
    pub(super) fn proc_exit(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        out.push(seen(raw, EventKind::ProcExit));
        self.unmap_all(raw, out);
    }

    /// A process replaced its image: its mappings are gone, as at exit.
    pub(super) fn proc_exec(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        out.push(seen(raw, EventKind::ProcExec));
        self.unmap_all(raw, out);
    }

    /// A process forked a process (args[0], the child's pid): the child has
    /// a mapping wherever the parent has one, so its `shmdt`s and its exit
    /// detach them. No detach or destroy follows from a fork.
    pub(super) fn proc_fork(&mut self, raw: &RawEvent, out: &mut Vec<Event>) -> bool {
        let Ok(child) = u32::try_from(raw.args[0]) else {
            return false;
        };
        if child == 0 {
            return false;
        }
        let mut fork = seen(raw, EventKind::ProcFork);
        fork.ret = Some(i64::from(child));
        out.push(fork);
        let parent = tgid_of(raw);
        for a in self.objects.attaches_of(parent) {
            self.objects.track(Attach { tgid: child, ..a });
        }
        true
    }

    /// The process of `raw` lost every mapping (exit or exec): each attach
    /// still tracked gets an inferred detach, then each removed segment left
    /// without attaches an inferred destroy.
    ///
    /// With `shm_close` attached nothing is usually left: up to 6.12 the
    /// kernel runs `exit_mm` (whose `shm_close` reports each detach) before
    /// `sched_process_exit`, and `exec` drops the old mm before
    /// `sched_process_exec`. Later kernels run the exit tracepoint first,
    /// where the process stops being traced, so its `shm_close` and
    /// `shm_destroy` are filtered out: what is left went unreported and is
    /// inferred here. When tracing system-wide nothing is filtered and the
    /// kernel's reports follow; they are then dropped as duplicates.
    fn unmap_all(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let tgid = tgid_of(raw);
        let gone = self.objects.untrack_all(|a| a.tgid == tgid);
        out.extend(gone.iter().map(|a| inferred_detach(raw, a)));
        let mut segments: Vec<ObjKey> = Vec::new();
        for a in &gone {
            if self.attached.shm_close {
                self.objects.remember_exit_detach(a);
            }
            if !segments.contains(&a.seg) {
                segments.push(a.seg);
            }
        }
        for seg in segments {
            if self.attached.shm_destroy {
                self.destroy_unreported(raw, seg, out);
            } else {
                self.destroy_if_unused(raw, seg, out);
            }
        }
    }

    /// `destroy_if_unused` for a segment whose `shm_destroy` the kernel
    /// would have run in the exiting process, after it stopped being traced.
    fn destroy_unreported(&mut self, raw: &RawEvent, seg: ObjKey, out: &mut Vec<Event>) {
        if self.infer_destroy_if_unused(raw, seg, out) {
            self.objects.remember_exit_free(tgid_of(raw), seg);
        }
    }
}
