//! The `?` help overlay: keys, marks and what the status words mean.

use super::app::App;
use super::theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

/// The help text, one line per entry.
pub const HELP: &[&str] = &[
    "Views: 1 Objects  2 Detail  3 Pages  4 Semaphores  5 Swimlane  6 Log  7 Stats",
    "Tab / Shift-Tab   next / previous view",
    "↑↓ j k  PgUp PgDn  g G   move the selection or scroll",
    "Enter             open the selected object's lifecycle (Objects)",
    "← → h l           previous / next object (Detail, Pages, Semaphores)",
    "/                 search: objects by key, id, owner; the log by any text",
    "f                 Objects: cycle filter all/live/shm/sem/problems;",
    "                  Log: filter by kind=NAME pid=N id=N",
    "s / S             sort the table / reverse it",
    "c                 clear the log's filter and search",
    "Esc               back to the table, clear, close",
    "] [  } {  space   replay --step: next/previous event, next/previous new",
    "                  kernel step, play/pause (every view shows the cursor's state)",
    "> <               replay --step: to the end of this lab stage (shm, sem: the",
    "                  moment before the next begins) / back to the last one's start",
    "q  Ctrl-C         quit (probes are detached)",
    "",
    "Status: dest = removal requested (freed at last detach) · removed ·",
    "  orphan = no attaches, creator gone, not removed · mid-life = existed",
    "  before tracing · incomplete = events were dropped while it lived",
    "~ or (inferred): derived from other evidence (e.g. syscall tracepoints),",
    "  not seen by the kernel-path probe",
    "Steps SHM-1..12, SEM-1..9 are the kernel steps of docs/STEPS.md; the",
    "  detail view marks each: k seen in the kernel, s at the syscall",
    "  boundary, i implied, · not shown",
    "Swimlane marks: C create  G get  A attach  D detach  f fault  P V Z semop",
    "  B blocked semop  R ctl  X destroy  E exit  F fork  e exec  ! drops",
    "Deadlock hint: processes that each waited (blocked, then timed out or",
    "  succeeded) for a semaphore another one still holds (P without V).",
];

/// The overlay, centred over the screen while [`App::help`] is set.
pub struct Help<'a>(pub &'a App);

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let width = HELP.iter().map(|l| l.chars().count()).max().unwrap_or(40) as u16 + 4;
        let height = HELP.len() as u16 + 2;
        let [row] = Layout::vertical([Constraint::Length(height)])
            .flex(Flex::Center)
            .areas(area);
        let [popup] = Layout::horizontal([Constraint::Length(width)])
            .flex(Flex::Center)
            .areas(row);
        Clear.render(popup, buf);
        let lines: Vec<Line> = HELP.iter().map(|l| Line::from(*l)).collect();
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title(" help (? or Esc to close) ")
                    .title_style(theme::header()),
            )
            .render(popup, buf);
    }
}
