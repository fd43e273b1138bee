//! Driving a live session from start to end for a consumer that takes
//! events one at a time (record, summary, lab). The TUI drives its own
//! loop: it also stops on a key and hands events on asynchronously.

use super::live::{End, Finished, Live};
use crate::event::Event;

/// Runs a session until it ends, handing every event to `each`; returns
/// how it ended and how many events were handed on. The session is not
/// finished (see [`run_to_end`]).
pub async fn pump<E>(
    live: &mut Live,
    mut each: impl FnMut(&Event) -> Result<(), E>,
) -> Result<(End, u64), E> {
    let mut batch = Vec::new();
    let mut n = 0;
    loop {
        let end = live.next_batch(&mut batch).await;
        for ev in batch.drain(..) {
            each(&ev)?;
            n += 1;
        }
        if let Some(end) = end {
            return Ok((end, n));
        }
    }
}

/// Runs a session to its end and finishes it (drain, detach), handing
/// every event to `each`, the last ones included; returns how it ended and
/// what [`Live::finish`] returned.
pub async fn run_to_end<E>(
    mut live: Live,
    mut each: impl FnMut(&Event) -> Result<(), E>,
) -> Result<(End, Finished), E> {
    let (end, _) = pump(&mut live, &mut each).await?;
    let mut rest = Vec::new();
    let finished = live.finish(end, &mut rest).await;
    for ev in &rest {
        each(ev)?;
    }
    Ok((end, finished))
}

/// The exit status for how a session ended: the command's, else 0.
pub fn exit_status(end: End) -> u8 {
    match end {
        End::ChildExited(code) => u8::try_from(code).unwrap_or(1),
        End::Duration | End::Signal | End::Stopped => 0,
    }
}
