//! A lab's pass over the events of a run: the model applied in order, the
//! strongest proof of each moment kept (the first event at that level), and
//! the run's facts counted for the questions.

use super::facts::{Orphan, RunFacts, Who};
use super::moment::Moment;
use crate::event::{Backend, Event, EventKind};
use crate::model::State;
use crate::model::describe::event_text;
use crate::model::evidence::{Evidence, step_probe};
use std::collections::BTreeMap;

/// The event that proves a moment, as a lab shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// How well it proves the moment.
    pub level: Evidence,
    /// When it happened (the events' clock).
    pub ts_ns: u64,
    /// Who did it.
    pub who: Who,
    /// The probe that reported it (`newseg`, `sys_shmat`, …); empty for a
    /// moment the model derived at the end (an orphan).
    pub probe: String,
    /// The probe's backend.
    pub backend: Backend,
    /// The event was derived by the decoder rather than reported.
    pub inferred: bool,
    /// When a step probe nested in the reported call proved the moment
    /// (`probe` is then that step probe): the call's own probe.
    pub inside: Option<String>,
    /// The kernel stack where `probe` fired (`--stacks`), outermost first.
    pub stack: Option<Vec<String>>,
    /// The event in one line.
    pub text: String,
}

/// The proof of `m` by `ev` at `level`. A moment seen in the kernel by a
/// step probe names that probe, inside the call that carried it. An
/// event's stack is the one its record was given: by its own kernel-path
/// probe, or, for a syscall's record, by the step probe that fired inside
/// it (there is one per syscall), so it goes only with that proof.
fn proof(m: Moment, level: Evidence, ev: &Event) -> Proof {
    let step_probe = match m {
        Moment::Step(step) if level == Evidence::InKernel => {
            step_probe(step).filter(|f| ev.inner_seen(f))
        }
        _ => None,
    };
    let stack_fits = match step_probe {
        Some(_) => ev.backend == Backend::Tracepoint,
        None => matches!(ev.backend, Backend::Kprobe | Backend::Fentry) && !ev.inferred,
    };
    Proof {
        level,
        ts_ns: ev.ts_ns,
        who: Who::of(ev),
        probe: step_probe.map_or_else(|| ev.probe.to_string(), str::to_string),
        backend: ev.backend,
        inferred: ev.inferred,
        inside: step_probe.map(|_| ev.probe.to_string()),
        stack: ev.stack.clone().filter(|_| stack_fits),
        text: event_text(ev),
    }
}

/// The walk over one run.
#[derive(Debug, Default)]
pub struct Walk {
    state: State,
    proofs: BTreeMap<Moment, Proof>,
    facts: RunFacts,
}

impl Walk {
    /// An empty walk.
    pub fn new() -> Walk {
        Walk::default()
    }

    /// Applies the next event of the run.
    pub fn apply(&mut self, ev: &Event) {
        let _moments = self.apply_moments(ev);
    }

    /// Applies the next event of the run; the moments it proves (a cycle
    /// the model finds is not among them).
    pub fn apply_moments(&mut self, ev: &Event) -> Vec<Moment> {
        let steps = self.state.steps_for(ev);
        self.state.apply(ev);
        self.facts.note(ev, &steps);
        let used_undo = self.facts.undo_users.contains(&ev.tgid);
        let moments: Vec<Moment> = steps
            .into_iter()
            .map(Moment::Step)
            .chain(Moment::unnumbered_of(ev, used_undo))
            .collect();
        for &m in &moments {
            let level = m.evidence(ev);
            if self.proofs.get(&m).is_some_and(|p| p.level <= level) {
                continue;
            }
            self.proofs.insert(m, proof(m, level, ev));
        }
        self.look_for_a_cycle(ev);
        moments
    }

    /// Records the first wait-for cycle the model shows after `ev`.
    fn look_for_a_cycle(&mut self, ev: &Event) {
        if ev.kind != EventKind::SemOp || self.facts.cycle.is_some() {
            return;
        }
        let Some(cycle) = self.state.deadlock_hints().into_iter().next() else {
            return;
        };
        let who = |tgid: u32| Who {
            tgid,
            comm: self
                .state
                .processes()
                .get(tgid)
                .map_or_else(|| "?".to_string(), |p| p.comm.to_string()),
        };
        let edges: Vec<(Who, Who, u16)> = cycle
            .edges
            .iter()
            .map(|e| (who(e.waiter), who(e.holder), e.num))
            .collect();
        let text = edges
            .iter()
            .map(|(w, h, n)| format!("{w} waited for semaphore {n}, held by {h}"))
            .collect::<Vec<_>>()
            .join("; ");
        self.proofs.insert(
            Moment::Deadlock,
            Proof {
                level: Evidence::Implied,
                ts_ns: ev.ts_ns,
                who: Who::of(ev),
                probe: String::new(),
                backend: ev.backend,
                inferred: true,
                inside: None,
                stack: None,
                text,
            },
        );
        self.facts.cycle = Some(edges);
    }

    /// Ends the run: finds the segments left behind.
    pub fn finish(&mut self) {
        let now = self.state.now_ns();
        for o in self.state.orphans() {
            let orphan = Orphan {
                id: o.key.id,
                key: o.ipc_key,
                size: o.size,
                creator: o.creator.as_ref().map(|c| Who {
                    tgid: c.tgid,
                    comm: c.comm.to_string(),
                }),
                nattch: o.nattch(),
            };
            if let std::collections::btree_map::Entry::Vacant(slot) =
                self.proofs.entry(Moment::Orphaned)
            {
                let who = orphan.creator.clone().unwrap_or(Who {
                    tgid: 0,
                    comm: "?".into(),
                });
                slot.insert(Proof {
                    level: Evidence::Implied,
                    ts_ns: now,
                    text: format!(
                        "segment id {} ({} bytes) at the end of the run: attached by nobody, creator {} gone, no IPC_RMID",
                        orphan.id,
                        orphan.size.map_or_else(|| "?".into(), |s| s.to_string()),
                        who
                    ),
                    who,
                    probe: String::new(),
                    backend: Backend::Tracepoint,
                    inferred: true,
                    inside: None,
                    stack: None,
                });
            }
            self.facts.orphans.push(orphan);
        }
    }

    /// The proof of `m`, if the run showed it.
    pub fn proof(&self, m: Moment) -> Option<&Proof> {
        self.proofs.get(&m)
    }

    /// The run's facts.
    pub fn facts(&self) -> &RunFacts {
        &self.facts
    }
}
