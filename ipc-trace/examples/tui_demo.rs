//! Opens the TUI on the built-in sample trace (producer/consumer over one
//! segment and one semaphore set), fed slowly so the views fill up live.
//! No root and no probes needed:
//! `cargo run -p ipc-trace --features sample-trace --example tui_demo [-- MS]`,
//! MS = milliseconds between events (default 150). Quit with `q`.

use ipc_trace::model::fixture;
use ipc_trace::probe::ProbeTable;
use ipc_trace::tui::{Feed, FeedInfo, Seeds, run};
use std::time::Duration;
use tokio::sync::mpsc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let delay_ms: u64 = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("usage: tui_demo [MS between events], got `{a}`"))?,
        None => 150,
    };
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        for ev in fixture::producer_consumer() {
            if tx.send(ev).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
    });
    run(Feed {
        events: rx,
        info: FeedInfo {
            kernel,
            probes: ProbeTable::unattached(),
            source: "demo sample".into(),
            live_clock: false,
        },
        seeds: Seeds::default(),
        cursor: None,
    })
    .await
}
