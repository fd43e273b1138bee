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
    let address: u64 = unsafe { ctx.read_at(tpoff!(fault_address)) }.ok()?;
    // SAFETY: a map value; a concurrent shmdt can only clear a slot.
    let ranges = unsafe { &*ranges };
    for i in 0..MAX_RANGES {
        let slot = ranges.ranges[i];
        if slot.end != 0 && slot.start <= address && address < slot.end {
            if !traced(id) {
                return None;
            }
            let error_code: u64 = unsafe { ctx.read_at(tpoff!(fault_error_code)) }.unwrap_or(0);
            let ev = begin(
                raw_kind::PAGE_FAULT_USER,
                probe::PAGE_FAULT_USER,
                backend::TRACEPOINT,
            )?;
            ev.args[0] = slot.id as u64;
            ev.args[1] = address;
            ev.args[2] = error_code;
            ev.args[3] = slot.start;
            ev.args[4] = slot.end;
            submit(ev);
            return Some(());
        }
    }
    None
}
