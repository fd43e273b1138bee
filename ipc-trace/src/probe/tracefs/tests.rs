//! Tests on `format` text from real kernels, on a fake tracefs tree, and on
//! the host's tracefs.

use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// `sched_process_fork` on 6.18: comm fields became `__data_loc`.
const FORK_6_18: &str = "name: sched_process_fork
ID: 366
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;
\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", __get_str(parent_comm), REC->parent_pid, __get_str(child_comm), REC->child_pid
";

/// `sched_process_fork` up to 6.x: fixed `char[16]` comm fields.
const FORK_OLD: &str = "name: sched_process_fork
ID: 318
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:1;
\tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:1;
\tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid
";

/// `sched_process_exit` before `group_dead` existed.
const EXIT_OLD: &str = "name: sched_process_exit
ID: 320
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d prio=%d\", REC->comm, REC->pid, REC->prio
";

/// `sched_process_exit` on 6.18.
const EXIT_NEW: &str = "name: sched_process_exit
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;
";

/// `sched_switch` with its `prev_state` moved, to see the file is obeyed.
const SWITCH_MOVED: &str = "name: sched_switch
format:
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:40;\tsize:8;\tsigned:1;
";

#[test]
fn parses_data_loc_and_array_fields() -> Result<(), TracefsError> {
    let fields = parse_format(FORK_6_18)?;
    assert_eq!(fields.len(), 8);
    assert_eq!(
        fields[4],
        FormatField {
            name: "parent_comm".into(),
            type_name: "__data_loc char[]".into(),
            offset: 8,
            size: 4,
            signed: false,
        }
    );
    assert_eq!(fields[7].name, "child_pid");
    assert_eq!(fields[7].offset, 20);
    assert!(fields[7].signed);

    let old = parse_format(FORK_OLD)?;
    assert_eq!(old[4].name, "parent_comm");
    assert_eq!(old[4].type_name, "char");
    assert_eq!(old[4].size, 16);
    assert_eq!(old[7].offset, 44);
    Ok(())
}

#[test]
fn rejects_malformed_field_lines() {
    let text = "format:\n\tfield:int common_pid;\tsize:4;\tsigned:1;\n";
    assert!(matches!(
        parse_format(text),
        Err(TracefsError::BadFormat(line)) if line.contains("common_pid")
    ));
    assert!(matches!(
        parse_format("\tfield:;\toffset:0;\tsize:4;\n"),
        Err(TracefsError::BadFormat(_))
    ));
}

/// A throw-away directory laid out like tracefs.
struct FakeTracefs(PathBuf);

impl FakeTracefs {
    fn new() -> std::io::Result<FakeTracefs> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ipc-trace-tracefs-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("events"))?;
        Ok(FakeTracefs(dir))
    }

    fn event(&self, category: &str, event: &str, format: &str) -> std::io::Result<()> {
        let dir = self.0.join("events").join(category).join(event);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("format"), format)
    }
}

impl Drop for FakeTracefs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `task:task_newtask` as 5.10–6.18 print it.
const NEWTASK: &str = "name: task_newtask
ID: 205
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;
\tfield:u64 clone_flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;

print fmt: \"pid=%d comm=%s clone_flags=%llx oom_score_adj=%hd\", REC->pid, REC->comm, REC->clone_flags, REC->oom_score_adj
";

/// `sched:sched_waking` as 5.10–6.18 print it.
const WAKING: &str = "name: sched_waking
ID: 371
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu
";

#[test]
fn reads_offsets_from_an_old_kernel_layout() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeTracefs::new()?;
    fake.event("sched", "sched_process_fork", FORK_OLD)?;
    fake.event("sched", "sched_process_exit", EXIT_OLD)?;
    fake.event("sched", "sched_switch", SWITCH_MOVED)?;
    fake.event("sched", "sched_waking", WAKING)?;
    fake.event("task", "task_newtask", NEWTASK)?;
    assert!(has_event(&fake.0, "sched", "sched_switch"));
    assert!(!has_event(&fake.0, "exceptions", "page_fault_user"));
    assert_eq!(
        field_offset(&fake.0, "sched", "sched_process_fork", "child_pid")?,
        44
    );
    assert!(matches!(
        field_offset(&fake.0, "sched", "sched_process_exit", "group_dead"),
        Err(TracefsError::NoField { field, .. }) if field == "group_dead"
    ));

    let (offsets, warnings) = tracepoint_offsets_checked(&fake.0);
    assert_eq!(offsets.switch_prev_state, 40);
    assert_eq!((offsets.newtask_pid, offsets.newtask_clone_flags), (8, 32));
    assert_eq!(offsets.fork_child_pid, 44);
    assert_eq!(offsets.exit_group_dead, 0);
    // page_fault_user is missing: defaults, with one warning per field.
    assert_eq!(
        offsets.fault_address,
        TracepointOffsets::DEFAULT.fault_address
    );
    assert_eq!(
        offsets.fault_error_code,
        TracepointOffsets::DEFAULT.fault_error_code
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.contains("page_fault_user")));
    Ok(())
}

#[test]
fn reads_offsets_from_the_6_18_layout() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakeTracefs::new()?;
    fake.event("sched", "sched_process_fork", FORK_6_18)?;
    fake.event("sched", "sched_process_exit", EXIT_NEW)?;
    fake.event("sched", "sched_waking", WAKING)?;
    let (offsets, warnings) = tracepoint_offsets_checked(&fake.0);
    assert_eq!(offsets.waking_pid, 24);
    // task_newtask is missing here: its defaults, one warning per field.
    assert_eq!(offsets.newtask_pid, TracepointOffsets::DEFAULT.newtask_pid);
    assert_eq!(offsets.fork_child_pid, 20);
    assert_eq!(offsets.exit_group_dead, 32);
    // sched_switch, page_fault_user and task_newtask are missing here.
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert_eq!(root_among(&[Path::new("/nonexistent"), &fake.0])?, fake.0);
    assert!(matches!(
        root_among(&[Path::new("/nonexistent")]),
        Err(TracefsError::NotMounted)
    ));
    Ok(())
}

/// The host's tracefs must be there (mounting it if needed, we are root)
/// and must describe every field the programs read.
#[test]
fn host_tracefs_has_every_field() -> Result<(), Box<dyn std::error::Error>> {
    let root = ensure_mounted()?;
    let (offsets, warnings) = tracepoint_offsets_checked(&root);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(offsets.fault_address, 8);
    assert!(offsets.fault_error_code > offsets.fault_address);
    let fork = event_format(&root, "sched", "sched_process_fork")?;
    let data_loc = fork.iter().any(|f| f.type_name.starts_with("__data_loc"));
    assert_eq!(offsets.fork_child_pid, if data_loc { 20 } else { 44 });
    for (category, event) in [
        ("syscalls", "sys_enter_shmget"),
        ("syscalls", "sys_exit_semtimedop"),
        ("sched", "sched_switch"),
        ("task", "task_newtask"),
    ] {
        assert!(has_event(&root, category, event), "{category}:{event}");
    }
    Ok(())
}

/// The `mount(2)` path, on a scratch directory so the system's tracefs is
/// left alone: afterwards the directory is a tracefs root.
#[test]
fn mounts_tracefs_on_an_empty_directory() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = FakeTracefs::new()?;
    let target = scratch.0.join("mnt");
    std::fs::create_dir(&target)?;
    mount_tracefs(&target)?;
    let found = root_among(&[&target]);
    let c_target = CString::new(target.as_os_str().as_encoded_bytes())?;
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::umount2(c_target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(rc, 0, "umount: {}", std::io::Error::last_os_error());
    assert_eq!(found?, target);
    assert!(matches!(
        mount_tracefs(&scratch.0.join("absent")),
        Err(TracefsError::Mount { .. })
    ));
    Ok(())
}
