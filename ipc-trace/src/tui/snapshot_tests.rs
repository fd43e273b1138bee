//! Snapshots of every view over the sample producer/consumer trace,
//! rendered with ratatui's `TestBackend` (reviewed with `cargo insta`).
//! Views are reached by pressing keys, and each test also asserts what must
//! be on screen, so a snapshot accepted by mistake still fails.

use super::app::{App, View};
use super::draw::draw;
use super::feed::{FeedInfo, Seeds};
use super::test_keys::{press, typed};
use crate::event::Backend;
use crate::model::fixture;
use crate::probe::ProbeTable;
use crate::sysvipc::ShmEntry;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn info() -> FeedInfo {
    let mut probes = ProbeTable::unattached();
    for p in probes.probes.iter_mut() {
        match p.name.as_str() {
            "__do_semtimedop" => p.reason = Some("not in this kernel (5.10)".into()),
            "shm_close" | "shm_destroy" | "freeary" | "newseg" | "newary" | "do_shmat"
            | "shm_fault" | "shmem_fault" | "do_semtimedop" => {
                p.attached = true;
                p.backend = Some(Backend::Kprobe);
                p.fired = Some(true);
            }
            _ => {
                p.attached = true;
                p.backend = Some(Backend::Tracepoint);
            }
        }
    }
    FeedInfo {
        kernel: "6.1.0-test".into(),
        probes,
        source: "replay demo.ndjson".into(),
        live_clock: false,
    }
}

fn seeded() -> Seeds {
    Seeds {
        shm: vec![ShmEntry {
            key: 0x51,
            shmid: 7,
            perms: 0o600,
            size: 65536,
            cpid: 1,
            lpid: 1,
            nattch: 1,
            uid: 0,
            gid: 0,
            cuid: 0,
            cgid: 0,
            atime: 0,
            dtime: 0,
            ctime: 0,
            rss: None,
            swap: None,
        }],
        sem: vec![],
        ipc_ns: fixture::NS,
        now_ns: 4_000_000_000,
        gone: vec![],
    }
}

fn app(events: &[crate::event::Event]) -> App {
    let mut app = App::new(info());
    app.seed(&seeded());
    for e in events {
        app.apply(e);
    }
    app
}

/// Selects the lifecycle with IPC key `key` the way a user does: search
/// the table for the key, which selects its first row, then clear the
/// search.
fn select_key(a: &mut App, key: i32) {
    press(a, KeyCode::Char('/'));
    typed(a, &format!("{:08x}", key as u32));
    press(a, KeyCode::Enter);
    press(a, KeyCode::Esc);
    assert_eq!(a.selected_object().and_then(|o| o.ipc_key), Some(key));
    assert!(a.search.is_empty() && a.view == View::Objects);
}

/// Both objects alive and attached, the segment selected.
fn running() -> App {
    let mut a = app(&fixture::producer_consumer_running());
    select_key(&mut a, fixture::SHM_KEY);
    a
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 45)).expect("test backend");
    t.draw(|f| draw(f, app)).expect("draw");
    t.backend().to_string()
}

/// The screen line that contains `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}: {screen}"))
}

#[test]
fn objects_view() {
    let a = running();
    let s = screen(&a);
    assert!(
        s.contains("0x00016988") && s.contains("12000") && s.contains("orphan"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn objects_view_after_removal() {
    let a = app(&fixture::producer_consumer());
    let s = screen(&a);
    assert!(line_with(&s, "0x00016988").contains("removed"), "{s}");
    assert!(line_with(&s, "0x00016989").contains("removed"), "{s}");
    assert!(line_with(&s, "0x0001698a").contains("orphan"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn detail_view_of_the_segment() {
    let mut a = running();
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view, View::Detail);
    let s = screen(&a);
    assert!(
        s.contains("SHM-3") && s.contains("SHM-12") && s.contains("(inferred)"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn detail_view_of_the_set() {
    let mut a = app(&fixture::producer_consumer());
    select_key(&mut a, fixture::SEM_KEY);
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(s.contains("sem key 0x00016989"), "{s}");
    assert!(
        line_with(&s, "shm-consumer/4243  SEM-1,SEM-2").contains("found it by key"),
        "{s}"
    );
    assert!(s.contains("freed at"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn page_map_view() {
    let mut a = running();
    press(&mut a, KeyCode::Char('3'));
    let s = screen(&a);
    assert!(
        s.contains("pages of shm 0x00016988") && s.contains("3 of 3 touched"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn semaphore_view() {
    let mut a = running();
    press(&mut a, KeyCode::Char('4'));
    let s = screen(&a);
    assert!(s.contains("blocked 1") && s.contains("1.5ms"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn swimlane_view() {
    let mut a = app(&fixture::producer_consumer());
    press(&mut a, KeyCode::Char('5'));
    let s = screen(&a);
    assert!(s.contains("3 processes"), "{s}");
    // † marks a process that exited.
    assert!(line_with(&s, "leaker/4250").contains("leaker/4250†"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn log_view_with_filter() {
    let mut a = app(&fixture::producer_consumer());
    press(&mut a, KeyCode::Char('6'));
    let s = screen(&a);
    assert!(s.contains("events 1–37 of 37 shown"), "{s}");
    insta::assert_snapshot!("log_view", s);
    press(&mut a, KeyCode::Char('f'));
    typed(&mut a, "kind=sem_op pid=4243");
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(!s.contains("shm_fault"), "{s}");
    assert!(s.contains("semop 0 P(1)/u blocked 1.5ms"), "{s}");
    insta::assert_snapshot!("log_view_filtered", s);
}

#[test]
fn stats_view() {
    let mut a = app(&fixture::producer_consumer());
    press(&mut a, KeyCode::Char('7'));
    let s = screen(&a);
    assert!(
        line_with(&s, "__do_semtimedop").contains("not in this kernel (5.10)"),
        "{s}"
    );
    assert!(line_with(&s, "│do_semtimedop ").contains(" 12 "), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn help_overlay() {
    let mut a = running();
    press(&mut a, KeyCode::Char('?'));
    let s = screen(&a);
    assert!(s.contains("kernel steps of docs/STEPS.md"), "{s}");
    insta::assert_snapshot!(s);
    press(&mut a, KeyCode::Esc);
    assert!(!screen(&a).contains("docs/STEPS.md"));
}

#[test]
fn empty_model_renders_every_view() {
    let mut a = App::new(FeedInfo::default());
    a.source_ended = true;
    for (i, v) in View::ALL.into_iter().enumerate() {
        typed(&mut a, &(i + 1).to_string());
        assert_eq!(a.view, v);
        let s = screen(&a);
        assert!(s.contains("q quit"), "{v:?}: {s}");
    }
}
