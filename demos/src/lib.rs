//! Shared helpers of the demo programs.
