//! shm-leak: the classic System V leak. Creates a private segment of
//! `--pages` pages, attaches it, writes to the first `--touch` pages and
//! exits without `shmdt` or `IPC_RMID`. The exit takes the mapping away, but
//! the segment stays in the kernel, attached by nobody, until `ipcrm -m ID`
//! or a reboot. Prints the id and the command that removes it.

use anyhow::{Result, bail};
use clap::Parser;
use demos::segment::Segment;
use demos::stages::StageArg;
use demos::sysv;

#[derive(Parser, Debug)]
#[command(about = "Create a System V segment, use it and exit without removing it (a leak)")]
struct Args {
    /// Size of the segment in pages.
    #[arg(long, default_value_t = 4)]
    pages: usize,
    /// Pages to write to (each a first-touch fault), from the first.
    #[arg(long, default_value_t = 2)]
    touch: usize,
    #[command(flatten)]
    stage: StageArg,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.pages == 0 || args.touch > args.pages {
        bail!("--pages must be at least 1 and --touch at most --pages");
    }
    let mut stages = args.stage.open()?;
    let page = sysv::page_size();
    let size = args.pages * page;
    let id = sysv::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600)?;
    // No shmdt and no IPC_RMID follow (a `Segment` detaches only when
    // asked): the exit unmaps the segment, the kernel keeps it.
    let touched = Segment::attach(id, args.touch * page)?.touch_pages_write();
    stages.point("touched")?;
    println!(
        "shm-leak: segment id {id} ({size} bytes, {} of {} pages written) left behind on purpose; remove it with: ipcrm -m {id}",
        touched.len(),
        args.pages
    );
    Ok(())
}
