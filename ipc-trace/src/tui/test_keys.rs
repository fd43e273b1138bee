//! Key presses for tests: the UI is driven as a user drives it.

use super::app::App;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Presses one key.
pub fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Types `text`, one key per character.
pub fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}
