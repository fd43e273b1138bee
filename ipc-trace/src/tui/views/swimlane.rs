//! View 5: the process swimlane — one row per process, time to the right,
//! a mark per operation coloured by the object it touched.

use super::empty;
use crate::event::{Event, EventKind};
use crate::model::ObjId;
use crate::model::describe::duration;
use crate::tui::app::{App, View};
use crate::tui::format::clip;
use crate::tui::theme::{self, PROCESS_COLORS};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

/// Width of the process label column.
const LABEL_W: u16 = 22;

/// View 5: one row per process over the events still in the log.
pub struct SwimlaneView<'a>(pub &'a App);

/// The mark of an event and how much it matters when several share a cell.
pub fn mark(ev: &Event) -> (char, u8) {
    match ev.kind {
        EventKind::ShmDestroy | EventKind::SemDestroy => ('X', 9),
        EventKind::ShmCreate | EventKind::SemCreate => ('C', 8),
        EventKind::SemOp if ev.blocked == Some(true) => ('B', 7),
        EventKind::ProcExit => ('E', 7),
        EventKind::ProcFork => ('F', 6),
        EventKind::ProcExec => ('e', 6),
        EventKind::ShmAttach => ('A', 6),
        EventKind::ShmDetach => ('D', 6),
        EventKind::ShmGet | EventKind::SemGet => ('G', 5),
        EventKind::ShmCtl | EventKind::SemCtl => ('R', 5),
        EventKind::SemOp => {
            let op = ev.ops.as_ref().and_then(|o| o.first()).map_or(0, |o| o.op);
            (
                match op {
                    x if x < 0 => 'P',
                    x if x > 0 => 'V',
                    _ => 'Z',
                },
                4,
            )
        }
        EventKind::ShmFault => ('f', 3),
        EventKind::Drops => ('!', 1),
    }
}

fn object_color(obj: Option<ObjId>) -> Color {
    obj.map_or(Color::Gray, |h| {
        PROCESS_COLORS[(h.0 as usize) % PROCESS_COLORS.len()]
    })
}

impl Widget for SwimlaneView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let log = app.state.log();
        let (Some(first), Some(last)) = (log.iter().next(), log.last()) else {
            return empty("swimlane", "no events yet", area, buf);
        };
        let procs = app.state.processes().sorted();
        let [lanes, legend] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(area);
        let block = Block::bordered();
        let inner = block.inner(lanes);
        let cols = inner.width.saturating_sub(LABEL_W) as u64;
        let start = first.event.ts_ns;
        let end = last.event.ts_ns.max(app.now_ns()).max(start + 1);
        let span = end - start;
        let rows_room = inner.height as usize;
        let skip = app.scroll[View::Swimlane.index()].min(procs.len().saturating_sub(1));
        let shown: Vec<_> = procs.iter().skip(skip).take(rows_room).collect();
        // A frame scans the whole event log: look lanes up in a small
        // sorted vector (a hash per event cost more than the drawing).
        let mut row_of: Vec<(u32, usize)> =
            shown.iter().enumerate().map(|(i, p)| (p.tgid, i)).collect();
        row_of.sort_unstable();

        // cells[row][col] = (mark, priority, object)
        let mut cells = vec![vec![(' ', 0u8, None); cols as usize]; shown.len()];
        if cols > 0 {
            for l in log.iter() {
                let Ok(at) = row_of.binary_search_by_key(&l.event.tgid, |&(tgid, _)| tgid) else {
                    continue;
                };
                let r = row_of[at].1;
                // u64 is enough: ≤ 1000 columns times < 2^53 ns (104 days).
                let c =
                    (l.event.ts_ns.saturating_sub(start).min(span) * (cols - 1) / span) as usize;
                let (m, prio) = mark(&l.event);
                if let Some(cell) = cells.get_mut(r).and_then(|row| row.get_mut(c))
                    && prio >= cell.1
                {
                    *cell = (m, prio, l.object);
                }
            }
        }
        let mut lines = Vec::new();
        for (p, row) in shown.iter().zip(cells) {
            let label = format!(
                "{}{}",
                clip(&format!("{}/{}", p.comm, p.tgid), LABEL_W as usize - 2),
                if p.alive() { "" } else { "†" }
            );
            let mut spans = vec![Span::styled(
                format!("{:<w$}", label, w = LABEL_W as usize),
                if p.alive() {
                    theme::header()
                } else {
                    theme::dim()
                },
            )];
            for (m, prio, obj) in row {
                spans.push(if prio == 0 {
                    Span::styled("·", theme::dim())
                } else {
                    Span::styled(m.to_string(), Style::new().fg(object_color(obj)))
                });
            }
            lines.push(Line::from(spans));
        }
        Paragraph::new(lines)
            .block(block.title(format!(
                " processes × time · {} processes · window {} ({} events kept) ",
                procs.len(),
                duration(span),
                log.len()
            )))
            .render(lanes, buf);

        // Legend: marks, and the colours of the most recent objects.
        let mut objs: Vec<Span> = vec![Span::raw("objects: ")];
        for o in app.state.objects().rev().take(6) {
            objs.push(Span::styled(
                format!("■ {} {} {}  ", o.key.kind.as_str(), o.key_hex(), o.key.id),
                Style::new().fg(object_color(Some(o.handle))),
            ));
        }
        Paragraph::new(vec![
            Line::from(objs),
            Line::styled(
                "C create G get A attach D detach f fault P V Z semop B blocked R ctl X destroy E exit F fork e exec † exited",
                theme::dim(),
            ),
        ])
        .block(Block::new())
        .render(legend, buf);
    }
}
