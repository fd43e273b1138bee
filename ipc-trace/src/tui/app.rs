//! The state of the UI: the model, which view is shown, selection, sort,
//! filters, searches and scroll positions. Key handling is in `input.rs`;
//! drawing reads an `&App`.

use super::cursor::Cursor;
use super::feed::{FeedInfo, Seeds};
use crate::event::Event;
use crate::model::{LoggedEvent, ObjId, ObjKind, Object, State};
use std::cell::Cell;

pub use super::filters::{LogFilter, SortBy, TableFilter};

/// The views, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// ipcs-like table of objects.
    Objects,
    /// One lifecycle as a timeline with the kernel steps.
    Detail,
    /// Pages of a segment: who touched which, in what order.
    Pages,
    /// Semaphore values over time, blocked operations.
    Semaphores,
    /// Processes × time.
    Swimlane,
    /// The event log.
    Log,
    /// Probes, rates, drops, kernel.
    Stats,
}

impl View {
    /// Every view, in tab order (keys 1–7).
    pub const ALL: [View; 7] = [
        View::Objects,
        View::Detail,
        View::Pages,
        View::Semaphores,
        View::Swimlane,
        View::Log,
        View::Stats,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Objects => "Objects",
            View::Detail => "Detail",
            View::Pages => "Pages",
            View::Semaphores => "Semaphores",
            View::Swimlane => "Swimlane",
            View::Log => "Log",
            View::Stats => "Stats",
        }
    }

    /// 0-based position.
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    /// The view `delta` tabs away, wrapping.
    pub fn step(self, delta: isize) -> View {
        let n = View::ALL.len() as isize;
        let i = (self.index() as isize + delta).rem_euclid(n) as usize;
        View::ALL[i]
    }
}

/// A line being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// `/` search text.
    Search(String),
    /// `f` in the log: a filter expression.
    LogFilter(String),
}

/// Everything the UI shows and remembers. Drawing only reads it; keys
/// change it through [`App::perform`].
#[derive(Debug)]
pub struct App {
    /// The model the views draw; fed by [`App::apply`].
    pub state: State,
    /// Facts about the source.
    pub info: FeedInfo,
    /// The view shown.
    pub view: View,
    /// The help overlay is open.
    pub help: bool,
    /// The source finished (replay done, command exited).
    pub source_ended: bool,
    /// Quitting was asked for (`q`, Ctrl-C); the runtime leaves.
    pub quit: bool,
    /// The selected lifecycle (table, detail, pages, semaphores).
    pub selected: Option<ObjId>,
    /// Object table order.
    pub sort: SortBy,
    /// Sort descending (`S`).
    pub sort_desc: bool,
    /// Object table filter.
    pub filter: TableFilter,
    /// Object table search (key, id, owner).
    pub search: String,
    /// Event log search (any text of the line).
    pub log_search: String,
    /// Event log filter.
    pub log_filter: LogFilter,
    /// Log shows the newest events (scrolling up turns it off).
    pub log_follow: bool,
    /// A line being typed.
    pub prompt: Option<Prompt>,
    /// Scroll position per view (lines from the top; for the log, from the
    /// bottom).
    pub scroll: [usize; 7],
    /// A short message for the footer (e.g. a bad filter).
    pub message: Option<String>,
    /// CLOCK_MONOTONIC now, for live rates.
    pub clock_ns: Option<u64>,
    /// First visible row of the object table (kept by the renderer).
    pub table_offset: Cell<usize>,
    /// The replay cursor of a stepped replay (`replay FILE --step`).
    pub cursor: Option<Cursor>,
}

impl App {
    /// A UI over an empty model.
    pub fn new(info: FeedInfo) -> App {
        App {
            state: State::new(),
            info,
            view: View::Objects,
            help: false,
            source_ended: false,
            quit: false,
            selected: None,
            sort: SortBy::Created,
            sort_desc: false,
            filter: TableFilter::All,
            search: String::new(),
            log_search: String::new(),
            log_filter: LogFilter::default(),
            log_follow: true,
            prompt: None,
            scroll: [0; 7],
            message: None,
            clock_ns: None,
            table_offset: Cell::new(0),
            cursor: None,
        }
    }

    /// Adds the objects that existed before the source started.
    pub fn seed(&mut self, seeds: &Seeds) {
        self.state
            .seed(&seeds.shm, &seeds.sem, seeds.ipc_ns, seeds.now_ns);
        for pid in &seeds.gone {
            self.state.process_gone(*pid);
        }
    }

    /// Applies one event to the model. While nothing is selected, the
    /// event's lifecycle becomes the selection.
    pub fn apply(&mut self, ev: &Event) {
        self.state.apply(ev);
        if self.selected.is_none() {
            self.selected = self.state.log().last().and_then(|l| l.object);
        }
    }

    /// "Now" for rates: the monotonic clock when live, else the newest event.
    pub fn now_ns(&self) -> u64 {
        self.clock_ns.unwrap_or(0).max(self.state.now_ns())
    }

    /// Operations per second on an object, now.
    pub fn ops_per_second(&self, o: &Object) -> u64 {
        o.activity.per_second(self.now_ns())
    }

    fn table_match(&self, o: &Object) -> bool {
        let pass = match self.filter {
            TableFilter::All => true,
            TableFilter::Live => o.is_live(),
            TableFilter::Shm => o.key.kind == ObjKind::Shm,
            TableFilter::Sem => o.key.kind == ObjKind::Sem,
            TableFilter::Problems => {
                o.incomplete
                    || o.marked_for_removal.is_some() && o.is_live()
                    || self.state.is_orphan(o)
            }
        };
        if !pass {
            return false;
        }
        if self.search.is_empty() {
            return true;
        }
        let needle = self.search.to_lowercase();
        o.key_hex().contains(&needle)
            || o.key.id.to_string().contains(&needle)
            || o.creator.as_ref().is_some_and(|c| {
                c.comm.to_lowercase().contains(&needle) || c.tgid.to_string() == needle
            })
    }

    fn sort_key(&self, o: &Object) -> i128 {
        match self.sort {
            SortBy::Created => o.handle.0 as i128,
            SortBy::Key => o.ipc_key.map_or(-1, |k| i128::from(k as u32)),
            SortBy::Id => i128::from(o.key.id),
            SortBy::Size => i128::from(o.size.or(o.nsems.map(u64::from)).unwrap_or(0)),
            SortBy::Nattch => i128::from(o.nattch()),
            SortBy::Faults => i128::from(o.shm.as_ref().map_or(0, |s| s.pages.faults)),
            SortBy::Rate => i128::from(self.ops_per_second(o)),
            SortBy::Blocked => i128::from(o.sem.as_ref().map_or(0, |s| s.blocked)),
        }
    }

    /// The object table's rows, filtered and sorted.
    pub fn table_rows(&self) -> Vec<&Object> {
        let mut rows: Vec<(i128, &Object)> = self
            .state
            .objects()
            .filter(|o| self.table_match(o))
            .map(|o| (self.sort_key(o), o))
            .collect();
        rows.sort_by_key(|(k, o)| (*k, o.handle));
        if self.sort_desc {
            rows.reverse();
        }
        rows.into_iter().map(|(_, o)| o).collect()
    }

    /// The selected lifecycle, if the model still keeps it.
    pub fn selected_object(&self) -> Option<&Object> {
        self.selected.and_then(|h| self.state.object(h))
    }

    /// The segment the page map shows: the selected one, else the newest.
    pub fn page_object(&self) -> Option<&Object> {
        self.object_of(ObjKind::Shm)
    }

    /// The set the semaphore view shows: the selected one, else the newest.
    pub fn sem_object(&self) -> Option<&Object> {
        self.object_of(ObjKind::Sem)
    }

    fn object_of(&self, kind: ObjKind) -> Option<&Object> {
        match self.selected_object() {
            Some(o) if o.key.kind == kind => Some(o),
            _ => self
                .state
                .objects()
                .rev()
                .find(|o| o.key.kind == kind && o.is_live())
                .or_else(|| self.state.objects().rev().find(|o| o.key.kind == kind)),
        }
    }

    /// The log lines passing the filter and search, oldest first.
    pub fn log_rows(&self) -> Vec<&LoggedEvent> {
        let needle = self.log_search.to_lowercase();
        self.state
            .log()
            .iter()
            .filter(|l| self.log_filter.matches(&l.event))
            .filter(|l| {
                needle.is_empty()
                    || super::format::log_line_text(l)
                        .to_lowercase()
                        .contains(&needle)
            })
            .collect()
    }

    /// Time of the first event (timelines are shown relative to it).
    pub fn origin_ns(&self) -> u64 {
        self.state.first_ns().unwrap_or(0)
    }
}
