//! Hand-built record sequences, decoded with two probe tables: tracepoints
//! only (every kernel-path event inferred) and every kernel-path probe
//! attached (nothing inferred).

mod exit_order;
mod process;

use super::Decoder;
use crate::event::{Backend, Event, EventKind as K, SemOpSpec};
use crate::probe::{ProbeClass, ProbeTable};
use ipc_trace_common::{COMM_LEN, RawEvent, RawSembuf, backend, flag, probe, raw_kind};

const NS: u32 = 4_026_531_839;
const PROD: u32 = 100;
const CONS: u32 = 200;
const IPC_CREAT: u64 = 0o1000;
const IPC_EXCL: u64 = 0o2000;
const IPC_RMID: u64 = 0;
const IPC_STAT: u64 = 2;
const GETVAL: u64 = 12;
const SETVAL: u64 = 16;
const SETALL: u64 = 17;
const KEY: u64 = 0x5100_0001;
const SHMID: i64 = 32768;
const SEMID: i64 = 7;
const ADDR: u64 = 0x7f00_0000_0000;
const SIZE: u64 = 3 * 4096;

/// A record under construction: by PROD ("prod"), in NS, at t=1000
/// (entered at t=900).
#[derive(Clone, Copy)]
struct Rec(RawEvent);

impl Rec {
    fn new(kind: u8, probe: u8, args: &[u64], ret: i64, backend: u8) -> Rec {
        let mut raw = RawEvent::ZERO;
        raw.kind = kind;
        raw.probe = probe;
        raw.backend = backend;
        raw.args[..args.len()].copy_from_slice(args);
        raw.ret = ret;
        raw.ipc_ns = NS;
        Rec(raw).at(1000).by(PROD)
    }

    /// A syscall record (tracepoint backend).
    fn syscall(probe: u8, args: &[u64], ret: i64) -> Rec {
        Rec::new(raw_kind::SYSCALL, probe, args, ret, backend::TRACEPOINT)
    }

    /// A kernel-path record (kprobe backend).
    fn kernel(kind: u8, probe: u8, args: &[u64], ret: i64) -> Rec {
        Rec::new(kind, probe, args, ret, backend::KPROBE)
    }

    /// Done by process `tgid` (its main thread), named "prod" or "cons".
    fn by(mut self, tgid: u32) -> Rec {
        self.0.pid_tgid = (u64::from(tgid) << 32) | u64::from(tgid);
        let name: &[u8] = if tgid == CONS { b"cons" } else { b"prod" };
        self.0.comm = [0; COMM_LEN];
        self.0.comm[..name.len()].copy_from_slice(name);
        self
    }

    /// Returned at `ts`, entered 100 ns before.
    fn at(mut self, ts: u64) -> Rec {
        self.0.ts_ns = ts;
        self.0.start_ns = ts - 100;
        self
    }

    fn flags(mut self, flags: u8) -> Rec {
        self.0.flags = flags;
        self
    }

    /// The sembufs the record holds (at most MAX_SOPS) and the count passed.
    fn sops(mut self, sops: &[(u16, i16, i16)], passed: u32) -> Rec {
        for (slot, &(num, op, flg)) in self.0.sops.iter_mut().zip(sops) {
            *slot = RawSembuf { num, op, flg };
        }
        self.0.nsops = passed;
        self
    }

    fn vals(mut self, vals: &[u16]) -> Rec {
        self.0.vals[..vals.len()].copy_from_slice(vals);
        self.0.nvals = vals.len() as u32;
        self
    }
}

fn shmget(key: u64, flags: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SHMGET, &[key, SIZE, flags], ret)
}
fn shmat(id: i64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SHMAT, &[id as u64, 0, 0], ret)
}
fn shmdt(addr: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SHMDT, &[addr], ret)
}
fn shmctl(id: i64, cmd: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SHMCTL, &[id as u64, cmd, 0], ret)
}
fn newseg(key: u64, flags: u64, ret: i64) -> Rec {
    Rec::kernel(raw_kind::NEWSEG, probe::NEWSEG, &[key, SIZE, flags], ret)
}
fn do_shmat(id: i64, addr: u64, ret: i64) -> Rec {
    Rec::kernel(
        raw_kind::DO_SHMAT,
        probe::DO_SHMAT,
        &[id as u64, 0, 0, addr],
        ret,
    )
}
fn shm_close(id: i64, addr: u64) -> Rec {
    Rec::kernel(
        raw_kind::SHM_CLOSE,
        probe::SHM_CLOSE,
        &[id as u64, addr, addr + SIZE],
        0,
    )
}
fn shm_destroy(id: i64) -> Rec {
    Rec::kernel(
        raw_kind::SHM_DESTROY,
        probe::SHM_DESTROY,
        &[id as u64, KEY, SIZE],
        0,
    )
}
fn page_fault_user(id: i64, addr: u64, error_code: u64) -> Rec {
    Rec::new(
        raw_kind::PAGE_FAULT_USER,
        probe::PAGE_FAULT_USER,
        &[id as u64, addr, error_code, ADDR, ADDR + SIZE],
        0,
        backend::TRACEPOINT,
    )
}
fn shm_fault(id: i64, addr: u64, pgoff: u64, vmf_flags: u64) -> Rec {
    Rec::kernel(
        raw_kind::SHM_FAULT,
        probe::SHM_FAULT,
        &[id as u64, addr, pgoff, vmf_flags, ADDR, 0],
        0x100,
    )
}
fn semget(key: u64, nsems: u64, flags: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SEMGET, &[key, nsems, flags], ret)
}
fn semop(id: i64, nsops: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SEMOP, &[id as u64, 0x1000, nsops], ret)
}
fn semctl(id: i64, semnum: u64, cmd: u64, arg: u64, ret: i64) -> Rec {
    Rec::syscall(probe::SYS_SEMCTL, &[id as u64, semnum, cmd, arg], ret)
}
fn newary(key: u64, nsems: u64, flags: u64, ret: i64) -> Rec {
    Rec::kernel(raw_kind::NEWARY, probe::NEWARY, &[key, nsems, flags], ret)
}
fn do_semtimedop(id: i64, nsops: u64, ret: i64) -> Rec {
    Rec::kernel(
        raw_kind::SEMTIMEDOP,
        probe::DO_SEMTIMEDOP,
        &[id as u64, nsops, 0],
        ret,
    )
}
fn freeary(id: i64) -> Rec {
    Rec::kernel(raw_kind::FREEARY, probe::FREEARY, &[id as u64, KEY], 0)
}
fn exit() -> Rec {
    Rec::new(
        raw_kind::PROC_EXIT,
        probe::SCHED_EXIT,
        &[],
        0,
        backend::TRACEPOINT,
    )
}

/// Tracepoints attached, no kernel-path probe.
fn tracepoints_only() -> ProbeTable {
    let mut table = ProbeTable::unattached();
    for p in &mut table.probes {
        if p.class == ProbeClass::Tracepoint {
            p.attached = true;
            p.backend = Some(Backend::Tracepoint);
        }
    }
    table
}

/// Everything attached, kernel-path probes with kprobes.
fn all_kernel_paths() -> ProbeTable {
    let mut table = ProbeTable::unattached();
    for p in &mut table.probes {
        p.attached = true;
        p.backend = Some(match p.class {
            ProbeClass::Tracepoint => Backend::Tracepoint,
            ProbeClass::KernelPath => Backend::Kprobe,
        });
    }
    table
}

/// `tracepoints_only` plus the named kernel-path probes.
fn tracepoints_and(names: &[&str]) -> ProbeTable {
    let mut table = tracepoints_only();
    for p in &mut table.probes {
        if names.contains(&p.name.as_str()) {
            p.attached = true;
            p.backend = Some(Backend::Kprobe);
        }
    }
    table
}

fn feed(dec: &mut Decoder, recs: &[Rec]) -> Vec<Event> {
    let mut out = Vec::new();
    for r in recs {
        dec.decode(&r.0, &mut out);
    }
    out
}

/// (kind, inferred) of each event.
fn kinds(events: &[Event]) -> Vec<(K, bool)> {
    events.iter().map(|e| (e.kind, e.inferred)).collect()
}

/// The event expected for record `r`: common fields written out here,
/// independently of the decoder.
fn expect(r: &Rec, kind: K, probe: &str, inferred: bool) -> Event {
    let tgid = (r.0.pid_tgid >> 32) as u32;
    let comm = if tgid == CONS { "cons" } else { "prod" };
    let mut e = Event::new(r.0.ts_ns, kind, r.0.pid_tgid as u32, tgid, comm);
    e.ipc_ns = NS;
    e.probe = probe.to_string().into();
    e.backend = match r.0.backend {
        backend::KPROBE => Backend::Kprobe,
        _ => Backend::Tracepoint,
    };
    e.inferred = inferred;
    e
}

#[test]
fn common_fields_come_from_the_record() {
    let mut r = shmget(KEY, IPC_CREAT | 0o600, -17).at(5000);
    r.0.pid_tgid = (7u64 << 32) | 9;
    r.0.comm = *b"w\xffrker\0junk\0\0\0\0\0";
    r.0.backend = backend::FENTRY;
    let mut dec = Decoder::new(&tracepoints_only());
    let out = feed(&mut dec, &[r]);
    assert_eq!(out.len(), 1, "{out:?}");
    let e = &out[0];
    assert_eq!((e.ts_ns, e.pid, e.tgid), (5000, 9, 7));
    assert_eq!(e.comm, "w\u{fffd}rker");
    assert_eq!((e.ipc_ns, &*e.probe), (NS, "sys_shmget"));
    assert_eq!(e.backend, Backend::Fentry);
    assert_eq!(e.dur_ns, Some(100));
    assert_eq!((e.ret, e.errno, e.id), (Some(-17), Some(17), None));
    assert!(!e.inferred);
}

#[test]
fn without_newseg_the_first_shmget_creates_and_later_ones_find() {
    let mut dec = Decoder::new(&tracepoints_only());
    let first = shmget(KEY, IPC_CREAT | IPC_EXCL | 0o600, SHMID);
    let out = feed(&mut dec, &[first]);

    let mut create = expect(&first, K::ShmCreate, "sys_shmget", true);
    create.id = Some(SHMID as i32);
    create.key = Some(KEY as i32);
    create.size = Some(SIZE);
    create.flags = Some((IPC_CREAT | IPC_EXCL | 0o600) as i64);
    let mut get = expect(&first, K::ShmGet, "sys_shmget", false);
    get.id = Some(SHMID as i32);
    get.key = Some(KEY as i32);
    get.size = Some(SIZE);
    get.flags = Some((IPC_CREAT | IPC_EXCL | 0o600) as i64);
    get.ret = Some(SHMID);
    get.dur_ns = Some(100);
    assert_eq!(out, vec![create, get]);

    let consumer = shmget(KEY, 0o600, SHMID).by(CONS).at(2000);
    let out = feed(&mut dec, &[consumer]);
    assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
    assert_eq!((out[0].tgid, out[0].id), (CONS, Some(SHMID as i32)));
}

#[test]
fn a_shmget_that_may_not_create_never_infers_a_create() {
    let mut dec = Decoder::new(&tracepoints_only());
    let out = feed(&mut dec, &[shmget(KEY, 0o600, SHMID)]);
    assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
    // IPC_PRIVATE always creates, whatever the flags.
    let out = feed(&mut dec, &[shmget(0, 0o600, SHMID + 1)]);
    assert_eq!(kinds(&out), vec![(K::ShmCreate, true), (K::ShmGet, false)]);
}

#[test]
fn a_failed_shmget_is_only_a_shm_get_with_errno() {
    for table in [tracepoints_only(), all_kernel_paths()] {
        let mut dec = Decoder::new(&table);
        let out = feed(
            &mut dec,
            &[newseg(KEY, IPC_CREAT, -28), shmget(KEY, IPC_CREAT, -28)],
        );
        assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
        assert_eq!(
            (out[0].ret, out[0].errno, out[0].id),
            (Some(-28), Some(28), None)
        );
    }
}

#[test]
fn a_seeded_segment_is_not_created_again() {
    let mut dec = Decoder::new(&tracepoints_only());
    dec.seed_segment(NS, SHMID as i32, KEY as i32, SIZE, 0);
    let out = feed(&mut dec, &[shmget(KEY, IPC_CREAT | 0o600, SHMID)]);
    assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
    // The same id in another namespace is another segment.
    let mut other = shmget(KEY, IPC_CREAT | 0o600, SHMID);
    other.0.ipc_ns = NS + 1;
    let out = feed(&mut dec, &[other]);
    assert_eq!(kinds(&out), vec![(K::ShmCreate, true), (K::ShmGet, false)]);
}

#[test]
fn with_newseg_the_create_is_seen_once() {
    let mut dec = Decoder::new(&all_kernel_paths());
    let made = newseg(KEY, IPC_CREAT | 0o600, SHMID).at(950);
    let out = feed(&mut dec, &[made, shmget(KEY, IPC_CREAT | 0o600, SHMID)]);
    let mut create = expect(&made, K::ShmCreate, "newseg", false);
    create.id = Some(SHMID as i32);
    create.key = Some(KEY as i32);
    create.size = Some(SIZE);
    create.flags = Some((IPC_CREAT | 0o600) as i64);
    create.dur_ns = Some(100);
    assert_eq!(out[0], create);
    assert_eq!(kinds(&out), vec![(K::ShmCreate, false), (K::ShmGet, false)]);

    let out = feed(&mut dec, &[shmget(KEY, 0o600, SHMID).by(CONS)]);
    assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
}

#[test]
fn shmat_is_reported_by_the_syscall_only_without_do_shmat() {
    let mut dec = Decoder::new(&tracepoints_only());
    let call = shmat(SHMID, ADDR as i64);
    let out = feed(&mut dec, &[shmget(KEY, IPC_CREAT, SHMID), call]);
    let mut attach = expect(&call, K::ShmAttach, "sys_shmat", false);
    attach.id = Some(SHMID as i32);
    attach.addr = Some(ADDR);
    attach.flags = Some(0);
    attach.ret = Some(ADDR as i64);
    attach.dur_ns = Some(100);
    assert_eq!(out[2], attach);
    assert_eq!(out.len(), 3);

    let out = feed(&mut dec, &[shmat(SHMID + 5, -22)]);
    assert_eq!(kinds(&out), vec![(K::ShmAttach, false)]);
    assert_eq!((out[0].addr, out[0].errno), (None, Some(22)));
    assert!(out[0].missing_field().is_none());

    let mut dec = Decoder::new(&all_kernel_paths());
    let kernel = do_shmat(SHMID, ADDR, 0);
    let out = feed(&mut dec, &[kernel, shmat(SHMID, ADDR as i64)]);
    let mut attach = expect(&kernel, K::ShmAttach, "do_shmat", false);
    attach.id = Some(SHMID as i32);
    attach.addr = Some(ADDR);
    attach.flags = Some(0);
    attach.ret = Some(0);
    attach.dur_ns = Some(100);
    assert_eq!(out, vec![attach]);
}

#[test]
fn shmdt_detaches_the_tracked_attach() {
    let mut dec = Decoder::new(&tracepoints_only());
    let setup = [shmget(KEY, IPC_CREAT, SHMID), shmat(SHMID, ADDR as i64)];
    feed(&mut dec, &setup);
    let call = shmdt(ADDR, 0);
    let out = feed(&mut dec, &[call]);
    let mut detach = expect(&call, K::ShmDetach, "sys_shmdt", false);
    detach.id = Some(SHMID as i32);
    detach.addr = Some(ADDR);
    detach.ret = Some(0);
    detach.dur_ns = Some(100);
    assert_eq!(out, vec![detach]);

    // Nothing tracked there any more: the id is not known.
    let out = feed(&mut dec, &[shmdt(ADDR, -22)]);
    assert_eq!((out[0].id, out[0].errno), (None, Some(22)));

    let mut dec = Decoder::new(&all_kernel_paths());
    let close = shm_close(SHMID, ADDR);
    let out = feed(&mut dec, &[do_shmat(SHMID, ADDR, 0), close, shmdt(ADDR, 0)]);
    let mut detach = expect(&close, K::ShmDetach, "shm_close", false);
    detach.id = Some(SHMID as i32);
    detach.addr = Some(ADDR);
    assert_eq!(out[1..], [detach]);
}

#[test]
fn rmid_without_attaches_destroys_at_once_and_the_id_can_come_back() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &[shmget(KEY, IPC_CREAT, SHMID)]);
    let rm = shmctl(SHMID, IPC_RMID, 0).at(3000);
    let out = feed(&mut dec, &[rm]);
    let mut ctl = expect(&rm, K::ShmCtl, "sys_shmctl", false);
    ctl.id = Some(SHMID as i32);
    ctl.cmd = Some("IPC_RMID".to_string());
    ctl.ret = Some(0);
    ctl.dur_ns = Some(100);
    let mut destroy = expect(&rm, K::ShmDestroy, "sys_shmctl", true);
    destroy.id = Some(SHMID as i32);
    destroy.key = Some(KEY as i32);
    destroy.size = Some(SIZE);
    assert_eq!(out, vec![ctl, destroy]);

    // Removed twice is not destroyed twice.
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, -22)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);

    let out = feed(&mut dec, &[shmget(KEY, IPC_CREAT, SHMID)]);
    assert_eq!(kinds(&out), vec![(K::ShmCreate, true), (K::ShmGet, false)]);
}

#[test]
fn other_shmctl_commands_do_not_remove() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &[shmget(KEY, IPC_CREAT, SHMID)]);
    let out = feed(&mut dec, &[shmctl(SHMID, 0x100 | IPC_STAT, 0)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);
    assert_eq!(out[0].cmd.as_deref(), Some("IPC_STAT"));
    let out = feed(&mut dec, &[shmget(KEY, IPC_CREAT, SHMID)]);
    assert_eq!(kinds(&out), vec![(K::ShmGet, false)]);
}

#[test]
fn rmid_while_attached_waits_for_the_last_detach() {
    let mut dec = Decoder::new(&tracepoints_only());
    let cons_addr = ADDR + 0x10_0000;
    let setup = [
        shmget(KEY, IPC_CREAT, SHMID),
        shmat(SHMID, ADDR as i64),
        shmget(KEY, 0, SHMID).by(CONS),
        shmat(SHMID, cons_addr as i64).by(CONS),
    ];
    feed(&mut dec, &setup);
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, 0)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);
    let out = feed(&mut dec, &[shmdt(ADDR, 0)]);
    assert_eq!(kinds(&out), vec![(K::ShmDetach, false)]);

    let gone = exit().by(CONS).at(9000);
    let out = feed(&mut dec, &[gone]);
    let mut detach = expect(&gone, K::ShmDetach, "sched_process_exit", true);
    detach.id = Some(SHMID as i32);
    detach.addr = Some(cons_addr);
    let mut destroy = expect(&gone, K::ShmDestroy, "sched_process_exit", true);
    destroy.id = Some(SHMID as i32);
    destroy.key = Some(KEY as i32);
    destroy.size = Some(SIZE);
    assert_eq!(
        out,
        vec![
            expect(&gone, K::ProcExit, "sched_process_exit", false),
            detach,
            destroy
        ]
    );

    // The last detach by shmdt ends it the same way.
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &setup[..2]);
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, 0), shmdt(ADDR, 0)]);
    let expected = vec![
        (K::ShmCtl, false),
        (K::ShmDetach, false),
        (K::ShmDestroy, true),
    ];
    assert_eq!(kinds(&out), expected);
    assert_eq!(out[2].probe, "sys_shmdt");
}

#[test]
fn exit_detaches_everything_the_process_still_had() {
    let mut dec = Decoder::new(&tracepoints_only());
    let setup = [
        shmget(KEY, IPC_CREAT, SHMID),
        shmat(SHMID, ADDR as i64),
        shmat(SHMID, (ADDR + SIZE) as i64),
        shmat(SHMID, 0x5000_0000).by(CONS),
    ];
    feed(&mut dec, &setup);
    let out = feed(&mut dec, &[exit()]);
    let expected = vec![
        (K::ProcExit, false),
        (K::ShmDetach, true),
        (K::ShmDetach, true),
    ];
    assert_eq!(kinds(&out), expected);
    assert_eq!(out[1].addr, Some(ADDR));
    assert_eq!(out[2].addr, Some(ADDR + SIZE));
    // A second exit of the same tgid has nothing left to detach.
    assert_eq!(
        kinds(&feed(&mut dec, &[exit()])),
        vec![(K::ProcExit, false)]
    );
}

#[test]
fn with_kernel_paths_detach_and_destroy_are_seen_never_inferred() {
    let mut dec = Decoder::new(&all_kernel_paths());
    let recs = [
        newseg(KEY, IPC_CREAT, SHMID),
        shmget(KEY, IPC_CREAT, SHMID),
        do_shmat(SHMID, ADDR, 0),
        shmat(SHMID, ADDR as i64),
        shmctl(SHMID, IPC_RMID, 0),
        shm_close(SHMID, ADDR),
        shm_destroy(SHMID),
        shmdt(ADDR, 0),
        exit(),
        newseg(KEY, IPC_CREAT, SHMID),
        shmget(KEY, IPC_CREAT, SHMID),
    ];
    let out = feed(&mut dec, &recs);
    let expected = vec![
        (K::ShmCreate, false),
        (K::ShmGet, false),
        (K::ShmAttach, false),
        (K::ShmCtl, false),
        (K::ShmDetach, false),
        (K::ShmDestroy, false),
        (K::ProcExit, false),
        (K::ShmCreate, false),
        (K::ShmGet, false),
    ];
    assert_eq!(kinds(&out), expected);
    assert_eq!(out[5].probe, "shm_destroy");
    assert_eq!(
        (out[5].id, out[5].key, out[5].size),
        (Some(SHMID as i32), Some(KEY as i32), Some(SIZE))
    );
}

#[test]
fn a_reused_id_ends_the_old_lifecycle_first() {
    // Tracepoints only: the old segment was removed but a tracked attach
    // never went (unmapped unseen); shmget returning its id again proves
    // it is gone.
    let mut dec = Decoder::new(&tracepoints_only());
    let setup = [
        shmget(KEY, IPC_CREAT, SHMID),
        shmat(SHMID, ADDR as i64),
        shmctl(SHMID, IPC_RMID, 0),
    ];
    feed(&mut dec, &setup);
    let out = feed(&mut dec, &[shmget(0, IPC_CREAT, SHMID)]);
    let expected = vec![
        (K::ShmDetach, true),
        (K::ShmDestroy, true),
        (K::ShmCreate, true),
        (K::ShmGet, false),
    ];
    assert_eq!(kinds(&out), expected);
    assert_eq!(out[1].key, Some(KEY as i32));
    assert_eq!(out[2].key, Some(0));

    // With kernel paths, a lost destroy is not made up.
    let mut dec = Decoder::new(&all_kernel_paths());
    let out = feed(
        &mut dec,
        &[
            newseg(KEY, IPC_CREAT, SHMID),
            do_shmat(SHMID, ADDR, 0),
            newseg(KEY, IPC_CREAT, SHMID),
        ],
    );
    let expected = vec![
        (K::ShmCreate, false),
        (K::ShmAttach, false),
        (K::ShmCreate, false),
    ];
    assert_eq!(kinds(&out), expected);
}

#[test]
fn a_second_attach_at_the_same_address_replaces_the_first() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(
        &mut dec,
        &[
            shmget(KEY, IPC_CREAT, SHMID),
            shmget(0, IPC_CREAT, SHMID + 1),
            shmat(SHMID, ADDR as i64),
            shmctl(SHMID, IPC_RMID, 0),
        ],
    );
    let out = feed(&mut dec, &[shmat(SHMID + 1, ADDR as i64)]);
    let expected = vec![
        (K::ShmDetach, true),
        (K::ShmAttach, false),
        (K::ShmDestroy, true),
    ];
    assert_eq!(kinds(&out), expected);
    assert_eq!(out[0].id, Some(SHMID as i32));
    assert_eq!(out[1].id, Some(SHMID as i32 + 1));
    assert_eq!(out[2].id, Some(SHMID as i32));
}

#[test]
fn seeded_attaches_of_unseen_processes_block_the_inferred_destroy() {
    let mut dec = Decoder::new(&tracepoints_only());
    dec.seed_segment(NS, SHMID as i32, KEY as i32, SIZE, 1);
    let recs = [
        shmget(KEY, 0, SHMID).by(CONS),
        shmat(SHMID, ADDR as i64).by(CONS),
        shmctl(SHMID, IPC_RMID, 0).by(CONS),
        shmdt(ADDR, 0).by(CONS),
        exit().by(CONS),
    ];
    let out = feed(&mut dec, &recs);
    let expected = vec![
        (K::ShmGet, false),
        (K::ShmAttach, false),
        (K::ShmCtl, false),
        (K::ShmDetach, false),
        (K::ProcExit, false),
    ];
    assert_eq!(kinds(&out), expected);

    // With shm_close attached (shm_destroy not), the unseen attach's close
    // is seen, and then the destroy can be told.
    let mut dec = Decoder::new(&tracepoints_and(&["shm_close"]));
    dec.seed_segment(NS, SHMID as i32, KEY as i32, SIZE, 1);
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, 0).by(CONS)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);
    let out = feed(&mut dec, &[shm_close(SHMID, 0x6000_0000)]);
    assert_eq!(
        kinds(&out),
        vec![(K::ShmDetach, false), (K::ShmDestroy, true)]
    );
    assert_eq!(out[1].probe, "shm_close");
}

#[test]
fn a_segment_of_unknown_origin_is_not_destroyed_by_inference() {
    let mut dec = Decoder::new(&tracepoints_only());
    let out = feed(&mut dec, &[shmctl(SHMID, IPC_RMID, 0)]);
    assert_eq!(kinds(&out), vec![(K::ShmCtl, false)]);
}

#[test]
fn faults_come_from_page_fault_user_only_without_shm_fault() {
    let mut dec = Decoder::new(&tracepoints_only());
    let fault = page_fault_user(SHMID, ADDR + 2 * 4096 + 12, 0x6);
    let out = feed(&mut dec, &[fault]);
    let mut expected = expect(&fault, K::ShmFault, "page_fault_user", true);
    expected.id = Some(SHMID as i32);
    expected.addr = Some(ADDR + 2 * 4096 + 12);
    expected.page = Some(2);
    expected.write = Some(true);
    assert_eq!(out, vec![expected]);
    let read = feed(&mut dec, &[page_fault_user(SHMID, ADDR, 0x4)]);
    assert_eq!((read[0].page, read[0].write), (Some(0), Some(false)));

    // Outside the range it names: not decodable.
    let out = feed(&mut dec, &[page_fault_user(SHMID, ADDR + SIZE, 0x6)]);
    assert!(out.is_empty());
    assert_eq!(dec.unknown_records(), 1);

    let mut dec = Decoder::new(&all_kernel_paths());
    let kernel = shm_fault(SHMID, ADDR + 4096, 1, 0x1).flags(flag::SHMEM_SEEN);
    let out = feed(
        &mut dec,
        &[kernel, page_fault_user(SHMID, ADDR + 4096, 0x6)],
    );
    let mut expected = expect(&kernel, K::ShmFault, "shm_fault", false);
    expected.id = Some(SHMID as i32);
    expected.addr = Some(ADDR + 4096);
    expected.page = Some(1);
    expected.write = Some(true);
    expected.shmem = Some(true);
    expected.ret = Some(0x100);
    expected.dur_ns = Some(100);
    assert_eq!(out, vec![expected]);
    assert_eq!(dec.unknown_records(), 0);
    let read = feed(&mut dec, &[shm_fault(SHMID, ADDR, 0, 0x0)]);
    assert_eq!((read[0].write, read[0].shmem), (Some(false), Some(false)));
}

#[test]
fn semget_infers_the_create_only_without_newary() {
    let mut dec = Decoder::new(&tracepoints_only());
    let first = semget(KEY, 2, IPC_CREAT | 0o600, SEMID);
    let out = feed(&mut dec, &[first]);
    let mut create = expect(&first, K::SemCreate, "sys_semget", true);
    create.id = Some(SEMID as i32);
    create.key = Some(KEY as i32);
    create.nsems = Some(2);
    create.flags = Some((IPC_CREAT | 0o600) as i64);
    let mut get = expect(&first, K::SemGet, "sys_semget", false);
    get.id = Some(SEMID as i32);
    get.key = Some(KEY as i32);
    get.nsems = Some(2);
    get.flags = Some((IPC_CREAT | 0o600) as i64);
    get.ret = Some(SEMID);
    get.dur_ns = Some(100);
    assert_eq!(out, vec![create, get]);
    let out = feed(&mut dec, &[semget(KEY, 0, 0, SEMID).by(CONS)]);
    assert_eq!(kinds(&out), vec![(K::SemGet, false)]);
    let out = feed(&mut dec, &[semget(KEY, 2, IPC_CREAT | IPC_EXCL, -17)]);
    assert_eq!(kinds(&out), vec![(K::SemGet, false)]);
    assert_eq!(out[0].errno, Some(17));

    let mut dec = Decoder::new(&all_kernel_paths());
    let made = newary(KEY, 2, IPC_CREAT, SEMID);
    let out = feed(&mut dec, &[made, semget(KEY, 2, IPC_CREAT, SEMID)]);
    assert_eq!(kinds(&out), vec![(K::SemCreate, false), (K::SemGet, false)]);
    assert_eq!(
        (&*out[0].probe, out[0].nsems, out[0].dur_ns),
        ("newary", Some(2), Some(100))
    );
    let out = feed(&mut dec, &[newary(KEY, 2, IPC_CREAT, -28)]);
    assert!(out.is_empty());
}

#[test]
fn semop_reports_ops_truncation_and_sleep() {
    let mut dec = Decoder::new(&tracepoints_only());
    let p = semop(SEMID, 2, 0).sops(&[(0, -1, 0x1000), (1, 1, 0)], 2);
    let out = feed(&mut dec, &[p]);
    let mut op = expect(&p, K::SemOp, "sys_semop", false);
    op.id = Some(SEMID as i32);
    op.ops = Some(vec![
        SemOpSpec {
            num: 0,
            op: -1,
            flg: 0x1000,
        },
        SemOpSpec {
            num: 1,
            op: 1,
            flg: 0,
        },
    ]);
    op.blocked = Some(false);
    op.ret = Some(0);
    op.dur_ns = Some(100);
    assert_eq!(out, vec![op]);

    let many: Vec<(u16, i16, i16)> = (0..8).map(|i| (i, 1, 0)).collect();
    let big = semop(SEMID, 10, 0).sops(&many, 10);
    let out = feed(&mut dec, &[big]);
    assert_eq!(out[0].ops.as_ref().map(Vec::len), Some(8));
    assert_eq!(out[0].nsops, Some(10));

    let mut slept = semop(SEMID, 1, 0).sops(&[(0, -1, 0)], 1).flags(flag::SLEPT);
    slept.0.wait_ns = 5_000_000;
    let out = feed(&mut dec, &[slept]);
    assert_eq!(
        (out[0].blocked, out[0].wait_ns, out[0].nsops),
        (Some(true), Some(5_000_000), None)
    );

    let nowait = semop(SEMID, 1, -11).sops(&[(0, -1, 0o4000)], 1);
    let out = feed(&mut dec, &[nowait]);
    assert_eq!((out[0].errno, out[0].wait_ns), (Some(11), None));

    // The ops could not be read: none are made up.
    let out = feed(&mut dec, &[semop(SEMID, 3, -14).flags(flag::READ_FAILED)]);
    assert_eq!((out[0].ops.clone(), out[0].nsops), (Some(vec![]), Some(3)));

    let timed =
        Rec::syscall(probe::SYS_SEMTIMEDOP, &[SEMID as u64, 0, 1, 0x2000], 0).sops(&[(0, 1, 0)], 1);
    let out = feed(&mut dec, &[timed]);
    assert_eq!(
        (&*out[0].probe, out[0].ops.as_ref().map(Vec::len)),
        ("sys_semtimedop", Some(1))
    );
}

#[test]
fn with_do_semtimedop_the_syscall_adds_nothing() {
    for table in [all_kernel_paths(), tracepoints_and(&["__do_semtimedop"])] {
        let mut dec = Decoder::new(&table);
        let user = semop(SEMID, 1, 0).sops(&[(0, -1, 0)], 1);
        assert!(feed(&mut dec, &[user]).is_empty());
    }
    let mut dec = Decoder::new(&all_kernel_paths());
    let mut kernel = do_semtimedop(SEMID, 1, 0)
        .sops(&[(0, -1, 0)], 1)
        .flags(flag::SLEPT | flag::INNER_SEEN);
    kernel.0.wait_ns = 42;
    let out = feed(&mut dec, &[kernel]);
    let mut op = expect(&kernel, K::SemOp, "do_semtimedop", false);
    op.id = Some(SEMID as i32);
    op.ops = Some(vec![SemOpSpec {
        num: 0,
        op: -1,
        flg: 0,
    }]);
    op.blocked = Some(true);
    op.wait_ns = Some(42);
    op.ret = Some(0);
    op.dur_ns = Some(100);
    assert_eq!(out, vec![op]);
}

#[test]
fn semctl_values_are_cut_to_the_set_size() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &[semget(KEY, 3, IPC_CREAT, SEMID)]);
    let set = semctl(SEMID, 0, SETALL, 0x1000, 0).vals(&[1, 0, 5, 9, 9]);
    let out = feed(&mut dec, &[set]);
    let mut ctl = expect(&set, K::SemCtl, "sys_semctl", false);
    ctl.id = Some(SEMID as i32);
    ctl.semnum = Some(0);
    ctl.cmd = Some("SETALL".to_string());
    ctl.values = Some(vec![1, 0, 5]);
    ctl.ret = Some(0);
    ctl.dur_ns = Some(100);
    assert_eq!(out, vec![ctl]);

    // A set of unknown size keeps what the record holds.
    let out = feed(
        &mut dec,
        &[semctl(SEMID + 1, 0, SETALL, 0, 0).vals(&[1, 2, 3, 4])],
    );
    assert_eq!(out[0].values, Some(vec![1, 2, 3, 4]));

    let out = feed(
        &mut dec,
        &[semctl(SEMID, 2, 0x100 | SETVAL, 7, 0).vals(&[7])],
    );
    assert_eq!(
        (out[0].cmd.as_deref(), out[0].semnum),
        (Some("SETVAL"), Some(2))
    );
    assert_eq!(out[0].values, Some(vec![7]));
    let out = feed(&mut dec, &[semctl(SEMID, 1, SETVAL, 3, 0)]);
    assert_eq!(out[0].values, Some(vec![3]));

    let out = feed(&mut dec, &[semctl(SEMID, 1, GETVAL, 0, 5)]);
    assert_eq!(
        (out[0].cmd.as_deref(), out[0].values.clone(), out[0].ret),
        (Some("GETVAL"), None, Some(5))
    );
    let out = feed(&mut dec, &[semctl(SEMID, 0, 42, 0, -22)]);
    assert_eq!(
        (out[0].cmd.as_deref(), out[0].errno),
        (Some("CMD_42"), Some(22))
    );
}

#[test]
fn semctl_rmid_destroys_by_inference_only_without_freeary() {
    let mut dec = Decoder::new(&tracepoints_only());
    feed(&mut dec, &[semget(KEY, 2, IPC_CREAT, SEMID)]);
    let out = feed(&mut dec, &[semctl(SEMID, 0, IPC_RMID, 0, -1)]);
    assert_eq!(kinds(&out), vec![(K::SemCtl, false)]);
    let rm = semctl(SEMID, 0, IPC_RMID, 0, 0);
    let out = feed(&mut dec, &[rm]);
    let mut destroy = expect(&rm, K::SemDestroy, "sys_semctl", true);
    destroy.id = Some(SEMID as i32);
    destroy.key = Some(KEY as i32);
    assert_eq!(out[1..], [destroy]);
    assert_eq!(kinds(&out), vec![(K::SemCtl, false), (K::SemDestroy, true)]);
    // The id is free again: a new set.
    let out = feed(&mut dec, &[semget(KEY, 1, IPC_CREAT, SEMID)]);
    assert_eq!(kinds(&out), vec![(K::SemCreate, true), (K::SemGet, false)]);

    let mut dec = Decoder::new(&all_kernel_paths());
    let freed = freeary(SEMID);
    let out = feed(
        &mut dec,
        &[
            newary(KEY, 2, IPC_CREAT, SEMID),
            freed,
            semctl(SEMID, 0, IPC_RMID, 0, 0),
        ],
    );
    let mut destroy = expect(&freed, K::SemDestroy, "freeary", false);
    destroy.id = Some(SEMID as i32);
    destroy.key = Some(KEY as i32);
    assert_eq!(out[1], destroy);
    let expected = vec![
        (K::SemCreate, false),
        (K::SemDestroy, false),
        (K::SemCtl, false),
    ];
    assert_eq!(kinds(&out), expected);
}

#[test]
fn seeded_semsets_are_not_created_again_and_size_the_values() {
    let mut dec = Decoder::new(&tracepoints_only());
    dec.seed_semset(NS, SEMID as i32, KEY as i32, 2);
    let out = feed(
        &mut dec,
        &[
            semget(KEY, 2, IPC_CREAT, SEMID),
            semctl(SEMID, 0, SETALL, 0, 0).vals(&[4, 4, 4]),
        ],
    );
    assert_eq!(kinds(&out), vec![(K::SemGet, false), (K::SemCtl, false)]);
    assert_eq!(out[1].values, Some(vec![4, 4]));
}

#[test]
fn unknown_records_are_counted_not_decoded() {
    let mut dec = Decoder::new(&all_kernel_paths());
    let bad_kind = Rec::kernel(99, probe::NEWSEG, &[], 0);
    let bad_probe = Rec::syscall(200, &[], 0);
    let not_a_syscall = Rec::syscall(probe::SCHED_SWITCH, &[], 0);
    let out = feed(&mut dec, &[bad_kind, bad_probe, not_a_syscall]);
    assert!(out.is_empty());
    assert_eq!(dec.unknown_records(), 3);
}

/// A producer/consumer session as each table's probes would report it.
fn session(kernel_paths: bool) -> Vec<Rec> {
    let cons_addr = ADDR + 0x10_0000;
    let k = |r: Rec| if kernel_paths { Some(r) } else { None };
    let tp = |r: Rec| if kernel_paths { None } else { Some(r) };
    [
        k(newary(KEY, 1, IPC_CREAT, SEMID)),
        Some(semget(KEY, 1, IPC_CREAT, SEMID)),
        Some(semctl(SEMID, 0, SETALL, 0, 0).vals(&[0])),
        k(newseg(KEY, IPC_CREAT, SHMID)),
        Some(shmget(KEY, IPC_CREAT, SHMID)),
        k(do_shmat(SHMID, ADDR, 0)),
        Some(shmat(SHMID, ADDR as i64)),
        k(shm_fault(SHMID, ADDR, 0, 1).flags(flag::SHMEM_SEEN)),
        tp(page_fault_user(SHMID, ADDR, 0x6)),
        k(do_semtimedop(SEMID, 1, 0).sops(&[(0, 1, 0)], 1)),
        Some(semop(SEMID, 1, 0).sops(&[(0, 1, 0)], 1)),
        Some(semget(KEY, 0, 0, SEMID).by(CONS)),
        Some(shmget(KEY, 0, SHMID).by(CONS)),
        k(do_shmat(SHMID, cons_addr, 0).by(CONS)),
        Some(shmat(SHMID, cons_addr as i64).by(CONS)),
        k(do_semtimedop(SEMID, 1, 0).sops(&[(0, -1, 0)], 1).by(CONS)),
        Some(semop(SEMID, 1, 0).sops(&[(0, -1, 0)], 1).by(CONS)),
        k(shm_fault(SHMID, cons_addr, 0, 0)
            .flags(flag::SHMEM_SEEN)
            .by(CONS)),
        tp(page_fault_user(SHMID, ADDR, 0x4).by(CONS)),
        k(shm_close(SHMID, cons_addr).by(CONS)),
        Some(shmdt(cons_addr, 0).by(CONS)),
        Some(exit().by(CONS)),
        Some(shmctl(SHMID, IPC_RMID, 0)),
        k(freeary(SEMID)),
        Some(semctl(SEMID, 0, IPC_RMID, 0, 0)),
        k(shm_close(SHMID, ADDR)),
        k(shm_destroy(SHMID)),
        Some(exit()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn every_lifecycle_kind_appears_once_per_happening_on_both_tables() {
    let expected_counts = [
        (K::ShmGet, 2),
        (K::ShmCreate, 1),
        (K::ShmAttach, 2),
        (K::ShmFault, 2),
        (K::ShmDetach, 2),
        (K::ShmCtl, 1),
        (K::ShmDestroy, 1),
        (K::SemGet, 2),
        (K::SemCreate, 1),
        (K::SemCtl, 2),
        (K::SemOp, 2),
        (K::SemDestroy, 1),
        (K::ProcExit, 2),
        (K::Drops, 0),
    ];
    for (kernel_paths, table) in [(false, tracepoints_only()), (true, all_kernel_paths())] {
        let mut dec = Decoder::new(&table);
        let out = feed(&mut dec, &session(kernel_paths));
        for (kind, n) in expected_counts {
            let got = out.iter().filter(|e| e.kind == kind).count();
            assert_eq!(
                got, n,
                "{kind:?} with kernel paths = {kernel_paths}: {out:#?}"
            );
        }
        assert_eq!(dec.unknown_records(), 0);
        // RMID came while the producer was attached: freed at its exit.
        let destroy = out.iter().position(|e| e.kind == K::ShmDestroy);
        let last_detach = out.iter().rposition(|e| e.kind == K::ShmDetach);
        assert!(destroy > last_detach, "{out:#?}");
        let exit = out.iter().rposition(|e| e.kind == K::ProcExit);
        assert_eq!(destroy > exit, !kernel_paths, "{out:#?}");
        for e in &out {
            assert_eq!(e.missing_field(), None, "{e:?}");
            // The producer never calls shmdt: its exit unmaps the segment.
            let derived = !kernel_paths
                && (matches!(
                    e.kind,
                    K::ShmCreate | K::ShmFault | K::ShmDestroy | K::SemCreate | K::SemDestroy
                ) || (e.kind == K::ShmDetach && e.probe == "sched_process_exit"));
            assert_eq!(e.inferred, derived, "{e:?}");
        }
    }
}

/// The segment is findable inside the creator's shmget, so the finder's
/// shmget can complete (and reach the ring) before the creator's: the
/// create is still inferred, once, for the creator, timestamped at its
/// entry (before the find).
#[test]
fn a_finder_that_completes_before_the_creator_does_not_steal_the_create() {
    let mut dec = Decoder::new(&tracepoints_only());
    let finder = shmget(KEY, 0o600, SHMID).by(CONS).at(2000);
    let mut creator = shmget(KEY, IPC_CREAT | 0o600, SHMID).at(2500);
    creator.0.start_ns = 1500;
    let out = feed(&mut dec, &[finder, creator]);
    assert_eq!(
        kinds(&out),
        [(K::ShmGet, false), (K::ShmCreate, true), (K::ShmGet, false)]
    );
    let create = &out[1];
    assert_eq!(
        (create.tgid, create.ts_ns, create.size),
        (PROD, 1500, Some(SIZE))
    );
    assert!(
        create.ts_ns < out[0].ts_ns,
        "the create must precede the find"
    );
    // A later create-capable get that started after the find created nothing.
    let mut late = shmget(KEY, IPC_CREAT | 0o600, SHMID).by(CONS).at(9000);
    late.0.start_ns = 8900;
    assert_eq!(kinds(&feed(&mut dec, &[late])), [(K::ShmGet, false)]);
}

#[test]
fn a_get_that_started_after_the_find_is_not_the_creator() {
    let mut dec = Decoder::new(&tracepoints_only());
    let finder = shmget(KEY, 0o600, SHMID).by(CONS).at(2000);
    let opener = shmget(KEY, IPC_CREAT | 0o600, SHMID).at(3000);
    assert_eq!(
        kinds(&feed(&mut dec, &[finder, opener])),
        [(K::ShmGet, false), (K::ShmGet, false)]
    );
}

#[test]
fn a_semaphore_finder_before_its_creator_keeps_the_create_with_the_creator() {
    let mut dec = Decoder::new(&tracepoints_only());
    let finder = Rec::syscall(probe::SYS_SEMGET, &[KEY, 0, 0o600], SEMID)
        .by(CONS)
        .at(2000);
    let mut creator = Rec::syscall(probe::SYS_SEMGET, &[KEY, 1, IPC_CREAT | 0o600], SEMID).at(2500);
    creator.0.start_ns = 1500;
    let out = feed(&mut dec, &[finder, creator]);
    assert_eq!(
        kinds(&out),
        [(K::SemGet, false), (K::SemCreate, true), (K::SemGet, false)]
    );
    assert_eq!(
        (out[1].tgid, out[1].ts_ns, out[1].nsems),
        (PROD, 1500, Some(1))
    );
}

#[test]
fn step_probe_bits_name_their_probes_on_the_seen_event_only() {
    use ipc_trace_common::inner;
    let mut dec = Decoder::new(&tracepoints_only());
    // A shmget that created (file1 made inside it) and one that found.
    let mut first = shmget(KEY, IPC_CREAT | 0o600, SHMID);
    first.0.inner = inner::SHMEM_KERNEL_FILE_SETUP;
    let mut found = shmget(KEY, 0o600, SHMID).by(CONS).at(2000);
    found.0.inner = inner::SHM_MORE_CHECKS | inner::SHM_MMAP;
    let out = feed(&mut dec, &[first, found]);
    assert_eq!(
        kinds(&out),
        vec![(K::ShmCreate, true), (K::ShmGet, false), (K::ShmGet, false)]
    );
    assert_eq!(out[0].inner, None, "an inferred event claims no probe");
    assert_eq!(
        out[1].inner.as_deref(),
        Some(&["shmem_kernel_file_setup".to_string()][..])
    );
    assert_eq!(
        out[2].inner.as_deref(),
        Some(&["shm_more_checks".to_string(), "shm_mmap".to_string()][..])
    );
    assert!(out[2].inner_seen("shm_more_checks") && !out[1].inner_seen("shm_more_checks"));
}
