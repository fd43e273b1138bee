//! Attaching the tracepoint programs: the syscall pairs, the sched events
//! and `exceptions:page_fault_user`. A tracepoint that cannot be attached
//! marks its row skipped with the reason.

use std::path::Path;

use aya::{
    Ebpf,
    programs::{ProgramError, TracePoint},
};
use ipc_trace_common::probe as ids;

use super::{AttachStepError, Tracer, program};
use crate::event::Backend;
use crate::probe::kernel_path::SYSCALLS;

/// The tracepoint programs and where each is attached: (program, category,
/// event, probe id or None for a helper without its own row).
const SCHED_TRACEPOINTS: [(&str, &str, &str, Option<u8>); 6] = [
    (
        "sched_switch",
        "sched",
        "sched_switch",
        Some(ids::SCHED_SWITCH),
    ),
    (
        "sched_process_fork",
        "sched",
        "sched_process_fork",
        Some(ids::SCHED_FORK),
    ),
    (
        "sched_process_exit",
        "sched",
        "sched_process_exit",
        Some(ids::SCHED_EXIT),
    ),
    (
        "sched_process_exec",
        "sched",
        "sched_process_exec",
        Some(ids::SCHED_EXEC),
    ),
    (
        "task_newtask",
        "task",
        "task_newtask",
        Some(ids::TASK_NEWTASK),
    ),
    ("sched_waking", "sched", "sched_waking", None),
];

impl Tracer {
    /// The enter program of its argument count and `sys_exit` on each of
    /// the eight syscalls; a syscall's row is attached only when both
    /// halves are.
    pub(super) fn attach_syscalls(&mut self) {
        let exit_loaded = load_tracepoint(&mut self.ebpf, "sys_exit").map_err(|e| e.to_string());
        for (id, name) in SYSCALLS {
            let result = exit_loaded.clone().and_then(|()| {
                self.attach_syscall_pair(ids::syscall_enter_program(id), name)
                    .map_err(|e| e.to_string())
            });
            match result {
                Ok(()) => self.set_attached(id, Backend::Tracepoint),
                Err(reason) => self.set_skipped(id, reason),
            }
        }
    }

    /// Both halves of one syscall, or neither; loads `enter_prog` first
    /// (once).
    fn attach_syscall_pair(&mut self, enter_prog: &str, name: &str) -> Result<(), AttachStepError> {
        let enter_event = format!("sys_enter_{name}");
        let exit_event = format!("sys_exit_{name}");
        load_tracepoint(&mut self.ebpf, enter_prog)?;
        let enter = program::<TracePoint>(&mut self.ebpf, enter_prog)?;
        let link = enter
            .attach("syscalls", &enter_event)
            .map_err(|e| attach_error("syscalls", &enter_event, e))?;
        let exit = program::<TracePoint>(&mut self.ebpf, "sys_exit")?;
        if let Err(e) = exit.attach("syscalls", &exit_event) {
            if let Ok(enter) = program::<TracePoint>(&mut self.ebpf, enter_prog) {
                let _ = enter.detach(link);
            }
            return Err(attach_error("syscalls", &exit_event, e));
        }
        Ok(())
    }

    pub(super) fn attach_sched(&mut self) {
        for (prog, category, event, id) in SCHED_TRACEPOINTS {
            match (id, self.attach_tracepoint(prog, category, event)) {
                (Some(id), Ok(())) => self.set_attached(id, Backend::Tracepoint),
                (Some(id), Err(e)) => self.set_skipped(id, e.to_string()),
                (None, Ok(())) => {}
                (None, Err(e)) => log::warn!("{prog}: {e}"),
            }
        }
    }

    /// `exceptions:page_fault_user`, only when `shm_fault` has no
    /// kernel-path backend (it would report the same faults twice).
    pub(super) fn attach_page_fault(&mut self) {
        if let Some(backend) = self.table.backend(ids::SHM_FAULT) {
            let reason = format!("not needed: shm_fault is attached ({})", backend.as_str());
            self.set_skipped(ids::PAGE_FAULT_USER, reason);
            return;
        }
        match self.attach_tracepoint("page_fault_user", "exceptions", "page_fault_user") {
            Ok(()) => self.set_attached(ids::PAGE_FAULT_USER, Backend::Tracepoint),
            Err(e) => self.set_skipped(ids::PAGE_FAULT_USER, e.to_string()),
        }
    }

    /// Loads program `prog` (once) and attaches it to `category:event`.
    fn attach_tracepoint(
        &mut self,
        prog: &str,
        category: &str,
        event: &str,
    ) -> Result<(), AttachStepError> {
        load_tracepoint(&mut self.ebpf, prog)?;
        program::<TracePoint>(&mut self.ebpf, prog)?
            .attach(category, event)
            .map(|_| ())
            .map_err(|e| attach_error(category, event, e))
    }
}

/// Loads a tracepoint program (once).
fn load_tracepoint(ebpf: &mut Ebpf, name: &str) -> Result<(), AttachStepError> {
    let tp = program::<TracePoint>(ebpf, name)?;
    if tp.fd().is_ok() {
        return Ok(());
    }
    tp.load().map_err(AttachStepError::Load)
}

/// A failed attach, or the usual fix when tracefs is not mounted.
fn attach_error(category: &str, event: &str, source: ProgramError) -> AttachStepError {
    let mounted = Path::new("/sys/kernel/tracing/events").exists()
        || Path::new("/sys/kernel/debug/tracing/events").exists();
    if !mounted {
        return AttachStepError::NoTracefs;
    }
    AttachStepError::Attach {
        event: format!("{category}:{event}"),
        source,
    }
}
