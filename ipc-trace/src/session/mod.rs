//! Live tracing sessions: the traced command, userspace filters, and the
//! session loop shared by `record`, the TUI and `summary -- CMD`.

pub mod child;
pub mod filter;
pub mod live;
pub mod options;
