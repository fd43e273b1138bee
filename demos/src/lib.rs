//! Real System V IPC programs for ipc-trace to trace (`shm-producer`,
//! `shm-consumer`, `sem-pingpong`, `demo-run`), the JSON reports they write
//! about exactly what they did, and [`check`], which compares a recording
//! with those reports.
#![deny(missing_docs)]

pub mod bench;
pub mod check;
pub mod cleanup;
pub mod keyfile;
pub mod message;
pub mod report;
pub mod segment;
pub mod semset;
pub mod stages;
pub mod sysv;
pub mod wait;
