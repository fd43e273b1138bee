//! sem-crowd: `--waiters` threads all asleep in a P on one private
//! semaphore at the same time, then one V of +N that wakes them all.
//! Prints one JSON object: how many semop calls were made (`semops`,
//! EINTR retries included) and the most waiters seen asleep at once.
//!
//! It is the workload of the test that fills the tracer's in-flight maps
//! (`--max-inflight`): every waiter is inside a traced call at once.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::sysv;
use ipc_trace::event::SemOpSpec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Put many threads to sleep in semop at once, then wake them all")]
struct Args {
    /// Threads that wait at once (at most 32767, the largest V).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i16).range(1..))]
    waiters: i16,
    /// Give up if they are not all asleep after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// Every semop call made, retries included.
static SEMOPS: AtomicU64 = AtomicU64::new(0);

/// One semop call on semaphore 0, counted; EINTR is retried (and counted).
fn op(id: i32, delta: i16) -> Result<()> {
    let ops = [SemOpSpec {
        num: 0,
        op: delta,
        flg: 0,
    }];
    loop {
        SEMOPS.fetch_add(1, Ordering::Relaxed);
        match sysv::semop(id, &ops) {
            Err(e) if e.interrupted() => continue,
            other => return other.context("semop"),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let id = sysv::semget(libc::IPC_PRIVATE, 1, 0o600).context("semget")?;
    let result = crowd(id, &args);
    let removed = sysv::sem_remove(id).context("semctl(IPC_RMID)");
    let peak = result?;
    removed?;
    println!(
        "{}",
        serde_json::json!({
            "waiters": args.waiters,
            "asleep_at_once": peak,
            "semops": SEMOPS.load(Ordering::Relaxed),
        })
    );
    Ok(())
}

/// Starts the waiters, waits until all are asleep, wakes them; returns the
/// most waiters seen asleep at once.
fn crowd(id: i32, args: &Args) -> Result<i32> {
    let n = args.waiters;
    let mut threads = Vec::with_capacity(n.unsigned_abs().into());
    for _ in 0..n {
        let t = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || op(id, -1))
            .context("cannot start a waiter thread")?;
        threads.push(t);
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut peak = 0;
    while peak < i32::from(n) {
        peak = peak.max(sysv::sem_ncnt(id, 0).context("semctl(GETNCNT)")?);
        if Instant::now() > deadline {
            // Wake the ones that are asleep so that the threads end.
            op(id, n)?;
            bail!("only {peak} of {n} waiters were asleep at once");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    op(id, n)?;
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a waiter thread panicked"))??;
    }
    Ok(peak)
}
