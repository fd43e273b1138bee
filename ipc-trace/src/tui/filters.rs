//! What the object table and the log show: the table's sort orders and
//! filters (`s`, `S`, `f`) and the log's filter expression (`f` in the log).

use crate::event::{Event, EventKind};

/// Sort order of the object table (`s` cycles, `S` reverses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Creation order.
    Created,
    /// IPC key.
    Key,
    /// shmid/semid.
    Id,
    /// Bytes or semaphores.
    Size,
    /// Current attaches.
    Nattch,
    /// Page faults.
    Faults,
    /// Operations per second.
    Rate,
    /// Blocked semops.
    Blocked,
}

impl SortBy {
    const ORDER: [SortBy; 8] = [
        SortBy::Created,
        SortBy::Key,
        SortBy::Id,
        SortBy::Size,
        SortBy::Nattch,
        SortBy::Faults,
        SortBy::Rate,
        SortBy::Blocked,
    ];

    /// Name shown in the table title.
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Created => "created",
            SortBy::Key => "key",
            SortBy::Id => "id",
            SortBy::Size => "size",
            SortBy::Nattch => "nattch",
            SortBy::Faults => "faults",
            SortBy::Rate => "ops/s",
            SortBy::Blocked => "blocked",
        }
    }

    /// The next order.
    pub fn next(self) -> SortBy {
        let i = SortBy::ORDER.iter().position(|s| *s == self).unwrap_or(0);
        SortBy::ORDER[(i + 1) % SortBy::ORDER.len()]
    }
}

/// Which objects the table shows (`f` cycles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFilter {
    /// Everything kept, removed ones included.
    All,
    /// Not removed.
    Live,
    /// Segments only.
    Shm,
    /// Semaphore sets only.
    Sem,
    /// Orphaned, incomplete or marked for removal.
    Problems,
}

impl TableFilter {
    const ORDER: [TableFilter; 5] = [
        TableFilter::All,
        TableFilter::Live,
        TableFilter::Shm,
        TableFilter::Sem,
        TableFilter::Problems,
    ];

    /// Name shown in the table title.
    pub fn label(self) -> &'static str {
        match self {
            TableFilter::All => "all",
            TableFilter::Live => "live",
            TableFilter::Shm => "shm",
            TableFilter::Sem => "sem",
            TableFilter::Problems => "problems",
        }
    }

    /// The next filter.
    pub fn next(self) -> TableFilter {
        let i = TableFilter::ORDER
            .iter()
            .position(|s| *s == self)
            .unwrap_or(0);
        TableFilter::ORDER[(i + 1) % TableFilter::ORDER.len()]
    }
}

/// Filters of the event log (`f` in the log view: `kind=sem_op pid=42 id=7`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this process (tgid) or thread (pid).
    pub pid: Option<u32>,
    /// Only this shmid/semid.
    pub id: Option<i32>,
}

impl LogFilter {
    /// Parses `kind=NAME pid=N id=N` (a bare word is a kind name).
    pub fn parse(text: &str) -> Result<LogFilter, String> {
        let mut f = LogFilter::default();
        for word in text.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or(("kind", word));
            match k {
                "kind" => {
                    f.kind = Some(
                        EventKind::ALL
                            .into_iter()
                            .find(|x| x.as_str() == v)
                            .ok_or_else(|| {
                                format!("unknown kind `{v}` (e.g. sem_op, shm_fault)")
                            })?,
                    )
                }
                "pid" => {
                    f.pid = Some(
                        v.parse()
                            .map_err(|_| format!("pid `{v}` is not a number"))?,
                    )
                }
                "id" => f.id = Some(v.parse().map_err(|_| format!("id `{v}` is not a number"))?),
                _ => return Err(format!("unknown filter `{k}`: use kind=, pid=, id=")),
            }
        }
        Ok(f)
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == LogFilter::default()
    }

    /// The filter as typed.
    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if let Some(k) = self.kind {
            v.push(format!("kind={}", k.as_str()));
        }
        if let Some(p) = self.pid {
            v.push(format!("pid={p}"));
        }
        if let Some(i) = self.id {
            v.push(format!("id={i}"));
        }
        v.join(" ")
    }

    /// True when `ev` passes (a pid matches the process or the thread).
    pub fn matches(&self, ev: &Event) -> bool {
        self.kind.is_none_or(|k| ev.kind == k)
            && self.pid.is_none_or(|p| ev.tgid == p || ev.pid == p)
            && self.id.is_none_or(|i| ev.id == Some(i))
    }
}
