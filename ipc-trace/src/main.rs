//! The `ipc-trace` command.
fn main() {}
