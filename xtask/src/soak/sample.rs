//! One sample of a running tracer: its resident memory and the number of
//! entries in each of its hash maps (found through its own file
//! descriptors, so other tracers on the same kernel do not count).

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::process::Command;

/// What one sample saw.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Seconds since the tracer started.
    pub at_s: f64,
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// Entries per hash map, by map name.
    pub entries: BTreeMap<String, u64>,
}

/// `VmRSS` of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status (has the tracer exited?)"))?;
    parse_rss(&status).with_context(|| format!("no VmRSS line in /proc/{pid}/status"))
}

fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The BPF map ids `pid` holds open (the `map_id:` of its fdinfo files).
pub fn map_ids(pid: u32) -> Result<Vec<u32>> {
    let dir = format!("/proc/{pid}/fdinfo");
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {dir}"))? {
        let Ok(entry) = entry else { continue };
        // An fd closed meanwhile is simply not counted.
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("map_id:"))
            .and_then(|v| v.trim().parse().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Entries of every hash map among `ids`, by name (`bpftool map dump`).
/// Arrays and ring buffers have a fixed size and are not counted.
pub fn hash_map_entries(ids: &[u32]) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for id in ids {
        let show = bpftool(&["map", "show", "id", &id.to_string()])?;
        let kind = show["type"].as_str().unwrap_or("");
        if !kind.contains("hash") {
            continue;
        }
        let name = show["name"].as_str().unwrap_or("?").to_string();
        let dump = bpftool(&["map", "dump", "id", &id.to_string()])?;
        let n = dump.as_array().map_or(0, |a| a.len() as u64);
        *out.entry(name).or_insert(0) += n;
    }
    Ok(out)
}

fn bpftool(args: &[&str]) -> Result<serde_json::Value> {
    let out = Command::new("bpftool")
        .arg("-j")
        .args(args)
        .output()
        .context("cannot run bpftool (apt-get install bpftool)")?;
    if !out.status.success() {
        anyhow::bail!(
            "bpftool {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("bpftool {} printed no JSON", args.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_the_status_file() {
        let status = "Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t   12345 kB\nThreads:\t1\n";
        assert_eq!(parse_rss(status), Some(12345));
        assert_eq!(parse_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_an_rss_and_no_maps() -> Result<()> {
        let me = std::process::id();
        assert!(rss_kib(me)? > 0);
        assert!(map_ids(me)?.is_empty());
        Ok(())
    }
}
