//! View 3: the page map of a segment — which pages were faulted in, by
//! whom (a letter and colour per process), and in what order.

use super::empty;
use crate::model::describe::duration;
use crate::tui::app::{App, View};
use crate::tui::format::rel_time;
use crate::tui::theme::{self, ProcessLegend};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

/// Page size assumed for the grid (x86-64 base pages).
pub const PAGE_SIZE: u64 = 4096;

/// View 3: the pages of [`App::page_object`].
pub struct PageView<'a>(pub &'a App);

impl Widget for PageView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Some(o) = app.page_object() else {
            return empty("pages", "no shared-memory segment seen yet", area, buf);
        };
        let Some(shm) = o.shm.as_ref() else {
            return empty("pages", "not a segment", area, buf);
        };
        let pages = &shm.pages;
        let legend = ProcessLegend::of(&app.state);
        let npages = o
            .size
            .map(|s| s.div_ceil(PAGE_SIZE))
            .unwrap_or(0)
            .max(pages.max_page.map_or(0, |m| m + 1));
        let [grid_area, side] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(46)]).areas(area);

        // Grid: one cell per page, a row label of the first page. Small
        // segments get wide cells that also show the first-touch order.
        let inner_w = grid_area.width.saturating_sub(2 + 8) as u64;
        let cell_w = (inner_w / npages.max(1)).clamp(1, 5);
        let per_row = (inner_w / cell_w).clamp(1, 64);
        let rows_total = npages.div_ceil(per_row);
        let height = grid_area.height.saturating_sub(3) as u64;
        let scroll =
            (app.scroll[View::Pages.index()] as u64).min(rows_total.saturating_sub(height));
        let mut lines = Vec::new();
        for r in scroll..(scroll + height).min(rows_total) {
            let first = r * per_row;
            let mut spans = vec![Span::styled(format!("{first:>7} "), theme::dim())];
            for p in first..(first + per_row).min(npages) {
                spans.push(match pages.get(p) {
                    Some(t) => {
                        let who = t.first_toucher();
                        let mut style = Style::new().fg(legend.color(who));
                        if t.procs().len() > 1 {
                            style = style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
                        }
                        let text = if cell_w >= 3 {
                            let order = (t.order + 1).to_string();
                            let mut c = format!("{}{}", legend.letter(who), order);
                            c.truncate(cell_w as usize - 1);
                            format!("{c:<w$}", w = cell_w as usize)
                        } else {
                            format!("{:<w$}", legend.letter(who), w = cell_w as usize)
                        };
                        Span::styled(text, style)
                    }
                    None => Span::styled(format!("{:<w$}", "·", w = cell_w as usize), theme::dim()),
                });
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::styled(
            "letter: first toucher (right) · digits: first-touch order · underlined: several · ·: untouched",
            theme::dim(),
        ));
        let title = format!(
            " pages of shm {} id {} · {} of {} touched · {} faults{} ",
            o.key_hex(),
            o.key.id,
            pages.pages_touched(),
            npages,
            pages.faults,
            if pages.overflow_pages > 0 {
                format!(" · {} pages not remembered", pages.overflow_pages)
            } else {
                String::new()
            }
        );
        Paragraph::new(lines)
            .block(Block::bordered().title(title))
            .render(grid_area, buf);

        // Side: who faulted how much, then first-touch order.
        let origin = app.origin_ns();
        let mut side_lines = vec![Line::styled("faults by process", theme::header())];
        let mut by: Vec<(&u32, &u64)> = pages.by_process.iter().collect();
        by.sort_by_key(|(t, n)| (std::cmp::Reverse(**n), **t));
        for (tgid, n) in by {
            let comm = app
                .state
                .processes()
                .get(*tgid)
                .map_or(String::new(), |p| p.comm.clone());
            side_lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", legend.letter(*tgid)),
                    Style::new().fg(legend.color(*tgid)),
                ),
                Span::raw(format!("{comm}/{tgid}: {n}")),
            ]));
        }
        side_lines.push(Line::styled(
            "first touch: # page by rw when ×faults",
            theme::header(),
        ));
        let room = side.height.saturating_sub(side_lines.len() as u16 + 2) as usize;
        for t in pages.in_touch_order().iter().take(room) {
            let who = t.first_toucher();
            let rw = if t.first_write { "w" } else { "r" };
            let by: String = t.procs().iter().map(|p| legend.letter(*p)).collect();
            side_lines.push(Line::from(vec![
                Span::raw(format!("{:>4} {:>6} ", t.order + 1, t.page)),
                Span::styled(
                    format!(
                        "{:<4}{rw} ",
                        format!("{by}{}", if t.more_procs { "+" } else { "" })
                    ),
                    Style::new().fg(legend.color(who)),
                ),
                Span::raw(format!("{} ×{}", rel_time(t.first_ts, origin), t.faults)),
            ]));
        }
        if let (Some(first), Some(last)) = (
            pages.in_touch_order().first(),
            pages.in_touch_order().last(),
        ) {
            side_lines.push(Line::styled(
                format!(
                    "first→last touch {}",
                    duration(last.first_ts.saturating_sub(first.first_ts))
                ),
                theme::dim(),
            ));
        }
        Paragraph::new(side_lines)
            .block(Block::bordered().title(" who / order "))
            .render(side, buf);
    }
}
