//! Near-empty library target: aya-build needs one; the programs live in the
//! `ipc-trace` binary target (src/main.rs and its modules).
#![no_std]
