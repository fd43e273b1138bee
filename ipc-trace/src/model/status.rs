//! The words the object table and the detail view print for a lifecycle's
//! status. Presentation, kept in the model so every front end (TUI,
//! summary, tests) uses the same words for the same facts.

use super::object::Object;
use super::state::State;

impl State {
    /// Status words of a lifecycle, in this order: `removed` or `dest`
    /// (removal requested, freed at the last detach), `orphan`, `mid-life`,
    /// `incomplete`.
    pub fn status_words(&self, obj: &Object) -> Vec<&'static str> {
        let mut s = Vec::new();
        if obj.removed.is_some() {
            s.push("removed");
        } else if obj.marked_for_removal.is_some() {
            s.push("dest");
        }
        if self.is_orphan(obj) {
            s.push("orphan");
        }
        if obj.seen_mid_life() {
            s.push("mid-life");
        }
        if obj.incomplete {
            s.push("incomplete");
        }
        s
    }
}
