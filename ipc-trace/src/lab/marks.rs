//! Where a recording enters each stage of the `shm` and `sem` labs: the
//! replay cursor's stage jumps (`>`/`<` in `replay --step`). A stage is
//! entered at the first event that proves any of its moments; the cursor
//! stops just before that event, so the views show the run at the end of
//! the stage before (e.g. every attach done, no page touched yet).

use super::catalog::{self, Lab};
use super::walk::Walk;
use crate::event::Event;

/// The labs whose stages mark a recording: between them every numbered
/// step of docs/STEPS.md, in the kernel's order (`leak` and `deadlock`
/// reuse their steps).
const MARKING_LABS: [&str; 2] = ["shm", "sem"];

/// The first event of one lab stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageMark {
    /// The event's index in the recording.
    pub index: usize,
    /// The lab (`shm` or `sem`).
    pub lab: &'static str,
    /// The stage's number, from 1.
    pub stage: usize,
    /// How many stages the lab has.
    pub of: usize,
    /// The stage's title.
    pub title: &'static str,
}

/// Every stage entry of `events`, in recording order; each (lab, stage)
/// once. A stage whose moments the recording never proves has no mark.
pub fn stage_marks(events: &[Event]) -> Vec<StageMark> {
    let labs: Vec<&'static Lab> = MARKING_LABS
        .iter()
        .filter_map(|n| catalog::find(n))
        .collect();
    let mut walk = Walk::new();
    let mut marks: Vec<StageMark> = Vec::new();
    for (index, ev) in events.iter().enumerate() {
        for m in walk.apply_moments(ev) {
            for lab in &labs {
                let Some(stage) = lab.stages.iter().position(|s| s.moments.contains(&m)) else {
                    continue;
                };
                let entered = marks
                    .iter()
                    .any(|k| k.lab == lab.name && k.stage == stage + 1);
                if !entered {
                    marks.push(StageMark {
                        index,
                        lab: lab.name,
                        stage: stage + 1,
                        of: lab.stages.len(),
                        title: lab.stages[stage].title,
                    });
                }
            }
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn the_sample_run_enters_every_shm_stage_in_order() {
        let events = fixture::producer_consumer();
        let marks = stage_marks(&events);
        let shm: Vec<usize> = marks
            .iter()
            .filter(|m| m.lab == "shm")
            .map(|m| m.stage)
            .collect();
        assert_eq!(shm, vec![1, 2, 3, 4], "{marks:?}");
        let first_touch = marks
            .iter()
            .find(|m| m.lab == "shm" && m.stage == 3)
            .map(|m| m.index);
        let first_fault = events
            .iter()
            .position(|e| e.kind == crate::event::EventKind::ShmFault);
        assert_eq!(first_touch, first_fault, "stage 3 opens at the first fault");
        assert!(
            marks.windows(2).all(|w| w[0].index <= w[1].index),
            "{marks:?}"
        );
        assert!(marks.iter().any(|m| m.lab == "sem"), "{marks:?}");
    }

    #[test]
    fn no_events_no_marks() {
        assert!(stage_marks(&[]).is_empty());
    }
}
