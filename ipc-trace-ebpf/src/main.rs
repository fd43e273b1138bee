//! The eBPF programs of ipc-trace. Every record is an
//! `ipc_trace_common::RawEvent` sent to the `EVENTS` ring buffer.
//!
//! Programs (names are the ELF symbols userspace loads by):
//! - tracepoints: `sys_enter`, `sys_exit` (eight syscalls each),
//!   `page_fault_user`, `sched_switch`, `sched_waking`,
//!   `sched_process_fork`, `task_newtask`, `sched_process_exec`,
//!   `sched_process_exit`;
//! - kernel functions, as `kprobe_F` + `kretprobe_F` and `fentry_F` +
//!   `fexit_F`: newseg, do_shmat, shm_fault, shmem_fault, newary,
//!   do_semtimedop, do_semtimedop_inner (`__do_semtimedop`); entry only
//!   (`kprobe_F`, `fentry_F`): shm_destroy, shm_close, freeary, and the
//!   step probes shm_more_checks, sem_more_checks,
//!   shmem_kernel_file_setup, shm_mmap (`step_probes`).
#![no_std]
#![no_main]

mod diag;
mod emit;
mod fault;
mod maps;
mod sched;
mod sem;
mod shm;
mod shm_programs;
mod shm_ranges;
mod stacks;
mod step_probes;
mod syscalls;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

// SAFETY: `LICENSE` is the only symbol of that name and the `license`
// section holds just this NUL-terminated string, as the loader expects.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
