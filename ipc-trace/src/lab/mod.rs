//! Teaching labs: a demo's run walked through in the kernel's order, stage
//! by stage, each step with what the kernel did and how well the run
//! proves it (seen in the kernel, at the syscall boundary, implied, not
//! visible), then questions answered from that same run. The CLI
//! (`ipc-trace lab`) runs the demo or reads a recording and does the
//! pausing and the asking; everything here is pure but [`pause`], the
//! protocol that stops a live lab's demo at its stage boundaries.

pub mod catalog;
pub mod explain;
pub mod facts;
pub mod marks;
pub mod moment;
pub mod pause;
pub mod questions;
pub mod quiz;
pub mod render;
pub mod walk;

#[cfg(test)]
mod tests;
