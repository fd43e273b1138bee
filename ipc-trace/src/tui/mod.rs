//! The terminal UI: ratatui views over the model, keyboard input, and the
//! runtime that feeds traced events into the model and redraws at a steady
//! rate. [`run`] is the entry point; [`Feed`] is what the live tracer and the
//! replay reader hand it.

pub mod action;
pub mod app;
pub mod cursor;
pub mod draw;
pub mod feed;
pub mod filters;
pub mod footer;
pub mod format;
pub mod help;
pub mod input;
pub mod runtime;
pub mod terminal;
pub mod theme;
pub mod views;

#[cfg(test)]
mod cursor_tests;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod test_keys;

pub use app::App;
pub use feed::{Feed, FeedInfo, Seeds};
pub use runtime::run;
