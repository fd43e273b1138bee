//! Rendering one frame of each view with 10,000 objects into a 200×60
//! `TestBackend`. `cargo bench -p ipc-trace --bench render` (release).

mod synthetic;

use ipc_trace::event::{Event, EventKind};
use ipc_trace::tui::FeedInfo;
use ipc_trace::tui::app::{App, View};
use ipc_trace::tui::draw::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn model_with(objects: u32) -> App {
    let mut app = App::new(FeedInfo::default());
    for i in 0..objects {
        let ts = 1_000_000_000 + u64::from(i) * 1_000;
        let mut c = Event::new(
            ts,
            EventKind::ShmCreate,
            100 + i % 50,
            100 + i % 50,
            "worker",
        );
        c.id = Some(i as i32);
        c.key = Some(0x5000 + i as i32);
        c.size = Some(4096 * 16);
        c.flags = Some(0o1640);
        app.apply(&c);
        let mut f = Event::new(ts + 10, EventKind::ShmFault, 100, 100, "worker");
        f.id = Some(i as i32);
        f.page = Some(u64::from(i % 16));
        f.addr = Some(0x7000_0000);
        app.apply(&f);
    }
    // Plus background activity for the log, swimlane and semaphore views.
    for e in synthetic::events(0, 100_000, 200, false) {
        app.apply(&e);
    }
    app
}

fn time_view(app: &mut App, view: View, frames: u32) -> (Duration, Duration) {
    let mut term = match Terminal::new(TestBackend::new(200, 60)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    app.view = view;
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..frames {
        let t = Instant::now();
        if let Err(e) = term.draw(|f| draw(f, app)) {
            panic!("draw: {e}");
        }
        let d = t.elapsed();
        best = best.min(d);
        total += d;
    }
    (total / frames, best)
}

fn main() {
    let mut app = model_with(10_000);
    println!(
        "model: {} lifecycles, {} events, {} processes",
        app.state.object_count(),
        app.state.events(),
        app.state.processes().len()
    );
    for view in View::ALL {
        let (mean, best) = time_view(&mut app, view, 50);
        println!(
            "{:<11} 200x60 frame: mean {:>7.3} ms, best {:>7.3} ms",
            view.title(),
            mean.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3
        );
    }
}
