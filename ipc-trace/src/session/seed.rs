//! Seeding a session with the objects that exist before it starts.

use super::filter::LiveFilter;
use super::live::own_ipc_ns;
use crate::decode::Decoder;
use crate::probe::attach::Tracer;
use crate::sysvipc;

/// Objects that exist already: their sizes go to the kernel (so faults in
/// their attached ranges are seen on the tracepoint path), and the decoder
/// learns them so that finding them is not taken for creating them.
pub(super) fn seed_existing(tracer: &mut Tracer, decoder: &mut Decoder, filter: &mut LiveFilter) {
    let ns = own_ipc_ns();
    if let Ok(segs) = sysvipc::read_shm(std::path::Path::new("/proc/sysvipc/shm")) {
        for s in segs {
            let _ = tracer.seed_shm_size(ns, s.shmid as u32, s.size);
            decoder.seed_segment(ns, s.shmid, s.key, s.size, s.nattch as u32);
            filter.learn(ns, true, s.shmid, s.key);
        }
    }
    if let Ok(sets) = sysvipc::read_sem(std::path::Path::new("/proc/sysvipc/sem")) {
        for s in sets {
            decoder.seed_semset(ns, s.semid, s.key, s.nsems);
            filter.learn(ns, false, s.semid, s.key);
        }
    }
}
