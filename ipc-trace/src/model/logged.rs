//! One event as the model's log keeps it: the event, where in the trace it
//! came, the lifecycle it was applied to and the kernel steps it proves.
//! Timelines hold references into this log (see [`super::timeline`]).

use super::ids::ObjId;
use super::steps::StepSet;
use crate::event::Event;

/// One event as kept in the log.
#[derive(Clone, Debug)]
pub struct LoggedEvent {
    /// 0-based position in the whole trace; it keeps counting when the
    /// log forgets its oldest entries.
    pub seq: u64,
    /// The event as received.
    pub event: Event,
    /// The lifecycle it was applied to (none for drops, exits, failed gets).
    pub object: Option<ObjId>,
    /// The kernel steps (docs/STEPS.md) it proves.
    pub steps: StepSet,
}
