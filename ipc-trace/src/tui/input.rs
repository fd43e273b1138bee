//! The key map: which [`Action`] a key press asks for, given what the UI
//! is doing (typing a line, showing help, or browsing) and the view shown.

use super::action::{Action, BOTTOM, TOP};
use super::app::{App, View};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Lines moved by PageUp/PageDown.
const PAGE: isize = 20;

/// What keys mean depends on this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A search or filter line is being typed: characters are text.
    Typing,
    /// The help overlay is open: only the keys that close it work.
    Help,
    /// Everything else.
    Browsing,
}

/// The action a key asks for; `None` for a key without meaning here.
/// Ctrl-C quits in every mode.
pub fn action(mode: Mode, view: View, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Typing => typing(key.code),
        Mode::Help => {
            matches!(key.code, KeyCode::Char('?' | 'q') | KeyCode::Esc).then_some(Action::CloseHelp)
        }
        Mode::Browsing => browsing(view, key.code),
    }
}

fn typing(code: KeyCode) -> Option<Action> {
    Some(match code {
        KeyCode::Esc => Action::CancelPrompt,
        KeyCode::Backspace => Action::Erase,
        KeyCode::Char(c) => Action::Type(c),
        KeyCode::Enter => Action::SubmitPrompt,
        _ => return None,
    })
}

fn browsing(view: View, code: KeyCode) -> Option<Action> {
    let per_object = matches!(view, View::Detail | View::Pages | View::Semaphores);
    Some(match code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::OpenHelp,
        KeyCode::Tab => Action::StepView(1),
        KeyCode::BackTab => Action::StepView(-1),
        KeyCode::Char(c @ '1'..='7') => Action::ShowView(View::ALL[c as usize - '1' as usize]),
        KeyCode::Char('/') => Action::OpenSearch,
        KeyCode::Char('f') if view == View::Log => Action::OpenLogFilter,
        KeyCode::Char('f') => Action::CycleTableFilter,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('c') if view == View::Log => Action::ClearLog,
        KeyCode::Esc if per_object => Action::ShowView(View::Objects),
        KeyCode::Esc if view == View::Log => Action::ClearLog,
        KeyCode::Esc => Action::ClearSearch,
        KeyCode::Enter if view == View::Objects => Action::OpenDetail,
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::PageUp => Action::Move(-PAGE),
        KeyCode::PageDown => Action::Move(PAGE),
        KeyCode::Home | KeyCode::Char('g') => Action::Move(TOP),
        KeyCode::End | KeyCode::Char('G') => Action::Move(BOTTOM),
        KeyCode::Left | KeyCode::Char('h') if view != View::Objects => Action::SelectBy(-1),
        KeyCode::Right | KeyCode::Char('l') if view != View::Objects => Action::SelectBy(1),
        KeyCode::Char(']') => Action::CursorEvents(1),
        KeyCode::Char('[') => Action::CursorEvents(-1),
        KeyCode::Char('}') => Action::CursorNewStep(1),
        KeyCode::Char('{') => Action::CursorNewStep(-1),
        KeyCode::Char('>') => Action::CursorStage(1),
        KeyCode::Char('<') => Action::CursorStage(-1),
        KeyCode::Char(' ') => Action::CursorPlay,
        _ => return None,
    })
}

impl App {
    /// Handles one terminal event (keys; resizes only need a redraw).
    pub fn on_terminal_event(&mut self, ev: &TermEvent) {
        if let TermEvent::Key(key) = ev
            && key.kind != KeyEventKind::Release
        {
            self.on_key(*key);
        }
    }

    /// Handles one key press. While browsing, any key dismisses the
    /// footer's message.
    pub fn on_key(&mut self, key: KeyEvent) {
        let mode = self.mode();
        if mode == Mode::Browsing {
            self.message = None;
        }
        if let Some(a) = action(mode, self.view, key) {
            self.perform(a);
        }
    }

    /// What keys mean now.
    pub fn mode(&self) -> Mode {
        if self.prompt.is_some() {
            Mode::Typing
        } else if self.help {
            Mode::Help
        } else {
            Mode::Browsing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;
    use crate::tui::feed::FeedInfo;
    use crate::tui::test_keys::{press, typed};

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

    #[test]
    fn one_key_means_what_the_mode_and_view_say() {
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let f = key(KeyCode::Char('f'));
        assert_eq!(
            action(Mode::Browsing, View::Objects, f),
            Some(Action::CycleTableFilter)
        );
        assert_eq!(
            action(Mode::Browsing, View::Log, f),
            Some(Action::OpenLogFilter)
        );
        assert_eq!(action(Mode::Typing, View::Log, f), Some(Action::Type('f')));
        assert_eq!(action(Mode::Help, View::Log, f), None);
        let esc = key(KeyCode::Esc);
        assert_eq!(
            action(Mode::Browsing, View::Pages, esc),
            Some(Action::ShowView(View::Objects))
        );
        assert_eq!(
            action(Mode::Browsing, View::Log, esc),
            Some(Action::ClearLog)
        );
        assert_eq!(action(Mode::Help, View::Log, esc), Some(Action::CloseHelp));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action(Mode::Typing, View::Objects, ctrl_c),
            Some(Action::Quit)
        );
    }
}
