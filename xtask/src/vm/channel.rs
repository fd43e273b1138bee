//! The data channel from a VM (its second serial port, ttyS1).
//!
//! The in-VM script writes marker lines and file contents:
//! ```text
//! @@ipct hello
//! @@ipct file <name> <bytes>
//! <exactly <bytes> bytes>
//! @@ipct end <name>
//! @@ipct missing <name>
//! @@ipct done
//! ```
//! Anything else on the channel is ignored. If the port was not switched to
//! raw mode (the hello line arrives as `\r\n`), line endings are restored first.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The marker every protocol line starts with.
pub const MARK: &str = "@@ipct";

/// What arrived on the channel.
#[derive(Debug, Default)]
pub struct Channel {
    /// The script started talking (the hello line arrived).
    pub hello: bool,
    /// The script finished (the done line arrived).
    pub done: bool,
    /// Files by name (`kprobe/recording.ndjson`, `facts.txt`, ...).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files the script looked for and did not find.
    pub missing: Vec<String>,
    /// Protocol problems (truncated file, bad name, ...).
    pub problems: Vec<String>,
}

impl Channel {
    /// A file's content as text, if it arrived.
    pub fn text(&self, name: &str) -> Option<String> {
        self.files
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Write every file under `dir` (names become relative paths).
    pub fn write_files(&self, dir: &Path) -> Result<()> {
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// True for a safe relative file name (no `..`, not absolute, plain characters).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/+".contains(c))
}

/// Parse everything read from the channel.
pub fn parse(raw: &[u8]) -> Channel {
    let cooked;
    let bytes = if contains(raw, format!("{MARK} hello\r\n").as_bytes()) {
        cooked = crlf_to_lf(raw);
        &cooked[..]
    } else {
        raw
    };
    let mut ch = Channel::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i);
        let line = String::from_utf8_lossy(&bytes[pos..end]).into_owned();
        pos = (end + 1).min(bytes.len());
        let Some(rest) = line.strip_prefix(MARK).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        match words.as_slice() {
            ["hello"] => ch.hello = true,
            ["done"] => ch.done = true,
            ["missing", name] => ch.missing.push((*name).to_string()),
            ["file", name, size] => {
                let Ok(size) = size.parse::<usize>() else {
                    ch.problems.push(format!("bad size in `{line}`"));
                    continue;
                };
                if pos + size > bytes.len() {
                    ch.problems.push(format!(
                        "{name}: channel ends after {} of {size} bytes",
                        bytes.len() - pos
                    ));
                    break;
                }
                let content = bytes[pos..pos + size].to_vec();
                pos += size;
                let trailer = format!("\n{MARK} end {name}\n");
                if bytes[pos..].starts_with(trailer.as_bytes()) {
                    pos += trailer.len();
                } else {
                    ch.problems
                        .push(format!("{name}: no end marker after {size} bytes"));
                }
                if valid_name(name) {
                    ch.files.insert((*name).to_string(), content);
                } else {
                    ch.problems.push(format!("refused file name `{name}`"));
                }
            }
            _ => {}
        }
    }
    ch
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn crlf_to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_markers_are_read_back_exactly() {
        let raw = b"noise\n@@ipct hello\n@@ipct file a/b.txt 6\nx\ny\nz\n\n@@ipct end a/b.txt\n\
                    @@ipct file empty 0\n\n@@ipct end empty\n@@ipct missing c.json\n@@ipct done\n";
        let ch = parse(raw);
        assert!(ch.hello && ch.done, "{ch:?}");
        assert_eq!(
            ch.files.get("a/b.txt").map(Vec::as_slice),
            Some(&b"x\ny\nz\n"[..])
        );
        assert_eq!(ch.files.get("empty").map(Vec::len), Some(0));
        assert_eq!(ch.missing, vec!["c.json".to_string()]);
        assert!(ch.problems.is_empty(), "{:?}", ch.problems);
    }

    #[test]
    fn a_cut_off_file_is_reported_and_done_is_not_set() {
        let ch = parse(b"@@ipct hello\n@@ipct file rec 100\nonly a little");
        assert!(!ch.done);
        assert!(ch.files.is_empty());
        assert_eq!(ch.problems.len(), 1, "{:?}", ch.problems);
    }

    #[test]
    fn cooked_tty_line_endings_are_undone() {
        let ch = parse(b"@@ipct hello\r\n@@ipct file f 2\r\nab\r\n@@ipct end f\r\n@@ipct done\r\n");
        assert!(ch.done);
        assert_eq!(ch.text("f").as_deref(), Some("ab"));
        assert!(ch.problems.is_empty(), "{:?}", ch.problems);
    }

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        let ch = parse(b"@@ipct file ../x 1\na\n@@ipct end ../x\n");
        assert!(ch.files.is_empty());
        assert_eq!(ch.problems.len(), 1);
    }
}
