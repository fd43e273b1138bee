//! View 7: probes (backend, attached, events/s, drops), totals, kernel.

use crate::probe::ProbeClass;
use crate::tui::app::{App, View};
use crate::tui::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Widget};

/// View 7: trace totals and the probe table.
pub struct StatsView<'a>(pub &'a App);

impl Widget for StatsView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let s = &app.state;
        let now = app.now_ns();
        let [head, table] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(area);
        let lines = vec![
            Line::from(format!(
                "source {} · kernel {}",
                app.info.source,
                if app.info.kernel.is_empty() {
                    "?"
                } else {
                    &app.info.kernel
                }
            )),
            Line::from(format!(
                "events {} ({}/s) · failed calls {} · processes {} · objects kept {} (live {})",
                s.events(),
                s.rate_at(now),
                s.failed_calls(),
                s.processes().len(),
                s.object_count(),
                s.objects().filter(|o| o.is_live()).count(),
            )),
            Line::from(vec![
                Span::raw("dropped "),
                Span::styled(
                    s.drops().to_string(),
                    if s.drops() > 0 {
                        theme::warn()
                    } else {
                        theme::dim()
                    },
                ),
                Span::raw(format!(
                    " · log keeps {} of {} · orphans {} · deadlock hints {}",
                    s.log().len(),
                    s.log().capacity(),
                    s.orphans().len(),
                    s.deadlock_hints().len()
                )),
            ]),
        ];
        Paragraph::new(lines)
            .block(Block::bordered().title(" totals "))
            .render(head, buf);

        // Rows: the probe table, plus probe names only seen in events.
        let mut names: Vec<String> = app
            .info
            .probes
            .probes
            .iter()
            .map(|p| p.name.clone())
            .collect();
        for n in s.probes().keys() {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        }
        let rows: Vec<Row> = names
            .iter()
            .skip(app.scroll[View::Stats.index()].min(names.len().saturating_sub(1)))
            .map(|name| {
                let st = app.info.probes.probes.iter().find(|p| &p.name == name);
                let c = s.probes().get(name.as_str());
                let class = match st.map(|p| p.class) {
                    Some(ProbeClass::Tracepoint) => "tracepoint",
                    Some(ProbeClass::KernelPath) => "kernel-path",
                    None => "-",
                };
                let backend = st
                    .and_then(|p| p.backend)
                    .or(c.and_then(|c| c.backend))
                    .map_or("-", |b| b.as_str());
                let attached = match st {
                    Some(p) if p.attached => "yes".to_string(),
                    Some(p) => format!(
                        "no{}",
                        p.reason
                            .as_ref()
                            .map_or(String::new(), |r| format!(": {r}"))
                    ),
                    None => "-".to_string(),
                };
                let fired = match st.and_then(|p| p.fired) {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "-",
                };
                let drops = c.map_or(0, |c| c.drops);
                Row::new(vec![
                    Cell::from(name.clone()),
                    Cell::from(class),
                    Cell::from(backend),
                    Cell::from(attached),
                    Cell::from(fired),
                    Cell::from(c.map_or(0, |c| c.events).to_string()),
                    Cell::from(c.map_or(0, |c| c.rate.per_second(now)).to_string()),
                    Cell::from(c.map_or(0, |c| c.inferred).to_string()),
                    Cell::from(Span::styled(
                        drops.to_string(),
                        if drops > 0 {
                            theme::warn()
                        } else {
                            theme::dim()
                        },
                    )),
                ])
            })
            .collect();
        let header = Row::new(
            [
                "probe", "class", "backend", "attached", "fired", "events", "ev/s", "inferred",
                "drops",
            ]
            .map(Cell::from),
        )
        .style(theme::header());
        Table::new(
            rows,
            [
                Constraint::Length(20),
                Constraint::Length(12),
                Constraint::Length(11),
                Constraint::Min(10),
                Constraint::Length(6),
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Length(9),
                Constraint::Length(7),
            ],
        )
        .header(header)
        .block(Block::bordered().title(" probes "))
        .render(table, buf);
    }
}
