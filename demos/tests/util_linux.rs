//! util-linux's `ipcmk` and `ipcrm` traced by `ipc-trace record`: the
//! segment and the set they make and remove must appear with the ids
//! ipcmk printed, the sizes asked for, the IPC_RMID calls and the destroys.
//! Needs root and a built ipc-trace binary.

mod tracer;

use ipc_trace::event::{Event, EventKind};
use tracer::{Recorded, Scratch};

/// Creates an 8192-byte segment and a 3-semaphore set with ipcmk, prints
/// ipcmk's lines, then removes both with ipcrm.
const SCRIPT: &str = r#"set -e
m=$(ipcmk -M 8192); echo "$m"
s=$(ipcmk -S 3); echo "$s"
ipcrm -m "${m##*: }"
ipcrm -s "${s##*: }"
"#;

/// The number after `label` in ipcmk's output (`Shared memory id: 32768`).
fn printed_id(stdout: &str, label: &str) -> i32 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("ipcmk printed no `{label} N` line:\n{stdout}"))
}

/// The events of `kind` about object `id`.
fn about(rec: &Recorded, kind: EventKind, id: i32) -> Vec<&Event> {
    rec.events()
        .filter(|e| {
            e.kind == kind && (e.id == Some(id) || (e.id.is_none() && e.ret == Some(i64::from(id))))
        })
        .collect()
}

fn one(rec: &Recorded, kind: EventKind, id: i32) -> &Event {
    let found = about(rec, kind, id);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {} event for id {id}, found {found:#?}\n{}",
        kind.as_str(),
        rec.transcript()
    );
    found[0]
}

#[test]
fn ipcmk_and_ipcrm_objects_are_seen_from_creation_to_destruction() {
    tracer::require_root();
    tracer::require_program("ipcmk", "util-linux");
    tracer::require_program("ipcrm", "util-linux");
    let scratch = Scratch::new("util-linux");
    let rec = tracer::record(&scratch, "ipcmk", &["sh", "-c", SCRIPT]);
    rec.assert_complete();
    let shmid = printed_id(&rec.stdout(), "Shared memory id:");
    let semid = printed_id(&rec.stdout(), "Semaphore id:");

    let get = one(&rec, EventKind::ShmGet, shmid);
    assert_eq!(get.size, Some(8192), "shmget size: {get:?}");
    assert_eq!(get.comm, "ipcmk", "{get:?}");
    let create = one(&rec, EventKind::ShmCreate, shmid);
    assert_eq!(create.size, Some(8192), "segment size: {create:?}");
    assert_eq!(create.key, get.key, "create and get disagree on the key");

    let get = one(&rec, EventKind::SemGet, semid);
    assert_eq!(get.nsems, Some(3), "semget nsems: {get:?}");
    let create = one(&rec, EventKind::SemCreate, semid);
    assert_eq!(create.nsems, Some(3), "set size: {create:?}");

    let rmid = |kind, id| -> Vec<&Event> {
        about(&rec, kind, id)
            .into_iter()
            .filter(|e| e.cmd.as_deref() == Some("IPC_RMID"))
            .collect()
    };
    let shm_rmid = rmid(EventKind::ShmCtl, shmid);
    assert_eq!(
        shm_rmid.len(),
        1,
        "shmctl(IPC_RMID) on {shmid}: {shm_rmid:#?}"
    );
    assert_eq!(shm_rmid[0].ret, Some(0));
    assert_eq!(shm_rmid[0].comm, "ipcrm");
    let sem_rmid = rmid(EventKind::SemCtl, semid);
    assert_eq!(
        sem_rmid.len(),
        1,
        "semctl(IPC_RMID) on {semid}: {sem_rmid:#?}"
    );
    assert_eq!(sem_rmid[0].ret, Some(0));

    let destroy = one(&rec, EventKind::ShmDestroy, shmid);
    assert!(
        destroy.ts_ns
            >= shm_rmid[0]
                .ts_ns
                .saturating_sub(shm_rmid[0].dur_ns.unwrap_or(0)),
        "destroyed before IPC_RMID: {destroy:?}"
    );
    let destroy = one(&rec, EventKind::SemDestroy, semid);
    assert!(
        destroy.ts_ns
            >= sem_rmid[0]
                .ts_ns
                .saturating_sub(sem_rmid[0].dur_ns.unwrap_or(0)),
        "destroyed before IPC_RMID: {destroy:?}"
    );

    // Nothing was attached, faulted or operated on: ipcmk only creates.
    for kind in [EventKind::ShmAttach, EventKind::ShmFault, EventKind::SemOp] {
        let n = rec.events().filter(|e| e.kind == kind).count();
        assert_eq!(
            n,
            0,
            "unexpected {} events\n{}",
            kind.as_str(),
            rec.transcript()
        );
    }
}
