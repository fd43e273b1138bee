//! View 1: the object table, `ipcs`-like, with live counters.

use crate::model::{ObjKind, Object};
use crate::tui::app::App;
use crate::tui::format::clip;
use crate::tui::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Row, Table, Widget};

/// View 1: [`App::table_rows`], scrolled so the selection stays visible.
pub struct ObjectTable<'a>(pub &'a App);

const HEADER: [&str; 12] = [
    "T",
    "key",
    "id",
    "owner",
    "perms",
    "bytes/nsems",
    "nattch",
    "status",
    "faults",
    "pages",
    "ops/s",
    "blocked",
];

fn owner(o: &Object) -> String {
    match &o.creator {
        Some(c) => c.label(),
        None => "?".to_string(),
    }
}

fn row<'a>(app: &App, o: &Object, selected: bool) -> Row<'a> {
    let state = &app.state;
    let status = state.status_words(o);
    let warn = status.iter().any(|s| matches!(*s, "orphan" | "incomplete"));
    let (faults, pages, blocked) = match o.key.kind {
        ObjKind::Shm => {
            let p = o.shm.as_ref().map(|s| &s.pages);
            (
                p.map_or(0, |p| p.faults).to_string(),
                p.map_or(0, |p| p.pages_touched()).to_string(),
                "-".to_string(),
            )
        }
        ObjKind::Sem => {
            let b = o.sem.as_ref().map_or(0, |s| s.blocked);
            ("-".to_string(), "-".to_string(), b.to_string())
        }
    };
    let size = match o.key.kind {
        ObjKind::Shm => o.size.map_or_else(|| "?".into(), |b| b.to_string()),
        ObjKind::Sem => o.nsems.map_or_else(|| "?".into(), |n| n.to_string()),
    };
    let id = if o.generation > 0 {
        format!("{} #{}", o.key.id, o.generation + 1)
    } else {
        o.key.id.to_string()
    };
    let created = if o.create_inferred { "~" } else { "" };
    let cells = vec![
        Cell::from(o.key.kind.as_str()),
        Cell::from(o.key_hex()),
        Cell::from(id),
        Cell::from(format!("{created}{}", clip(&owner(o), 20))),
        Cell::from(o.perms.map_or_else(|| "?".into(), |p| format!("{p:o}"))),
        Cell::from(size),
        Cell::from(if o.key.kind == ObjKind::Shm {
            o.nattch().to_string()
        } else {
            "-".into()
        }),
        Cell::from(Span::styled(
            status.join(","),
            if warn { theme::warn() } else { Style::new() },
        )),
        Cell::from(faults),
        Cell::from(pages),
        Cell::from(app.ops_per_second(o).to_string()),
        Cell::from(blocked),
    ];
    let mut style = if o.is_live() {
        Style::new()
    } else {
        theme::dim()
    };
    if selected {
        style = theme::selected();
    }
    Row::new(cells).style(style)
}

impl Widget for ObjectTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let rows = app.table_rows();
        let inner_rows = area.height.saturating_sub(3) as usize; // borders + header
        let sel = app
            .selected
            .and_then(|h| rows.iter().position(|o| o.handle == h));
        let mut offset = app.table_offset.get().min(rows.len().saturating_sub(1));
        if let Some(s) = sel {
            if s < offset {
                offset = s;
            } else if inner_rows > 0 && s >= offset + inner_rows {
                offset = s + 1 - inner_rows;
            }
        }
        app.table_offset.set(offset);
        let visible: Vec<Row> = rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(inner_rows)
            .map(|(i, o)| row(app, o, Some(i) == sel))
            .collect();
        let title = format!(
            " objects {}/{} · sort {}{} · filter {}{} ",
            rows.len(),
            app.state.object_count(),
            app.sort.label(),
            if app.sort_desc { " ↓" } else { "" },
            app.filter.label(),
            if app.search.is_empty() {
                String::new()
            } else {
                format!(" · search \"{}\"", app.search)
            }
        );
        let widths = [
            Constraint::Length(3),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(21),
            Constraint::Length(5),
            Constraint::Length(11),
            Constraint::Length(6),
            Constraint::Length(24),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(7),
        ];
        Table::new(visible, widths)
            .header(Row::new(HEADER.map(Cell::from)).style(theme::header()))
            .block(Block::bordered().title(title))
            .render(area, buf);
    }
}
