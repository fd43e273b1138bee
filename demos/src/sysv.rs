//! Thin, checked wrappers around the System V IPC calls the demos make
//! (`ftok`, `shmget`, `shmat`, `shmdt`, `shmctl`, `semget`, `semctl`,
//! `semop`). Every failure names the call, its arguments and the errno.

use ipc_trace::event::SemOpSpec;
use std::ffi::CString;
use std::io;
use std::path::Path;

/// A failed System V IPC call.
#[derive(Debug, thiserror::Error)]
#[error("{call} failed: {os_error}")]
pub struct SysvError {
    /// The call and its arguments, e.g. `shmget(key=0x00016988, size=516, flags=0o1666)`.
    pub call: String,
    /// The errno value (0 when the call failed without setting errno).
    pub errno: i32,
    /// The OS error.
    pub os_error: io::Error,
}

impl SysvError {
    pub(crate) fn last(call: String) -> SysvError {
        let os_error = io::Error::last_os_error();
        SysvError {
            call,
            errno: os_error.raw_os_error().unwrap_or(0),
            os_error,
        }
    }

    /// True when the call failed because the object does not exist (ENOENT).
    pub fn is_not_found(&self) -> bool {
        self.errno == libc::ENOENT
    }

    /// True when the call failed because the object already exists (EEXIST).
    pub fn already_exists(&self) -> bool {
        self.errno == libc::EEXIST
    }

    /// True when the call was interrupted by a signal (EINTR).
    pub fn interrupted(&self) -> bool {
        self.errno == libc::EINTR
    }
}

/// Result of a System V IPC call.
pub type SysvResult<T> = Result<T, SysvError>;

/// `ftok(path, proj)`: the IPC key derived from the file's inode and device.
pub fn ftok(path: &Path, proj: u8) -> SysvResult<i32> {
    let call = format!("ftok(path={}, proj=0x{proj:02x})", path.display());
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| SysvError {
        call: call.clone(),
        errno: libc::EINVAL,
        os_error: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    // SAFETY: c_path is a valid NUL-terminated string for the duration of the call.
    let key = unsafe { libc::ftok(c_path.as_ptr(), i32::from(proj)) };
    if key == -1 {
        return Err(SysvError::last(call));
    }
    Ok(key)
}

/// `shmget(key, size, flags)`: the segment id.
pub fn shmget(key: i32, size: usize, flags: i32) -> SysvResult<i32> {
    // SAFETY: plain system call with integer arguments.
    let id = unsafe { libc::shmget(key, size, flags) };
    if id == -1 {
        return Err(SysvError::last(format!(
            "shmget(key=0x{key:08x}, size={size}, flags=0o{flags:o})"
        )));
    }
    Ok(id)
}

/// `shmat(id, NULL, 0)`: the address the kernel chose for the segment.
pub fn shmat(id: i32) -> SysvResult<*mut u8> {
    // SAFETY: attaching at a kernel-chosen address does not touch existing mappings.
    let addr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
    if addr as isize == -1 {
        return Err(SysvError::last(format!(
            "shmat(shmid={id}, addr=NULL, flags=0)"
        )));
    }
    Ok(addr.cast::<u8>())
}

/// `shmdt(addr)`.
///
/// # Safety
/// `addr` must be an address returned by [`shmat`], and no reference into
/// the segment may be used after this call.
pub unsafe fn shmdt(addr: *mut u8) -> SysvResult<()> {
    // SAFETY: guaranteed by the caller.
    if unsafe { libc::shmdt(addr.cast::<libc::c_void>()) } == -1 {
        return Err(SysvError::last(format!(
            "shmdt(addr=0x{:x})",
            addr as usize
        )));
    }
    Ok(())
}

/// `shmctl(id, IPC_STAT)`: the number of current attaches (`shm_nattch`).
pub fn shm_nattch(id: i32) -> SysvResult<u64> {
    // SAFETY: shmid_ds is plain old data; zeroes are a valid value.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a valid, writable shmid_ds.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } == -1 {
        return Err(SysvError::last(format!("shmctl(shmid={id}, IPC_STAT)")));
    }
    Ok(ds.shm_nattch)
}

/// `shmctl(id, IPC_RMID)`: mark the segment for removal.
pub fn shm_remove(id: i32) -> SysvResult<()> {
    // SAFETY: IPC_RMID ignores the buffer argument.
    if unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) } == -1 {
        return Err(SysvError::last(format!("shmctl(shmid={id}, IPC_RMID)")));
    }
    Ok(())
}

/// `semget(key, nsems, flags)`: the set id.
pub fn semget(key: i32, nsems: i32, flags: i32) -> SysvResult<i32> {
    // SAFETY: plain system call with integer arguments.
    let id = unsafe { libc::semget(key, nsems, flags) };
    if id == -1 {
        return Err(SysvError::last(format!(
            "semget(key=0x{key:08x}, nsems={nsems}, flags=0o{flags:o})"
        )));
    }
    Ok(id)
}

/// `semctl(id, 0, SETALL, values)`: set every semaphore of the set.
pub fn sem_setall(id: i32, values: &[u16]) -> SysvResult<()> {
    let mut array = values.to_vec();
    // SAFETY: the kernel reads nsems u16 values from `array`; the caller passes
    // one value per semaphore, and a shorter array makes the kernel fail with EFAULT
    // at worst, never write.
    let r = unsafe { libc::semctl(id, 0, libc::SETALL, array.as_mut_ptr()) };
    if r == -1 {
        return Err(SysvError::last(format!(
            "semctl(semid={id}, SETALL, values={values:?})"
        )));
    }
    Ok(())
}

/// `semctl(id, num, GETNCNT)`: how many tasks sleep waiting for semaphore
/// `num` to increase.
pub fn sem_ncnt(id: i32, num: u16) -> SysvResult<i32> {
    // SAFETY: GETNCNT takes no fourth argument.
    let r = unsafe { libc::semctl(id, i32::from(num), libc::GETNCNT) };
    if r == -1 {
        return Err(SysvError::last(format!(
            "semctl(semid={id}, semnum={num}, GETNCNT)"
        )));
    }
    Ok(r)
}

/// `semctl(id, 0, IPC_RMID)`: remove the set (waiters wake with EIDRM).
pub fn sem_remove(id: i32) -> SysvResult<()> {
    // SAFETY: IPC_RMID takes no fourth argument.
    if unsafe { libc::semctl(id, 0, libc::IPC_RMID) } == -1 {
        return Err(SysvError::last(format!("semctl(semid={id}, IPC_RMID)")));
    }
    Ok(())
}

/// `semop(id, ops)`. glibc issues the `semtimedop` system call for it.
pub fn semop(id: i32, ops: &[SemOpSpec]) -> SysvResult<()> {
    let mut bufs: Vec<libc::sembuf> = ops
        .iter()
        .map(|o| libc::sembuf {
            sem_num: o.num,
            sem_op: o.op,
            sem_flg: o.flg,
        })
        .collect();
    // SAFETY: bufs holds bufs.len() valid sembufs.
    if unsafe { libc::semop(id, bufs.as_mut_ptr(), bufs.len()) } == -1 {
        return Err(SysvError::last(format!("semop(semid={id}, ops={ops:?})")));
    }
    Ok(())
}

/// The page size of this machine.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let r = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if r <= 0 { 4096 } else { r as usize }
}
