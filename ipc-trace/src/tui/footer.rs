//! The footer: the keys of the current view, or the line being typed.

use super::app::{App, Prompt, View};
use super::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

/// The keys every view has.
pub const GLOBAL_KEYS: &str = "Tab/1-7 view · ↑↓/jk move · / search · ? help · q quit";

/// The keys of one view.
pub fn view_keys(view: View) -> &'static str {
    match view {
        View::Objects => "Enter detail · s sort · S reverse · f filter",
        View::Detail | View::Pages | View::Semaphores => "←→/hl prev/next object · Esc table",
        View::Swimlane => "↑↓ scroll processes",
        View::Log => "f filter (kind= pid= id=) · c clear · End follow",
        View::Stats => "↑↓ scroll",
    }
}

/// Where a stepped replay is: `▶ event 12/345 +1.2ms · in shm stage 2/4: Attach: map the
/// segment · ]/[ event · }/{ new step · >/< stage · space play`.
fn cursor_status(app: &App, c: &super::cursor::Cursor) -> String {
    let at = c.current().map_or_else(
        || "before the first event".to_string(),
        |e| {
            format!(
                "+{}",
                crate::model::describe::duration(e.ts_ns.saturating_sub(app.origin_ns()))
            )
        },
    );
    let stage = c.stage().map_or_else(String::new, |(m, before)| {
        format!(
            " · {} {} stage {}/{}: {}",
            if before { "before" } else { "in" },
            m.lab,
            m.stage,
            m.of,
            m.title
        )
    });
    format!(
        "{} event {}/{} {at}{stage} · ]/[ event · }}/{{ new step · >/< stage · space {}",
        if c.playing { "▶" } else { "⏸" },
        c.at(),
        c.len(),
        if c.playing { "pause" } else { "play" }
    )
}

/// The two footer lines: the line being typed, a message or the view's
/// keys; then [`GLOBAL_KEYS`].
pub struct Footer<'a>(pub &'a App);

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let first = match &app.prompt {
            Some(Prompt::Search(t)) => Line::from(vec![
                Span::styled("search: ", theme::header()),
                Span::raw(format!("{t}▏")),
                Span::styled("  Enter apply · Esc cancel", theme::dim()),
            ]),
            Some(Prompt::LogFilter(t)) => Line::from(vec![
                Span::styled("filter: ", theme::header()),
                Span::raw(format!("{t}▏")),
                Span::styled(
                    "  kind=sem_op pid=N id=N · Enter apply · Esc cancel",
                    theme::dim(),
                ),
            ]),
            None => match (&app.message, &app.cursor) {
                (Some(m), _) => Line::from(Span::styled(m.clone(), theme::warn())),
                (None, Some(c)) => Line::from(vec![
                    Span::styled(cursor_status(app, c), theme::header()),
                    Span::styled(format!("  {}", view_keys(app.view)), theme::dim()),
                ]),
                (None, None) => Line::from(Span::styled(view_keys(app.view), theme::dim())),
            },
        };
        let second = Line::from(Span::styled(GLOBAL_KEYS, theme::header()));
        Paragraph::new(vec![first, second]).render(area, buf);
    }
}
