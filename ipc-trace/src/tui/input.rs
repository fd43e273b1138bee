//! Keyboard handling: turns key presses into changes of the [`App`].

use super::app::{App, LogFilter, Prompt, View};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Lines moved by PageUp/PageDown.
const PAGE: usize = 20;

impl App {
    /// Handles one terminal event (keys; resizes only need a redraw).
    pub fn on_terminal_event(&mut self, ev: &TermEvent) {
        if let TermEvent::Key(key) = ev
            && key.kind != KeyEventKind::Release
        {
            self.on_key(*key);
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if self.prompt.is_some() {
            self.on_prompt_key(key);
            return;
        }
        if self.help {
            if matches!(key.code, KeyCode::Char('?' | 'q') | KeyCode::Esc) {
                self.help = false;
            }
            return;
        }
        self.message = None;
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab => self.view = self.view.step(1),
            KeyCode::BackTab => self.view = self.view.step(-1),
            KeyCode::Char(c @ '1'..='7') => {
                let i = c as usize - '1' as usize;
                self.view = View::ALL[i];
            }
            KeyCode::Char('/') => {
                let current = match self.view {
                    View::Log => self.log_search.clone(),
                    _ => self.search.clone(),
                };
                self.prompt = Some(Prompt::Search(current));
            }
            KeyCode::Char('f') if self.view == View::Log => {
                self.prompt = Some(Prompt::LogFilter(self.log_filter.describe()));
            }
            KeyCode::Char('f') => self.filter = self.filter.next(),
            KeyCode::Char('s') => self.sort = self.sort.next(),
            KeyCode::Char('S') => self.sort_desc = !self.sort_desc,
            KeyCode::Char('c') if self.view == View::Log => {
                self.log_filter = LogFilter::default();
                self.log_search.clear();
            }
            KeyCode::Esc => match self.view {
                View::Detail | View::Pages | View::Semaphores => self.view = View::Objects,
                View::Log => {
                    self.log_search.clear();
                    self.log_filter = LogFilter::default();
                }
                _ => self.search.clear(),
            },
            KeyCode::Enter if self.view == View::Objects => {
                if self.selected.is_some() {
                    self.view = View::Detail;
                    self.scroll[View::Detail.index()] = 0;
                }
            }
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::PageUp => self.move_by(-(PAGE as isize)),
            KeyCode::PageDown => self.move_by(PAGE as isize),
            KeyCode::Home | KeyCode::Char('g') => self.move_by(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_by(isize::MAX / 2),
            KeyCode::Left | KeyCode::Char('h') if self.view != View::Objects => self.select_by(-1),
            KeyCode::Right | KeyCode::Char('l') if self.view != View::Objects => self.select_by(1),
            _ => {}
        }
    }

    fn on_prompt_key(&mut self, key: KeyEvent) {
        let Some(prompt) = self.prompt.as_mut() else {
            return;
        };
        let text = match prompt {
            Prompt::Search(t) | Prompt::LogFilter(t) => t,
        };
        match key.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            KeyCode::Enter => {
                let done = self.prompt.take();
                match done {
                    Some(Prompt::Search(t)) if self.view == View::Log => {
                        self.log_search = t;
                        self.log_follow = true;
                        self.scroll[View::Log.index()] = 0;
                    }
                    Some(Prompt::Search(t)) => {
                        self.search = t;
                        if self.view != View::Objects {
                            self.view = View::Objects;
                        }
                        self.selected = self.table_rows().first().map(|o| o.handle);
                    }
                    Some(Prompt::LogFilter(t)) => match LogFilter::parse(&t) {
                        Ok(f) => {
                            self.log_filter = f;
                            self.scroll[View::Log.index()] = 0;
                        }
                        Err(e) => self.message = Some(e),
                    },
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// Moves the table selection, or scrolls the other views.
    fn move_by(&mut self, delta: isize) {
        match self.view {
            View::Objects => self.select_by(delta),
            View::Log => {
                // The log scrolls from the bottom: up = older.
                let max = self.log_rows().len().saturating_sub(1);
                let s = &mut self.scroll[View::Log.index()];
                *s = s.saturating_add_signed(-delta).min(max);
                self.log_follow = *s == 0;
            }
            v => {
                let s = &mut self.scroll[v.index()];
                *s = s.saturating_add_signed(delta).min(1_000_000);
            }
        }
    }

    /// Moves the selection `delta` rows in the object table's order.
    fn select_by(&mut self, delta: isize) {
        let rows = self.table_rows();
        if rows.is_empty() {
            return;
        }
        let at = self
            .selected
            .and_then(|h| rows.iter().position(|o| o.handle == h));
        let next = match at {
            Some(i) => i.saturating_add_signed(delta).min(rows.len() - 1),
            None => 0,
        };
        let handle = rows[next].handle;
        if self.selected != Some(handle) {
            self.selected = Some(handle);
            for v in [View::Detail, View::Pages, View::Semaphores] {
                self.scroll[v.index()] = 0;
            }
        }
    }
}
