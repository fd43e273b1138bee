//! Pure lifecycle reconstruction: [`State::apply`] turns the event stream
//! into per-object lifecycles (keyed by IPC namespace, kind and id, indexed
//! by IPC key), processes, per-probe counters, deadlock hints and the
//! kernel steps (docs/STEPS.md) each event proves. No I/O, no clock, no
//! terminal; memory is bounded for long runs.
//!
//! Imports between these files go one way (the `layering` test checks it):
//! `ids`, `steps`, `bounded`, `rate`, `describe`, `pages` and `process`
//! import no other model file; `state` sits on top, and only `status` (and
//! the tests) build on it.

pub mod bounded;
pub mod deadlock;
pub mod describe;
pub mod evidence;
#[cfg(any(test, feature = "sample-trace"))]
pub mod fixture;
pub mod ids;
pub mod logged;
pub mod object;
pub mod pages;
pub mod process;
pub mod rate;
pub mod sem;
pub mod state;
pub mod status;
pub mod steps;
pub mod timeline;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod tests;

pub use ids::{Actor, ObjId, ObjKind, ObjectKey};
pub use logged::LoggedEvent;
pub use object::{Object, Origin};
pub use state::{Limits, State};
pub use steps::{Step, StepSet};
