//! Runs the real demo programs on this kernel and checks their reports
//! against each other and against /proc/sysvipc afterwards.

use demos::report::{DemoReport, Role};
use ipc_trace::event::SEM_UNDO;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("demos-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The keys present in /proc/sysvipc/{shm,sem} (first column, decimal).
fn live_keys(file: &str) -> Vec<i32> {
    let text = std::fs::read_to_string(format!("/proc/sysvipc/{file}"))
        .unwrap_or_else(|e| panic!("/proc/sysvipc/{file}: {e} (is System V IPC enabled?)"));
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn load(dir: &Path, name: &str) -> DemoReport {
    DemoReport::load(&dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn producer_and_consumer_agree_and_leave_nothing_behind() {
    let scratch = Scratch::new("shm");
    let key_path = scratch.path("key");
    let reports = scratch.path("reports");
    let size = 3 * 4096 + 100;
    let out = run(
        env!("CARGO_BIN_EXE_demo-run"),
        &[
            "--path",
            key_path.to_str().expect("utf-8 path"),
            "--messages",
            "25",
            "--size",
            &size.to_string(),
            "--pingpong",
            "--rounds",
            "7",
            "--report-dir",
            reports.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "demo-run failed:\n{}", stderr(&out));

    let producer = load(&reports, "shm-producer");
    let consumer = load(&reports, "shm-consumer");
    assert_eq!(producer.role, Role::Producer);
    assert_eq!(consumer.role, Role::Consumer);
    assert_eq!(producer.messages_sent, 25);
    assert_eq!(consumer.messages_received, producer.messages_sent);
    assert!(producer.checksum.is_some());
    assert_eq!(consumer.checksum, producer.checksum);

    let (pshm, cshm) = (
        producer.shm.as_ref().expect("producer shm"),
        consumer.shm.as_ref().expect("consumer shm"),
    );
    assert_eq!(
        (pshm.key, pshm.id, pshm.size),
        (cshm.key, cshm.id, cshm.size)
    );
    assert!(pshm.created && !cshm.created && pshm.removed && !cshm.removed);
    let pages: Vec<u64> = (0..(size as u64).div_ceil(producer.page_size)).collect();
    assert_eq!(pshm.pages_touched, pages);
    assert_eq!(cshm.pages_touched, pages);
    assert_ne!(pshm.addr, 0);
    assert_eq!(pshm.addr % producer.page_size, 0);

    let (psem, csem) = (
        producer.sem.as_ref().expect("producer sem"),
        consumer.sem.as_ref().expect("consumer sem"),
    );
    assert_eq!((psem.key, psem.id, psem.nsems), (csem.key, csem.id, 1));
    assert_eq!(psem.setall, Some(vec![1]));
    assert_eq!(pshm.key as u32 >> 24, 0x88);
    assert_eq!(psem.key as u32 >> 24, 0x89);
    assert_eq!(pshm.key as u32 & 0x00ff_ffff, psem.key as u32 & 0x00ff_ffff);
    for sem in [psem, csem] {
        // Mutex use: strictly alternating P and V, all with SEM_UNDO.
        assert!(!sem.semops.is_empty());
        assert_eq!(sem.semops.len() % 2, 0, "every P has its V");
        for (i, call) in sem.semops.iter().enumerate() {
            assert_eq!(call.len(), 1);
            let expected = if i % 2 == 0 { -1 } else { 1 };
            assert_eq!(
                (call[0].num, call[0].op, call[0].flg),
                (0, expected, SEM_UNDO)
            );
        }
    }

    let parent = load(&reports, "sem-pingpong");
    assert_eq!(parent.role, Role::PingpongParent);
    assert_eq!(parent.children.len(), 1);
    let child = &parent.children[0];
    assert_eq!(child.role, Role::PingpongChild);
    assert_ne!(child.pid, parent.pid);
    let (psem, csem) = (
        parent.sem.as_ref().expect("parent sem"),
        child.sem.as_ref().expect("child sem"),
    );
    assert_eq!(psem.id, csem.id);
    assert_eq!(psem.nsems, 2);
    assert!(psem.created && psem.removed && !csem.get_called);
    for (sem, flg) in [(psem, SEM_UNDO), (csem, 0)] {
        assert_eq!(sem.semops.len(), 14, "7 rounds of P and V");
        assert_eq!(sem.blocking_semops.len(), 7, "every P blocks");
        assert!(sem.semops.iter().flatten().all(|o| o.flg == flg));
    }

    // Everything was removed: no key of the run is left in the kernel.
    let mutex_key = producer.sem.as_ref().map_or(0, |s| s.key);
    assert!(
        !live_keys("shm").contains(&pshm.key),
        "segment key {:#x} still exists",
        pshm.key
    );
    for key in [mutex_key, psem.key] {
        assert!(
            !live_keys("sem").contains(&key),
            "set key {key:#x} still exists"
        );
    }
}

#[test]
fn a_consumer_without_producer_times_out_with_a_clear_error() {
    let scratch = Scratch::new("lonely");
    let key_path = scratch.path("key");
    let out = run(
        env!("CARGO_BIN_EXE_shm-consumer"),
        &[
            "--path",
            key_path.to_str().expect("utf-8 path"),
            "--timeout-s",
            "1",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no segment with key 0x88"), "{err}");
    assert!(err.contains("is shm-producer running"), "{err}");
}

#[test]
fn a_second_producer_on_the_same_key_fails_and_leaves_the_first_alone() {
    let scratch = Scratch::new("twice");
    let key_path = scratch.path("key");
    let key_arg = key_path.to_str().expect("utf-8 path");
    let first = Command::new(env!("CARGO_BIN_EXE_shm-producer"))
        .args(["--path", key_arg, "--messages", "1", "--timeout-s", "3"])
        .spawn()
        .expect("start the first producer");
    let mut first = first;
    // Wait until the first producer's segment exists.
    let key = demos::keyfile::key_for(&key_path, demos::keyfile::SHM_PROJ).expect("ftok");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !live_keys("shm").contains(&key) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first producer never created its segment"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let second = run(
        env!("CARGO_BIN_EXE_shm-producer"),
        &["--path", key_arg, "--timeout-s", "1"],
    );
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains("already exists") && err.contains("ipcrm -M 0x88"),
        "{err}"
    );
    assert!(err.contains("os error 17"), "names the errno: {err}");
    assert!(
        live_keys("shm").contains(&key),
        "the second producer removed the first one's segment"
    );
    // Let the first one finish: a consumer takes its message.
    let consumer = run(
        env!("CARGO_BIN_EXE_shm-consumer"),
        &["--path", key_arg, "--timeout-s", "3"],
    );
    assert!(consumer.status.success(), "{}", stderr(&consumer));
    assert!(first.wait().expect("wait for the first producer").success());
    assert!(!live_keys("shm").contains(&key));
}

#[test]
fn demo_run_names_a_missing_sibling() {
    let scratch = Scratch::new("alone");
    let copy = scratch.path("demo-run");
    std::fs::copy(env!("CARGO_BIN_EXE_demo-run"), &copy).expect("copy demo-run");
    let out = run(
        copy.to_str().expect("utf-8 path"),
        &["--path", scratch.path("key").to_str().expect("utf-8")],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("shm-producer not found at"), "{err}");
}
