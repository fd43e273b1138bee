//! ipc-trace: see System V shared memory and semaphores inside the Linux
//! kernel. The module map is in DESIGN.md (docs/DESIGN.md in the repo).
#![deny(missing_docs)]

pub mod event;
pub mod model;
pub mod probe;
pub mod sysvipc;
pub mod tui;
