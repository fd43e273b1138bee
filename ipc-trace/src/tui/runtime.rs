//! The event loop: one `tokio::select!` over terminal input, a steady
//! redraw tick and the traced events. Events are drained into the model
//! between draws; the screen is drawn at most once per tick however fast
//! they come.

use super::app::App;
use super::draw::draw;
use super::feed::Feed;
use super::terminal::TerminalGuard;
use crossterm::event::EventStream;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc::error::TryRecvError;

/// Redraws per second.
pub const FPS: u64 = 10;
/// Events applied at most before input and ticks get a turn.
const DRAIN_BATCH: usize = 50_000;
/// Ticks between two returns of freed heap to the system (10 s).
const TRIM_EVERY_TICKS: u64 = 10 * FPS;

/// Runs the TUI until `q` (or Ctrl-C). Returns `Ok` on quit so the caller
/// can detach probes; the terminal is restored on every exit path. When the
/// event channel closes the UI shows "source ended" and stays open.
pub async fn run(feed: Feed) -> anyhow::Result<()> {
    let Feed {
        mut events,
        info,
        seeds,
        cursor,
    } = feed;
    let live_clock = info.live_clock;
    let mut app = App::new(info);
    app.seed(&seeds);
    app.cursor = cursor;
    let mut guard = TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / FPS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut source_open = true;
    let mut dirty = true;
    let mut ticks: u64 = 0;

    loop {
        tokio::select! {
            _ = tick.tick() => {
                ticks += 1;
                if ticks.is_multiple_of(TRIM_EVERY_TICKS) {
                    crate::heap::release_free_memory();
                }
                if app.cursor_tick() {
                    dirty = true;
                }
                if live_clock {
                    app.clock_ns = crate::clock::try_monotonic_ns();
                    dirty = true;
                }
                if dirty && super::terminal::active() {
                    guard.terminal().draw(|f| draw(f, &app))?;
                    dirty = false;
                }
            }
            term = input.next() => match term {
                Some(Ok(ev)) => {
                    app.on_terminal_event(&ev);
                    dirty = true;
                    if app.quit {
                        break;
                    }
                }
                Some(Err(e)) => return Err(anyhow::anyhow!("reading the terminal failed: {e}")),
                None => break,
            },
            ev = events.recv(), if source_open => match ev {
                Some(ev) => {
                    app.apply(&ev);
                    for _ in 0..DRAIN_BATCH {
                        match events.try_recv() {
                            Ok(ev) => app.apply(&ev),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                source_open = false;
                                app.source_ended = true;
                                break;
                            }
                        }
                    }
                    dirty = true;
                }
                None => {
                    source_open = false;
                    app.source_ended = true;
                    dirty = true;
                }
            },
        }
    }
    drop(guard);
    Ok(())
}
