//! The checker on small hand-written recordings: a faithful one passes,
//! and each kind of corruption fails with a message naming it.

use super::{CheckReport, check_text};
use crate::report::{DemoReport, Role, SemReport, ShmReport};
use ipc_trace::event::{Backend, Event, EventKind, SEM_UNDO, SemOpSpec, Stats};
use ipc_trace::probe::{ProbeClass, ProbeTable};

const PROD: u32 = 100;
const CONS: u32 = 200;
const PARENT: u32 = 300;
const CHILD: u32 = 301;
const SHM_KEY: i32 = 0x8801_0203_u32 as i32;
const SEM_KEY: i32 = 0x8901_0203_u32 as i32;
const PP_KEY: i32 = 0x8a01_0203_u32 as i32;
const SHMID: i32 = 32768;
const SEMID: i32 = 32769;
const PPID: i32 = 32770;
const PAGE: u64 = 4096;
const SIZE: u64 = 2 * PAGE + 516;
const PROD_ADDR: u64 = 0x7f00_0000_0000;
const CONS_ADDR: u64 = 0x7f10_0000_0000;

fn op(num: u16, op: i16, flg: i16) -> SemOpSpec {
    SemOpSpec { num, op, flg }
}

fn p_undo() -> Vec<SemOpSpec> {
    vec![op(0, -1, SEM_UNDO)]
}

fn v_undo() -> Vec<SemOpSpec> {
    vec![op(0, 1, SEM_UNDO)]
}

fn base_report(program: &str, role: Role, pid: u32) -> DemoReport {
    DemoReport {
        program: program.into(),
        role,
        pid,
        key_path: "/tmp/k".into(),
        page_size: PAGE,
        shm: None,
        sem: None,
        messages_sent: 0,
        messages_received: 0,
        checksum: None,
        rounds: None,
        children: Vec::new(),
    }
}

fn shm_report(addr: u64, created: bool) -> ShmReport {
    ShmReport {
        key: SHM_KEY,
        id: SHMID,
        size: SIZE,
        get_flags: if created { 0o3666 } else { 0o666 },
        created,
        addr,
        pages_touched: vec![0, 1, 2],
        detached: true,
        removed: created,
    }
}

fn mutex_report(created: bool) -> SemReport {
    SemReport {
        key: SEM_KEY,
        id: SEMID,
        nsems: 1,
        get_called: true,
        get_flags: if created { 0o3666 } else { 0o666 },
        created,
        setall: created.then(|| vec![1]),
        semops: vec![p_undo(), v_undo(), p_undo(), v_undo()],
        blocking_semops: Vec::new(),
        removed: created,
    }
}

fn pingpong_report(pid: u32, parent: bool) -> DemoReport {
    let role = if parent {
        Role::PingpongParent
    } else {
        Role::PingpongChild
    };
    let mut r = base_report("sem-pingpong", role, pid);
    let (mine, theirs, flg) = if parent { (0, 1, SEM_UNDO) } else { (1, 0, 0) };
    let calls = if parent {
        vec![vec![op(theirs, 1, flg)], vec![op(mine, -1, flg)]]
    } else {
        vec![vec![op(mine, -1, flg)], vec![op(theirs, 1, flg)]]
    };
    r.sem = Some(SemReport {
        key: PP_KEY,
        id: PPID,
        nsems: 2,
        get_called: parent,
        get_flags: if parent { 0o3600 } else { 0 },
        created: parent,
        setall: parent.then(|| vec![0, 0]),
        semops: calls,
        blocking_semops: vec![if parent { 1 } else { 0 }],
        removed: parent,
    });
    r
}

fn reports() -> Vec<DemoReport> {
    let mut prod = base_report("shm-producer", Role::Producer, PROD);
    prod.shm = Some(shm_report(PROD_ADDR, true));
    prod.sem = Some(mutex_report(true));
    let mut cons = base_report("shm-consumer", Role::Consumer, CONS);
    cons.shm = Some(shm_report(CONS_ADDR, false));
    cons.sem = Some(mutex_report(false));
    let mut parent = pingpong_report(PARENT, true);
    parent.children.push(pingpong_report(CHILD, false));
    vec![prod, cons, parent]
}

/// Builds a recording line by line.
struct Rec {
    kernel_path: bool,
    ts: u64,
    events: Vec<Event>,
}

impl Rec {
    fn new(kernel_path: bool) -> Rec {
        Rec {
            kernel_path,
            ts: 1000,
            events: Vec::new(),
        }
    }

    fn push(&mut self, kind: EventKind, tgid: u32, probe: &str, f: impl FnOnce(&mut Event)) {
        self.ts += 1000;
        let mut e = Event::new(self.ts, kind, tgid, tgid, "demo");
        e.probe = probe.to_string().into();
        e.backend = if probe.starts_with("sys_") {
            Backend::Tracepoint
        } else {
            Backend::Kprobe
        };
        f(&mut e);
        self.events.push(e);
    }

    fn get(&mut self, kind: EventKind, tgid: u32, key: i32, id: i32) {
        let probe = if kind == EventKind::ShmGet {
            "sys_shmget"
        } else {
            "sys_semget"
        };
        self.push(kind, tgid, probe, |e| {
            e.key = Some(key);
            e.ret = Some(i64::from(id));
            e.id = Some(id);
        });
    }

    fn shm_create(&mut self, tgid: u32) {
        let kp = self.kernel_path;
        self.push(
            EventKind::ShmCreate,
            tgid,
            if kp { "newseg" } else { "sys_shmget" },
            |e| {
                e.key = Some(SHM_KEY);
                e.id = Some(SHMID);
                e.size = Some(SIZE);
                e.inferred = !kp;
            },
        );
    }

    fn sem_create(&mut self, tgid: u32, key: i32, id: i32, nsems: u32) {
        let kp = self.kernel_path;
        self.push(
            EventKind::SemCreate,
            tgid,
            if kp { "newary" } else { "sys_semget" },
            |e| {
                e.key = Some(key);
                e.id = Some(id);
                e.nsems = Some(nsems);
                e.inferred = !kp;
            },
        );
    }

    fn attach(&mut self, tgid: u32, addr: u64) {
        let probe = if self.kernel_path {
            "do_shmat"
        } else {
            "sys_shmat"
        };
        self.push(EventKind::ShmAttach, tgid, probe, |e| {
            e.id = Some(SHMID);
            e.addr = Some(addr);
            e.ret = Some(addr as i64);
        });
    }

    fn fault(&mut self, tgid: u32, base: u64, page: u64) {
        let kp = self.kernel_path;
        self.push(
            EventKind::ShmFault,
            tgid,
            if kp { "shm_fault" } else { "page_fault_user" },
            |e| {
                e.id = Some(SHMID);
                e.addr = Some(base + page * PAGE);
                e.page = Some(page);
                e.write = Some(tgid == PROD);
                e.shmem = kp.then_some(true);
            },
        );
    }

    fn semop(&mut self, tgid: u32, id: i32, ops: Vec<SemOpSpec>, wait_ns: Option<u64>) {
        let probe = if self.kernel_path {
            "do_semtimedop"
        } else {
            "sys_semtimedop"
        };
        self.push(EventKind::SemOp, tgid, probe, |e| {
            e.id = Some(id);
            e.ops = Some(ops);
            e.blocked = Some(wait_ns.is_some());
            e.wait_ns = wait_ns;
            e.ret = Some(0);
        });
    }

    fn setall(&mut self, tgid: u32, id: i32, values: Vec<u16>) {
        self.push(EventKind::SemCtl, tgid, "sys_semctl", |e| {
            e.id = Some(id);
            e.cmd = Some("SETALL".into());
            e.values = Some(values);
            e.ret = Some(0);
        });
    }

    fn detach(&mut self, tgid: u32, addr: u64) {
        let probe = if self.kernel_path {
            "shm_close"
        } else {
            "sys_shmdt"
        };
        self.push(EventKind::ShmDetach, tgid, probe, |e| {
            e.id = Some(SHMID);
            e.addr = Some(addr);
            e.ret = Some(0);
        });
    }

    fn destroy(&mut self, kind: EventKind, tgid: u32, id: i32) {
        let probe = match (self.kernel_path, kind) {
            (true, EventKind::ShmDestroy) => "shm_destroy",
            (true, _) => "freeary",
            (false, EventKind::ShmDestroy) => "sys_shmctl",
            (false, _) => "sys_semctl",
        };
        let kp = self.kernel_path;
        self.push(kind, tgid, probe, |e| {
            e.id = Some(id);
            e.inferred = !kp;
        });
    }

    fn text(&self, dropped: u64) -> String {
        self.text_with(|s| s.dropped = dropped)
    }

    fn text_with(&self, edit: impl FnOnce(&mut Stats)) -> String {
        let mut table = ProbeTable::unattached();
        for row in &mut table.probes {
            let kernel_path = row.class == ProbeClass::KernelPath;
            if !kernel_path || self.kernel_path {
                row.attached = true;
                row.backend = Some(if kernel_path {
                    Backend::Kprobe
                } else {
                    Backend::Tracepoint
                });
            }
        }
        let header = serde_json::json!({
            "schema": "ipc-trace/1",
            "kernel": "6.18.0-test",
            "probes": table.probes,
        });
        let mut lines = vec![header.to_string()];
        lines.extend(
            self.events
                .iter()
                .map(|e| serde_json::to_string(e).expect("test event serializes")),
        );
        let mut stats = Stats {
            kind: "stats".into(),
            events: self.events.len() as u64,
            duration_ns: self.ts,
            ..Stats::default()
        };
        edit(&mut stats);
        lines.push(serde_json::to_string(&stats).expect("test stats serialize"));
        lines.join("\n") + "\n"
    }
}

/// What the demos did, in a plausible interleaving.
fn faithful(kernel_path: bool) -> Rec {
    let mut r = Rec::new(kernel_path);
    // A kernel-path create completes inside the get that caused it.
    r.shm_create(PROD);
    r.get(EventKind::ShmGet, PROD, SHM_KEY, SHMID);
    r.attach(PROD, PROD_ADDR);
    for page in 0..3 {
        r.fault(PROD, PROD_ADDR, page);
    }
    r.sem_create(PROD, SEM_KEY, SEMID, 1);
    r.get(EventKind::SemGet, PROD, SEM_KEY, SEMID);
    r.setall(PROD, SEMID, vec![1]);
    // Consumer finds both by key.
    r.push(EventKind::ShmGet, CONS, "sys_shmget", |e| {
        e.key = Some(SHM_KEY);
        e.ret = Some(-2);
        e.errno = Some(2);
    });
    r.get(EventKind::ShmGet, CONS, SHM_KEY, SHMID);
    r.get(EventKind::SemGet, CONS, SEM_KEY, SEMID);
    r.attach(CONS, CONS_ADDR);
    for page in 0..3 {
        r.fault(CONS, CONS_ADDR, page);
    }
    r.semop(PROD, SEMID, p_undo(), None);
    r.semop(CONS, SEMID, p_undo(), Some(4_000_000));
    r.semop(PROD, SEMID, v_undo(), None);
    r.semop(CONS, SEMID, v_undo(), None);
    r.semop(PROD, SEMID, p_undo(), None);
    r.semop(CONS, SEMID, p_undo(), None);
    r.semop(CONS, SEMID, v_undo(), None);
    r.semop(PROD, SEMID, v_undo(), None);
    r.detach(CONS, CONS_ADDR);
    r.detach(PROD, PROD_ADDR);
    r.destroy(EventKind::ShmDestroy, PROD, SHMID);
    r.destroy(EventKind::SemDestroy, PROD, SEMID);
    // Ping-pong: parent creates, child inherits.
    r.sem_create(PARENT, PP_KEY, PPID, 2);
    r.get(EventKind::SemGet, PARENT, PP_KEY, PPID);
    r.setall(PARENT, PPID, vec![0, 0]);
    r.semop(CHILD, PPID, vec![op(1, -1, 0)], Some(50_000));
    r.semop(PARENT, PPID, vec![op(1, 1, SEM_UNDO)], None);
    r.semop(PARENT, PPID, vec![op(0, -1, SEM_UNDO)], Some(70_000));
    r.semop(CHILD, PPID, vec![op(0, 1, 0)], None);
    r.destroy(EventKind::SemDestroy, PARENT, PPID);
    r
}

fn check(r: &Rec) -> CheckReport {
    check_text(&r.text(0), &reports())
}

fn assert_fails_with(report: &CheckReport, needle: &str) {
    assert!(
        report.failures.iter().any(|f| f.contains(needle)),
        "expected a failure containing {needle:?}, got:\n{report}"
    );
}

#[test]
fn faithful_recordings_pass_on_both_backends() {
    for kernel_path in [false, true] {
        let report = check(&faithful(kernel_path));
        assert!(report.passed(), "kernel_path={kernel_path}:\n{report}");
        assert!(
            report
                .facts
                .iter()
                .any(|f| f.starts_with("shm_fault events: 6")),
            "{report}"
        );
    }
}

#[test]
fn a_missing_create_fails() {
    let mut r = faithful(false);
    r.events.retain(|e| e.kind != EventKind::ShmCreate);
    assert_fails_with(
        &check(&r),
        "expected exactly 1 shm_create with key 0x88010203",
    );
}

#[test]
fn a_create_in_the_consumer_fails() {
    let mut r = faithful(false);
    r.shm_create(CONS);
    let report = check(&r);
    assert_fails_with(
        &report,
        "expected exactly 1 shm_create with key 0x88010203 (this process created the segment), found 2",
    );
    assert_fails_with(
        &report,
        "shm-consumer (pid 200): found the segment by key, expected no shm_create in its process, found 1",
    );
}

#[test]
fn a_consumer_get_before_the_create_fails() {
    let mut r = faithful(false);
    let get = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::SemGet && e.tgid == CONS)
        .expect("fixture has the consumer's semget");
    r.events[get].ts_ns = 1;
    assert_fails_with(
        &check(&r),
        "shm-consumer (pid 200): its sem_get of key 0x89010203 (ts 1) is not after the sem_create",
    );
}

#[test]
fn inferred_must_match_the_probe_table() {
    let mut r = faithful(true);
    for e in &mut r.events {
        if e.kind == EventKind::SemCreate {
            e.inferred = true;
        }
    }
    assert_fails_with(
        &check(&r),
        "probe newary is attached, but the sem_create is marked inferred",
    );
    let mut r = faithful(false);
    for e in &mut r.events {
        if e.kind == EventKind::ShmCreate {
            e.inferred = false;
        }
    }
    assert_fails_with(
        &check(&r),
        "probe newseg is not attached, but the shm_create is not marked inferred",
    );
}

#[test]
fn a_double_fault_fails() {
    let mut r = faithful(true);
    r.fault(CONS, CONS_ADDR, 1);
    assert_fails_with(
        &check(&r),
        "shm-consumer (pid 200): expected 1 shm_fault on page 1 of shmid 32768, found 2",
    );
}

#[test]
fn a_wrong_page_fails() {
    let mut r = faithful(false);
    let f = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::ShmFault && e.tgid == PROD && e.page == Some(2))
        .expect("fixture has page 2");
    r.events[f].page = Some(5);
    let report = check(&r);
    assert_fails_with(&report, "pages 2 have none");
    assert_fails_with(
        &report,
        "shm_fault on page 5 of shmid 32768, which the program did not touch",
    );
    assert_fails_with(
        &report,
        "says page 5, but with the mapping at 0x7f0000000000 that is page 2",
    );
}

#[test]
fn a_foreign_fault_fails() {
    let mut r = faithful(false);
    r.push(EventKind::ShmFault, 999, "page_fault_user", |e| {
        e.comm = "dd".into();
        e.id = Some(7);
        e.addr = Some(0x1000);
        e.page = Some(0);
    });
    assert_fails_with(&check(&r), "found 1 others: id Some(7) in 999 (dd)");
}

#[test]
fn faults_without_shmem_fail_when_the_kernel_path_is_attached() {
    let mut r = faithful(true);
    for e in &mut r.events {
        if e.kind == EventKind::ShmFault && e.tgid == CONS {
            e.shmem = None;
        }
    }
    assert_fails_with(&check(&r), "3 of 3 faults lack `shmem: true`");
}

#[test]
fn an_extra_semop_fails() {
    let mut r = faithful(false);
    r.semop(CONS, SEMID, p_undo(), None);
    assert_fails_with(
        &check(&r),
        "shm-consumer (pid 200): expected 4 sem_op events on semid 32769 (one per semop call), found 5",
    );
}

#[test]
fn a_semop_without_undo_fails() {
    let mut r = faithful(false);
    let i = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::SemOp && e.tgid == PROD)
        .expect("fixture has producer semops");
    r.events[i].ops = Some(vec![op(0, -1, 0)]);
    assert_fails_with(
        &check(&r),
        "semop call #0 on semid 32769 was [{num 0, op -1, flg 4096}], the sem_op event says [{num 0, op -1, flg 0}]",
    );
}

#[test]
fn a_blocked_op_without_wait_and_a_pingpong_p_that_did_not_block_fail() {
    let mut r = faithful(false);
    for e in &mut r.events {
        if e.kind == EventKind::SemOp && e.tgid == CONS && e.blocked == Some(true) {
            e.wait_ns = Some(0);
        }
        if e.kind == EventKind::SemOp && e.tgid == CHILD && e.blocked == Some(true) {
            e.blocked = Some(false);
            e.wait_ns = None;
        }
    }
    let report = check(&r);
    assert_fails_with(
        &report,
        "shm-consumer (pid 200): blocked sem_op events must have wait_ns > 0, 1 do not",
    );
    assert_fails_with(
        &report,
        "sem-pingpong child (pid 301): 1 semop calls were guaranteed to sleep",
    );
    assert_fails_with(
        &report,
        "sem-pingpong child (pid 301): expected at least one blocked sem_op",
    );
}

#[test]
fn wrong_setall_values_fail() {
    let mut r = faithful(false);
    for e in &mut r.events {
        if e.kind == EventKind::SemCtl && e.tgid == PARENT {
            e.values = Some(vec![1, 0]);
        }
    }
    assert_fails_with(
        &check(&r),
        "sem_ctl SETALL on semid 32770 set Some([1, 0]), the program set [0, 0]",
    );
}

#[test]
fn a_destroy_before_the_last_detach_fails() {
    let mut r = faithful(false);
    let d = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::ShmDestroy)
        .expect("fixture has the destroy");
    let destroy = r.events.remove(d);
    let first_detach = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::ShmDetach)
        .expect("fixture has detaches");
    let mut destroy = destroy;
    destroy.ts_ns = r.events[first_detach].ts_ns + 1;
    r.events.insert(first_detach + 1, destroy);
    assert_fails_with(&check(&r), "shm_destroy (ts");
    assert_fails_with(&check(&r), "comes before the last use, a shm_detach by 100");
}

#[test]
fn missing_detach_and_destroy_fail() {
    let mut r = faithful(false);
    r.events.retain(|e| {
        !(e.kind == EventKind::ShmDetach && e.tgid == CONS) && e.kind != EventKind::SemDestroy
    });
    let report = check(&r);
    assert_fails_with(
        &report,
        "shm-consumer (pid 200): expected 1 shm_detach at 0x7f1000000000 (shmid 32768), found 0",
    );
    assert_fails_with(
        &report,
        "shm-producer (pid 100) removed semid 32769: expected 1 sem_destroy, found 0",
    );
}

#[test]
fn drops_fail() {
    let report = check_text(&faithful(false).text(3), &reports());
    assert_fails_with(&report, "stats: expected 0 dropped events, found 3");
}

#[test]
fn a_cut_short_or_malformed_recording_fails() {
    let text = faithful(false).text(0);
    let without_stats: Vec<&str> = text.lines().filter(|l| !l.contains("\"stats\"")).collect();
    let report = check_text(&without_stats.join("\n"), &reports());
    assert_fails_with(&report, "no stats line at the end");
    let broken = text.replacen("\"kind\":\"shm_fault\"", "\"kind\":\"shm_faultx\"", 1);
    assert_fails_with(&check_text(&broken, &reports()), "not an event");
    let wrong_schema = text.replacen("ipc-trace/1", "ipc-trace/9", 1);
    assert_fails_with(
        &check_text(&wrong_schema, &reports()),
        "header schema is Some(\"ipc-trace/9\")",
    );
    let not_a_minor = text.replacen("ipc-trace/1", "ipc-trace/10", 1);
    assert_fails_with(
        &check_text(&not_a_minor, &reports()),
        "header schema is Some(\"ipc-trace/10\")",
    );
    let newer_minor = text.replacen("ipc-trace/1", "ipc-trace/1.7", 1);
    assert!(
        !check_text(&newer_minor, &reports())
            .failures
            .iter()
            .any(|f| f.contains("schema")),
        "a minor version is read"
    );
}

#[test]
fn a_missing_file_fails_cleanly() {
    let report =
        super::check_recording(std::path::Path::new("/nonexistent/rec.ndjson"), &reports());
    assert_fails_with(&report, "cannot read recording /nonexistent/rec.ndjson");
}

/// The fixture without the consumer's second semop.
fn one_consumer_semop_lost() -> Rec {
    let mut r = faithful(false);
    let i = r
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EventKind::SemOp && e.tgid == CONS)
        .map(|(i, _)| i)
        .nth(1)
        .expect("fixture has consumer semops");
    r.events.remove(i);
    r
}

#[test]
fn a_missing_semop_passes_only_within_the_losses_the_kernel_is_counted_to_have_caused() {
    let r = one_consumer_semop_lost();
    let unexplained = check_text(&r.text(0), &reports());
    assert_fails_with(
        &unexplained,
        "shm-consumer (pid 200): expected 4 sem_op events on semid 32769 (one per semop call), found 3",
    );
    let explained = check_text(&r.text_with(|s| s.exits_not_seen = 1), &reports());
    assert!(explained.passed(), "{explained}");
    assert!(
        explained.facts.iter().any(|f| f.contains(
            "found 3 (each recorded one matches its call) — within the 1 records the kernel"
        )),
        "{explained}"
    );
}

#[test]
fn recorded_semops_must_still_be_the_calls_in_order_when_some_are_missing() {
    let mut r = one_consumer_semop_lost();
    let i = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::SemOp && e.tgid == CONS)
        .expect("fixture has consumer semops");
    r.events[i].ops = Some(vec![op(0, 1, 0)]);
    let report = check_text(&r.text_with(|s| s.exits_not_seen = 1), &reports());
    assert_fails_with(
        &report,
        "are not the program's 4 semop calls in order with some missing",
    );
}

#[test]
fn missing_events_beyond_the_counted_kernel_losses_fail_all_together() {
    let mut r = one_consumer_semop_lost();
    let i = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::SemCtl)
        .expect("fixture has a SETALL");
    r.events.remove(i);
    // Two events missing, one loss counted: neither is excused.
    let report = check_text(&r.text_with(|s| s.exits_not_seen = 1), &reports());
    assert_fails_with(&report, "expected 1 sem_ctl SETALL on semid 32769, found 0");
    assert_fails_with(&report, "expected 4 sem_op events on semid 32769");
    let report = check_text(&r.text_with(|s| s.exits_not_seen = 2), &reports());
    assert!(report.passed(), "{report}");
}

#[test]
fn a_get_lost_with_a_counted_kernel_loss_is_reported_not_failed() {
    let mut r = faithful(false);
    let i = r
        .events
        .iter()
        .position(|e| e.kind == EventKind::ShmGet && e.tgid == CONS && !e.failed())
        .expect("fixture has the consumer's shmget");
    r.events.remove(i);
    let unexplained = check_text(&r.text(0), &reports());
    assert_fails_with(&unexplained, "expected 1 successful shm_get with key");
    let explained = check_text(
        &r.text_with(|s| {
            s.missed = 1;
            s.missed_by_program.insert("sys_enter".into(), 1);
        }),
        &reports(),
    );
    assert!(explained.passed(), "{explained}");
}
