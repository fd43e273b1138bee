//! Snapshots of every view over the sample producer/consumer trace,
//! rendered with ratatui's `TestBackend` (reviewed with `cargo insta`).

use super::app::{App, View};
use super::draw::draw;
use super::feed::{FeedInfo, Seeds};
use crate::event::Backend;
use crate::model::fixture;
use crate::probe::ProbeTable;
use crate::sysvipc::ShmEntry;
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

fn running() -> App {
    let mut a = app(&fixture::producer_consumer_running());
    a.selected = a
        .state
        .objects()
        .find(|o| o.ipc_key == Some(fixture::SHM_KEY))
        .map(|o| o.handle);
    a
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 45)).expect("test backend");
    t.draw(|f| draw(f, app)).expect("draw");
    t.backend().to_string()
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
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn detail_view_of_the_segment() {
    let mut a = running();
    a.view = View::Detail;
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
    a.selected = a
        .state
        .objects()
        .find(|o| o.ipc_key == Some(fixture::SEM_KEY))
        .map(|o| o.handle);
    a.view = View::Detail;
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn page_map_view() {
    let mut a = running();
    a.view = View::Pages;
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn semaphore_view() {
    let mut a = running();
    a.view = View::Semaphores;
    let s = screen(&a);
    assert!(s.contains("blocked 1") && s.contains("1.5ms"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn swimlane_view() {
    let mut a = app(&fixture::producer_consumer());
    a.view = View::Swimlane;
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn log_view_with_filter() {
    let mut a = app(&fixture::producer_consumer());
    a.view = View::Log;
    insta::assert_snapshot!("log_view", screen(&a));
    a.log_filter = super::app::LogFilter::parse("kind=sem_op pid=4243").expect("filter");
    let s = screen(&a);
    assert!(!s.contains("shm_fault"), "{s}");
    insta::assert_snapshot!("log_view_filtered", s);
}

#[test]
fn stats_view() {
    let mut a = app(&fixture::producer_consumer());
    a.view = View::Stats;
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn help_overlay() {
    let mut a = running();
    a.help = true;
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn empty_model_renders_every_view() {
    let mut a = App::new(FeedInfo::default());
    a.source_ended = true;
    for v in View::ALL {
        a.view = v;
        let s = screen(&a);
        assert!(s.contains("q quit"), "{v:?}: {s}");
    }
}
