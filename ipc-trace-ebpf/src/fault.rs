//! `exceptions:page_fault_user` filtered in the kernel to the shm ranges a
//! process attached (the page-fault view when `shm_fault` cannot be
//! probed).

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use ipc_trace_common::{MAX_RANGES, backend, probe, raw_kind};

use crate::{
    emit::{begin, pid_tgid, submit, tgid_of, traced},
    maps::{SHM_RANGES, tpoff},
};

#[tracepoint]
pub fn page_fault_user(ctx: TracePointContext) -> u32 {
    on_fault(&ctx);
    0
}

#[inline(always)]
fn on_fault(ctx: &TracePointContext) -> Option<()> {
    let id = pid_tgid();
    let ranges = SHM_RANGES.get_ptr(tgid_of(id))?;
    // SAFETY: `ctx` is the `exceptions:page_fault_user` record the kernel
    // passes; the offset comes from tracefs's format file and
    // `bpf_probe_read_kernel` (behind `read_at`) checks the read.
    let address: u64 = unsafe { ctx.read_at(tpoff!(fault_address)) }.ok()?;
    for i in 0..MAX_RANGES {
        // SAFETY: `ranges` is the non-null value pointer the lookup
        // returned, and the verifier bounds the read to the value (i <
        // MAX_RANGES). Read by value through the raw pointer, never as a
        // reference: another thread of this tgid may set or clear a slot on
        // another CPU meanwhile, and a torn slot at worst decides one fault
        // wrongly.
        let (start, end) = unsafe {
            let slot = &raw const (*ranges).ranges[i];
            (
                core::ptr::read_volatile(&raw const (*slot).start),
                core::ptr::read_volatile(&raw const (*slot).end),
            )
        };
        if end != 0 && start <= address && address < end {
            if !traced(id) {
                return None;
            }
            // SAFETY: as the `address` read.
            let error_code: u64 = unsafe { ctx.read_at(tpoff!(fault_error_code)) }.unwrap_or(0);
            let ev = begin(
                raw_kind::PAGE_FAULT_USER,
                probe::PAGE_FAULT_USER,
                backend::TRACEPOINT,
            )?;
            // SAFETY: as the slot's `start` and `end` above.
            let shmid = unsafe { core::ptr::read_volatile(&raw const (*ranges).ranges[i].id) };
            ev.args[0] = shmid as u64;
            ev.args[1] = address;
            ev.args[2] = error_code;
            ev.args[3] = start;
            ev.args[4] = end;
            submit(ev);
            return Some(());
        }
    }
    None
}
