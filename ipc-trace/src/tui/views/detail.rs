//! View 2: one lifecycle — facts, the kernel steps seen, and the timeline.

use super::empty;
use crate::model::describe::duration;
use crate::model::evidence::Evidence;
use crate::model::{ObjKind, Object, Origin, Step};
use crate::tui::app::{App, View};
use crate::tui::format::{bytes, rel_time};
use crate::tui::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

/// View 2: the selected lifecycle ([`App::selected_object`]).
pub struct DetailView<'a>(pub &'a App);

fn facts(app: &App, o: &Object) -> Vec<Line<'static>> {
    let origin = app.origin_ns();
    let creator = o
        .creator
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |c| c.label());
    let how = match (o.origin, o.create_inferred) {
        (Origin::SeenMidLife, _) => "existed before tracing (seen mid-life)".to_string(),
        (_, true) => "created (inferred from the syscall)".to_string(),
        (_, false) => "created (seen by the kernel-path probe)".to_string(),
    };
    let size = match o.key.kind {
        ObjKind::Shm => format!(
            "{} bytes",
            o.size.map_or_else(|| "?".into(), |s| s.to_string())
        ),
        ObjKind::Sem => format!(
            "{} semaphores",
            o.nsems.map_or_else(|| "?".into(), |s| s.to_string())
        ),
    };
    let mut status = app.state.status_words(o).join(", ");
    if status.is_empty() {
        status = "live".into();
    }
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "{} key {} id {}",
                    o.key.kind.as_str(),
                    o.key_hex(),
                    o.key.id
                ),
                theme::header(),
            ),
            Span::raw(format!(
                "  lifecycle #{} · ipc ns {} · {size} · perms {}",
                o.generation + 1,
                o.key.ipc_ns,
                o.perms.map_or_else(|| "?".into(), |p| format!("{p:o}"))
            )),
        ]),
        Line::from(format!(
            "creator {creator} · {how} at {} · status {status}",
            rel_time(o.created_ts, origin)
        )),
    ];
    if let Some(t) = o.marked_for_removal {
        lines.push(Line::from(format!("IPC_RMID at {}", rel_time(t, origin))));
    }
    if let Some(t) = o.removed {
        lines.push(Line::from(format!(
            "freed at {}{}",
            rel_time(t, origin),
            if o.removal_inferred {
                " (inferred)"
            } else {
                ""
            }
        )));
    }
    if let Some(s) = &o.shm {
        let who: Vec<String> = s
            .mappings
            .iter()
            .map(|m| format!("{} @0x{:x}", m.actor.label(), m.addr))
            .collect();
        lines.push(Line::from(format!(
            "nattch {} ({}{}) · attaches {} · detaches {} · faults {} ({} write) on {} pages{}",
            s.nattch(),
            who.join(", "),
            if s.unknown_attaches > 0 {
                format!("{} from before tracing", s.unknown_attaches)
            } else {
                String::new()
            },
            s.attaches,
            s.detaches,
            s.pages.faults,
            s.pages.write_faults,
            s.pages.pages_touched(),
            o.size.map_or_else(String::new, |b| format!(
                " of {} ({})",
                b.div_ceil(4096),
                bytes(b)
            )),
        )));
    }
    if let Some(s) = &o.sem {
        let vals: Vec<String> = s
            .values
            .iter()
            .map(|v| v.map_or_else(|| "?".into(), |x| x.to_string()))
            .collect();
        lines.push(Line::from(format!(
            "values [{}] · semops {} (P {} V {} Z {}, failed {}) · blocked {} (mean {}, max {}) · undo {} · finds {}",
            vals.join(", "),
            s.ops,
            s.p_ops,
            s.v_ops,
            s.z_ops,
            s.failed,
            s.blocked,
            duration(s.mean_wait_ns()),
            duration(s.max_wait_ns),
            if s.undo_used() { "yes" } else { "no" },
            o.finds,
        )));
    }
    lines
}

fn steps_line(o: &Object) -> Line<'static> {
    let mut spans = vec![Span::styled("steps ", theme::header())];
    let range = match o.key.kind {
        ObjKind::Shm => Step::SHM1..=Step::SHM12,
        ObjKind::Sem => Step::SEM1..=Step::SEM9,
    };
    for s in Step::ALL.into_iter().filter(|s| range.contains(s)) {
        let level = o.step_evidence(s);
        let style = match level {
            Evidence::InKernel => theme::step(),
            Evidence::SyscallBoundary => Style::new(),
            Evidence::Implied => theme::inferred(),
            Evidence::NotVisible => theme::dim(),
        };
        spans.push(Span::styled(
            format!("{}{} ", s.label(), level_mark(level)),
            style,
        ));
    }
    Line::from(spans)
}

/// One letter per level of evidence, for the steps line.
fn level_mark(level: Evidence) -> char {
    match level {
        Evidence::InKernel => 'k',
        Evidence::SyscallBoundary => 's',
        Evidence::Implied => 'i',
        Evidence::NotVisible => '·',
    }
}

fn steps_legend() -> Line<'static> {
    Line::styled(
        "      k seen in the kernel · s seen at the syscall boundary · i implied · · not shown",
        theme::dim(),
    )
}

impl Widget for DetailView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Some(o) = app.selected_object() else {
            return empty(
                "detail",
                "no object selected: pick one in the Objects view (1) and press Enter",
                area,
                buf,
            );
        };
        let mut head = facts(app, o);
        head.push(steps_line(o));
        head.push(steps_legend());
        let [top, bottom] = Layout::vertical([
            Constraint::Length(head.len() as u16 + 2),
            Constraint::Min(3),
        ])
        .areas(area);
        Paragraph::new(head)
            .block(Block::bordered().title(" lifecycle "))
            .render(top, buf);

        let origin = app.origin_ns();
        let mut lines: Vec<Line> = Vec::new();
        let tl = app.state.timeline(o);
        let gap = tl.gap_at;
        let mut described = crate::model::StepSet::EMPTY;
        for (i, t) in tl.entries.iter().enumerate() {
            if gap == Some(i) {
                lines.push(Line::styled(
                    format!("… {} entries not kept …", tl.skipped),
                    theme::dim(),
                ));
            }
            let how = if t.inferred {
                "(inferred)".to_string()
            } else {
                format!("({} {})", t.probe, t.backend.as_str())
            };
            lines.push(Line::from(vec![
                Span::raw(format!("{} ", rel_time(t.ts_ns, origin))),
                Span::styled(if t.inferred { "~ " } else { "  " }, theme::inferred()),
                Span::raw(format!(
                    "{:<18} ",
                    crate::tui::format::clip(&t.actor.label(), 18)
                )),
                Span::styled(format!("{:<14} ", t.steps.labels()), theme::step()),
                Span::raw(format!("{} ", t.text)),
                Span::styled(
                    how,
                    if t.inferred {
                        theme::inferred()
                    } else {
                        theme::dim()
                    },
                ),
            ]));
            // Each step is explained the first time the lifecycle shows it.
            let new_steps: Vec<_> = t.steps.iter().filter(|s| !described.contains(*s)).collect();
            for s in new_steps {
                described.insert(s);
                lines.push(Line::from(vec![
                    Span::raw("                                "),
                    Span::styled(format!("{:<7}", s.label()), theme::step()),
                    Span::raw(s.describe()),
                    Span::styled(
                        format!(" — {}", o.step_evidence(s).words()),
                        if t.inferred {
                            theme::inferred()
                        } else {
                            theme::dim()
                        },
                    ),
                ]));
            }
        }
        let height = bottom.height.saturating_sub(2) as usize;
        let max = lines.len().saturating_sub(height);
        let scroll = app.scroll[View::Detail.index()].min(max);
        Paragraph::new(lines)
            .scroll((scroll as u16, 0))
            .block(Block::bordered().title(format!(
                " timeline ({} events{}) ",
                o.events,
                if o.incomplete {
                    ", INCOMPLETE: events dropped"
                } else {
                    ""
                }
            )))
            .render(bottom, buf);
    }
}
