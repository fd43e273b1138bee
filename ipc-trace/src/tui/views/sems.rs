//! View 4: a semaphore set — values over time (one sparkline per
//! semaphore), blocked operations with their waits, deadlock hints.

use super::empty;
use crate::model::describe::{duration, sem_op};
use crate::tui::app::{App, View};
use crate::tui::format::rel_time;
use crate::tui::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Widget};

/// Semaphores drawn at most (scroll for more).
const MAX_SPARKS: usize = 6;

/// View 4: [`App::sem_object`], its values and waits, and the deadlock
/// hints.
pub struct SemView<'a>(pub &'a App);

impl Widget for SemView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Some(o) = app.sem_object() else {
            return empty("semaphores", "no semaphore set seen yet", area, buf);
        };
        let Some(s) = o.sem.as_ref() else {
            return empty("semaphores", "not a semaphore set", area, buf);
        };
        let origin = app.origin_ns();
        let nsems = s.values.len().max(o.nsems.unwrap_or(0) as usize);
        let first = app.scroll[View::Semaphores.index()].min(nsems.saturating_sub(1));
        let shown: Vec<usize> = (first..nsems).take(MAX_SPARKS).collect();
        let spark_h = 3u16;
        let [head, sparks, bottom] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(shown.len().max(1) as u16 * spark_h + 2),
            Constraint::Min(4),
        ])
        .areas(area);

        let head_line = Line::from(format!(
            "semops {} · P {} · V {} · Z {} · failed {} · blocked {} · wait total {} mean {} max {} · SEM_UNDO {}{}",
            s.ops,
            s.p_ops,
            s.v_ops,
            s.z_ops,
            s.failed,
            s.blocked,
            duration(s.total_wait_ns),
            duration(s.mean_wait_ns()),
            duration(s.max_wait_ns),
            if s.undo_used() {
                format!("yes ({} ops)", s.undo_ops)
            } else {
                "no".into()
            },
            if o.is_live() { "" } else { " · removed" },
        ));
        Paragraph::new(head_line)
            .block(Block::bordered().title(format!(
                " semaphore set {} id {} · {} sems ",
                o.key_hex(),
                o.key.id,
                nsems
            )))
            .render(head, buf);

        // One sparkline per semaphore: its value after each change.
        let block = Block::bordered().title(" values over time (newest right) ");
        let inner = block.inner(sparks);
        block.render(sparks, buf);
        let label_w = 16u16;
        for (row, num) in shown.iter().enumerate() {
            let y = inner.y + row as u16 * spark_h;
            if y + spark_h > inner.y + inner.height {
                break;
            }
            let value = s
                .values
                .get(*num)
                .copied()
                .flatten()
                .map_or_else(|| "?".into(), |v| v.to_string());
            let label = Rect::new(inner.x, y, label_w.min(inner.width), 1);
            Line::from(vec![
                Span::styled(format!("sem {num}"), theme::header()),
                Span::raw(format!(" = {value}")),
            ])
            .render(label, buf);
            let width = inner.width.saturating_sub(label_w) as usize;
            let data: Vec<u64> = {
                let all: Vec<u64> = s
                    .samples
                    .iter()
                    .filter(|x| usize::from(x.num) == *num)
                    .map(|x| x.value.max(0) as u64)
                    .collect();
                all[all.len().saturating_sub(width)..].to_vec()
            };
            let spark_area = Rect::new(
                inner.x + label_w.min(inner.width),
                y,
                width as u16,
                spark_h.saturating_sub(1),
            );
            Sparkline::default()
                .data(&data)
                .max(data.iter().copied().max().unwrap_or(1).max(1))
                .style(Style::new().fg(Color::Cyan))
                .render(spark_area, buf);
        }

        let [blocked, hints] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(bottom);
        let mut lines: Vec<Line> = s
            .blocked_ops
            .iter()
            .rev()
            .take(blocked.height.saturating_sub(2) as usize)
            .map(|b| {
                let ops: Vec<String> = b.ops.iter().map(sem_op).collect();
                Line::from(vec![
                    Span::raw(format!(
                        "{} {:<20} {:<14} waited ",
                        rel_time(b.ts_ns, origin),
                        crate::tui::format::clip(&b.actor.label(), 20),
                        ops.join(" ")
                    )),
                    Span::styled(duration(b.wait_ns), theme::header()),
                    Span::styled(if b.ok { "" } else { " then failed" }, theme::warn()),
                ])
            })
            .collect();
        if lines.is_empty() {
            lines.push(Line::styled("no semop has blocked", theme::dim()));
        }
        Paragraph::new(lines)
            .block(Block::bordered().title(format!(
                " blocked operations (SEM-8), newest first · {} ",
                s.blocked
            )))
            .render(blocked, buf);

        let cycles = app.state.deadlock_hints();
        let mut hint_lines = Vec::new();
        if cycles.is_empty() {
            hint_lines.push(Line::styled("no wait-for cycle", theme::dim()));
        }
        for c in &cycles {
            let who: Vec<String> = c
                .edges
                .iter()
                .map(|e| {
                    let id = app.state.object(e.obj).map_or(-1, |o| o.key.id);
                    format!(
                        "{} waits sem {}#{} held by {}",
                        e.waiter, id, e.num, e.holder
                    )
                })
                .collect();
            hint_lines.push(Line::styled("possible deadlock:", theme::warn()));
            for w in who {
                hint_lines.push(Line::from(format!("  {w}")));
            }
        }
        hint_lines.push(Line::styled(
            "last blocked wait per process:",
            theme::header(),
        ));
        let mut waits: Vec<_> = app.state.holds().last_blocked().collect();
        waits.sort_by_key(|w| w.actor.tgid);
        for w in waits {
            let id = app.state.object(w.obj).map_or(-1, |o| o.key.id);
            hint_lines.push(Line::from(format!(
                "  {} on set {} sem {:?} {}{}",
                w.actor.label(),
                id,
                w.nums,
                duration(w.wait_ns),
                if w.ok { "" } else { " (gave up)" }
            )));
        }
        Paragraph::new(hint_lines)
            .block(Block::bordered().title(" deadlock hint (see ? help) "))
            .render(hints, buf);
    }
}
