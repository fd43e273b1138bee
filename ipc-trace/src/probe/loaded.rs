//! Which of ipc-trace's programs the kernel has loaded right now, from any
//! process: the proof that every exit path detached (used by `doctor
//! --loaded-programs` and the tests).

use super::kernel_path::KERNEL_PROBES;

/// Tracepoint programs of the object.
const TRACEPOINT_PROGRAMS: [&str; 11] = [
    "sys_enter_1",
    "sys_enter_3",
    "sys_enter_4",
    "sys_exit",
    "page_fault_user",
    "sched_switch",
    "sched_process_fork",
    "sched_process_exit",
    "sched_process_exec",
    "sched_waking",
    "task_newtask",
];

/// The kernel keeps at most 15 characters of a program's name.
const BPF_NAME_LEN: usize = 15;

/// Every program name of the object, as the kernel shows it (truncated).
pub fn program_names() -> Vec<String> {
    let mut names: Vec<String> = TRACEPOINT_PROGRAMS
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    for p in KERNEL_PROBES {
        for prefix in ["kprobe", "kretprobe", "fentry", "fexit"] {
            names.push(p.program(prefix));
        }
    }
    for n in &mut names {
        n.truncate(BPF_NAME_LEN);
    }
    names
}

/// How many programs with ipc-trace's names are loaded in the kernel.
pub fn count_loaded_programs() -> Result<usize, aya::programs::ProgramError> {
    let ours = program_names();
    let mut n = 0;
    for info in aya::programs::loaded_programs() {
        let info = info?;
        if info
            .name_as_str()
            .is_some_and(|name| ours.iter().any(|o| o == name))
        {
            n += 1;
        }
    }
    Ok(n)
}

/// Ids of every BPF program the kernel has loaded right now, from any
/// process (`BPF_PROG_GET_NEXT_ID`; no bpftool needed). A program unloaded
/// while the list is read is left out.
pub fn all_loaded_program_ids() -> Result<Vec<u32>, aya::programs::ProgramError> {
    use aya::programs::ProgramError;
    let mut ids = Vec::new();
    for info in aya::programs::loaded_programs() {
        match info {
            Ok(info) => ids.push(info.id()),
            Err(ProgramError::SyscallError(e))
                if e.io_error.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    ids.sort_unstable();
    Ok(ids)
}
