//! The eBPF programs' diagnostics (aya-log records, `ipc-trace-ebpf/src/diag.rs`)
//! forwarded to the `log` crate, so `RUST_LOG=debug` shows them among
//! userspace's own messages (target `ipc_trace::diag`). They come only from
//! error branches: a sembuf array or `semctl(SETALL)` values the traced
//! program passed that cannot be read (debug), KERNEL_OFFSETS that read
//! nonsense and a map that refused an insert (warn, once per CPU).
//!
//! [`level`] is the `AYA_LOG_LEVEL` the programs get: the userspace
//! logger's maximum level, so a disabled level costs the programs one load
//! and compare. [`forward`] takes the log ring (`AYA_LOGS`) out of the
//! loaded object and drains it from a task on the current tokio runtime.
//! Without a runtime, or when the object has no log ring, nothing is
//! forwarded and a debug line says why.

use std::time::Duration;

use aya::{Ebpf, maps::Map, programs::loaded_programs};
use aya_log::EbpfLogger;
use log::Log;
use tokio::io::{Interest, unix::AsyncFd};

/// The name of the ring the eBPF side logs to (aya-log-ebpf's map).
const LOG_MAP: &str = "AYA_LOGS";

/// How often the drain task checks whether a program still uses the ring.
const LIVENESS_PERIOD: Duration = Duration::from_secs(1);

/// The `AYA_LOG_LEVEL` for the programs: `log::max_level()` as aya-log
/// numbers it (0 off, 1 error … 5 trace), i.e. what the logger would show.
pub fn level() -> u8 {
    log::max_level() as usize as u8
}

/// Starts forwarding the diagnostics of `ebpf` (just loaded, its programs
/// not yet) to the `log` crate. Must run before the programs are loaded:
/// the ring then lives in the drain task, which keeps its descriptor open
/// until no loaded program uses it any more (the `Ebpf` was dropped).
pub fn forward(ebpf: &mut Ebpf) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        log::debug!("eBPF diagnostics are not forwarded: no async runtime");
        return;
    };
    if level() == 0 {
        return;
    }
    let map_id = match ebpf.map(LOG_MAP) {
        Some(Map::RingBuf(data)) => data.info().map(|info| info.id()).ok(),
        Some(_) => None,
        None => {
            log::debug!("eBPF diagnostics are not forwarded: the object has no {LOG_MAP}");
            return;
        }
    };
    let logger = match EbpfLogger::init(ebpf) {
        Ok(logger) => logger,
        Err(e) => {
            log::debug!("eBPF diagnostics are not forwarded: {e}");
            return;
        }
    };
    // SAFETY: the logger owns the ring's map fd (its `RingBuf<MapData>`):
    // it stays open, and `as_raw_fd` returns that same fd, for as long as
    // the AsyncFd owns the logger.
    match unsafe { AsyncFd::register_with_interest(logger, Interest::READABLE) } {
        Ok(fd) => {
            runtime.spawn(drain(fd, map_id));
        }
        Err(e) => {
            log::debug!("eBPF diagnostics are not forwarded: {e}");
            // The programs about to be loaded refer to the ring's
            // descriptor: it must stay open. A descriptor lost once per
            // process, in a path that does not happen in practice.
            std::mem::forget(e.into_parts().0);
        }
    }
}

/// Logs every record that arrives until no loaded program uses the ring
/// `map_id` any more (checked every `LIVENESS_PERIOD`; without an id, for
/// the life of the runtime).
async fn drain<L: Log>(mut fd: AsyncFd<EbpfLogger<L>>, map_id: Option<u32>) {
    let mut tick = tokio::time::interval(LIVENESS_PERIOD);
    let mut seen_in_use = false;
    let mut idle_ticks = 0;
    loop {
        tokio::select! {
            guard = fd.readable_mut() => {
                let Ok(mut guard) = guard else {
                    return;
                };
                guard.get_inner_mut().flush();
                guard.clear_ready();
            }
            _ = tick.tick() => {
                let Some(id) = map_id else {
                    continue;
                };
                // Programs load one after the other once `forward` returns,
                // and a failed attach unloads one: the ring is given up only
                // after it was in use and then unused for two checks.
                match in_use(id) {
                    Some(true) => {
                        seen_in_use = true;
                        idle_ticks = 0;
                    }
                    Some(false) if seen_in_use => {
                        idle_ticks += 1;
                        if idle_ticks >= 2 {
                            fd.get_mut().flush();
                            return;
                        }
                    }
                    Some(false) | None => {}
                }
            }
        }
    }
}

/// Whether a loaded program uses map `id` (None when a program could not
/// be asked).
fn in_use(id: u32) -> Option<bool> {
    let mut unsure = false;
    for info in loaded_programs() {
        let Ok(info) = info else {
            unsure = true;
            continue;
        };
        match info.map_ids() {
            Ok(Some(maps)) if maps.contains(&id) => return Some(true),
            Ok(_) => {}
            Err(_) => unsure = true,
        }
    }
    (!unsure).then_some(false)
}
