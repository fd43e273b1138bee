//! Removes IPC objects a demo created when it stops early (error or panic),
//! so that a failed run leaves nothing behind in `ipcs`.

use crate::sysv;

/// Objects to remove on drop unless [`Cleanup::disarm`] was called.
#[derive(Debug, Default)]
pub struct Cleanup {
    shm: Option<i32>,
    sem: Option<i32>,
}

impl Cleanup {
    /// Remove segment `id` on drop.
    pub fn segment(&mut self, id: i32) {
        self.shm = Some(id);
    }

    /// Remove semaphore set `id` on drop.
    pub fn set(&mut self, id: i32) {
        self.sem = Some(id);
    }

    /// Forget everything: the program removed the objects itself.
    pub fn disarm(&mut self) {
        self.shm = None;
        self.sem = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(id) = self.shm.take()
            && let Err(e) = sysv::shm_remove(id)
        {
            eprintln!("cleanup: {e}");
        }
        if let Some(id) = self.sem.take()
            && let Err(e) = sysv::sem_remove(id)
        {
            eprintln!("cleanup: {e}");
        }
    }
}
