//! Live test on the host kernel (needs root): attach with the automatic
//! backend, do a real System V IPC round trip in this process, and check
//! the raw records the tracepoint programs produce. Then check that
//! dropping the tracer leaves none of our programs loaded.

use std::error::Error;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipc_trace::event::Backend;
use ipc_trace::probe::attach::{AttachOptions, BackendChoice, Tracer};
use ipc_trace::source::{ReaderStats, StopCause, spawn_reader_with_stop};
use ipc_trace_common::{
    KernelOffsets, RawEvent, RawSembuf, TracepointOffsets, flag, probe, raw_kind,
};
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
    })
}

/// Byte offset of `member` in kernel `struct name`, from the raw BTF dump
/// of `bpftool btf dump file /sys/kernel/btf/vmlinux format raw`.
fn btf_member_offset(dump: &str, name: &str, member: &str) -> Result<u32, BoxError> {
    let header = format!("] STRUCT '{name}' ");
    let mut lines = dump.lines().skip_while(|l| !l.contains(&header));
    lines
        .next()
        .ok_or_else(|| format!("BTF has no struct {name}"))?;
    let quoted = format!("'{member}' ");
    for line in lines.take_while(|l| l.starts_with('\t')) {
        if let Some(rest) = line.trim().strip_prefix(&quoted) {
            let bits = rest
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("bits_offset="))
                .ok_or_else(|| format!("no bits_offset for {name}.{member}"))?;
            return Ok(bits.parse::<u32>()? / 8);
        }
    }
    Err(format!("BTF struct {name} has no member {member}").into())
}

/// The three offsets the programs use to read the current task's IPC
/// namespace inode; everything else unknown.
fn ipc_ns_offsets() -> Result<KernelOffsets, BoxError> {
    let out = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "raw",
        ])
        .output()
        .map_err(|e| format!("bpftool: {e} (install bpftool)"))?;
    if !out.status.success() {
        return Err(format!("bpftool btf dump: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let dump = String::from_utf8(out.stdout)?;
    let mut offsets = KernelOffsets::UNKNOWN;
    offsets.task_nsproxy = btf_member_offset(&dump, "task_struct", "nsproxy")?;
    offsets.nsproxy_ipc_ns = btf_member_offset(&dump, "nsproxy", "ipc_ns")?;
    offsets.ipc_ns_inum = btf_member_offset(&dump, "ipc_namespace", "ns")?
        + btf_member_offset(&dump, "ns_common", "inum")?;
    Ok(offsets)
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

fn bpftool_has_prog(id: u32) -> Result<bool, Box<dyn Error + Send + Sync>> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "id", &id.to_string()])
        .output()
        .map_err(|e| format!("bpftool: {e} (install bpftool)"))?;
    Ok(out.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipc_round_trip_through_tracepoints() -> TestResult {
    let opts = AttachOptions {
        backend: BackendChoice::Auto,
        ringbuf_bytes: 1 << 20,
        filter_tgids: true,
        kernel_offsets: ipc_ns_offsets()?,
        tracepoint_offsets: host_tracepoint_offsets()?,
        excluded: Default::default(),
    };
    let mut tracer = Tracer::load_and_attach(&opts)?;

    // The probe table: tracepoints attached; every kernel-path probe
    // skipped with a reason (this host has no kprobes, fentry is refused,
    // and no BTF offsets were given).
    let table = tracer.table().clone();
    for row in &table.probes[..probe::FIRST_KERNEL_PATH as usize] {
        assert!(row.attached, "{} not attached: {:?}", row.name, row.reason);
        assert_eq!(row.backend, Some(Backend::Tracepoint), "{}", row.name);
    }
    for row in &table.probes[probe::FIRST_KERNEL_PATH as usize..] {
        assert!(!row.attached, "{} attached on this host", row.name);
        let reason = row.reason.as_deref().unwrap_or("");
        assert!(!reason.is_empty(), "{} skipped without a reason", row.name);
    }
    // A probe that needs no offsets was really tried with both backends.
    let semtimedop = table
        .get(probe::DO_SEMTIMEDOP)
        .and_then(|r| r.reason.clone())
        .unwrap_or_default();
    assert!(
        semtimedop.contains("fentry:") && semtimedop.contains("kprobe:"),
        "{semtimedop}"
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

    // Three user page faults inside the segment, one per page.
    let faults: Vec<&RawEvent> = mine
        .iter()
        .copied()
        .filter(|e| e.kind == raw_kind::PAGE_FAULT_USER)
        .collect();
    assert_eq!(faults.len(), 3, "page faults: {faults:?}");
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
    assert_eq!(pages, vec![0, 1, 2]);

    // The child was followed through fork and its exit reported.
    let child_exits = events
        .iter()
        .filter(|e| e.kind == raw_kind::PROC_EXIT && tgid(e) == work.child_pid)
        .count();
    assert_eq!(child_exits, 1, "PROC_EXIT of the spawned child");

    assert_eq!(tracer.drops()?, [0u64; probe::COUNT], "ring buffer drops");

    // Dropping the tracer unloads every program it loaded.
    let ids = tracer.loaded_program_ids();
    assert!(ids.len() >= 6, "loaded programs: {ids:?}");
    for id in &ids {
        assert!(
            bpftool_has_prog(*id)?,
            "program {id} not listed while loaded"
        );
    }
    drop(tracer);
    drop(exit);
    for id in &ids {
        assert!(
            !bpftool_has_prog(*id)?,
            "program {id} still loaded after drop"
        );
    }
    Ok(())
}
