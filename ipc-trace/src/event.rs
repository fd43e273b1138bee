//! The userspace event: what `source` decodes, `record` writes as NDJSON,
//! `replay` reads back, and `model` applies. One flat struct with a `kind`
//! and optional fields, so that every line of a recording has the same
//! stable field names (documented in docs/SCHEMA.md).

use serde::{Deserialize, Serialize};

/// What happened. Serialized in snake_case (`"shm_create"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `shmget` returned (syscall view): `key`, `size`, `flags`, `ret`, `id` on success.
    ShmGet,
    /// A segment was created (`newseg`, or inferred from the first `shmget`
    /// that returned a new id): `key`, `size`, `flags`, `id`.
    ShmCreate,
    /// A segment was attached (`do_shmat`, or the `shmat` syscall): `id`,
    /// `addr` (attached address), `flags`, `ret`.
    ShmAttach,
    /// A page of a segment was faulted in (`shm_fault`+`shmem_fault`, or
    /// `page_fault_user` in an attached range): `id`, `addr`, `page`, `write`.
    ShmFault,
    /// A mapping of a segment went away (`shm_close`, or `shmdt`/exit):
    /// `id`, `addr`.
    ShmDetach,
    /// `shmctl` returned: `id`, `cmd`, `ret`.
    ShmCtl,
    /// A segment was freed (`shm_destroy`, or inferred: removed and no
    /// attaches left): `id`, `key`, `size`.
    ShmDestroy,
    /// `semget` returned: `key`, `nsems`, `flags`, `ret`, `id` on success.
    SemGet,
    /// A semaphore set was created (`newary`, or inferred): `key`, `nsems`, `id`.
    SemCreate,
    /// `semctl` returned: `id`, `semnum`, `cmd`, `values` (SETALL/SETVAL), `ret`.
    SemCtl,
    /// A semaphore operation (`do_semtimedop`, or the semop/semtimedop
    /// syscall): `id`, `ops`, `blocked`, `wait_ns`, `ret`.
    SemOp,
    /// A semaphore set was freed (`freeary`, or inferred from
    /// `semctl(IPC_RMID)`): `id`, `key`.
    SemDestroy,
    /// A traced process exited (its mappings are gone).
    ProcExit,
    /// A process with segments attached forked a process (not a thread):
    /// the child, `ret`, holds a copy of each of its mappings.
    ProcFork,
    /// A process with segments attached replaced its image (`execve`):
    /// its mappings are gone, the process goes on.
    ProcExec,
    /// The kernel could not hand over events of `probe`: `count` were lost
    /// since the previous `drops` event.
    Drops,
}

impl EventKind {
    /// Every kind, in schema order.
    pub const ALL: [EventKind; 16] = [
        EventKind::ShmGet,
        EventKind::ShmCreate,
        EventKind::ShmAttach,
        EventKind::ShmFault,
        EventKind::ShmDetach,
        EventKind::ShmCtl,
        EventKind::ShmDestroy,
        EventKind::SemGet,
        EventKind::SemCreate,
        EventKind::SemCtl,
        EventKind::SemOp,
        EventKind::SemDestroy,
        EventKind::ProcExit,
        EventKind::ProcFork,
        EventKind::ProcExec,
        EventKind::Drops,
    ];

    /// The snake_case name used in recordings.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ShmGet => "shm_get",
            EventKind::ShmCreate => "shm_create",
            EventKind::ShmAttach => "shm_attach",
            EventKind::ShmFault => "shm_fault",
            EventKind::ShmDetach => "shm_detach",
            EventKind::ShmCtl => "shm_ctl",
            EventKind::ShmDestroy => "shm_destroy",
            EventKind::SemGet => "sem_get",
            EventKind::SemCreate => "sem_create",
            EventKind::SemCtl => "sem_ctl",
            EventKind::SemOp => "sem_op",
            EventKind::SemDestroy => "sem_destroy",
            EventKind::ProcExit => "proc_exit",
            EventKind::ProcFork => "proc_fork",
            EventKind::ProcExec => "proc_exec",
            EventKind::Drops => "drops",
        }
    }

    /// True for kinds about a shared-memory segment.
    pub fn is_shm(self) -> bool {
        matches!(
            self,
            EventKind::ShmGet
                | EventKind::ShmCreate
                | EventKind::ShmAttach
                | EventKind::ShmFault
                | EventKind::ShmDetach
                | EventKind::ShmCtl
                | EventKind::ShmDestroy
        )
    }

    /// True for kinds about a semaphore set.
    pub fn is_sem(self) -> bool {
        matches!(
            self,
            EventKind::SemGet
                | EventKind::SemCreate
                | EventKind::SemCtl
                | EventKind::SemOp
                | EventKind::SemDestroy
        )
    }
}

/// How the event was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// A tracepoint (syscalls, exceptions, sched).
    #[default]
    Tracepoint,
    /// kprobe/kretprobe on the kernel function.
    Kprobe,
    /// fentry/fexit on the kernel function.
    Fentry,
}

impl Backend {
    /// The name used on the command line and in recordings.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Tracepoint => "tracepoint",
            Backend::Kprobe => "kprobe",
            Backend::Fentry => "fentry",
        }
    }

    /// From the ABI constant (`ipc_trace_common::backend`).
    pub fn from_raw(raw: u8) -> Backend {
        match raw {
            ipc_trace_common::backend::KPROBE => Backend::Kprobe,
            ipc_trace_common::backend::FENTRY => Backend::Fentry,
            _ => Backend::Tracepoint,
        }
    }
}

/// One decoded `struct sembuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemOpSpec {
    /// Semaphore index in the set.
    pub num: u16,
    /// <0: P (acquire), >0: V (release), 0: wait for zero.
    pub op: i16,
    /// Flags: `IPC_NOWAIT` = 2048, `SEM_UNDO` = 4096.
    pub flg: i16,
}

/// `SEM_UNDO` in `sembuf.sem_flg`.
pub const SEM_UNDO: i16 = 0x1000;
/// `IPC_NOWAIT` in `sembuf.sem_flg`.
pub const IPC_NOWAIT: i16 = 0o4000;

impl SemOpSpec {
    /// True when the operation asked for `SEM_UNDO` (kernel step SEM-9, docs/STEPS.md).
    pub fn undo(&self) -> bool {
        self.flg & SEM_UNDO != 0
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One event. Fields that do not apply to a kind are absent from the JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// CLOCK_MONOTONIC nanoseconds when the event completed.
    pub ts_ns: u64,
    /// What happened.
    pub kind: EventKind,
    /// Thread id.
    pub pid: u32,
    /// Process id (thread group).
    pub tgid: u32,
    /// Task name.
    pub comm: String,
    /// IPC namespace inode (0 when unknown).
    pub ipc_ns: u32,
    /// The hook that saw it (`ipc_trace_common::probe::NAMES`). Borrowed
    /// from that table for live events (no allocation per event), owned when
    /// read from a recording, which may name probes this build lacks.
    pub probe: ProbeName,
    /// How that hook was attached.
    pub backend: Backend,
    /// True when the event was derived from other evidence rather than seen
    /// by a kernel-path probe (e.g. "this shmget created the segment" on a
    /// tracepoint-only kernel).
    #[serde(default, skip_serializing_if = "is_false")]
    pub inferred: bool,
    /// shmid / semid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
    /// IPC key (`IPC_PRIVATE` = 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<i32>,
    /// Segment size in bytes (shm_get, shm_create, shm_destroy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Semaphores in the set (sem_get, sem_create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsems: Option<u32>,
    /// shmflg / semflg / shmat flags, as passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<i64>,
    /// Attached address (shm_attach), faulting address (shm_fault),
    /// detached address (shm_detach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<u64>,
    /// Page index inside the segment (shm_fault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// True for a write fault (shm_fault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
    /// True when the kernel-path probe saw `shmem_fault` under this
    /// `shm_fault` (kernel step SHM-12, docs/STEPS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shmem: Option<bool>,
    /// Decoded sembufs (sem_op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<SemOpSpec>>,
    /// Number of sembufs the caller passed, when more than `ops` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsops: Option<u32>,
    /// The caller slept inside the operation (sem_op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    /// Nanoseconds from falling asleep to returning (sem_op, when blocked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ns: Option<u64>,
    /// Nanoseconds from entry to return of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dur_ns: Option<u64>,
    /// Control command name (shm_ctl, sem_ctl): `IPC_RMID`, `SETALL`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// Semaphore index argument of semctl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semnum: Option<i32>,
    /// Values set by semctl SETALL (all) or SETVAL (one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<u16>>,
    /// Return value of the call (negative: -errno for kernel functions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// errno when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    /// drops: events lost since the previous `drops` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// drops: why, when not a full ring buffer (`exit_not_seen`: stashed
    /// syscall records whose exit the kernel never ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    /// drops: the losses happened after this time (when the counters were
    /// last read) and up to `ts_ns`; lifecycles alive at any moment of
    /// that window may miss events. Absent in older recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ns: Option<u64>,
    /// The step probes (kernel functions nested inside this call, each
    /// doing one step: docs/STEPS.md) that fired while it ran, e.g.
    /// `["shm_more_checks"]` on a `shm_get` that found its key. Schema 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<Vec<String>>,
    /// The kernel stack where the kernel-path probe fired (`--stacks`),
    /// outermost call first, each frame `function+0xoffset` from
    /// /proc/kallsyms (`?` when no symbol covers it). Schema 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<Vec<String>>,
}

impl Event {
    /// A new event with the common fields set and every optional field absent.
    pub fn new(ts_ns: u64, kind: EventKind, pid: u32, tgid: u32, comm: &str) -> Event {
        Event {
            ts_ns,
            kind,
            pid,
            tgid,
            comm: comm.to_string(),
            ipc_ns: 0,
            probe: ProbeName::Borrowed(""),
            backend: Backend::Tracepoint,
            inferred: false,
            id: None,
            key: None,
            size: None,
            nsems: None,
            flags: None,
            addr: None,
            page: None,
            write: None,
            shmem: None,
            ops: None,
            nsops: None,
            blocked: None,
            wait_ns: None,
            dur_ns: None,
            cmd: None,
            semnum: None,
            values: None,
            ret: None,
            errno: None,
            count: None,
            reason: None,
            since_ns: None,
            inner: None,
            stack: None,
        }
    }

    /// True when the step probe on kernel function `function` fired
    /// inside this call (`inner`).
    pub fn inner_seen(&self, function: &str) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == function))
    }

    /// True when the call this event reports failed.
    pub fn failed(&self) -> bool {
        self.errno.is_some() || self.ret.is_some_and(|r| r < 0)
    }

    /// True when the call gave up at its timeout (`EAGAIN`: errno from a
    /// syscall, a negative return from a kernel function).
    pub fn timed_out(&self) -> bool {
        self.errno == Some(libc::EAGAIN) || self.ret == Some(-i64::from(libc::EAGAIN))
    }

    /// The fields a well-formed event of this kind must carry (beyond the
    /// common ones). Used by the reader to reject malformed recordings.
    pub fn missing_field(&self) -> Option<&'static str> {
        let ok_call = !self.failed();
        let need: &[(&'static str, bool)] = match self.kind {
            EventKind::ShmGet | EventKind::SemGet => &[("ret", self.ret.is_some())],
            EventKind::ShmCreate => &[("id", self.id.is_some()), ("size", self.size.is_some())],
            EventKind::SemCreate => &[("id", self.id.is_some()), ("nsems", self.nsems.is_some())],
            EventKind::ShmAttach => &[
                ("id", self.id.is_some()),
                ("addr", !ok_call || self.addr.is_some()),
            ],
            EventKind::ShmFault => &[
                ("id", self.id.is_some()),
                ("addr", self.addr.is_some()),
                ("page", self.page.is_some()),
            ],
            EventKind::ShmDetach => &[("addr", self.addr.is_some())],
            EventKind::ShmCtl | EventKind::SemCtl => {
                &[("cmd", self.cmd.is_some()), ("ret", self.ret.is_some())]
            }
            EventKind::ShmDestroy | EventKind::SemDestroy => &[("id", self.id.is_some())],
            EventKind::SemOp => &[("id", self.id.is_some()), ("ops", self.ops.is_some())],
            EventKind::ProcExit | EventKind::ProcExec => &[],
            EventKind::ProcFork => &[("ret", self.ret.is_some())],
            EventKind::Drops => &[("count", self.count.is_some())],
        };
        need.iter()
            .find(|(_, present)| !present)
            .map(|(name, _)| *name)
    }
}

/// Why records were lost, when it is not a full ring buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// A stashed syscall entry record whose exit never ran (the kernel
    /// skipped `sys_exit`): that record is discarded. On kernel-path
    /// backends the function's own record may still carry the event.
    ExitNotSeen,
    /// The record could not be stashed between the call's entry and exit:
    /// more tasks were inside traced calls at once than `--max-inflight`.
    InflightFull,
}

/// A probe's name: `&'static` from the probe table, or owned.
pub type ProbeName = std::borrow::Cow<'static, str>;

/// The last line of a recording: totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    /// Always `"stats"`.
    pub kind: String,
    /// Events written.
    pub events: u64,
    /// Records lost on the kernel side, all probes: the ring buffer was
    /// full, or the in-flight maps were (`inflight_full`).
    pub dropped: u64,
    /// Of `dropped`, the records lost because more tasks were inside
    /// traced calls at once than `--max-inflight`. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inflight_full: u64,
    /// Drops per probe name (only probes with drops).
    #[serde(default)]
    pub dropped_by_probe: std::collections::BTreeMap<ProbeName, u64>,
    /// Events per probe name.
    #[serde(default)]
    pub events_by_probe: std::collections::BTreeMap<ProbeName, u64>,
    /// Nanoseconds traced.
    pub duration_ns: u64,
    /// Program runs the kernel skipped because another BPF program was
    /// running on that CPU (`recursion_misses`): the events they would
    /// have produced are lost. Absent when none were, or when the kernel
    /// does not count them (before 5.12).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missed: u64,
    /// Stashed syscall records discarded because their exit never ran, all
    /// probes (not in `dropped`). Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exits_not_seen: u64,
    /// `exits_not_seen` per probe name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub exits_not_seen_by_probe: std::collections::BTreeMap<ProbeName, u64>,
    /// `missed` per eBPF program name (only programs with misses).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub missed_by_program: std::collections::BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests;
