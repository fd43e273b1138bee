//! The labs: which demo each runs, its stages in the kernel's order, what
//! to look at after each stage, and its questions.

use super::moment::Moment;
use super::questions;
use super::quiz::Question;
use crate::model::Step;

/// A stage of a lab: a few moments that belong together, in the kernel's order.
pub struct Stage {
    /// Its title.
    pub title: &'static str,
    /// Its moments, in the order the kernel does them.
    pub moments: &'static [Moment],
    /// Where to look next, on the machine or in the TUI.
    pub look: &'static str,
    /// In a live lab, the points (`lab::pause`) the demo's processes stop
    /// at once this stage is done, one process each; the stage is shown
    /// while they are stopped. Empty: the stage ends with the demo.
    pub pause_at: &'static [&'static str],
}

/// One lab.
pub struct Lab {
    /// Its name (`ipc-trace lab NAME`).
    pub name: &'static str,
    /// What it shows, in one line.
    pub title: &'static str,
    /// The demo program it runs (found beside ipc-trace or on PATH).
    pub program: &'static str,
    /// The demo's arguments (a live lab adds `--stages FIFO`).
    pub args: &'static [&'static str],
    /// Its stages.
    pub stages: &'static [Stage],
    /// Its questions.
    pub questions: &'static [Question],
    /// The demo leaves segments behind on purpose: a live lab removes them
    /// at the end (unless told to keep them).
    pub leaves_orphans: bool,
}

impl Lab {
    /// Every moment of every stage.
    pub fn moments(&self) -> impl Iterator<Item = Moment> + '_ {
        self.stages.iter().flat_map(|s| s.moments.iter().copied())
    }
}

use Moment::Step as S;

/// Every lab, in the order `ipc-trace lab` lists them.
pub const LABS: &[Lab] = &[
    Lab {
        name: "shm",
        title: "Shared memory: a producer and a consumer share a 516-byte segment",
        program: "demo-run",
        args: &["--messages", "3"],
        stages: &[
            Stage {
                title: "Create or find the segment",
                moments: &[S(Step::SHM1), S(Step::SHM2), S(Step::SHM3), S(Step::SHM4)],
                look: "While a demo runs, `ipcs -m` lists the segment by key with its size and \
                       nattch; in the TUI (`sudo ipc-trace -- demo-run`) it is a row of the \
                       objects view.",
                pause_at: &["created", "found"],
            },
            Stage {
                title: "Attach: map the segment",
                moments: &[
                    S(Step::SHM5),
                    S(Step::SHM6),
                    S(Step::SHM7),
                    S(Step::SHM8),
                    S(Step::SHM9),
                ],
                look: "`grep SYSV /proc/PID/maps` shows the mapping of an attached process; \
                       its RSS has not grown: no page exists yet.",
                pause_at: &["attached", "attached"],
            },
            Stage {
                title: "First touch: memory arrives",
                moments: &[S(Step::SHM10), S(Step::SHM11), S(Step::SHM12)],
                look: "The TUI's pages view (key 3) shows which process faulted each page \
                       first, and in what order.",
                pause_at: &["touched", "touched"],
            },
            Stage {
                title: "Detach and removal",
                moments: &[
                    Moment::Detach,
                    Moment::RemovalRequested,
                    Moment::SegmentFreed,
                ],
                look: "Compare the times: a segment removed while attached is only freed at \
                       its last detach. The detail view (Enter on the row) shows the whole \
                       lifecycle.",
                pause_at: &[],
            },
        ],
        questions: questions::SHM,
        leaves_orphans: false,
    },
    Lab {
        name: "sem",
        title: "Semaphores: a parent and its child take turns, every P waits",
        program: "sem-pingpong",
        args: &["--rounds", "3"],
        stages: &[
            Stage {
                title: "Create and initialise the set",
                moments: &[
                    S(Step::SEM1),
                    S(Step::SEM3),
                    S(Step::SEM4),
                    S(Step::SEM5),
                    S(Step::SEM6),
                ],
                look: "`ipcs -s -i ID` prints each semaphore's value, ncount (waiting for \
                       it to rise) and zcount.",
                pause_at: &["initialised"],
            },
            Stage {
                title: "P and V: operations that wait",
                moments: &[S(Step::SEM7), S(Step::SEM8)],
                look: "The TUI's semaphores view (key 4) shows the values and the waits; \
                       the swimlane (key 5) shows the two processes taking turns.",
                pause_at: &["round"],
            },
            Stage {
                title: "SEM_UNDO and the end of the set",
                moments: &[S(Step::SEM9), Moment::SetRemoved, Moment::UndoAtExit],
                look: "Kill a process that holds a SEM_UNDO semaphore and watch the value \
                       come back: exit_sem gives it back.",
                pause_at: &[],
            },
        ],
        questions: questions::SEM,
        leaves_orphans: false,
    },
    Lab {
        name: "leak",
        title: "A leak: a process creates a segment and exits without IPC_RMID",
        program: "shm-leak",
        args: &["--pages", "4", "--touch", "2"],
        stages: &[
            Stage {
                title: "The segment is made and used",
                moments: &[S(Step::SHM1), S(Step::SHM3), S(Step::SHM5), S(Step::SHM10)],
                look: "The demo writes to 2 of its 4 pages: only those 2 are faulted in.",
                pause_at: &["touched"],
            },
            Stage {
                title: "The creator exits; the segment stays",
                moments: &[Moment::Detach, Moment::Orphaned],
                look: "`ipcs -m -p` names the creator (cpid) and the last process to attach \
                       (lpid); `ipcs -m` shows nattch 0. The TUI marks such rows `orphan`.",
                pause_at: &[],
            },
        ],
        questions: questions::LEAK,
        leaves_orphans: true,
    },
    Lab {
        name: "deadlock",
        title: "A deadlock: two processes take two semaphores in opposite order",
        program: "sem-deadlock",
        args: &["--wait-ms", "300"],
        stages: &[
            Stage {
                title: "Each takes its own semaphore",
                moments: &[S(Step::SEM1), S(Step::SEM3), S(Step::SEM4), S(Step::SEM7)],
                look: "`ipcs -s -i ID` while it runs: both values are 0, both taken.",
                pause_at: &["took", "took"],
            },
            Stage {
                title: "Each waits for the other's",
                moments: &[S(Step::SEM8), Moment::Deadlock],
                look: "The TUI's semaphores view (key 4) lists the cycle as a deadlock hint. A \
                       wait is only reported when it returns, so the hint appears once both \
                       waits have ended and lasts until the semaphores are given back.",
                pause_at: &["timed-out", "timed-out"],
            },
            Stage {
                title: "The timeout breaks the cycle",
                moments: &[Moment::TimedOut, Moment::SetRemoved],
                look: "Without a timeout both would sleep for ever: `ipcs -s -i ID` would \
                       show ncount 1 on each semaphore until one process is killed.",
                pause_at: &[],
            },
        ],
        questions: questions::DEADLOCK,
        leaves_orphans: false,
    },
];

/// The lab called `name`.
pub fn find(name: &str) -> Option<&'static Lab> {
    LABS.iter().find(|l| l.name == name)
}
