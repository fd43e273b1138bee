//! The replay cursor (`ipc-trace replay FILE --step`): the recording held in
//! memory and the model shown as it was after any one of its events. Keys
//! move it an event at a time (`]` `[`), to the next or previous event that
//! shows a kernel step the run had not shown before (`}` `{`), to the end
//! of the current lab stage or back to the start of the last one (`>` `<`,
//! stages of the `shm` and `sem` labs: `lab::marks`), or play it (space:
//! one event per redraw). Moving back rebuilds the model from the
//! start, so every view shows exactly the state at the cursor.

use super::app::App;
use crate::event::Event;
use crate::lab::marks::{StageMark, stage_marks};
use crate::model::{State, StepSet};

/// Events a stepped replay holds at most (about 300 bytes each in memory).
pub const MAX_EVENTS: usize = 2_000_000;

/// A recording and a position in it.
#[derive(Debug)]
pub struct Cursor {
    events: Vec<Event>,
    /// Events applied to the model: 0 (nothing yet) ..= `events.len()`.
    at: usize,
    /// Indices of the events that show a step for the first time in the run.
    firsts: Vec<usize>,
    /// Where the recording enters each lab stage.
    stages: Vec<StageMark>,
    /// Advancing one event per redraw.
    pub playing: bool,
}

impl Cursor {
    /// A cursor before the first of `events`.
    pub fn new(events: Vec<Event>) -> Cursor {
        let mut state = State::new();
        let mut shown = StepSet::EMPTY;
        let mut firsts = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            let steps = state.steps_for(ev);
            state.apply(ev);
            if steps.iter().any(|s| !shown.contains(*s)) {
                firsts.push(i);
                for s in steps {
                    shown.insert(s);
                }
            }
        }
        let stages = stage_marks(&events);
        Cursor {
            events,
            at: 0,
            firsts,
            stages,
            playing: false,
        }
    }

    /// Events applied so far.
    pub fn at(&self) -> usize {
        self.at
    }

    /// Events in the recording.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True for an empty recording.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The last event applied, if any.
    pub fn current(&self) -> Option<&Event> {
        self.at.checked_sub(1).and_then(|i| self.events.get(i))
    }

    /// The position `delta` events away, within the recording.
    pub fn by_events(&self, delta: isize) -> usize {
        self.at.saturating_add_signed(delta).min(self.events.len())
    }

    /// The position just after the next (`delta > 0`) or previous event
    /// that shows a step for the first time; the ends when there is none.
    pub fn by_new_step(&self, delta: isize) -> usize {
        if delta > 0 {
            self.firsts
                .iter()
                .find(|&&i| i >= self.at)
                .map_or(self.events.len(), |i| i + 1)
        } else {
            self.firsts
                .iter()
                .rev()
                .find(|&&i| i + 1 < self.at)
                .map_or(0, |i| i + 1)
        }
    }

    /// The position just before the next (`delta > 0`) lab stage's first
    /// event: the end of the stage the cursor is in; or back (`delta < 0`)
    /// to just before the last stage entered. The ends when there is none.
    pub fn by_stage(&self, delta: isize) -> usize {
        if delta > 0 {
            self.stages
                .iter()
                .find(|m| m.index > self.at)
                .map_or(self.events.len(), |m| m.index)
        } else {
            self.stages
                .iter()
                .rev()
                .find(|m| m.index < self.at)
                .map_or(0, |m| m.index)
        }
    }

    /// Where the cursor is among the lab stages: the stage about to begin
    /// (`true`: its first event is the next one) or the last one begun.
    pub fn stage(&self) -> Option<(&StageMark, bool)> {
        if let Some(m) = self.stages.iter().find(|m| m.index == self.at) {
            return Some((m, true));
        }
        self.stages
            .iter()
            .rev()
            .find(|m| m.index < self.at)
            .map(|m| (m, false))
    }
}

impl App {
    /// Moves the cursor to `target` events applied and rebuilds what the
    /// views show: forward by applying the events in between, backward by
    /// applying the recording again from its start.
    pub fn move_cursor(&mut self, target: usize) {
        let Some(mut cursor) = self.cursor.take() else {
            self.message = Some(
                "not a stepped replay: open the recording with `ipc-trace replay FILE --step`"
                    .into(),
            );
            return;
        };
        let target = target.min(cursor.events.len());
        if target < cursor.at {
            self.state = State::new();
            cursor.at = 0;
        }
        for ev in &cursor.events[cursor.at..target] {
            self.apply(ev);
        }
        cursor.at = target;
        if cursor.at == cursor.events.len() {
            cursor.playing = false;
        }
        self.cursor = Some(cursor);
    }

    /// One redraw's worth of playing: the next event. True when it moved.
    pub fn cursor_tick(&mut self) -> bool {
        match &self.cursor {
            Some(c) if c.playing => {
                let next = c.by_events(1);
                self.move_cursor(next);
                true
            }
            _ => false,
        }
    }
}
