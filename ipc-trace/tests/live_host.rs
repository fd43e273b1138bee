//! Live test on the running kernel, whatever it is (needs root): read the
//! kernel's facts (kprobe PMU, fentry trial, BTF, kallsyms), attach with
//! the automatic backend and the offsets of the kernel's BTF (as `record`
//! does), do a real System V IPC round trip in this process, and check:
//! the probe table is what the facts require (`probe::expect`); the raw
//! tracepoint records; every attached kernel-path probe fired, and the
//! lifecycle events it produces come from it, not inferred; where a probe
//! could not attach, the event is derived from tracepoints instead.
//! Then dropping the tracer leaves none of our programs loaded.
//! Needs no file of the source tree, no bpftool, no cargo: it runs as a
//! copied test binary inside the VM matrix too.

use std::error::Error;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipc_trace::decode::Decoder;
use ipc_trace::event::{Backend, Event, EventKind};
use ipc_trace::probe::ProbeTable;
use ipc_trace::probe::attach::{AttachError, AttachOptions, BackendChoice, Tracer};
use ipc_trace::probe::expect::{Setup, check_table};
use ipc_trace::probe::facts::{KernelFacts, kernel_offsets};
use ipc_trace::probe::kernel_path::ProbeSet;
use ipc_trace::probe::loaded;
use ipc_trace::source::{ReaderStats, StopCause, spawn_reader_with_stop};
use ipc_trace_common::{RawEvent, RawSembuf, TracepointOffsets, flag, probe, raw_kind};
use tokio::sync::{mpsc, watch};

type BoxError = Box<dyn Error + Send + Sync>;
type TestResult = Result<(), BoxError>;

const PAGE: usize = 4096;

/// Offset of field `name` in a tracefs event format file.
fn field_offset(event: &str, name: &str) -> Result<u32, Box<dyn Error + Send + Sync>> {
    let path = format!("/sys/kernel/tracing/events/{event}/format");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{path}: {e} (is tracefs mounted? mount -t tracefs nodev /sys/kernel/tracing)")
    })?;
    for line in text.lines() {
        let Some(decl) = line.trim().strip_prefix("field:") else {
            continue;
        };
        let Some((decl, rest)) = decl.split_once(';') else {
            continue;
        };
        let field = decl.rsplit([' ', '*']).next().unwrap_or("");
        let field = field.split('[').next().unwrap_or("");
        if field == name {
            let off = rest
                .trim()
                .strip_prefix("offset:")
                .and_then(|r| r.split(';').next())
                .ok_or_else(|| format!("{path}: no offset for {name}"))?;
            return Ok(off.parse()?);
        }
    }
    Err(format!("{path}: no field {name}").into())
}

fn host_tracepoint_offsets() -> Result<TracepointOffsets, Box<dyn Error + Send + Sync>> {
    // Absent before Linux 6.16-ish: 0 tells the programs to use pid == tgid.
    let group_dead = field_offset("sched/sched_process_exit", "group_dead").unwrap_or_default();
    Ok(TracepointOffsets {
        switch_prev_state: field_offset("sched/sched_switch", "prev_state")?,
        fork_child_pid: field_offset("sched/sched_process_fork", "child_pid")?,
        exit_group_dead: group_dead,
        fault_address: field_offset("exceptions/page_fault_user", "address")?,
        fault_error_code: field_offset("exceptions/page_fault_user", "error_code")?,
        waking_pid: field_offset("sched/sched_waking", "pid")?,
        newtask_pid: field_offset("task/task_newtask", "pid")?,
        newtask_clone_flags: field_offset("task/task_newtask", "clone_flags")?,
    })
}

/// What the workload did, for comparison with the records.
#[derive(Debug)]
struct Workload {
    shmid: i32,
    addr: u64,
    semid: i32,
    child_pid: u32,
    blocked_for: Duration,
}

fn sembuf(num: u16, op: i16, flg: i16) -> libc::sembuf {
    libc::sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: flg,
    }
}

fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error + Send + Sync>> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what} failed: {}", std::io::Error::last_os_error()).into())
    }
}

/// One shm segment (3 pages written) and one semaphore set (SETALL, V by
/// the raw semop syscall, P with SEM_UNDO, P by 2, one P that blocks until
/// another thread's V), then a short-lived child process.
fn run_workload() -> Result<Workload, Box<dyn Error + Send + Sync>> {
    // SAFETY: plain System V IPC calls on objects this function owns.
    unsafe {
        let shmid = libc::shmget(libc::IPC_PRIVATE, 3 * PAGE, libc::IPC_CREAT | 0o600);
        check(shmid >= 0, "shmget")?;
        let addr = libc::shmat(shmid, std::ptr::null(), 0);
        check(addr as isize != -1, "shmat")?;
        for page in 0..3 {
            std::ptr::write_volatile(addr.cast::<u8>().add(page * PAGE + 100), page as u8 + 1);
        }
        check(libc::shmdt(addr) == 0, "shmdt")?;
        check(
            libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) == 0,
            "shmctl(IPC_RMID)",
        )?;

        let semid = libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600);
        check(semid >= 0, "semget")?;
        let mut values: [u16; 1] = [2];
        check(
            libc::semctl(semid, 0, libc::SETALL, values.as_mut_ptr()) == 0,
            "semctl(SETALL)",
        )?;
        let mut v = [sembuf(0, 1, 0)];
        check(
            libc::syscall(libc::SYS_semop, semid, v.as_mut_ptr(), 1) == 0,
            "semop(V)",
        )?;
        let mut p_undo = [sembuf(0, -1, libc::SEM_UNDO as i16)];
        check(
            libc::semop(semid, p_undo.as_mut_ptr(), 1) == 0,
            "semop(P, SEM_UNDO)",
        )?;
        let mut p2 = [sembuf(0, -2, 0)];
        check(libc::semop(semid, p2.as_mut_ptr(), 1) == 0, "semop(P by 2)")?;

        let poster = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut v = [sembuf(0, 1, 0)];
            libc::semop(semid, v.as_mut_ptr(), 1)
        });
        let started = Instant::now();
        let mut p = [sembuf(0, -1, 0)];
        check(
            libc::semop(semid, p.as_mut_ptr(), 1) == 0,
            "semop(blocking P)",
        )?;
        let blocked_for = started.elapsed();
        let posted = poster.join().map_err(|_| "poster thread panicked")?;
        check(posted == 0, "semop(V from thread)")?;
        check(
            libc::semctl(semid, 0, libc::IPC_RMID) == 0,
            "semctl(IPC_RMID)",
        )?;

        let mut child = Command::new("/bin/true").spawn()?;
        let child_pid = child.id();
        child.wait()?;

        Ok(Workload {
            shmid,
            addr: addr as u64,
            semid,
            child_pid,
            blocked_for,
        })
    }
}

fn tgid(ev: &RawEvent) -> u32 {
    (ev.pid_tgid >> 32) as u32
}

fn sops(ev: &RawEvent) -> Vec<RawSembuf> {
    ev.sops[..(ev.nsops as usize).min(ev.sops.len())].to_vec()
}

fn sb(num: u16, op: i16, flg: i16) -> RawSembuf {
    RawSembuf { num, op, flg }
}

fn program_loaded(id: u32) -> Result<bool, BoxError> {
    Ok(loaded::all_loaded_program_ids()?.contains(&id))
}

/// Decodes the raw records as a session would, with this table.
fn decode_all(table: &ProbeTable, raws: &[&RawEvent]) -> Vec<Event> {
    let mut decoder = Decoder::new(table);
    let mut out = Vec::new();
    for raw in raws {
        decoder.decode(raw, &mut out);
    }
    out
}

/// Every kernel-path probe that is attached fired in the round trip (a
/// record of its own, or its mark on the enclosing record), and the
/// lifecycle events it stands for come from it, not inferred; the events
/// of probes that are not attached are derived instead.
fn check_kernel_path(table: &ProbeTable, mine: &[&RawEvent], events: &[Event], work: &Workload) {
    let own = |id: u8| mine.iter().filter(|e| e.probe == id).count();
    let marked = |id: u8, mark: u8| {
        mine.iter()
            .filter(|e| e.probe == id && e.flags & mark != 0)
            .count()
    };
    let attached = |id: u8| table.is_attached(id);
    // (probe, records it must have produced when attached)
    let inner_seen = if attached(probe::DO_SEMTIMEDOP) {
        marked(probe::DO_SEMTIMEDOP, flag::INNER_SEEN)
    } else {
        own(probe::DO_SEMTIMEDOP_INNER)
    };
    let fired = [
        (probe::NEWSEG, own(probe::NEWSEG), 1),
        (probe::DO_SHMAT, own(probe::DO_SHMAT), 1),
        (probe::SHM_FAULT, own(probe::SHM_FAULT), 3),
        (
            probe::SHMEM_FAULT,
            marked(probe::SHM_FAULT, flag::SHMEM_SEEN),
            3,
        ),
        (probe::NEWARY, own(probe::NEWARY), 1),
        (probe::DO_SEMTIMEDOP, own(probe::DO_SEMTIMEDOP), 5),
        (probe::DO_SEMTIMEDOP_INNER, inner_seen, 5),
        (probe::SHM_DESTROY, own(probe::SHM_DESTROY), 1),
        (probe::SHM_CLOSE, own(probe::SHM_CLOSE), 1),
        (probe::FREEARY, own(probe::FREEARY), 1),
    ];
    for (id, seen, want) in fired {
        let name = probe::name(id);
        if attached(id) {
            assert_eq!(seen, want, "{name} is attached: records of the round trip");
        } else {
            assert_eq!(seen, 0, "{name} is not attached but produced records");
        }
    }
    // The lifecycle events and the kernel-path probe each must come from.
    let semop_probe = if attached(probe::DO_SEMTIMEDOP) || !attached(probe::DO_SEMTIMEDOP_INNER) {
        probe::DO_SEMTIMEDOP
    } else {
        probe::DO_SEMTIMEDOP_INNER
    };
    let lifecycle = [
        (EventKind::ShmCreate, probe::NEWSEG, work.shmid, 1),
        (EventKind::ShmAttach, probe::DO_SHMAT, work.shmid, 1),
        (EventKind::ShmFault, probe::SHM_FAULT, work.shmid, 3),
        (EventKind::ShmDestroy, probe::SHM_DESTROY, work.shmid, 1),
        (EventKind::SemCreate, probe::NEWARY, work.semid, 1),
        (EventKind::SemOp, semop_probe, work.semid, 5),
        (EventKind::SemDestroy, probe::FREEARY, work.semid, 1),
    ];
    for (kind, id, object, count) in lifecycle {
        let name = probe::name(id);
        let of_kind: Vec<&Event> = events
            .iter()
            .filter(|e| e.kind == kind && e.id == Some(object))
            .collect();
        assert_eq!(of_kind.len(), count, "{kind:?} events: {of_kind:?}");
        for ev in of_kind {
            if attached(id) {
                assert!(
                    ev.probe == name && !ev.inferred,
                    "{kind:?} must come from {name}: {ev:?}"
                );
            } else {
                assert!(ev.probe != name, "{kind:?} from unattached {name}: {ev:?}");
            }
        }
    }
}

/// The round trips share this process's tgid filter: one at a time.
static ONE_TRACER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The automatic backend: fentry where allowed, else kprobe, else none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipc_round_trip_as_the_kernel_allows() -> TestResult {
    let _one = ONE_TRACER.lock().await;
    round_trip(BackendChoice::Auto).await
}

/// kprobe/kretprobe forced: where the kernel has a kprobe PMU, the same
/// round trip through kprobes; where not, attaching must fail naming the
/// probes (never a silent fallback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipc_round_trip_through_kprobes_where_the_kernel_has_them() -> TestResult {
    let _one = ONE_TRACER.lock().await;
    if KernelFacts::gather().kprobe_pmu {
        return round_trip(BackendChoice::Kprobe).await;
    }
    let opts = AttachOptions {
        backend: BackendChoice::Kprobe,
        kernel_offsets: kernel_offsets().0,
        tracepoint_offsets: host_tracepoint_offsets()?,
        ..AttachOptions::default()
    };
    match Tracer::load_and_attach(&opts) {
        Err(AttachError::ForcedBackend(e)) => {
            let text = e.to_string();
            assert!(text.contains("kprobes missing"), "{text}");
            assert!(e.failures().count() > 0, "{text}");
            Ok(())
        }
        other => Err(format!("--backend kprobe without a kprobe PMU gave {other:?}").into()),
    }
}

async fn round_trip(choice: BackendChoice) -> TestResult {
    let facts = KernelFacts::gather();
    assert!(
        facts.fentry_allowed.is_some(),
        "fentry trial not run: {}",
        facts.fentry_detail
    );
    let (kernel_offsets, missing) = kernel_offsets();
    eprintln!(
        "kernel {}: kprobe PMU {}, fentry {:?} ({}), BTF lacks {missing:?}",
        facts.kernel_release, facts.kprobe_pmu, facts.fentry_allowed, facts.fentry_detail
    );
    let opts = AttachOptions {
        backend: choice,
        ringbuf_bytes: 1 << 20,
        filter_tgids: true,
        kernel_offsets,
        tracepoint_offsets: host_tracepoint_offsets()?,
        excluded: ProbeSet::EMPTY,
        use_kernel_btf: true,
        ..AttachOptions::default()
    };
    let mut tracer = Tracer::load_and_attach(&opts)?;

    // The probe table is what the kernel's facts require: tracepoints
    // attached; each kernel-path probe attached with the best available
    // backend where its function exists, else skipped saying why.
    let table = tracer.table().clone();
    for row in &table.probes[..probe::FIRST_KERNEL_PATH as usize] {
        if row.name != "page_fault_user" {
            assert!(row.attached, "{} not attached: {:?}", row.name, row.reason);
            assert_eq!(row.backend, Some(Backend::Tracepoint), "{}", row.name);
        }
    }
    let setup = Setup {
        choice,
        offsets: &kernel_offsets,
        excluded: ProbeSet::EMPTY,
    };
    let problems = check_table(&facts, &table, setup);
    assert!(
        problems.is_empty(),
        "probe table vs kernel facts:\n{}",
        problems.join("\n")
    );

    let me = std::process::id();
    tracer.add_traced_tgid(me)?;
    let ring = tracer.take_ring()?;
    let (tx, mut rx) = mpsc::channel(4096);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stats = Arc::new(ReaderStats::default());
    let reader = spawn_reader_with_stop(ring, tx, stop_rx, stats.clone());

    let work = tokio::task::spawn_blocking(run_workload).await??;

    // Read live (readiness-driven) until the last syscall's record arrives,
    // then stop the reader, which drains whatever is left.
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let last_seen = |evs: &[RawEvent]| {
        evs.iter()
            .any(|e| e.kind == raw_kind::PROC_EXIT && tgid(e) == work.child_pid)
    };
    while !last_seen(&events) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    stop_tx.send(true)?;
    while let Some(ev) = rx.recv().await {
        events.push(ev);
    }
    let exit = reader.await??;
    assert_eq!(exit.cause, StopCause::Stopped);
    assert_eq!(stats.malformed(), 0);
    assert_eq!(stats.events(), events.len() as u64);

    let mine: Vec<&RawEvent> = events.iter().filter(|e| tgid(e) == me).collect();
    assert_eq!(
        mine.len(),
        events.iter().filter(|e| tgid(e) != work.child_pid).count(),
        "filtering let foreign tgids through"
    );

    // Every record carries this process's IPC namespace inode.
    let my_ipc_ns = std::fs::metadata("/proc/self/ns/ipc")?.ino();
    for ev in &events {
        assert_eq!(ev.ipc_ns as u64, my_ipc_ns, "ipc_ns of {ev:?}");
    }

    // One SYSCALL record per call, in order, with arguments and results.
    let calls: Vec<&RawEvent> = mine
        .iter()
        .copied()
        .filter(|e| e.kind == raw_kind::SYSCALL)
        .collect();
    let names: Vec<&str> = calls.iter().map(|e| probe::name(e.probe)).collect();
    // glibc's semop() issues semtimedop; the V was the raw semop syscall.
    assert_eq!(
        names,
        [
            "sys_shmget",
            "sys_shmat",
            "sys_shmdt",
            "sys_shmctl",
            "sys_semget",
            "sys_semctl",
            "sys_semop",
            "sys_semtimedop",
            "sys_semtimedop",
            "sys_semtimedop",
            "sys_semtimedop",
            "sys_semctl",
        ][..],
        "syscall records"
    );
    for c in &calls {
        assert_eq!(c.backend, ipc_trace_common::backend::TRACEPOINT);
        assert!(c.ts_ns >= c.start_ns);
        assert_ne!(c.comm[0], 0, "comm filled");
    }
    let (shmget, shmat, shmdt, shmctl) = (calls[0], calls[1], calls[2], calls[3]);
    assert_eq!(shmget.args[0], 0, "IPC_PRIVATE key");
    assert_eq!(shmget.args[1], 3 * PAGE as u64);
    assert_eq!(shmget.ret, work.shmid as i64);
    assert_eq!(shmat.args[0] as i32, work.shmid);
    assert_eq!(shmat.ret as u64, work.addr);
    assert_eq!(shmdt.args[0], work.addr);
    assert_eq!(shmdt.ret, 0);
    assert_eq!(shmctl.args[0] as i32, work.shmid);
    assert_eq!(shmctl.args[1] & 0xff, libc::IPC_RMID as u64);
    assert_eq!(shmctl.ret, 0);

    let (semget, setall) = (calls[4], calls[5]);
    assert_eq!(semget.args[1], 1, "nsems");
    assert_eq!(semget.ret, work.semid as i64);
    assert_eq!(setall.args[0] as i32, work.semid);
    assert_eq!(setall.args[2] & 0xff, libc::SETALL as u64);
    assert!(setall.nvals >= 1);
    assert_eq!(setall.vals[0], 2);
    assert_eq!(setall.ret, 0);

    let ops = &calls[6..11];
    let expected_sops = [
        vec![sb(0, 1, 0)],
        vec![sb(0, -1, 0x1000)],
        vec![sb(0, -2, 0)],
        vec![sb(0, -1, 0)],
        vec![sb(0, 1, 0)],
    ];
    // The blocking P (main thread) and the V (poster thread) may be
    // recorded in either order: match by thread.
    let main_tid = ops[0].pid_tgid;
    let mut seen = Vec::new();
    for op in ops {
        assert_eq!(op.args[0] as i32, work.semid);
        assert_eq!(op.nsops, 1);
        assert_eq!(op.ret, 0);
        assert_eq!(op.flags & flag::SOPS_TRUNCATED, 0);
        seen.push(sops(op));
    }
    for want in &expected_sops {
        assert!(seen.contains(want), "sembufs {want:?} not among {seen:?}");
    }
    let slept: Vec<&&RawEvent> = ops.iter().filter(|o| o.flags & flag::SLEPT != 0).collect();
    assert_eq!(slept.len(), 1, "exactly one semop slept: {ops:?}");
    let blocking = slept[0];
    assert_eq!(sops(blocking), vec![sb(0, -1, 0)]);
    assert_eq!(
        blocking.pid_tgid, main_tid,
        "the blocking P ran on the main thread"
    );
    assert!(
        blocking.wait_ns >= 40_000_000,
        "wait_ns {} (blocked {:?})",
        blocking.wait_ns,
        work.blocked_for
    );
    assert!(blocking.wait_ns <= blocking.ts_ns - blocking.start_ns);
    for op in ops {
        if op.flags & flag::SLEPT == 0 {
            assert_eq!(op.wait_ns, 0);
        }
    }
    let rmid = calls[11];
    assert_eq!(rmid.args[0] as i32, work.semid);
    assert_eq!(rmid.args[2] & 0xff, libc::IPC_RMID as u64);
    assert_eq!(rmid.ret, 0);

    // Three user page faults inside the segment, one per page (seen by the
    // tracepoint only when shm_fault is not attached).
    let tracepoint_faults = if table.is_attached(probe::SHM_FAULT) {
        0
    } else {
        3
    };
    let faults: Vec<&RawEvent> = mine
        .iter()
        .copied()
        .filter(|e| e.kind == raw_kind::PAGE_FAULT_USER)
        .collect();
    assert_eq!(faults.len(), tracepoint_faults, "page faults: {faults:?}");
    let mut pages: Vec<u64> = faults
        .iter()
        .map(|f| {
            assert_eq!(f.probe, probe::PAGE_FAULT_USER);
            assert_eq!(f.args[0] as i32, work.shmid);
            assert_eq!(f.args[3], work.addr);
            assert_eq!(f.args[4], work.addr + 3 * PAGE as u64);
            assert!(
                f.args[2] & 0x2 != 0,
                "write fault (error_code {:#x})",
                f.args[2]
            );
            (f.args[1] - work.addr) / PAGE as u64
        })
        .collect();
    pages.sort_unstable();
    let want_pages: Vec<u64> = (0..tracepoint_faults as u64).collect();
    assert_eq!(pages, want_pages);

    // The kernel path: fired where attached, its events not inferred.
    let decoded = decode_all(&table, &mine);
    check_kernel_path(&table, &mine, &decoded, &work);
    // Negative control: the same records against a table that lies about
    // newseg (attached when it is not, or the reverse) must be rejected.
    let mut lying = table.clone();
    if let Some(row) = lying.get_mut(probe::NEWSEG) {
        row.attached = !row.attached;
        row.backend = row.attached.then_some(Backend::Kprobe);
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // the expected panic is not news
    let rejected = std::panic::catch_unwind(|| {
        check_kernel_path(&lying, &mine, &decoded, &work);
    });
    std::panic::set_hook(hook);
    assert!(
        rejected.is_err(),
        "a table lying about newseg passed the check"
    );

    // The child was followed through fork and its exit reported.
    let child_exits = events
        .iter()
        .filter(|e| e.kind == raw_kind::PROC_EXIT && tgid(e) == work.child_pid)
        .count();
    assert_eq!(child_exits, 1, "PROC_EXIT of the spawned child");

    assert_eq!(
        tracer.drops(),
        ipc_trace::probe::drop_counters::Losses::default(),
        "lost records"
    );

    // Dropping the tracer unloads every program it loaded.
    let ids = tracer.loaded_program_ids();
    assert!(ids.len() >= 6, "loaded programs: {ids:?}");
    for id in &ids {
        assert!(program_loaded(*id)?, "program {id} not listed while loaded");
    }
    drop(tracer);
    drop(exit);
    for id in &ids {
        assert!(
            !program_loaded(*id)?,
            "program {id} still loaded after drop"
        );
    }
    Ok(())
}
