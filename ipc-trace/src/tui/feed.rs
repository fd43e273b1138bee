//! What the TUI is fed: a channel of events plus facts about the source.

use crate::event::Event;
use crate::probe::ProbeTable;
use crate::sysvipc::{self, SemEntry, ShmEntry, SysvIpcError};
use tokio::sync::mpsc;

/// Facts about the event source, shown in the header and the stats view.
#[derive(Clone, Debug, Default)]
pub struct FeedInfo {
    /// `uname -r` of the traced kernel.
    pub kernel: String,
    /// Which probes are attached, with which backend.
    pub probes: ProbeTable,
    /// `"live"` or `"replay FILE"`.
    pub source: String,
    /// Events are happening now: rates are measured against the monotonic
    /// clock, so an idle object's rate falls to zero. False for replays,
    /// whose "now" is the newest event.
    pub live_clock: bool,
}

/// Objects that existed before the source started.
#[derive(Clone, Debug, Default)]
pub struct Seeds {
    /// Segments listed in `/proc/sysvipc/shm`.
    pub shm: Vec<ShmEntry>,
    /// Sets listed in `/proc/sysvipc/sem`.
    pub sem: Vec<SemEntry>,
    /// IPC namespace inode they belong to.
    pub ipc_ns: u32,
    /// CLOCK_MONOTONIC nanoseconds when they were read.
    pub now_ns: u64,
    /// Creator pids of those segments that no longer exist.
    pub gone: Vec<u32>,
}

impl Seeds {
    /// Reads `/proc/sysvipc/{shm,sem}` of the current IPC namespace and
    /// checks which creator pids are gone.
    pub fn from_proc(ipc_ns: u32, now_ns: u64) -> Result<Seeds, SysvIpcError> {
        let shm = sysvipc::read_shm(sysvipc::SHM_PATH)?;
        let sem = sysvipc::read_sem(sysvipc::SEM_PATH)?;
        let mut gone: Vec<u32> = shm
            .iter()
            .map(|e| e.cpid)
            .filter(|pid| *pid != 0 && !std::path::Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        gone.sort_unstable();
        gone.dedup();
        Ok(Seeds {
            shm,
            sem,
            ipc_ns,
            now_ns,
            gone,
        })
    }
}

/// The TUI's input. The lead side owns the sender; when it is dropped (the
/// source ended: replay finished, traced command exited) the TUI shows
/// "source ended" and stays open until `q`.
#[derive(Debug)]
pub struct Feed {
    /// Decoded events, in order.
    pub events: mpsc::Receiver<Event>,
    /// Facts about the source.
    pub info: FeedInfo,
    /// Objects that existed before the source started.
    pub seeds: Seeds,
    /// A stepped replay: the whole recording, shown event by event under
    /// the user's control (the channel is then empty and closed).
    pub cursor: Option<super::cursor::Cursor>,
}
