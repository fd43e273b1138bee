//! shm-producer: creates a System V segment and a one-semaphore mutex set
//! (keys from `ftok`), writes `--messages` messages through the segment
//! under the mutex, waits until the consumer took the final "end" message
//! and detached, then detaches and removes both objects.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::cleanup::Cleanup;
use demos::keyfile::{self, CreateError, DEFAULT_KEY_PATH, SEM_PROJ, SHM_PROJ};
use demos::message::{Checksum, END_TEXT, RECORD_SIZE, TEXT_SIZE, message_text, put_text};
use demos::report::{DemoReport, Role, SemReport, ShmReport};
use demos::segment::Segment;
use demos::semset::SemSet;
use demos::stages::StageArg;
use demos::{sysv, wait};
use ipc_trace::event::SEM_UNDO;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "Write messages through a System V segment guarded by a semaphore")]
struct Args {
    /// File the IPC keys are derived from (ftok); created when missing.
    #[arg(long, default_value = DEFAULT_KEY_PATH)]
    path: PathBuf,
    /// Segment size in bytes (516 = the textbook record).
    #[arg(long, default_value_t = RECORD_SIZE)]
    size: usize,
    /// Data messages to send (an "end" message follows).
    #[arg(long, default_value_t = 10)]
    messages: u64,
    /// Pause between tries, in milliseconds.
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// How long the mutex is held while writing, in milliseconds.
    #[arg(long, default_value_t = 5)]
    hold_ms: u64,
    /// Give up after this many seconds without progress.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Segment and set permissions (octal).
    #[arg(long, default_value = "666", value_parser = parse_octal)]
    perms: i32,
    /// Write a JSON report of what was done to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    stage: StageArg,
}

fn parse_octal(s: &str) -> Result<i32, String> {
    i32::from_str_radix(s, 8).map_err(|e| format!("not an octal mode: {e}"))
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
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | args.perms;
    let mut cleanup = Cleanup::default();
    let mut stages = args.stage.open()?;

    // SHM-1/SHM-3: create the segment.
    let shm_id = sysv::shmget(shm_key, args.size, flags)
        .map_err(|e| CreateError::new(e, "segment", "-M", shm_key))?;
    cleanup.segment(shm_id);
    stages.point("created")?;
    // SHM-5: attach; SHM-10..12: first touch of every page.
    let mut seg = Segment::attach(shm_id, args.size)?;
    stages.point("attached")?;
    let pages_touched = seg.touch_pages_write();
    stages.point("touched")?;
    seg.set_written(false);

    // SEM-1/SEM-3: create the mutex set; SEM-4: initialise it to 1.
    let sem_id = sysv::semget(sem_key, 1, flags)
        .map_err(|e| CreateError::new(e, "semaphore set", "-S", sem_key))?;
    cleanup.set(sem_id);
    let setall = vec![1u16];
    sysv::sem_setall(sem_id, &setall)?;
    let mut mutex = SemSet::new(sem_id, SEM_UNDO);

    let timeout = Duration::from_secs(args.timeout_s);
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let mut checksum = Checksum::default();
    let texts = (0..args.messages)
        .map(|seq| (message_text(seq), true))
        .chain(std::iter::once((END_TEXT.to_string(), false)));
    for (text, is_data) in texts {
        let mut record = [0u8; TEXT_SIZE];
        put_text(&mut record, &text);
        let sent = wait::poll(timeout, interval, || -> Result<Option<()>> {
            mutex.p(0)?;
            let free = !seg.written();
            if free {
                seg.set_text(record);
                seg.set_written(true);
                wait::sleep_ms(args.hold_ms);
            }
            mutex.v(0)?;
            Ok(free.then_some(()))
        })?;
        if sent.is_none() {
            bail!(
                "timed out after {}s: the consumer did not take the previous message",
                args.timeout_s
            );
        }
        if is_data {
            checksum.add(&text);
        }
    }
    // Wait until the consumer took the end message and detached.
    let taken = wait::poll(timeout, interval, || -> Result<Option<()>> {
        mutex.p(0)?;
        let free = !seg.written();
        mutex.v(0)?;
        Ok(free.then_some(()))
    })?;
    if taken.is_none() {
        bail!(
            "timed out after {}s: the consumer did not take the end message",
            args.timeout_s
        );
    }
    let alone = wait::poll(timeout, interval, || {
        sysv::shm_nattch(shm_id).map(|n| (n <= 1).then_some(()))
    })?;
    if alone.is_none() {
        bail!(
            "timed out after {}s: the consumer did not detach",
            args.timeout_s
        );
    }

    let addr = seg.addr();
    seg.detach()?;
    sysv::shm_remove(shm_id)?;
    sysv::sem_remove(sem_id)?;
    cleanup.disarm();

    let report = DemoReport {
        program: "shm-producer".into(),
        role: Role::Producer,
        pid: std::process::id(),
        key_path: args.path.display().to_string(),
        page_size: sysv::page_size() as u64,
        shm: Some(ShmReport {
            key: shm_key,
            id: shm_id,
            size: args.size as u64,
            get_flags: flags,
            created: true,
            addr,
            pages_touched,
            detached: true,
            removed: true,
        }),
        sem: Some(SemReport {
            key: sem_key,
            id: sem_id,
            nsems: 1,
            get_called: true,
            get_flags: flags,
            created: true,
            setall: Some(setall),
            semops: mutex.calls,
            blocking_semops: mutex.blocking,
            removed: true,
        }),
        messages_sent: args.messages,
        messages_received: 0,
        checksum: Some(checksum.hex()),
        rounds: None,
        children: Vec::new(),
    };
    if let Some(path) = &args.report {
        report.write(path).context("writing the report")?;
    }
    eprintln!(
        "shm-producer: sent {} messages through shmid {shm_id} (key {}), semid {sem_id} (key {}), checksum {}",
        args.messages,
        keyfile::key_hex(shm_key),
        keyfile::key_hex(sem_key),
        report.checksum.as_deref().unwrap_or("-")
    );
    Ok(())
}
