//! Turns kernel `RawEvent` records into userspace `Event`s.
//!
//! Every lifecycle kind (create, attach, fault, detach, destroy) is produced
//! on every backend: seen where the kernel-path probe for it is attached,
//! otherwise derived from the syscall tracepoints and marked `inferred`.
//! A derived event needs evidence (a successful call that can only mean
//! it), and an event a kernel-path probe reports is never derived as well.
//! Pure code: no I/O, no clock.

pub mod names;
mod process;
mod sem;
mod shm;
mod state;
#[cfg(test)]
mod tests;

use crate::event::{Backend, Event, EventKind};
use crate::probe::ProbeTable;
use ipc_trace_common::{RawEvent, probe, raw_kind};
use state::{Objects, Segment, SemSet};

/// Which kernel-path probes are attached (the rest is inferred).
#[derive(Clone, Copy, Debug, Default)]
struct KernelPaths {
    newseg: bool,
    do_shmat: bool,
    shm_fault: bool,
    shm_close: bool,
    shm_destroy: bool,
    newary: bool,
    semtimedop: bool,
    freeary: bool,
}

impl KernelPaths {
    fn from_table(table: &ProbeTable) -> KernelPaths {
        KernelPaths {
            newseg: table.is_attached(probe::NEWSEG),
            do_shmat: table.is_attached(probe::DO_SHMAT),
            shm_fault: table.is_attached(probe::SHM_FAULT),
            shm_close: table.is_attached(probe::SHM_CLOSE),
            shm_destroy: table.is_attached(probe::SHM_DESTROY),
            newary: table.is_attached(probe::NEWARY),
            semtimedop: table.is_attached(probe::DO_SEMTIMEDOP)
                || table.is_attached(probe::DO_SEMTIMEDOP_INNER),
            freeary: table.is_attached(probe::FREEARY),
        }
    }
}

/// Decodes the record stream of one tracing session. Keeps the state the
/// inferences need (known objects, tracked attaches), so every record of
/// the session must go through the same `Decoder`, in ring-buffer order.
#[derive(Debug)]
pub struct Decoder {
    attached: KernelPaths,
    objects: Objects,
    unknown: u64,
}

impl Decoder {
    /// A decoder for a session whose probes are described by `table`:
    /// what an unattached kernel-path probe would report is inferred.
    pub fn new(table: &ProbeTable) -> Decoder {
        Decoder {
            attached: KernelPaths::from_table(table),
            objects: Objects::default(),
            unknown: 0,
        }
    }

    /// Declares a segment that existed before tracing (from
    /// `/proc/sysvipc/shm`), so that the first `shmget` returning it is not
    /// taken for its creation. `nattch`: attaches already present, made by
    /// processes the decoder has not seen; while any may remain, the moment
    /// a removed segment is freed cannot be told and is not inferred.
    pub fn seed_segment(&mut self, ipc_ns: u32, id: i32, key: i32, size: u64, nattch: u32) {
        let segment = Segment {
            key: Some(key),
            size: Some(size),
            removed: false,
            untracked_attaches: Some(nattch),
            awaiting_creator: None,
        };
        self.objects.segments.insert((ipc_ns, id), segment);
    }

    /// Declares a semaphore set that existed before tracing (from
    /// `/proc/sysvipc/sem`).
    pub fn seed_semset(&mut self, ipc_ns: u32, id: i32, key: i32, nsems: u32) {
        let set = SemSet {
            key: Some(key),
            nsems: Some(nsems),
            awaiting_creator: None,
        };
        self.objects.semsets.insert((ipc_ns, id), set);
    }

    /// Decodes one record, appending 0..n events to `out` in the order they
    /// happened. A record of an unknown kind or probe, or with inconsistent
    /// arguments, yields nothing and is counted (`unknown_records`).
    pub fn decode(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let decoded = usize::from(raw.probe) < probe::COUNT
            && match raw.kind {
                raw_kind::SYSCALL => self.syscall(raw, out),
                raw_kind::NEWSEG => {
                    self.newseg(raw, out);
                    true
                }
                raw_kind::DO_SHMAT => {
                    self.do_shmat(raw, out);
                    true
                }
                raw_kind::SHM_FAULT => {
                    self.shm_fault(raw, out);
                    true
                }
                raw_kind::PAGE_FAULT_USER => self.page_fault_user(raw, out),
                raw_kind::SHM_CLOSE => {
                    self.shm_close(raw, out);
                    true
                }
                raw_kind::SHM_DESTROY => {
                    self.shm_destroy(raw, out);
                    true
                }
                raw_kind::NEWARY => {
                    self.newary(raw, out);
                    true
                }
                raw_kind::SEMTIMEDOP => {
                    self.semtimedop(raw, out);
                    true
                }
                raw_kind::FREEARY => {
                    self.freeary(raw, out);
                    true
                }
                raw_kind::PROC_EXIT => {
                    self.proc_exit(raw, out);
                    true
                }
                raw_kind::PROC_EXEC => {
                    self.proc_exec(raw, out);
                    true
                }
                raw_kind::PROC_FORK => self.proc_fork(raw, out),
                _ => false,
            };
        if !decoded {
            self.unknown += 1;
        }
    }

    /// Records that yielded nothing: unknown kind or probe id, or
    /// inconsistent arguments.
    pub fn unknown_records(&self) -> u64 {
        self.unknown
    }

    fn syscall(&mut self, raw: &RawEvent, out: &mut Vec<Event>) -> bool {
        match raw.probe {
            probe::SYS_SHMGET => self.sys_shmget(raw, out),
            probe::SYS_SHMAT => self.sys_shmat(raw, out),
            probe::SYS_SHMDT => self.sys_shmdt(raw, out),
            probe::SYS_SHMCTL => self.sys_shmctl(raw, out),
            probe::SYS_SEMGET => self.sys_semget(raw, out),
            probe::SYS_SEMOP | probe::SYS_SEMTIMEDOP => self.sys_semop(raw, out),
            probe::SYS_SEMCTL => self.sys_semctl(raw, out),
            _ => return false,
        }
        true
    }
}

/// The thread id of a record.
fn pid_of(raw: &RawEvent) -> u32 {
    raw.pid_tgid as u32
}

/// The process (thread group) id of a record.
fn tgid_of(raw: &RawEvent) -> u32 {
    (raw.pid_tgid >> 32) as u32
}

/// A task name: up to the first NUL, invalid UTF-8 replaced.
fn comm_str(comm: &[u8]) -> String {
    let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    String::from_utf8_lossy(&comm[..len]).into_owned()
}

/// An event seen by the record's probe, with the common fields set.
fn seen(raw: &RawEvent, kind: EventKind) -> Event {
    let mut e = Event::new(
        raw.ts_ns,
        kind,
        pid_of(raw),
        tgid_of(raw),
        &comm_str(&raw.comm),
    );
    e.ipc_ns = raw.ipc_ns;
    e.probe = probe::name(raw.probe).into();
    e.backend = Backend::from_raw(raw.backend);
    e.inner = inner_names(raw.inner);
    e
}

/// The names of the step probes whose bits are set in `bits`
/// (`RawEvent::inner`), in probe-id order; None when none is.
fn inner_names(bits: u16) -> Option<Vec<String>> {
    if bits == 0 {
        return None;
    }
    let names = (0..ipc_trace_common::inner::COUNT)
        .filter(|bit| bits & (1 << bit) != 0)
        .map(|bit| probe::name(probe::FIRST_STEP + bit as u8).to_string())
        .collect();
    Some(names)
}

/// An event derived from the record rather than seen (the step probes
/// the record carries stay with the event that was seen).
fn inferred(raw: &RawEvent, kind: EventKind) -> Event {
    let mut e = seen(raw, kind);
    e.inferred = true;
    e.inner = None;
    e
}

/// An event for a call that returns a value or -errno (a syscall or a
/// paired kernel function): `ret`, `errno`, `dur_ns` set.
fn call(raw: &RawEvent, kind: EventKind) -> Event {
    let mut e = seen(raw, kind);
    e.ret = Some(raw.ret);
    e.errno = errno_of(raw.ret);
    e.dur_ns = Some(duration(raw));
    e
}

/// Entry to return of a paired record.
fn duration(raw: &RawEvent) -> u64 {
    raw.ts_ns.saturating_sub(raw.start_ns)
}

/// The errno of a failed call (`ret` in -4095..=-1).
fn errno_of(ret: i64) -> Option<i32> {
    if (-4095..=-1).contains(&ret) {
        Some(-ret as i32)
    } else {
        None
    }
}

/// The object id a successful get/create returned.
fn returned_id(ret: i64) -> Option<i32> {
    i32::try_from(ret).ok().filter(|id| *id >= 0)
}

/// A C `int` argument, sign-extended whatever the upper bits held.
fn int_arg(arg: u64) -> i64 {
    i64::from(arg as i32)
}
