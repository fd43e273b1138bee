//! Reads the real /proc/sysvipc files after creating objects with `ipcmk`.
//! Needs util-linux `ipcmk`/`ipcrm` and a kernel with CONFIG_SYSVIPC; fails
//! loudly when they are missing.

use ipc_trace::sysvipc::{SEM_PATH, SHM_PATH, read_sem, read_shm};
use std::process::Command;

fn ipcmk(args: &[&str]) -> i32 {
    let out = Command::new("ipcmk")
        .args(args)
        .output()
        .expect("ipcmk must be installed (util-linux)");
    assert!(out.status.success(), "ipcmk {args:?}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.rsplit(':')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .unwrap_or_else(|| panic!("no id in ipcmk output {text:?}"))
}

struct Remove(&'static str, i32);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = Command::new("ipcrm")
            .args([self.0, &self.1.to_string()])
            .status();
    }
}

#[test]
fn real_proc_sysvipc_lists_a_new_segment_and_set() {
    let shmid = ipcmk(&["-M", "4096", "-p", "0640"]);
    let _rm_shm = Remove("-m", shmid);
    let semid = ipcmk(&["-S", "3", "-p", "0600"]);
    let _rm_sem = Remove("-s", semid);

    let shm = read_shm(SHM_PATH).expect("/proc/sysvipc/shm parses");
    let seg = shm
        .iter()
        .find(|e| e.shmid == shmid)
        .unwrap_or_else(|| panic!("segment {shmid} not in {shm:?}"));
    assert_eq!(seg.size, 4096);
    assert_eq!(seg.perms & 0o777, 0o640);
    assert_eq!(seg.nattch, 0);
    assert!(seg.cpid > 0);
    assert_ne!(seg.key, 0, "ipcmk uses a random key");

    let sem = read_sem(SEM_PATH).expect("/proc/sysvipc/sem parses");
    let set = sem
        .iter()
        .find(|e| e.semid == semid)
        .unwrap_or_else(|| panic!("set {semid} not in {sem:?}"));
    assert_eq!(set.nsems, 3);
    assert_eq!(set.perms & 0o777, 0o600);
}
