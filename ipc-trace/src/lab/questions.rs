//! The questions of each lab, each answered from the run's [`RunFacts`]
//! and explained with the run's own figures.

use super::facts::RunFacts;
use super::quiz::{Answer, Question};
use crate::model::describe::duration;

/// The consumer of the shm lab's demo.
const CONSUMER: &str = "shm-consumer";

/// Page size of the figures (x86-64 base pages).
const PAGE: u64 = 4096;

/// Questions of `lab shm`.
pub const SHM: &[Question] = &[
    Question {
        text: "Which process created the segment (its name or pid)?",
        answer: |f| {
            f.shm_creator
                .as_ref()
                .map(|(who, _)| Answer::Process(who.clone()))
                .ok_or_else(|| "no segment was created in this run".into())
        },
        why: |_| {
            "Its shmget came first with IPC_CREAT and a new key, so newseg ran in it \
             (SHM-3). The other process's shmget with the same key found the segment (SHM-2)."
                .into()
        },
    },
    Question {
        text: "How many successful shmat calls were there, all processes together?",
        answer: |f| Ok(Answer::Count(f.total_attaches())),
        why: |f| {
            let per: Vec<String> = f
                .attaches
                .iter()
                .map(|(tgid, (comm, n))| format!("{comm}[{tgid}] {n}"))
                .collect();
            format!(
                "Each shmat that succeeds adds one mapping and one to nattch (SHM-5…9): {}.",
                if per.is_empty() {
                    "none here".to_string()
                } else {
                    per.join(", ")
                }
            )
        },
    },
    Question {
        text: "How many pages of the segment did shm-consumer fault in, and why not more?",
        answer: |f| consumer_pages(f).map(Answer::Count),
        why: |f| {
            let pages = f.shm_size.map_or_else(
                || "its pages".to_string(),
                |s| format!("{s} bytes = {} page(s)", s.div_ceil(PAGE)),
            );
            format!(
                "The segment is {pages}. A process faults a page once, at its first touch \
                 (SHM-10); from then on its page table maps the page and touches are not \
                 faults. The producer's touch does not save the consumer its own fault: each \
                 process has its own page table, both pointing at the same page-cache page (SHM-12)."
            )
        },
    },
    Question {
        text: "How long after the segment was created did its first page fault come (ms)?",
        answer: |f| match (&f.shm_creator, &f.first_fault) {
            (Some((_, created)), Some((_, fault))) => {
                Ok(Answer::Millis(fault.saturating_sub(*created) as f64 / 1e6))
            }
            _ => Err("this run has no create or no fault".into()),
        },
        why: |f| {
            let who = f
                .first_fault
                .as_ref()
                .map_or_else(|| "?".to_string(), |(w, _)| w.to_string());
            format!(
                "shmget and shmat allocate no page (SHM-3…9): memory arrives at the first \
                 touch, here by {who}. Until then `ipcs -m` shows the segment's size but no \
                 resident page."
            )
        },
    },
];

fn consumer_pages(f: &RunFacts) -> Result<u64, String> {
    if let Some((_, n)) = f.pages_of(CONSUMER) {
        return Ok(n);
    }
    if f.attaches.values().any(|(comm, _)| comm == CONSUMER) {
        return Ok(0);
    }
    Err(format!("{CONSUMER} did not attach in this run"))
}

/// Questions of `lab sem`.
pub const SEM: &[Question] = &[
    Question {
        text: "Which process created the semaphore set (its name or pid)?",
        answer: |f| {
            f.sem_creator
                .clone()
                .map(Answer::Process)
                .ok_or_else(|| "no set was created in this run".into())
        },
        why: |_| {
            "Its semget with IPC_CREAT and a new key ran newary (SEM-3); the child it forked \
             inherited the id and never called semget."
                .into()
        },
    },
    Question {
        text: "How many semaphore operations had to wait (the caller slept)?",
        answer: |f| Ok(Answer::Count(f.blocked_ops)),
        why: |_| {
            "A P on a semaphore at 0 cannot proceed: the caller queues a sem_queue and \
             sleeps until the other process's V (SEM-8). The ping-pong releases the other \
             side only once it sleeps, so every round's P waits."
                .into()
        },
    },
    Question {
        text: "How long did the longest wait last (ms)?",
        answer: |f| {
            f.longest_wait
                .as_ref()
                .map(|(ns, _)| Answer::Millis(*ns as f64 / 1e6))
                .ok_or_else(|| "no operation waited in this run".into())
        },
        why: |f| match &f.longest_wait {
            Some((ns, who)) => format!(
                "{who} slept {} from falling asleep in its P to the V that woke it: the time \
                 the other side took to get there (the tool measures it from the scheduler's \
                 switch-out to the return).",
                duration(*ns)
            ),
            None => String::new(),
        },
    },
    Question {
        text: "How many semop calls passed SEM_UNDO?",
        answer: |f| Ok(Answer::Count(f.undo_ops)),
        why: |f| {
            format!(
                "Only the parent passes SEM_UNDO ({} process(es) did here): for each such \
                 operation the kernel records the opposite adjustment in the process's \
                 sem_undo (SEM-9), applied at exit unless the set is gone.",
                f.undo_users.len()
            )
        },
    },
];

/// Questions of `lab leak`.
pub const LEAK: &[Question] = &[
    Question {
        text: "What is the id of the segment left behind?",
        answer: |f| {
            f.orphans
                .first()
                .map(|o| Answer::Id(o.id))
                .ok_or_else(|| "nothing was left behind in this run".into())
        },
        why: |f| match f.orphans.first() {
            Some(o) => format!(
                "`ipcs -m` lists it with nattch {}; `ipcrm -m {}` removes it.",
                o.nattch, o.id
            ),
            None => String::new(),
        },
    },
    Question {
        text: "Which process created it (its name or pid)?",
        answer: |f| {
            f.orphans
                .first()
                .and_then(|o| o.creator.clone())
                .map(Answer::Process)
                .ok_or_else(|| "no orphan with a known creator in this run".into())
        },
        why: |_| {
            "Its shmget created the segment (SHM-3); it then exited without IPC_RMID. \
             ipcs's cpid column names it too."
                .into()
        },
    },
    Question {
        text: "How many processes have it attached now?",
        answer: |f| {
            f.orphans
                .first()
                .map(|o| Answer::Count(o.nattch))
                .ok_or_else(|| "nothing was left behind in this run".into())
        },
        why: |_| {
            "The exit unmapped the creator's attach (a detach at exit), and nobody else \
             attached: that is what makes it an orphan. It still holds its pages."
                .into()
        },
    },
];

/// Questions of `lab deadlock`.
pub const DEADLOCK: &[Question] = &[
    Question {
        text: "How many processes were in the wait-for cycle?",
        answer: |f| {
            f.cycle
                .as_ref()
                .map(|c| Answer::Count(c.len() as u64))
                .ok_or_else(|| "no cycle was seen in this run".into())
        },
        why: |f| match &f.cycle {
            Some(c) => format!(
                "Each edge is a process waiting for a semaphore another holds: {}.",
                c.iter()
                    .map(|(w, h, n)| format!("{w} → {h} (semaphore {n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => String::new(),
        },
    },
    Question {
        text: "Which semaphore (its number in the set) did the set's creator wait for?",
        answer: |f| {
            let creator = f
                .sem_creator
                .as_ref()
                .ok_or("no set was created in this run")?;
            f.cycle
                .as_ref()
                .and_then(|c| c.iter().find(|(w, _, _)| w.tgid == creator.tgid))
                .map(|(_, _, n)| Answer::Count(u64::from(*n)))
                .ok_or_else(|| "the creator is not in a cycle in this run".into())
        },
        why: |_| {
            "It took its own semaphore first and then asked for the one its child had \
             taken: the opposite order of the child's. Taking locks in one global order \
             makes such a cycle impossible."
                .into()
        },
    },
    Question {
        text: "How long did the longest wait last before the timeout ended it (ms)?",
        answer: |f| {
            f.longest_wait
                .as_ref()
                .map(|(ns, _)| Answer::Millis(*ns as f64 / 1e6))
                .ok_or_else(|| "no operation waited in this run".into())
        },
        why: |_| {
            "Nothing could wake either process: each slept for its whole semtimedop \
             timeout (the demo's --wait-ms), then got EAGAIN."
                .into()
        },
    },
    Question {
        text: "How many semaphore operations gave up with EAGAIN?",
        answer: |f| Ok(Answer::Count(f.timed_out)),
        why: |_| {
            "Both waits of the cycle timed out; each process then gave back the semaphore \
             it held."
                .into()
        },
    },
];
