//! Pure lifecycle reconstruction: [`State::apply`] turns the event stream
//! into per-object lifecycles (keyed by IPC namespace, kind and id, indexed
//! by IPC key), processes, per-probe counters, deadlock hints and the SEED
//! steps each event proves. No I/O, no clock, no terminal; memory is bounded
//! for long runs.

pub mod bounded;
pub mod deadlock;
pub mod describe;
pub mod fixture;
pub mod object;
pub mod pages;
pub mod process;
pub mod rate;
pub mod sem;
pub mod state;
pub mod steps;
pub mod timeline;

#[cfg(test)]
mod tests;

pub use object::{Actor, ObjId, ObjKind, Object, ObjectKey, Origin};
pub use state::{Limits, LoggedEvent, State};
pub use steps::{Step, StepSet};

/// The SEED steps `ev` proves, given the model before applying it.
pub fn steps_for(ev: &crate::event::Event, state: &State) -> Vec<Step> {
    state.steps_for(ev)
}
