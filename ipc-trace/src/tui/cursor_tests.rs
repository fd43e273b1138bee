//! The replay cursor driven by keys over the sample trace: every view shows
//! the state at the cursor, back and forth, by event and by new step.

use super::app::App;
use super::cursor::Cursor;
use super::draw::draw;
use super::feed::FeedInfo;
use super::test_keys::press;
use crate::model::{ObjKind, Object, fixture};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn stepped() -> App {
    let mut a = App::new(FeedInfo {
        kernel: "6.1.0-test".into(),
        source: "replay demo.ndjson".into(),
        ..FeedInfo::default()
    });
    a.cursor = Some(Cursor::new(fixture::producer_consumer()));
    a
}

fn at(a: &App) -> usize {
    a.cursor.as_ref().map_or(usize::MAX, Cursor::at)
}

fn segment(a: &App) -> Option<&Object> {
    a.state
        .objects()
        .find(|o| o.key.kind == ObjKind::Shm && o.key.id == 32768)
}

fn screen(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 45)).expect("test backend");
    t.draw(|f| draw(f, a)).expect("draw");
    t.backend().to_string()
}

#[test]
fn a_teacher_stops_where_the_consumer_has_attached_but_touched_no_page() {
    let mut a = stepped();
    assert!(
        segment(&a).is_none(),
        "nothing is applied before the first key"
    );
    for _ in 0..9 {
        press(&mut a, KeyCode::Char(']'));
    }
    assert_eq!(at(&a), 9);
    let seg = segment(&a).expect("the segment exists at event 9");
    assert_eq!(seg.nattch(), 2);
    assert_eq!(seg.shm.as_ref().map(|s| s.pages.pages_touched()), Some(0));
    press(&mut a, KeyCode::Char('3'));
    let s = screen(&a);
    assert!(s.contains("event 9/"), "{s}");
    insta::assert_snapshot!(s);
    // One event back: the consumer has not attached yet.
    press(&mut a, KeyCode::Char('['));
    assert_eq!(segment(&a).map(Object::nattch), Some(1));
}

#[test]
fn new_step_keys_jump_to_the_events_that_show_a_step_first() {
    let mut a = stepped();
    for _ in 0..8 {
        press(&mut a, KeyCode::Char(']'));
    }
    // Event 8, the consumer's attach, shows no new step; event 9, the first
    // semop, shows SEM-7 and SEM-9.
    press(&mut a, KeyCode::Char('}'));
    assert_eq!(at(&a), 10);
    assert_eq!(
        a.state.log().last().map(|l| l.event.kind),
        Some(crate::event::EventKind::SemOp)
    );
    // Back: event 7, the consumer's semget, showed SEM-2 first.
    press(&mut a, KeyCode::Char('{'));
    assert_eq!(at(&a), 8);
    // Every event before it showed something first (creates, gets, SETALL,
    // the first attach), so each `{` goes back one of them.
    press(&mut a, KeyCode::Char('{'));
    assert_eq!(at(&a), 7);
    for _ in 0..10 {
        press(&mut a, KeyCode::Char('{'));
    }
    assert_eq!(at(&a), 0, "back past the first event");
    assert!(a.state.objects().next().is_none());
}

#[test]
fn space_plays_one_event_per_redraw_and_stops_at_the_end() {
    let mut a = stepped();
    press(&mut a, KeyCode::Char(' '));
    assert!(a.cursor_tick() && a.cursor_tick());
    assert_eq!(at(&a), 2);
    press(&mut a, KeyCode::Char(' '));
    assert!(!a.cursor_tick());
    assert_eq!(at(&a), 2);
    let total = fixture::producer_consumer().len();
    press(&mut a, KeyCode::Char(' '));
    while a.cursor_tick() {}
    assert_eq!(at(&a), total);
    assert!(!a.cursor.as_ref().is_some_and(|c| c.playing));
}

#[test]
fn cursor_keys_on_an_ordinary_replay_say_how_to_step() {
    let mut a = App::new(FeedInfo::default());
    press(&mut a, KeyCode::Char(']'));
    assert!(a.message.as_deref().is_some_and(|m| m.contains("--step")));
}

#[test]
fn stage_keys_stop_at_the_end_of_a_lab_stage() {
    let mut a = stepped();
    let first_fault = fixture::producer_consumer()
        .iter()
        .position(|e| e.kind == crate::event::EventKind::ShmFault)
        .expect("the sample run faults");
    let mut presses = 0;
    while !screen(&a).contains("before shm stage 3/4") {
        press(&mut a, KeyCode::Char('>'));
        presses += 1;
        assert!(
            presses < 20,
            "no stop before shm's stage 3:\n{}",
            screen(&a)
        );
    }
    // The end of "Attach": both processes attached, no page touched yet.
    assert_eq!(at(&a), first_fault);
    let seg = segment(&a).expect("the segment exists");
    assert_eq!(seg.nattch(), 2);
    assert_eq!(seg.shm.as_ref().map(|s| s.pages.pages_touched()), Some(0));
    // `]` applies the fault: now inside stage 3, one page touched.
    press(&mut a, KeyCode::Char(']'));
    assert!(screen(&a).contains("in shm stage 3/4"), "{}", screen(&a));
    assert_eq!(
        segment(&a).and_then(|o| o.shm.as_ref().map(|s| s.pages.pages_touched())),
        Some(1)
    );
    // `<` goes back to the start of the stage begun last: before the fault.
    press(&mut a, KeyCode::Char('<'));
    assert_eq!(at(&a), first_fault);
    for _ in 0..20 {
        press(&mut a, KeyCode::Char('<'));
    }
    assert_eq!(at(&a), 0, "back to the start");
}
