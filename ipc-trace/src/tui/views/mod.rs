//! One file per view; each is a widget over `&App`.

pub mod detail;
pub mod log;
pub mod objects;
pub mod pages;
pub mod sems;
pub mod stats;
pub mod swimlane;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget};

/// Renders a bordered box with a message (e.g. "no segment yet").
pub fn empty(title: &str, message: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(Line::from(message.to_string()))
        .block(Block::bordered().title(format!(" {title} ")))
        .render(area, buf);
}
