//! View 6: the event log, newest at the bottom, with search and filters.

use crate::model::describe::event_text;
use crate::tui::app::{App, View};
use crate::tui::format::{clip, rel_time};
use crate::tui::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

/// View 6: [`App::log_rows`], newest at the bottom unless scrolled up.
pub struct LogView<'a>(pub &'a App);

impl Widget for LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let rows = app.log_rows();
        let height = area.height.saturating_sub(3) as usize;
        let from_bottom = if app.log_follow {
            0
        } else {
            app.scroll[View::Log.index()].min(rows.len().saturating_sub(1))
        };
        let end = rows.len().saturating_sub(from_bottom);
        let begin = end.saturating_sub(height);
        let origin = app.origin_ns();
        let mut lines = vec![Line::styled(
            format!(
                "{:<13} {:<1} {:<11} {:<20} {:<54} {:<22} probe",
                "time", "", "kind", "who", "what", "steps"
            ),
            theme::header(),
        )];
        for l in &rows[begin..end] {
            let e = &l.event;
            lines.push(Line::from(vec![
                Span::raw(format!("{:<13} ", rel_time(e.ts_ns, origin))),
                Span::styled(if e.inferred { "~ " } else { "  " }, theme::inferred()),
                Span::raw(format!("{:<11} ", e.kind.as_str())),
                Span::raw(format!(
                    "{:<20} ",
                    clip(&format!("{}/{}", e.comm, e.tgid), 20)
                )),
                Span::raw(format!("{:<54} ", clip(&event_text(e), 54))),
                Span::styled(
                    format!("{:<22} ", clip(&l.steps.labels(), 22)),
                    theme::step(),
                ),
                Span::styled(format!("{} {}", e.probe, e.backend.as_str()), theme::dim()),
            ]));
        }
        let mut title = format!(
            " events {}–{} of {} shown · {} kept · {} total ",
            begin + usize::from(end > begin),
            end,
            rows.len(),
            app.state.log().len(),
            app.state.events()
        );
        if !app.log_filter.is_empty() {
            title.push_str(&format!("· filter {} ", app.log_filter.describe()));
        }
        if !app.log_search.is_empty() {
            title.push_str(&format!("· search \"{}\" ", app.log_search));
        }
        if !app.log_follow {
            title.push_str("· paused (End follows) ");
        }
        Paragraph::new(lines)
            .block(Block::bordered().title(title))
            .render(area, buf);
    }
}
