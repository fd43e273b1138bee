//! Running a `bpf()` map call so that it cannot make the kernel skip the
//! tracer's own programs.
//!
//! While a map is looked up, updated or deleted from user space, the kernel
//! raises the per-CPU `bpf_prog_active` count (`bpf_disable_instrumentation`)
//! and, on that CPU, skips every tracepoint and kprobe program that fires
//! meanwhile (counted as the program's `recursion_misses`, shown as
//! "missed"). The call keeps the count with migration disabled but
//! preemption enabled; on a kernel that preempts kernel code at the tick
//! (`CONFIG_PREEMPT_LAZY`, Debian's 7.2 and later) the calling thread can be
//! switched out in the middle, and every syscall the other processes on
//! that CPU make until it runs again is lost. The kernel source says the
//! window is there; closing it did not end the misses seen on 7.2, whose
//! cause is still open (docs/KERNELS.md, "skips some runs").
//!
//! So each map call the tracer makes during a session runs with the
//! calling thread briefly in `SCHED_FIFO`: no ordinary task can preempt it,
//! and the count is held for the few microseconds the call takes. Without
//! the right to change the policy (no `CAP_SYS_NICE`, or a cgroup with no
//! real-time budget) the call runs as it is.

/// Runs `call` with the calling thread raised to `SCHED_FIFO` priority 1
/// (when allowed), then puts the thread's own policy back.
pub fn map_call<T>(call: impl FnOnce() -> T) -> T {
    let raised = Raised::enter();
    let out = call();
    drop(raised);
    out
}

/// The thread's policy before it was raised; restored on drop.
struct Raised {
    policy: libc::c_int,
    param: libc::sched_param,
}

impl Raised {
    fn enter() -> Option<Raised> {
        // SAFETY: pid 0 is the calling thread; sched_getscheduler reads
        // nothing from memory.
        let policy = unsafe { libc::sched_getscheduler(0) };
        if policy < 0 || policy == libc::SCHED_FIFO || policy == libc::SCHED_RR {
            return None;
        }
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid, writable sched_param.
        if unsafe { libc::sched_getparam(0, &mut param) } != 0 {
            return None;
        }
        let fifo = libc::sched_param { sched_priority: 1 };
        // SAFETY: `fifo` is a valid sched_param; pid 0 is this thread.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &fifo) } != 0 {
            return None;
        }
        Some(Raised { policy, param })
    }
}

impl Drop for Raised {
    fn drop(&mut self) {
        // SAFETY: `self.param` is the sched_param read from this thread in
        // `enter`; restoring the policy it had cannot fail for lack of
        // privilege (lowering is always allowed).
        unsafe {
            libc::sched_setscheduler(0, self.policy, &self.param);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> libc::c_int {
        // SAFETY: as in `Raised::enter`.
        unsafe { libc::sched_getscheduler(0) }
    }

    /// Whether this thread may enter SCHED_FIFO at all (tried directly).
    fn fifo_allowed() -> bool {
        Raised::enter().is_some()
    }

    #[test]
    fn the_call_runs_raised_when_allowed_and_the_policy_is_put_back() {
        std::thread::spawn(|| {
            let before = policy();
            let allowed = fifo_allowed();
            assert_eq!(policy(), before, "a raise is undone on drop");
            let during = map_call(policy);
            assert_eq!(policy(), before, "the thread's own policy is restored");
            let expected = if allowed { libc::SCHED_FIFO } else { before };
            assert_eq!(during, expected, "allowed: {allowed}");
            assert_eq!(map_call(|| 7), 7);
        })
        .join()
        .expect("the test thread ran");
    }
}
