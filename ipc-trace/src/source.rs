//! The event source: records from the kernel's ring buffer, decoded to
//! `RawEvent`s and sent down a tokio channel. The reader wakes on epoll
//! readiness (`AsyncFd`), drains the ring completely each time, and stops
//! when the receiving side is gone or when told to stop (after one last
//! drain, so nothing already in the ring is lost).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aya::maps::{MapData, RingBuf};
use ipc_trace_common::RawEvent;
use tokio::io::{Interest, unix::AsyncFd};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Counts kept by a reader, readable while it runs.
#[derive(Debug, Default)]
pub struct ReaderStats {
    /// Records decoded and passed on.
    pub events: AtomicU64,
    /// Records whose size was not that of a `RawEvent` (skipped).
    pub malformed: AtomicU64,
}

impl ReaderStats {
    /// Records decoded so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Malformed records so far.
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }
}

/// Why a reader stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// The stop signal was raised (the ring was drained first).
    Stopped,
    /// The channel's receiver was dropped.
    ReceiverGone,
}

/// What a finished reader hands back: the ring (for a last `drain` after
/// the probes are detached) and its counts.
pub struct ReaderExit {
    /// The ring buffer, still open.
    pub ring: RingBuf<MapData>,
    /// Its counts.
    pub stats: Arc<ReaderStats>,
    /// Why it stopped.
    pub cause: StopCause,
}

impl std::fmt::Debug for ReaderExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderExit")
            .field("stats", &self.stats)
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

/// A reader failure.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Registering or polling the ring buffer's fd failed.
    #[error("cannot poll the event ring buffer: {0}")]
    Poll(#[source] io::Error),
}

/// Decodes one ring-buffer record. None unless it is exactly one `RawEvent`.
pub fn decode(bytes: &[u8]) -> Option<RawEvent> {
    if bytes.len() != size_of::<RawEvent>() {
        return None;
    }
    // SAFETY: the length was checked; RawEvent is plain integers (any bit
    // pattern is valid) and read_unaligned makes no alignment assumption.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<RawEvent>()) })
}

/// Takes every record now in the ring, decoded, into `sink`; malformed ones
/// are counted in `stats` and skipped. Returns how many were passed on.
/// Usable at shutdown, after the probes are detached.
pub fn drain(
    ring: &mut RingBuf<MapData>,
    stats: &ReaderStats,
    mut sink: impl FnMut(RawEvent),
) -> usize {
    let mut n = 0;
    while let Some(item) = ring.next() {
        let decoded = decode(&item);
        drop(item);
        match decoded {
            Some(ev) => {
                stats.events.fetch_add(1, Ordering::Relaxed);
                n += 1;
                sink(ev);
            }
            None => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    n
}

/// Spawns a reader that runs until `tx`'s receiver is dropped.
pub fn spawn_reader(
    ring: RingBuf<MapData>,
    tx: mpsc::Sender<RawEvent>,
) -> JoinHandle<Result<ReaderExit, SourceError>> {
    tokio::spawn(run(ring, tx, None, Arc::new(ReaderStats::default())))
}

/// Spawns a reader that also stops when `stop` becomes true (or its sender
/// is dropped), after draining the ring into `tx` one last time; `stats`
/// is updated as it goes.
pub fn spawn_reader_with_stop(
    ring: RingBuf<MapData>,
    tx: mpsc::Sender<RawEvent>,
    stop: watch::Receiver<bool>,
    stats: Arc<ReaderStats>,
) -> JoinHandle<Result<ReaderExit, SourceError>> {
    tokio::spawn(run(ring, tx, Some(stop), stats))
}

/// Resolves when `stop` turns true or its sender goes away; never without one.
async fn stop_requested(stop: &mut Option<watch::Receiver<bool>>) {
    match stop {
        Some(rx) => {
            let _ = rx.wait_for(|stop| *stop).await;
        }
        None => std::future::pending().await,
    }
}

/// Sends everything now in the ring; false when the receiver is gone.
async fn drain_to(
    ring: &mut RingBuf<MapData>,
    tx: &mpsc::Sender<RawEvent>,
    stats: &ReaderStats,
) -> bool {
    loop {
        let Some(item) = ring.next() else {
            return true;
        };
        let decoded = decode(&item);
        // Dropping the item hands its space back to the kernel before we wait.
        drop(item);
        match decoded {
            Some(ev) => {
                stats.events.fetch_add(1, Ordering::Relaxed);
                if tx.send(ev).await.is_err() {
                    return false;
                }
            }
            None => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// How often the reader drains the ring without being woken.
pub const DRAIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

async fn run(
    ring: RingBuf<MapData>,
    tx: mpsc::Sender<RawEvent>,
    mut stop: Option<watch::Receiver<bool>>,
    stats: Arc<ReaderStats>,
) -> Result<ReaderExit, SourceError> {
    // SAFETY: the RingBuf owns its map fd: it stays open, and as_raw_fd
    // returns that same fd, for as long as the AsyncFd owns the RingBuf.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
        .map_err(|e| SourceError::Poll(e.into()))?;
    // The programs wake us only when WAKEUP_BYTES (64 KiB) are waiting, so
    // that a busy traced program does not pay a wakeup per record; a short
    // timer drains whatever is there in between.
    let mut tick = tokio::time::interval(DRAIN_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let cause = loop {
        if !drain_to(fd.get_mut(), &tx, &stats).await {
            break StopCause::ReceiverGone;
        }
        tokio::select! {
            _ = tick.tick() => {}
            ready = fd.readable_mut() => {
                // Clear first, then drain: a record submitted after the
                // drain re-arms readiness instead of being missed.
                ready.map_err(SourceError::Poll)?.clear_ready();
            }
            () = tx.closed() => break StopCause::ReceiverGone,
            () = stop_requested(&mut stop) => {
                if drain_to(fd.get_mut(), &tx, &stats).await {
                    break StopCause::Stopped;
                }
                break StopCause::ReceiverGone;
            }
        }
    };
    Ok(ReaderExit {
        ring: fd.into_inner(),
        stats,
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_checks_the_length() {
        let mut ev = RawEvent::ZERO;
        ev.ts_ns = 42;
        ev.kind = ipc_trace_common::raw_kind::SYSCALL;
        ev.args[2] = 7;
        ev.vals[15] = 9;
        // SAFETY: RawEvent is plain integers without padding.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const ev).cast::<u8>(), size_of::<RawEvent>())
        };
        let back = decode(bytes).expect("a whole record decodes");
        assert_eq!(back.ts_ns, 42);
        assert_eq!(back.args[2], 7);
        assert_eq!(back.vals[15], 9);
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(&[]).is_none());
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(decode(&long).is_none());
        // An unaligned copy decodes too.
        let mut shifted = vec![0u8; bytes.len() + 1];
        shifted[1..].copy_from_slice(bytes);
        assert_eq!(decode(&shifted[1..]).map(|e| e.ts_ns), Some(42));
    }
}
