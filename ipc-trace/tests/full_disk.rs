//! A recording into a full disk (needs root: it mounts a 64 KiB tmpfs on a
//! scratch directory and unmounts it after). The traced command (this test
//! binary re-run as a semop loop) must run to its end; `record` must exit 1
//! with one line naming the file and "No space left on device"; the file
//! that was at the path must be untouched, and what reached the disk must
//! be kept as `PATH.partial` and read line by line up to its end, where the
//! reader reports the missing stats line.

use ipc_trace::recording::{ReadError, ReadOptions, RecordingReader};
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// semops the traced command makes: far more lines than 64 KiB hold.
const OPS: u32 = 5000;
/// Where the re-run test binary writes that it finished (outside the tmpfs).
const MARKER_ENV: &str = "IPC_TRACE_FULL_DISK_MARKER";

/// A tmpfs mounted on a scratch directory for as long as it lives.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(bytes: u32) -> Result<SmallDisk, Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("ipc-trace-full-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .status()?;
        if !status.success() {
            return Err(format!("mount -t tmpfs on {} failed: {status}", dir.display()).into());
        }
        Ok(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Not a test of its own: the traced command. Makes `OPS` semops on a
/// private set, removes it and writes `done N` to the marker file.
#[test]
#[ignore = "run by the full-disk test as its traced command"]
fn traced_command() -> TestResult {
    let Some(marker) = std::env::var_os(MARKER_ENV) else {
        return Ok(());
    };
    // SAFETY: plain System V calls on a private set this process owns;
    // `ops` lives across each semop call.
    unsafe {
        let id = libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600);
        assert!(id >= 0, "semget: {}", std::io::Error::last_os_error());
        for i in 0..OPS {
            let mut op = libc::sembuf {
                sem_num: 0,
                sem_op: if i % 2 == 0 { 1 } else { -1 },
                sem_flg: 0,
            };
            assert_eq!(libc::semop(id, &mut op, 1), 0);
        }
        libc::semctl(id, 0, libc::IPC_RMID);
    }
    std::fs::write(marker, format!("done {OPS}"))?;
    Ok(())
}

fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

#[test]
fn a_full_disk_stops_the_recording_not_the_command() -> TestResult {
    let disk = SmallDisk::mount(64 * 1024)?;
    let file = disk.0.join("r.ndjson");
    std::fs::write(&file, "previous\n")?;
    let marker =
        std::env::temp_dir().join(format!("ipc-trace-full-disk-done-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
        .args(["record", "--no-selftest", "-o"])
        .arg(&file)
        .arg("--")
        .arg(std::env::current_exe()?)
        .args(["--exact", "traced_command", "--ignored", "--quiet"])
        .env(MARKER_ENV, &marker)
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // One clear line, naming the file and the OS error, and the partial file.
    let full: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("No space left on device"))
        .collect();
    assert_eq!(full.len(), 1, "{err}");
    let partial = PathBuf::from(format!("{}.partial", file.display()));
    assert!(
        full[0].starts_with(&format!(
            "ipc-trace: cannot write {}: No space left on device; recording stopped",
            file.display()
        )),
        "{err}"
    );
    assert!(
        full[0].contains(&format!("kept in {}", partial.display())),
        "{err}"
    );
    assert!(
        full[0].contains("the traced command ran to its end (exit status 0)"),
        "{err}"
    );
    // The command was not harmed.
    assert_eq!(std::fs::read_to_string(&marker)?, format!("done {OPS}"));
    std::fs::remove_file(&marker)?;
    // The previous file is intact; no temporary file is left.
    assert_eq!(std::fs::read_to_string(&file)?, "previous\n");
    assert_eq!(entries(&disk.0)?, ["r.ndjson", "r.ndjson.partial"]);
    // The partial file reads line by line to its end; only the stats line is missing.
    let text = std::fs::read(&partial)?;
    assert_eq!(text.last(), Some(&b'\n'), "cut inside a line");
    let lines = text.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut reader = RecordingReader::open(&partial, ReadOptions::default())?;
    let mut events = 0u64;
    let mut last = None;
    for ev in reader.events() {
        match ev {
            Ok(_) => events += 1,
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    assert!(events > 100, "only {events} events kept");
    match last {
        Some(ReadError::NoStats { line }) => assert_eq!(line, lines + 1),
        other => panic!("expected the missing stats line after {lines} lines, got {other:?}"),
    }
    assert_eq!(events + 1, lines, "header + events");
    Ok(())
}
