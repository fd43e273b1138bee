//! What the kernel does at each moment, in two or three plain sentences a
//! student can read off a projector (from docs/STEPS.md and the kernel's
//! ipc/shm.c, ipc/sem.c, mm/shmem.c).

use super::moment::Moment;
use crate::model::Step;

/// The explanation of `m`.
pub fn explain(m: Moment) -> &'static str {
    match m {
        Moment::Step(s) => explain_step(s),
        Moment::Detach => {
            "The vma that mapped the segment is unmapped and shm_close drops one attach \
             (nattch). shmdt does it explicitly; munmap and process exit do the same to \
             every mapping left. The segment itself lives on."
        }
        Moment::RemovalRequested => {
            "IPC_RMID does not free a segment that is still attached: it marks it \
             SHM_DEST and hides its key (ipcs shows the key as 0x00000000 and status \
             dest). New shmget calls with the key no longer find it."
        }
        Moment::SegmentFreed => {
            "shm_destroy runs when a segment is both marked for removal and attached by \
             nobody: at the IPC_RMID itself if no one had it attached, or at the last \
             detach. It releases the shmem file, and with it every page in the page cache."
        }
        Moment::SetRemoved => {
            "Unlike a segment, a semaphore set is freed at once by IPC_RMID: freeary wakes \
             every waiter with EIDRM, drops the undo entries of every process for this \
             set and frees the sem_array."
        }
        Moment::UndoAtExit => {
            "At exit, exit_sem walks the process's undo list and applies each adjustment \
             still recorded, so a process that dies holding a SEM_UNDO semaphore gives it \
             back. If the set was removed first, freeary already dropped the entries and \
             there is nothing to apply."
        }
        Moment::Orphaned => {
            "A System V segment outlives its creator: nobody has it attached, nobody \
             asked for IPC_RMID, so the kernel keeps it and its pages until `ipcrm -m ID` \
             or a reboot. `ipcs -m` shows it with nattch 0; shm_rmid_forced=1 \
             (kernel.shm_rmid_forced) would have removed it at the exit."
        }
        Moment::Deadlock => {
            "Each process holds one semaphore and sleeps in a P on the one the other \
             holds: neither V can ever come. The kernel does not detect this for System V \
             semaphores; the tool derives the cycle from who took what (P without V) and \
             who waited for what."
        }
        Moment::TimedOut => {
            "semtimedop's timeout ran out while the caller was queued: the kernel dequeued \
             its sem_queue and returned EAGAIN with nothing changed. A timeout is the only \
             way out of such a cycle short of killing a process (with SEM_UNDO, its exit \
             gives its semaphore back)."
        }
    }
}

fn explain_step(s: Step) -> &'static str {
    match s {
        Step::SHM1 => {
            "The process asks for a segment by key and size. shmget goes through ipcget, \
             which either finds the key or, with IPC_CREAT, creates a new segment."
        }
        Step::SHM2 => {
            "ipc_findkey looks the key up in the IPC namespace's table of segments. It is \
             there (another process created it), so the caller gets the existing id; \
             nothing is allocated."
        }
        Step::SHM3 => {
            "The key was new and IPC_CREAT was given, so newseg allocates a shmid_kernel \
             and ipc_addid inserts it into the idr, which hands out the id."
        }
        Step::SHM4 => {
            "newseg creates a file in the internal shmem (tmpfs) mount, file1, sized to \
             the segment. No page of memory exists yet: the file is empty."
        }
        Step::SHM5 => {
            "shmat asks to map the segment into the caller's address space; do_shmat does \
             the work and returns the address."
        }
        Step::SHM6 => {
            "do_shmat looks the id up (shm_obtain_object_check), checks the caller's \
             permissions and counts one more attach (shm_nattch)."
        }
        Step::SHM7 => {
            "A second struct file, file2, and a shm_file_data are made for this mapping; \
             they point back at file1 and the segment."
        }
        Step::SHM8 => {
            "do_mmap creates the vm_area_struct for file2 and calls file2's mmap. This is \
             the same path as mmap of a file."
        }
        Step::SHM9 => {
            "file2's mmap, shm_mmap, calls shmem_mmap on file1, which sets the vm_ops: the \
             fault handler the next step will use. Still no memory is allocated."
        }
        Step::SHM10 => {
            "The first touch of a page the process has never mapped raises a page fault. \
             Each process faults each page once: its own page table has no entry until then."
        }
        Step::SHM11 => {
            "The fault handler of the vma, shm_fault, passes the fault on to the shmem \
             file's own handler, shmem_fault."
        }
        Step::SHM12 => {
            "shmem_fault finds the page in file1's page cache (another process touched it \
             first) or allocates a zeroed page and adds it; the page table now maps it."
        }
        Step::SEM1 => {
            "The process asks for a set of nsems semaphores by key. As for shmget, ipcget \
             finds the key or creates the set."
        }
        Step::SEM2 => {
            "ipc_findkey finds the key in the namespace's table of sets: the caller gets \
             the id of the set another process made."
        }
        Step::SEM3 => {
            "newary allocates a sem_array with room for nsems struct sem, all zero, and \
             ipc_addid gives it an id."
        }
        Step::SEM4 => {
            "semctl(SETALL) gives every semaphore its starting value. Until then all are \
             0: a P on a fresh set would wait."
        }
        Step::SEM5 => {
            "semctl looks the id up (sem_obtain_object_check) and checks permissions \
             under the set's lock."
        }
        Step::SEM6 => {
            "The values are copied from the caller's array into sems[]; waiters whose \
             operations can now proceed are woken."
        }
        Step::SEM7 => {
            "semop applies an array of operations atomically: all or none. A negative op \
             is P (take), a positive one V (give back), zero waits for zero."
        }
        Step::SEM8 => {
            "The operation cannot proceed (a P on a semaphore at 0), so the caller queues \
             a sem_queue on the set and sleeps until a V makes the whole array possible."
        }
        Step::SEM9 => {
            "With SEM_UNDO the kernel keeps, per process and set, the opposite of every \
             adjustment in a sem_undo entry, to be applied if the process exits."
        }
    }
}
