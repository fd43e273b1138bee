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
            KeyCode::Enter if self.view == View::Objects && self.selected.is_some() => {
                self.view = View::Detail;
                self.scroll[View::Detail.index()] = 0;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;
    use crate::tui::feed::FeedInfo;

    fn press(app: &mut App, code: KeyCode) {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    fn app() -> App {
        let mut a = App::new(FeedInfo::default());
        for e in fixture::producer_consumer_running() {
            a.apply(&e);
        }
        a
    }

    #[test]
    fn views_selection_and_detail() {
        let mut a = app();
        let first = a.table_rows()[0].handle;
        assert_eq!(a.selected, Some(first), "first object selected");
        press(&mut a, KeyCode::Down);
        assert_eq!(a.selected, Some(a.table_rows()[1].handle));
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.view, View::Detail);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.view, View::Objects);
        press(&mut a, KeyCode::Char('4'));
        assert_eq!(a.view, View::Semaphores);
        press(&mut a, KeyCode::Tab);
        assert_eq!(a.view, View::Swimlane);
        press(&mut a, KeyCode::BackTab);
        press(&mut a, KeyCode::BackTab);
        assert_eq!(a.view, View::Pages);
        press(&mut a, KeyCode::Char('q'));
        assert!(a.quit);
    }

    #[test]
    fn search_sort_and_filter_the_table() {
        let mut a = app();
        press(&mut a, KeyCode::Char('/'));
        typed(&mut a, "leaker");
        assert!(a.prompt.is_some());
        press(&mut a, KeyCode::Char('q'));
        assert!(!a.quit, "q is text while typing");
        press(&mut a, KeyCode::Backspace);
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.search, "leaker");
        let rows: Vec<i32> = a.table_rows().iter().map(|o| o.key.id).collect();
        assert_eq!(rows, vec![32769]);
        assert_eq!(a.selected_object().map(|o| o.key.id), Some(32769));
        press(&mut a, KeyCode::Esc);
        assert!(a.search.is_empty());
        press(&mut a, KeyCode::Char('f')); // live
        press(&mut a, KeyCode::Char('f')); // shm
        assert!(
            a.table_rows()
                .iter()
                .all(|o| o.key.kind == crate::model::ObjKind::Shm)
        );
        press(&mut a, KeyCode::Char('s')); // key
        press(&mut a, KeyCode::Char('S'));
        let keys: Vec<Option<i32>> = a.table_rows().iter().map(|o| o.ipc_key).collect();
        assert_eq!(
            keys,
            vec![Some(fixture::ORPHAN_KEY), Some(fixture::SHM_KEY)]
        );
    }

    #[test]
    fn log_filter_and_bad_filter_message() {
        let mut a = app();
        press(&mut a, KeyCode::Char('6'));
        press(&mut a, KeyCode::Char('f'));
        typed(&mut a, "kind=sem_op pid=4243");
        press(&mut a, KeyCode::Enter);
        let rows = a.log_rows();
        assert!(!rows.is_empty());
        assert!(
            rows.iter()
                .all(|l| l.event.kind == crate::event::EventKind::SemOp && l.event.tgid == 4243)
        );
        press(&mut a, KeyCode::Char('f'));
        for _ in 0..40 {
            press(&mut a, KeyCode::Backspace);
        }
        typed(&mut a, "kind=nope");
        press(&mut a, KeyCode::Enter);
        assert!(
            a.message
                .as_deref()
                .is_some_and(|m| m.contains("unknown kind"))
        );
        press(&mut a, KeyCode::Char('c'));
        assert!(a.log_filter.is_empty());
        press(&mut a, KeyCode::Up);
        assert!(!a.log_follow);
        press(&mut a, KeyCode::End);
        assert!(a.log_follow);
    }
}
