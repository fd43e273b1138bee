//! Polling helpers with a deadline.

use std::time::{Duration, Instant};

/// Calls `attempt` every `interval` until it returns `Ok(Some(v))`, an
/// error, or `timeout` has passed (then `Ok(None)`).
pub fn poll<T, E>(
    timeout: Duration,
    interval: Duration,
    mut attempt: impl FnMut() -> Result<Option<T>, E>,
) -> Result<Option<T>, E> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = attempt()? {
            return Ok(Some(v));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(interval);
    }
}

/// Sleeps `ms` milliseconds (nothing for 0).
pub fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
