//! Live tracing sessions: the traced command, userspace filters, and the
//! session loop shared by `record`, the TUI and `summary -- CMD`.

pub mod child;
mod error;
pub mod filter;
pub mod live;
mod misses;
pub mod options;
mod pipeline;
pub mod run;
mod seed;
mod test_hook;
