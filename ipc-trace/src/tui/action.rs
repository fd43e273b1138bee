//! What a key asks the UI to do, and doing it. `input.rs` maps keys to an
//! [`Action`] (the key map); [`App::perform`] changes the state. Tests press
//! keys, so the key map is what they exercise.

use super::app::{App, LogFilter, Prompt, View};

/// One thing the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave (the caller detaches the probes).
    Quit,
    /// Show the help overlay.
    OpenHelp,
    /// Hide it.
    CloseHelp,
    /// Switch to a view.
    ShowView(View),
    /// Switch this many tabs right (negative: left), wrapping.
    StepView(isize),
    /// Start typing a search, starting from the current one of this view
    /// (the log has its own).
    OpenSearch,
    /// Start typing a log filter, starting from the current one.
    OpenLogFilter,
    /// Next object table filter (all, live, shm, sem, problems).
    CycleTableFilter,
    /// Next object table order.
    CycleSort,
    /// Reverse the object table order.
    ReverseSort,
    /// Drop the log's filter and search.
    ClearLog,
    /// Drop the object table search.
    ClearSearch,
    /// Open the selected object's lifecycle (nothing when none is selected).
    OpenDetail,
    /// Move the table selection (object table) or scroll (other views) by
    /// this many lines; [`TOP`] and [`BOTTOM`] go to the ends.
    Move(isize),
    /// Select the object this many rows away in the table's order, without
    /// leaving the view.
    SelectBy(isize),
    /// Add a character to the line being typed.
    Type(char),
    /// Delete its last character.
    Erase,
    /// Drop the line being typed.
    CancelPrompt,
    /// Apply the line being typed.
    SubmitPrompt,
    /// Move the replay cursor this many events (stepped replays).
    CursorEvents(isize),
    /// Move it to the next (1) or previous (-1) event showing a new step.
    CursorNewStep(isize),
    /// Move it to the end of the current lab stage (1) or back to the
    /// start of the last one begun (-1).
    CursorStage(isize),
    /// Play or pause it.
    CursorPlay,
}

/// [`Action::Move`] to the first line.
pub const TOP: isize = isize::MIN / 2;
/// [`Action::Move`] to the last line.
pub const BOTTOM: isize = isize::MAX / 2;

impl App {
    /// Carries out one action.
    pub fn perform(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::OpenHelp => self.help = true,
            Action::CloseHelp => self.help = false,
            Action::ShowView(v) => self.view = v,
            Action::StepView(d) => self.view = self.view.step(d),
            Action::OpenSearch => {
                let current = match self.view {
                    View::Log => self.log_search.clone(),
                    _ => self.search.clone(),
                };
                self.prompt = Some(Prompt::Search(current));
            }
            Action::OpenLogFilter => {
                self.prompt = Some(Prompt::LogFilter(self.log_filter.describe()));
            }
            Action::CycleTableFilter => self.filter = self.filter.next(),
            Action::CycleSort => self.sort = self.sort.next(),
            Action::ReverseSort => self.sort_desc = !self.sort_desc,
            Action::ClearLog => {
                self.log_filter = LogFilter::default();
                self.log_search.clear();
            }
            Action::ClearSearch => self.search.clear(),
            Action::OpenDetail => {
                if self.selected.is_some() {
                    self.view = View::Detail;
                    self.scroll[View::Detail.index()] = 0;
                }
            }
            Action::Move(d) => self.move_by(d),
            Action::SelectBy(d) => self.select_by(d),
            Action::Type(c) => {
                if let Some(Prompt::Search(t) | Prompt::LogFilter(t)) = self.prompt.as_mut() {
                    t.push(c);
                }
            }
            Action::Erase => {
                if let Some(Prompt::Search(t) | Prompt::LogFilter(t)) = self.prompt.as_mut() {
                    t.pop();
                }
            }
            Action::CancelPrompt => self.prompt = None,
            Action::SubmitPrompt => self.submit_prompt(),
            Action::CursorEvents(d) => {
                let to = self.cursor.as_ref().map_or(0, |c| c.by_events(d));
                self.move_cursor(to);
            }
            Action::CursorNewStep(d) => {
                let to = self.cursor.as_ref().map_or(0, |c| c.by_new_step(d));
                self.move_cursor(to);
            }
            Action::CursorStage(d) => {
                let to = self.cursor.as_ref().map_or(0, |c| c.by_stage(d));
                self.move_cursor(to);
            }
            Action::CursorPlay => match self.cursor.as_mut() {
                Some(c) => c.playing = !c.playing,
                None => self.move_cursor(0),
            },
        }
    }

    /// A search applies to the view it was typed in (the object table
    /// search also selects its first row and shows the table); a log filter
    /// that does not parse leaves a message instead.
    fn submit_prompt(&mut self) {
        match self.prompt.take() {
            Some(Prompt::Search(t)) if self.view == View::Log => {
                self.log_search = t;
                self.log_follow = true;
                self.scroll[View::Log.index()] = 0;
            }
            Some(Prompt::Search(t)) => {
                self.search = t;
                self.view = View::Objects;
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

    /// Moves the selection `delta` rows in the object table's order; the
    /// per-object views start again at the top.
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
