//! A semaphore set with the classic `semaphore_p` / `semaphore_v` helpers,
//! logging every `semop` call exactly as it was passed to the kernel.

use crate::sysv::{self, SysvResult};
use ipc_trace::event::SemOpSpec;

/// An attached semaphore set and the log of the `semop` calls made on it.
#[derive(Debug)]
pub struct SemSet {
    /// The set id.
    pub id: i32,
    /// Flags for every P and V (`SEM_UNDO` or 0).
    pub flg: i16,
    /// Every `semop` call made, in order, as passed (also the failed ones).
    pub calls: Vec<Vec<SemOpSpec>>,
    /// Indices into `calls` of the operations that were guaranteed to sleep
    /// (the other side waited until this one was queued before releasing).
    pub blocking: Vec<usize>,
}

impl SemSet {
    /// A set with id `id` whose P and V use `flg`.
    pub fn new(id: i32, flg: i16) -> SemSet {
        SemSet {
            id,
            flg,
            calls: Vec::new(),
            blocking: Vec::new(),
        }
    }

    /// One `semop` call, logged before it is made; EINTR is retried (and the
    /// retry logged as its own call).
    pub fn op(&mut self, ops: &[SemOpSpec]) -> SysvResult<()> {
        loop {
            self.calls.push(ops.to_vec());
            match sysv::semop(self.id, ops) {
                Err(e) if e.interrupted() => continue,
                other => return other,
            }
        }
    }

    /// `semaphore_p`: decrement semaphore `num` by one, waiting if it is 0.
    pub fn p(&mut self, num: u16) -> SysvResult<()> {
        let flg = self.flg;
        self.op(&[SemOpSpec { num, op: -1, flg }])
    }

    /// `semaphore_v`: increment semaphore `num` by one, waking a waiter.
    pub fn v(&mut self, num: u16) -> SysvResult<()> {
        let flg = self.flg;
        self.op(&[SemOpSpec { num, op: 1, flg }])
    }

    /// A P that the caller knows will sleep; recorded in `blocking`.
    pub fn p_blocking(&mut self, num: u16) -> SysvResult<()> {
        let index = self.calls.len();
        self.p(num)?;
        self.blocking.push(index);
        Ok(())
    }
}
