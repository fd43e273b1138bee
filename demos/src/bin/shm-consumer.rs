//! shm-consumer: finds the producer's segment and mutex set by key
//! (retrying until they exist), attaches, reads every page once, then takes
//! messages under the mutex until the "end" message. Exits non-zero when a
//! message is missing or duplicated.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::keyfile::{self, DEFAULT_KEY_PATH, SEM_PROJ, SHM_PROJ};
use demos::message::{Checksum, END_TEXT, RECORD_SIZE, get_text, parse_seq};
use demos::report::{DemoReport, Role, SemReport, ShmReport};
use demos::segment::Segment;
use demos::semset::SemSet;
use demos::stages::StageArg;
use demos::sysv::{self, SysvResult};
use demos::wait;
use ipc_trace::event::SEM_UNDO;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "Take messages from the producer's System V segment under its semaphore")]
struct Args {
    /// File the IPC keys are derived from (ftok); created when missing.
    #[arg(long, default_value = DEFAULT_KEY_PATH)]
    path: PathBuf,
    /// Segment size in bytes passed to shmget (at most the producer's).
    #[arg(long, default_value_t = RECORD_SIZE)]
    size: usize,
    /// Pause between tries, in milliseconds.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// Give up after this many seconds without progress.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Write a JSON report of what was done to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    stage: StageArg,
}

/// Retries a lookup by key while it fails with ENOENT.
fn find(timeout: Duration, lookup: impl Fn() -> SysvResult<i32>) -> Result<Option<i32>> {
    Ok(wait::poll(
        timeout,
        Duration::from_millis(10),
        || match lookup() {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        },
    )?)
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.size < RECORD_SIZE {
        bail!(
            "--size {} is smaller than the shared record ({RECORD_SIZE} bytes)",
            args.size
        );
    }
    let shm_key = keyfile::key_for(&args.path, SHM_PROJ)?;
    let sem_key = keyfile::key_for(&args.path, SEM_PROJ)?;
    let timeout = Duration::from_secs(args.timeout_s);
    let flags = 0o666;
    let mut stages = args.stage.open()?;

    // SHM-1/SHM-2: find the producer's segment by key.
    let Some(shm_id) = find(timeout, || sysv::shmget(shm_key, args.size, flags))? else {
        bail!(
            "no segment with key {} after {}s: is shm-producer running with the same --path?",
            keyfile::key_hex(shm_key),
            args.timeout_s
        );
    };
    stages.point("found")?;
    // SHM-5: attach; SHM-10..12: read every page once.
    let mut seg = Segment::attach(shm_id, args.size)?;
    stages.point("attached")?;
    let pages_touched = seg.touch_pages_read();
    stages.point("touched")?;
    // SEM-1/SEM-2: find the producer's mutex set (it makes it after its
    // first touch).
    let Some(sem_id) = find(timeout, || sysv::semget(sem_key, 1, flags))? else {
        bail!(
            "no semaphore set with key {} after {}s: is shm-producer running with the same --path?",
            keyfile::key_hex(sem_key),
            args.timeout_s
        );
    };
    let mut mutex = SemSet::new(sem_id, SEM_UNDO);

    let interval = Duration::from_millis(args.interval_ms.max(1));
    let mut checksum = Checksum::default();
    let mut received = 0u64;
    loop {
        let text = wait::poll(timeout, interval, || -> Result<Option<String>> {
            mutex.p(0)?;
            let text = seg.written().then(|| get_text(&seg.text()));
            if text.is_some() {
                seg.set_written(false);
            }
            mutex.v(0)?;
            Ok(text)
        })?;
        let Some(text) = text else {
            bail!(
                "timed out after {}s waiting for message {received}",
                args.timeout_s
            );
        };
        if text == END_TEXT {
            break;
        }
        match parse_seq(&text) {
            Some(seq) if seq == received => {}
            Some(seq) if seq < received => {
                bail!("duplicate message {seq} (expected {received}): {text:?}")
            }
            Some(seq) => bail!("lost messages {received}..{seq}: got {text:?}"),
            None => bail!("unexpected message {text:?} (expected message {received})"),
        }
        checksum.add(&text);
        received += 1;
    }
    let addr = seg.addr();
    seg.detach()?;

    let report = DemoReport {
        program: "shm-consumer".into(),
        role: Role::Consumer,
        pid: std::process::id(),
        key_path: args.path.display().to_string(),
        page_size: sysv::page_size() as u64,
        shm: Some(ShmReport {
            key: shm_key,
            id: shm_id,
            size: args.size as u64,
            get_flags: flags,
            created: false,
            addr,
            pages_touched,
            detached: true,
            removed: false,
        }),
        sem: Some(SemReport {
            key: sem_key,
            id: sem_id,
            nsems: 1,
            get_called: true,
            get_flags: flags,
            created: false,
            setall: None,
            semops: mutex.calls,
            blocking_semops: mutex.blocking,
            removed: false,
        }),
        messages_sent: 0,
        messages_received: received,
        checksum: Some(checksum.hex()),
        rounds: None,
        children: Vec::new(),
    };
    if let Some(path) = &args.report {
        report.write(path).context("writing the report")?;
    }
    eprintln!(
        "shm-consumer: received {received} messages from shmid {shm_id}, checksum {}",
        report.checksum.as_deref().unwrap_or("-")
    );
    Ok(())
}
