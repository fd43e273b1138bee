//! Colours and per-process letters.

use crate::model::State;
use ratatui::style::{Color, Modifier, Style};
use std::collections::HashMap;

/// Colours given to processes in turn.
pub const PROCESS_COLORS: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightBlue,
    Color::LightRed,
    Color::LightGreen,
    Color::LightMagenta,
];

/// Title and header style.
pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The selected row.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Dim text (removed objects, hints).
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Warnings (orphan, incomplete, drops, deadlock).
pub fn warn() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// Kernel step labels (`SHM-3`).
pub fn step() -> Style {
    Style::new().fg(Color::Green)
}

/// Inferred (derived, not seen) markers.
pub fn inferred() -> Style {
    Style::new().fg(Color::Yellow)
}

/// A letter and a colour per process, in order of first appearance:
/// `a`, `b`, … (then `A`…`Z`, then `*`).
#[derive(Clone, Debug, Default)]
pub struct ProcessLegend {
    index: HashMap<u32, usize>,
}

impl ProcessLegend {
    /// The legend of every process the model knows.
    pub fn of(state: &State) -> ProcessLegend {
        let index = state
            .processes()
            .sorted()
            .iter()
            .enumerate()
            .map(|(i, p)| (p.tgid, i))
            .collect();
        ProcessLegend { index }
    }

    /// The letter of `tgid`.
    pub fn letter(&self, tgid: u32) -> char {
        match self.index.get(&tgid) {
            Some(&i) if i < 26 => (b'a' + i as u8) as char,
            Some(&i) if i < 52 => (b'A' + (i - 26) as u8) as char,
            _ => '*',
        }
    }

    /// The colour of `tgid`.
    pub fn color(&self, tgid: u32) -> Color {
        self.index
            .get(&tgid)
            .map_or(Color::Gray, |i| PROCESS_COLORS[i % PROCESS_COLORS.len()])
    }
}
