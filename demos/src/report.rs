//! The JSON report every demo program writes (`--report FILE`): exactly
//! what it did, so that a recording can be checked against it.

use ipc_trace::event::SemOpSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a demo process was in the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `shm-producer`: creates the segment and the set, writes messages.
    Producer,
    /// `shm-consumer`: finds both by key, takes the messages.
    Consumer,
    /// `sem-pingpong`, the parent: creates the set, forks, removes the set.
    PingpongParent,
    /// `sem-pingpong`, the forked child.
    PingpongChild,
}

/// The shared-memory segment as one process used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShmReport {
    /// The IPC key (from `ftok`).
    pub key: i32,
    /// The segment id `shmget` returned.
    pub id: i32,
    /// The size passed to `shmget` (bytes).
    pub size: u64,
    /// The flags passed to the successful `shmget`.
    pub get_flags: i32,
    /// True when this process's `shmget` created the segment (IPC_CREAT|IPC_EXCL).
    pub created: bool,
    /// The address `shmat` returned.
    pub addr: u64,
    /// Indices of the pages this process touched once each, in order.
    pub pages_touched: Vec<u64>,
    /// True when this process called `shmdt`.
    pub detached: bool,
    /// True when this process removed the segment (`shmctl(IPC_RMID)`).
    pub removed: bool,
}

/// The semaphore set as one process used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemReport {
    /// The IPC key (from `ftok`).
    pub key: i32,
    /// The set id.
    pub id: i32,
    /// Semaphores in the set.
    pub nsems: u32,
    /// True when this process looked the set up with `semget` (a forked
    /// child inherits the id instead).
    pub get_called: bool,
    /// The flags passed to the successful `semget`.
    pub get_flags: i32,
    /// True when this process's `semget` created the set.
    pub created: bool,
    /// Values this process set with `semctl(SETALL)`, if it did.
    pub setall: Option<Vec<u16>>,
    /// Every `semop` call, in order, each as the list of sembufs passed.
    pub semops: Vec<Vec<SemOpSpec>>,
    /// Indices into `semops` of calls that were guaranteed to sleep.
    pub blocking_semops: Vec<usize>,
    /// True when this process removed the set (`semctl(IPC_RMID)`).
    pub removed: bool,
}

/// One demo process's report (`--report FILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoReport {
    /// Program name (`shm-producer`, `shm-consumer`, `sem-pingpong`).
    pub program: String,
    /// What this process was.
    pub role: Role,
    /// Process id (= the tgid in a recording).
    pub pid: u32,
    /// The file the keys were derived from.
    pub key_path: String,
    /// The page size used to number pages.
    pub page_size: u64,
    /// The segment, when this process used one.
    pub shm: Option<ShmReport>,
    /// The semaphore set, when this process used one.
    pub sem: Option<SemReport>,
    /// Data messages written (producer).
    pub messages_sent: u64,
    /// Data messages taken (consumer).
    pub messages_received: u64,
    /// FNV-1a 64 over the data message texts, `0x` + 16 hex digits.
    pub checksum: Option<String>,
    /// Ping-pong rounds done.
    pub rounds: Option<u64>,
    /// Reports of forked children (the ping-pong child).
    pub children: Vec<DemoReport>,
}

/// A report that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// File system error.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// Not a valid report.
    #[error("{path}: not a demo report: {error}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        error: serde_json::Error,
    },
}

impl DemoReport {
    /// Writes the report as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        let json = serde_json::to_string_pretty(self).map_err(|error| ReportError::Json {
            path: path.to_path_buf(),
            error,
        })?;
        std::fs::write(path, json + "\n").map_err(|error| ReportError::Io {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Reads one report file.
    pub fn load(path: &Path) -> Result<DemoReport, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|error| ReportError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        serde_json::from_str(&text).map_err(|error| ReportError::Json {
            path: path.to_path_buf(),
            error,
        })
    }

    /// Reads every `*.json` report in a directory (as written by
    /// `demo-run --report-dir`), sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<DemoReport>, ReportError> {
        let io = |error| ReportError::Io {
            path: dir.to_path_buf(),
            error,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        files.retain(|p| p.extension().is_some_and(|x| x == "json"));
        files.sort();
        files.iter().map(|p| DemoReport::load(p)).collect()
    }

    /// This report and its children's, depth first: one per process.
    pub fn processes(&self) -> Vec<&DemoReport> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.processes());
        }
        out
    }

    /// A short label for messages: `shm-consumer (pid 1234)`.
    pub fn label(&self) -> String {
        let role = match self.role {
            Role::PingpongChild => " child",
            Role::PingpongParent => " parent",
            _ => "",
        };
        format!("{}{} (pid {})", self.program, role, self.pid)
    }
}
