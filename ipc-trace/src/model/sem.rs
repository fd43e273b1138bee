//! What a semaphore set's lifecycle keeps: values over time, operation
//! counters, blocked operations and their waits, undo use.

use super::bounded::Ring;
use super::ids::Actor;
use crate::event::SemOpSpec;

/// Value samples kept per set.
pub const SAMPLES_CAP: usize = 4096;
/// Blocked operations kept per set.
pub const BLOCKED_CAP: usize = 64;

/// The value of one semaphore at one time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemSample {
    /// Time of the change.
    pub ts_ns: u64,
    /// Semaphore index.
    pub num: u16,
    /// Its value after the change.
    pub value: i32,
}

/// A semop that slept before returning (reported when it returned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedOp {
    /// Who waited.
    pub actor: Actor,
    /// When the operation returned.
    pub ts_ns: u64,
    /// How long it slept.
    pub wait_ns: u64,
    /// The operations it asked for.
    pub ops: Vec<SemOpSpec>,
    /// It succeeded after the wait (false: timeout, signal, set removed).
    pub ok: bool,
}

/// How a semop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpResult {
    /// It succeeded (all operations applied).
    pub ok: bool,
    /// It slept before returning.
    pub blocked: bool,
    /// How long it slept.
    pub wait_ns: u64,
}

/// What a set's lifecycle keeps beyond the common fields.
#[derive(Clone, Debug)]
pub struct SemState {
    /// Current values, `None` until set by SETALL/SETVAL (semop only moves
    /// known values).
    pub values: Vec<Option<i32>>,
    /// Values over time, bounded.
    pub samples: Ring<SemSample>,
    /// semop calls, failed ones included.
    pub ops: u64,
    /// Successful decrements (P).
    pub p_ops: u64,
    /// Successful increments (V).
    pub v_ops: u64,
    /// Successful wait-for-zero operations.
    pub z_ops: u64,
    /// Failed semop calls.
    pub failed: u64,
    /// semop calls that slept.
    pub blocked: u64,
    /// Total time slept.
    pub total_wait_ns: u64,
    /// Longest sleep.
    pub max_wait_ns: u64,
    /// Recent blocked operations, bounded.
    pub blocked_ops: Ring<BlockedOp>,
    /// Operations that asked for `SEM_UNDO`.
    pub undo_ops: u64,
    /// SETALL/SETVAL calls.
    pub sets: u64,
}

impl Default for SemState {
    fn default() -> SemState {
        SemState {
            values: Vec::new(),
            samples: Ring::new(SAMPLES_CAP),
            ops: 0,
            p_ops: 0,
            v_ops: 0,
            z_ops: 0,
            failed: 0,
            blocked: 0,
            total_wait_ns: 0,
            max_wait_ns: 0,
            blocked_ops: Ring::new(BLOCKED_CAP),
            undo_ops: 0,
            sets: 0,
        }
    }
}

impl SemState {
    /// Makes room for `nsems` values.
    pub fn ensure(&mut self, nsems: usize) {
        if self.values.len() < nsems {
            self.values.resize(nsems, None);
        }
    }

    /// `semctl(SETALL)` succeeded with `values`. A record carries at most
    /// the first 16 values, but SETALL sets every semaphore of the set: the
    /// ones beyond `values` are unknown from now on.
    pub fn set_all(&mut self, ts_ns: u64, values: &[u16]) {
        self.sets += 1;
        self.ensure(values.len());
        for (num, v) in values.iter().enumerate() {
            self.set_one(ts_ns, num as u16, i32::from(*v));
        }
        for slot in self.values.iter_mut().skip(values.len()) {
            *slot = None;
        }
    }

    /// `semctl(SETVAL)` succeeded on `num`.
    pub fn set_val(&mut self, ts_ns: u64, num: u16, value: u16) {
        self.sets += 1;
        self.set_one(ts_ns, num, i32::from(value));
    }

    fn set_one(&mut self, ts_ns: u64, num: u16, value: i32) {
        self.ensure(usize::from(num) + 1);
        if let Some(slot) = self.values.get_mut(usize::from(num)) {
            *slot = Some(value);
        }
        self.samples.push(SemSample { ts_ns, num, value });
    }

    /// A semop returned. `ok`: it succeeded (all operations applied).
    pub fn apply_op(
        &mut self,
        actor: &Actor,
        ts_ns: u64,
        ops: &[SemOpSpec],
        ok: bool,
        blocked: bool,
        wait_ns: u64,
    ) {
        self.ops += 1;
        self.undo_ops += ops.iter().filter(|o| o.undo()).count() as u64;
        if blocked {
            self.blocked += 1;
            self.total_wait_ns = self.total_wait_ns.saturating_add(wait_ns);
            self.max_wait_ns = self.max_wait_ns.max(wait_ns);
            self.blocked_ops.push(BlockedOp {
                actor: actor.clone(),
                ts_ns,
                wait_ns,
                ops: ops.to_vec(),
                ok,
            });
        }
        if !ok {
            self.failed += 1;
            return;
        }
        for op in ops {
            match op.op {
                x if x < 0 => self.p_ops += 1,
                x if x > 0 => self.v_ops += 1,
                _ => self.z_ops += 1,
            }
            if op.op == 0 {
                continue;
            }
            self.ensure(usize::from(op.num) + 1);
            let moved = self
                .values
                .get_mut(usize::from(op.num))
                .and_then(|slot| slot.as_mut())
                .map(|v| {
                    *v += i32::from(op.op);
                    *v
                });
            if let Some(value) = moved {
                self.samples.push(SemSample {
                    ts_ns,
                    num: op.num,
                    value,
                });
            }
        }
    }

    /// Drops value samples and blocked-op records, keeping counters.
    pub fn compact(&mut self) {
        self.samples = Ring::new(1);
        self.blocked_ops = Ring::new(1);
    }

    /// True when some operation asked for `SEM_UNDO` (SEM-9).
    pub fn undo_used(&self) -> bool {
        self.undo_ops > 0
    }

    /// Mean sleep of blocked operations.
    pub fn mean_wait_ns(&self) -> u64 {
        self.total_wait_ns.checked_div(self.blocked).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::SemState;

    #[test]
    fn a_setall_record_shorter_than_the_set_leaves_the_rest_unknown() {
        let mut s = SemState::default();
        s.ensure(20);
        s.set_val(1, 18, 7);
        s.set_all(2, &[1; 16]);
        assert_eq!(s.values[15], Some(1));
        assert_eq!(s.values[18], None, "SETALL set it to a value not recorded");
        assert_eq!(s.values.len(), 20);
    }
}
