//! Keeping what a failed recording wrote (a full disk): `PATH.partial` is
//! cut after its last complete line so that it reads line by line to its
//! end (see `OutputFile::abandon`).

use std::fs::File;
use std::path::Path;

/// Truncates `file` (open for writing at `path`) after its last `\n`.
pub(super) fn cut_after_last_line(file: &File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 64 * 1024;
    let reader = File::open(path)?;
    let mut end = reader.metadata()?.len();
    let mut buf = vec![0u8; CHUNK as usize];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        reader.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            break start + i as u64 + 1;
        }
        end = start;
    };
    file.set_len(keep)?;
    // Best effort: the data is there whether or not this sync succeeds.
    let _ = file.sync_all();
    Ok(())
}
