//! ipc-trace: see System V shared memory and semaphores inside the Linux
//! kernel. The module map is in docs/DESIGN.md.
#![deny(missing_docs)]

pub mod clock;
pub mod decode;
pub mod event;
pub mod export;
pub mod heap;
pub mod lab;
pub mod model;
pub mod probe;
pub mod recording;
pub mod selftest;
pub mod session;
pub mod source;
pub mod summary;
pub mod sysvipc;
pub mod tui;
