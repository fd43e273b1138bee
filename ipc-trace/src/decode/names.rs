//! Constants and names of the System V IPC API (`<sys/ipc.h>`,
//! `<sys/shm.h>`, `<sys/sem.h>`), as the syscalls receive them.

/// `IPC_PRIVATE`: a key that always creates a new object.
pub const IPC_PRIVATE: i32 = 0;
/// `IPC_CREAT` in shmflg/semflg: create the object if the key has none.
pub const IPC_CREAT: i64 = 0o1000;
/// `IPC_RMID`: remove the object.
pub const IPC_RMID: i32 = 0;
/// `SETVAL`: semctl sets one semaphore.
pub const SETVAL: i32 = 16;
/// `SETALL`: semctl sets every semaphore of the set.
pub const SETALL: i32 = 17;

/// The command part of a shmctl/semctl `cmd` (without the `IPC_64` bit).
pub fn command(cmd: u64) -> i32 {
    (cmd & 0xff) as i32
}

/// Name of a shmctl command (`cmd` as passed; `IPC_64` is ignored).
pub fn shm_cmd(cmd: u64) -> String {
    let name = match command(cmd) {
        0 => "IPC_RMID",
        1 => "IPC_SET",
        2 => "IPC_STAT",
        3 => "IPC_INFO",
        11 => "SHM_LOCK",
        12 => "SHM_UNLOCK",
        13 => "SHM_STAT",
        14 => "SHM_INFO",
        15 => "SHM_STAT_ANY",
        n => return format!("CMD_{n}"),
    };
    name.to_string()
}

/// Name of a semctl command (`cmd` as passed; `IPC_64` is ignored).
pub fn sem_cmd(cmd: u64) -> String {
    let name = match command(cmd) {
        0 => "IPC_RMID",
        1 => "IPC_SET",
        2 => "IPC_STAT",
        3 => "IPC_INFO",
        11 => "GETPID",
        12 => "GETVAL",
        13 => "GETALL",
        14 => "GETNCNT",
        15 => "GETZCNT",
        16 => "SETVAL",
        17 => "SETALL",
        18 => "SEM_STAT",
        19 => "SEM_INFO",
        20 => "SEM_STAT_ANY",
        n => return format!("CMD_{n}"),
    };
    name.to_string()
}

/// True when a successful `shmget`/`semget` with this key and flags may have
/// created the object it returned (without `IPC_CREAT` it only looks up).
pub fn may_create(key: i32, flags: i64) -> bool {
    key == IPC_PRIVATE || flags & IPC_CREAT != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_without_the_ipc_64_bit() {
        assert_eq!(shm_cmd(0), "IPC_RMID");
        assert_eq!(shm_cmd(0x100 | 2), "IPC_STAT");
        assert_eq!(shm_cmd(15), "SHM_STAT_ANY");
        assert_eq!(shm_cmd(99), "CMD_99");
        assert_eq!(sem_cmd(0x100 | 17), "SETALL");
        assert_eq!(sem_cmd(11), "GETPID");
        assert_eq!(sem_cmd(20), "SEM_STAT_ANY");
        assert_eq!(sem_cmd(21), "CMD_21");
    }

    #[test]
    fn only_ipc_private_or_ipc_creat_may_create() {
        assert!(may_create(IPC_PRIVATE, 0o600));
        assert!(may_create(0x1234, IPC_CREAT | 0o600));
        assert!(!may_create(0x1234, 0o600));
    }
}
