//! Live test on the host kernel (needs root): an eBPF diagnostic reaches
//! the `log` crate. A semop whose sembuf pointer is bad (EFAULT) makes
//! `sys_enter`'s `bpf_probe_read_user` of the sembuf array fail; its debug
//! line must arrive, once.

use std::error::Error;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use ipc_trace::probe::attach::{AttachOptions, BackendChoice, Tracer};
use ipc_trace::probe::kernel_path::ProbeSet;
use ipc_trace::probe::{btf, tracefs};
use log::{LevelFilter, Log, Metadata, Record};

type TestResult = Result<(), Box<dyn Error + Send + Sync>>;

/// Keeps every record as "LEVEL target: message".
struct Capture(Mutex<Vec<String>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// The captured lines that mention the failed read of the first sembuf.
fn sembuf_lines() -> Vec<String> {
    let needle = "cannot read sembuf 0 of 1 (user memory)".to_string();
    CAPTURE
        .0
        .lock()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l.contains(&needle))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sembuf_read_is_logged_once() -> TestResult {
    log::set_logger(&CAPTURE)?;
    log::set_max_level(LevelFilter::Debug);

    let root = tracefs::ensure_mounted()?;
    let vmlinux = btf::Btf::from_file(Path::new("/sys/kernel/btf/vmlinux"))?;
    let (kernel_offsets, _missing) = btf::kernel_offsets(&vmlinux);
    let opts = AttachOptions {
        backend: BackendChoice::Tracepoint,
        ringbuf_bytes: 1 << 20,
        filter_tgids: true,
        kernel_offsets,
        tracepoint_offsets: tracefs::tracepoint_offsets(&root),
        excluded: ProbeSet::EMPTY,
        use_kernel_btf: true,
        ..AttachOptions::default()
    };
    let mut tracer = Tracer::load_and_attach(&opts)?;
    tracer.add_traced_tgid(std::process::id())?;

    // An address no process maps (the zero page's second word).
    let bad: usize = 8;
    // SAFETY: the kernel only reads `nsops` sembufs from `bad`, fails with
    // EFAULT and writes nothing.
    let rc = unsafe { libc::syscall(libc::SYS_semop, 0, bad as *mut libc::sembuf, 1) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert_eq!(
        (rc, errno),
        (-1, Some(libc::EFAULT)),
        "semop with a bad pointer"
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sembuf_lines().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything else that would arrive has had time to.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = sembuf_lines();
    assert_eq!(
        lines.len(),
        1,
        "one diagnostic for one failed read; captured: {:?}",
        CAPTURE.0.lock().map(|l| l.clone()).unwrap_or_default()
    );
    assert!(lines[0].starts_with("DEBUG "), "{}", lines[0]);
    drop(tracer);
    Ok(())
}
