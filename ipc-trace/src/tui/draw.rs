//! One frame: header, tabs, the current view, the footer, and the help
//! overlay when open.

use super::app::{App, View};
use super::footer::Footer;
use super::help::Help;
use super::theme;
use super::views;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Tabs, Widget};

/// Draws the whole UI into a frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Renders the whole UI into a buffer (what [`draw`] does; tests call it on
/// a `TestBackend` frame).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [head, tabs, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(2),
    ])
    .areas(area);
    header(app).render(head, buf);
    let titles: Vec<Line> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| Line::from(format!("{} {}", i + 1, v.title())))
        .collect();
    Tabs::new(titles)
        .select(app.view.index())
        .highlight_style(theme::selected())
        .render(tabs, buf);
    match app.view {
        View::Objects => views::objects::ObjectTable(app).render(body, buf),
        View::Detail => views::detail::DetailView(app).render(body, buf),
        View::Pages => views::pages::PageView(app).render(body, buf),
        View::Semaphores => views::sems::SemView(app).render(body, buf),
        View::Swimlane => views::swimlane::SwimlaneView(app).render(body, buf),
        View::Log => views::log::LogView(app).render(body, buf),
        View::Stats => views::stats::StatsView(app).render(body, buf),
    }
    Footer(app).render(foot, buf);
    if app.help {
        Help(app).render(area, buf);
    }
}

fn header(app: &App) -> Line<'static> {
    let s = &app.state;
    let mut spans = vec![
        Span::styled("ipc-trace ", theme::header()),
        Span::raw(format!("· {} ", app.info.source)),
        Span::raw(format!(
            "· kernel {} ",
            if app.info.kernel.is_empty() {
                "?"
            } else {
                &app.info.kernel
            }
        )),
        Span::raw(format!(
            "· {} events, {}/s · {} live objects",
            s.events(),
            s.rate_at(app.now_ns()),
            s.objects().filter(|o| o.is_live()).count()
        )),
    ];
    if s.drops() > 0 {
        spans.push(Span::styled(
            format!(" · {} DROPPED", s.drops()),
            theme::warn(),
        ));
    }
    if app.source_ended {
        spans.push(Span::styled(" · source ended", theme::inferred()));
    }
    Line::from(spans).style(Style::new())
}
