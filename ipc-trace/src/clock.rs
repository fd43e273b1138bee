//! The two clocks a recording uses: CLOCK_MONOTONIC (the clock of
//! `bpf_ktime_get_ns`, so of every event's `ts_ns`) and CLOCK_REALTIME
//! (the header's wall-clock anchor).

/// A clock's time in nanoseconds; `None` if `clock_gettime` fails (it
/// cannot for these two clocks on Linux, but the result is checked).
fn read(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own and pass.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| {
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64)
    })
}

/// CLOCK_MONOTONIC now, ns; `None` if the clock cannot be read.
pub fn try_monotonic_ns() -> Option<u64> {
    read(libc::CLOCK_MONOTONIC)
}

/// CLOCK_MONOTONIC now, ns (0 if the clock cannot be read).
pub fn monotonic_ns() -> u64 {
    try_monotonic_ns().unwrap_or(0)
}

/// CLOCK_REALTIME now, ns since the epoch (0 if the clock cannot be read).
pub fn realtime_ns() -> u64 {
    read(libc::CLOCK_REALTIME).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_monotonic_clock_moves_forward_and_the_realtime_clock_is_after_2020() {
        let a = super::monotonic_ns();
        let b = super::monotonic_ns();
        assert!(a > 0 && b >= a, "{a} {b}");
        assert!(super::realtime_ns() > 1_577_836_800_000_000_000);
    }
}
