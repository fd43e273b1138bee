//! tracefs: where it is, mounting it when it is not, and reading the
//! `format` files that give the layout of tracepoint records (which moves
//! between kernel versions).

use ipc_trace_common::TracepointOffsets;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Where tracefs is mounted on current systems.
pub const TRACEFS_PATH: &str = "/sys/kernel/tracing";
/// Where older systems reach it, through debugfs.
pub const DEBUGFS_TRACING_PATH: &str = "/sys/kernel/debug/tracing";

/// What can go wrong finding tracefs or reading an event's format.
#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    /// tracefs is not mounted at any known place.
    #[error(
        "tracefs is not mounted (looked for an `events` directory in {TRACEFS_PATH} and \
         {DEBUGFS_TRACING_PATH}); mount it with `mount -t tracefs nodev {TRACEFS_PATH}`"
    )]
    NotMounted,
    /// tracefs is mounted but this process may not look inside it (on most
    /// systems it is mode 0700, owned by root).
    #[error(
        "cannot read tracefs at {path}: {source} (a user other than its owner needs \
         CAP_DAC_READ_SEARCH)"
    )]
    Unreadable {
        /// The tracefs root.
        path: PathBuf,
        /// What the kernel said (EACCES).
        source: std::io::Error,
    },
    /// Mounting tracefs failed.
    #[error("cannot mount tracefs at {path}: {source} (mounting needs root or CAP_SYS_ADMIN)")]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// What `mount(2)` said.
        source: std::io::Error,
    },
    /// An event's `format` file could not be read (usually: no such event).
    #[error("cannot read tracepoint format {path}: {source}")]
    Io {
        /// The `format` file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `field:` line that does not have the expected shape.
    #[error("malformed field line in tracepoint format: `{0}`")]
    BadFormat(String),
    /// The event exists but has no such field.
    #[error("tracepoint {category}:{event} has no field `{field}`")]
    NoField {
        /// Event category (e.g. `sched`).
        category: String,
        /// Event name.
        event: String,
        /// The field asked for.
        field: String,
    },
}

/// One field of a tracepoint record, as a `format` file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatField {
    /// Field name, without any array suffix (`prev_comm`, not `prev_comm[16]`).
    pub name: String,
    /// The C declaration's type part (`pid_t`, `__data_loc char[]`, `char`).
    pub type_name: String,
    /// Byte offset inside the record.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// True for signed integer fields.
    pub signed: bool,
}

/// The tracefs directory that has an `events` directory, checking
/// [`TRACEFS_PATH`] first, then [`DEBUGFS_TRACING_PATH`].
pub fn tracefs_root() -> Result<PathBuf, TracefsError> {
    root_among(&[Path::new(TRACEFS_PATH), Path::new(DEBUGFS_TRACING_PATH)])
}

/// The first candidate with an `events` directory. A candidate this
/// process may not search (EACCES) is [`TracefsError::Unreadable`] when no
/// later one is found: it is there, and mounting again would not help.
fn root_among(candidates: &[&Path]) -> Result<PathBuf, TracefsError> {
    let mut unreadable = None;
    for c in candidates {
        match std::fs::metadata(c.join("events")) {
            Ok(meta) if meta.is_dir() => return Ok(c.to_path_buf()),
            Err(source) if source.kind() == std::io::ErrorKind::PermissionDenied => {
                unreadable.get_or_insert(TracefsError::Unreadable {
                    path: c.to_path_buf(),
                    source,
                });
            }
            _ => {}
        }
    }
    Err(unreadable.unwrap_or(TracefsError::NotMounted))
}

/// True unless tracefs is mounted where this process could not read it
/// by its uid and groups alone (no capability): each directory down to a
/// syscall tracepoint's `id` file (what the loader opens) must be
/// searchable and the file readable by mode bits. What cannot be found is
/// not a permission matter and counts as readable.
pub fn readable() -> bool {
    let root = match tracefs_root() {
        Ok(root) => root,
        Err(TracefsError::Unreadable { .. }) => return false,
        Err(_) => return true,
    };
    let mut path = root;
    let mut steps = vec![(path.clone(), 0o1)];
    for part in ["events", "syscalls", "sys_enter_semop"] {
        path.push(part);
        steps.push((path.clone(), 0o1));
    }
    steps.push((path.join("id"), 0o4));
    steps
        .into_iter()
        .all(|(path, want)| match std::fs::metadata(&path) {
            Ok(meta) => mode_allows(&meta, want),
            Err(e) => e.kind() != std::io::ErrorKind::PermissionDenied,
        })
}

/// True when the mode bits give this process `want` (4 read, 1 search)
/// by owner, group or other, as the kernel decides without capabilities.
fn mode_allows(meta: &std::fs::Metadata, want: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let mode = meta.mode();
    let class = if meta.uid() == uid {
        mode >> 6
    } else if meta.gid() == gid || in_groups(meta.gid()) {
        mode >> 3
    } else {
        mode
    };
    class & want == want
}

/// True when `gid` is one of this process's supplementary groups.
fn in_groups(gid: libc::gid_t) -> bool {
    let mut groups = [0 as libc::gid_t; 256];
    // SAFETY: the buffer holds 256 entries and its length is passed.
    let n = unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) };
    usize::try_from(n).is_ok_and(|n| groups[..n.min(groups.len())].contains(&gid))
}

/// The tracefs root, mounting tracefs at [`TRACEFS_PATH`] first when it is
/// not mounted anywhere.
pub fn ensure_mounted() -> Result<PathBuf, TracefsError> {
    match tracefs_root() {
        Ok(root) => return Ok(root),
        Err(e @ TracefsError::Unreadable { .. }) => return Err(e),
        Err(_) => {}
    }
    let target = PathBuf::from(TRACEFS_PATH);
    mount_tracefs(&target)?;
    root_among(&[&target])
}

/// `mount -t tracefs nodev <target>`.
fn mount_tracefs(target: &Path) -> Result<(), TracefsError> {
    let fail = |source| TracefsError::Mount {
        path: target.to_path_buf(),
        source,
    };
    let c_target = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: every pointer is a valid NUL-terminated string that outlives
    // the call; tracefs takes no mount data.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            c_target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(fail(std::io::Error::last_os_error()))
    }
}

/// Path of an event's `format` file.
fn format_path(root: &Path, category: &str, event: &str) -> PathBuf {
    root.join("events")
        .join(category)
        .join(event)
        .join("format")
}

/// True when the tracepoint `category:event` exists.
pub fn has_event(root: &Path, category: &str, event: &str) -> bool {
    format_path(root, category, event).is_file()
}

/// Reads and parses the `format` file of `category:event`.
pub fn event_format(
    root: &Path,
    category: &str,
    event: &str,
) -> Result<Vec<FormatField>, TracefsError> {
    let path = format_path(root, category, event);
    let text = std::fs::read_to_string(&path).map_err(|source| TracefsError::Io {
        path: path.clone(),
        source,
    })?;
    parse_format(&text)
}

/// Byte offset of `field` in the records of `category:event`.
pub fn field_offset(
    root: &Path,
    category: &str,
    event: &str,
    field: &str,
) -> Result<u32, TracefsError> {
    event_format(root, category, event)?
        .into_iter()
        .find(|f| f.name == field)
        .map(|f| f.offset)
        .ok_or_else(|| TracefsError::NoField {
            category: category.to_string(),
            event: event.to_string(),
            field: field.to_string(),
        })
}

/// Parses the `field:` lines of a tracefs `format` file, e.g.
/// `field:char prev_comm[16]; offset:8; size:16; signed:0;`.
pub fn parse_format(text: &str) -> Result<Vec<FormatField>, TracefsError> {
    text.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("field:"))
        .map(parse_field_line)
        .collect()
}

fn parse_field_line(line: &str) -> Result<FormatField, TracefsError> {
    let bad = || TracefsError::BadFormat(line.to_string());
    let mut declaration = None;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for part in line.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(bad)?;
        match key.trim() {
            "field" => declaration = Some(value.trim()),
            "offset" => offset = value.trim().parse::<u32>().ok(),
            "size" => size = value.trim().parse::<u32>().ok(),
            "signed" => signed = value.trim() == "1",
            _ => {}
        }
    }
    let declaration = declaration.ok_or_else(bad)?;
    let (type_name, last) = declaration
        .rsplit_once(char::is_whitespace)
        .ok_or_else(bad)?;
    let name = last.split('[').next().unwrap_or(last);
    if name.is_empty() {
        return Err(bad());
    }
    Ok(FormatField {
        name: name.to_string(),
        type_name: type_name.trim().to_string(),
        offset: offset.ok_or_else(bad)?,
        size: size.ok_or_else(bad)?,
        signed,
    })
}

/// Reads the tracepoint record offsets the programs need from tracefs.
/// A field that cannot be read falls back to
/// [`TracepointOffsets::DEFAULT`], with a warning in the second value;
/// `sched_process_exit.group_dead` is 0 when the kernel does not have it
/// (older kernels), which is not a warning.
pub fn tracepoint_offsets_checked(root: &Path) -> (TracepointOffsets, Vec<String>) {
    let defaults = TracepointOffsets::DEFAULT;
    let mut warnings = Vec::new();
    let mut read = |category: &str, event: &str, field: &str, default: u32| {
        field_offset(root, category, event, field).unwrap_or_else(|err| {
            warnings.push(format!("{err}; using offset {default}"));
            default
        })
    };
    let switch_prev_state = read(
        "sched",
        "sched_switch",
        "prev_state",
        defaults.switch_prev_state,
    );
    let fork_child_pid = read(
        "sched",
        "sched_process_fork",
        "child_pid",
        defaults.fork_child_pid,
    );
    let fault_address = read(
        "exceptions",
        "page_fault_user",
        "address",
        defaults.fault_address,
    );
    let fault_error_code = read(
        "exceptions",
        "page_fault_user",
        "error_code",
        defaults.fault_error_code,
    );
    let waking_pid = read("sched", "sched_waking", "pid", defaults.waking_pid);
    let newtask_pid = read("task", "task_newtask", "pid", defaults.newtask_pid);
    let newtask_clone_flags = read(
        "task",
        "task_newtask",
        "clone_flags",
        defaults.newtask_clone_flags,
    );
    let exit_group_dead = match field_offset(root, "sched", "sched_process_exit", "group_dead") {
        Ok(offset) => offset,
        Err(TracefsError::NoField { .. }) => 0,
        Err(err) => {
            warnings.push(format!("{err}; treating group_dead as absent"));
            0
        }
    };
    let offsets = TracepointOffsets {
        switch_prev_state,
        fork_child_pid,
        exit_group_dead,
        fault_address,
        fault_error_code,
        waking_pid,
        newtask_pid,
        newtask_clone_flags,
    };
    (offsets, warnings)
}

/// [`tracepoint_offsets_checked`], logging its warnings.
pub fn tracepoint_offsets(root: &Path) -> TracepointOffsets {
    let (offsets, warnings) = tracepoint_offsets_checked(root);
    for warning in warnings {
        log::warn!("{warning}");
    }
    offsets
}

#[cfg(test)]
mod tests;
