//! Can this process load and attach the probes? Reads the effective
//! capability set (`CapEff` in /proc/self/status) and whether tracefs is
//! readable, and names exactly the capabilities that are missing.
//!
//! Measured on 6.18 as uid 65534 with ambient capabilities (tests/
//! capabilities.rs): CAP_BPF + CAP_PERFMON + CAP_DAC_READ_SEARCH are enough
//! and each one is needed; the last only because tracefs is mode 0700 root.
//! CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, CAP_DAC_OVERRIDE for
//! CAP_DAC_READ_SEARCH.

use serde::Serialize;
use std::io;

/// `CAP_DAC_OVERRIDE`.
pub const CAP_DAC_OVERRIDE: u32 = 1;
/// `CAP_DAC_READ_SEARCH`.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_RESOURCE`.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// `CAP_PERFMON`.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`.
pub const CAP_BPF: u32 = 39;

/// The effective capability mask of this process.
pub fn effective_caps() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    parse_cap_eff(&status).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no CapEff line in /proc/self/status",
        )
    })
}

/// The `CapEff:` mask of a /proc/PID/status text.
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// True when a capability mask allows loading and attaching the probes:
/// CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN (tracefs access aside).
pub fn can_load_probes(caps: u64) -> bool {
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)
}

/// What decides whether tracing may start, gathered once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Privileges {
    /// The effective capability mask.
    pub caps: u64,
    /// tracefs can be read without help from a capability (see
    /// [`super::tracefs::readable`]).
    pub tracefs_readable: bool,
    /// The kernel charges BPF maps and programs to RLIMIT_MEMLOCK (before
    /// 5.11; later kernels charge the memory cgroup).
    pub memlock_charged: bool,
}

/// One capability ipc-trace may use, for `doctor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CapabilityRow {
    /// `CAP_BPF`, …
    pub name: &'static str,
    /// In the effective set.
    pub held: bool,
    /// Tracing cannot start on this system without it (or what stands in).
    pub needed: bool,
    /// What it is for, and what its absence costs here.
    pub effect: String,
}

impl Privileges {
    /// Looks at this process and the running kernel.
    pub fn gather() -> Privileges {
        Privileges {
            caps: effective_caps().unwrap_or(0),
            tracefs_readable: super::tracefs::readable(),
            memlock_charged: memlock_charged(&super::system::gather().kernel_release),
        }
    }

    fn has(&self, cap: u32) -> bool {
        self.caps & (1u64 << cap) != 0
    }

    fn lacks_bpf(&self) -> bool {
        !self.has(CAP_BPF) && !self.has(CAP_SYS_ADMIN)
    }

    fn lacks_perfmon(&self) -> bool {
        !self.has(CAP_PERFMON) && !self.has(CAP_SYS_ADMIN)
    }

    fn lacks_tracefs(&self) -> bool {
        !self.tracefs_readable && !self.has(CAP_DAC_READ_SEARCH) && !self.has(CAP_DAC_OVERRIDE)
    }

    /// The capabilities tracing needs on this system: CAP_BPF and
    /// CAP_PERFMON always, CAP_DAC_READ_SEARCH when tracefs is not
    /// readable without it.
    pub fn needed(&self) -> Vec<&'static str> {
        let mut needed = vec!["CAP_BPF", "CAP_PERFMON"];
        if !self.tracefs_readable {
            needed.push("CAP_DAC_READ_SEARCH");
        }
        needed
    }

    /// The needed capabilities this process lacks (nothing standing in).
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.lacks_bpf(), "CAP_BPF"),
            (self.lacks_perfmon(), "CAP_PERFMON"),
            (self.lacks_tracefs(), "CAP_DAC_READ_SEARCH"),
        ]
        .into_iter()
        .filter_map(|(lacks, name)| lacks.then_some(name))
        .collect()
    }

    /// None when tracing may start; otherwise the one line to show.
    pub fn error_line(&self) -> Option<String> {
        let missing = self.missing();
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "ipc-trace needs {} to trace (lacks {}): run it with sudo",
            and_list(&self.needed()),
            missing.join(", ")
        ))
    }

    /// One row per capability ipc-trace uses, with what it costs to lack.
    pub fn rows(&self) -> Vec<CapabilityRow> {
        let row = |name, cap, needed, effect: &str| CapabilityRow {
            name,
            held: self.has(cap),
            needed,
            effect: effect.to_string(),
        };
        let admin = self.has(CAP_SYS_ADMIN);
        let tracefs = if self.tracefs_readable {
            "not needed: tracefs is readable without it"
        } else if self.has(CAP_DAC_OVERRIDE) {
            "reads tracefs (mode 0700 root); CAP_DAC_OVERRIDE stands in"
        } else {
            "reads tracefs (mode 0700 root): without it no tracepoint id or format can be read"
        };
        let memlock = if self.memlock_charged {
            "lifts RLIMIT_MEMLOCK: this kernel (before 5.11) charges maps to it, so without \
             it loading fails unless `ulimit -l` covers the ring buffer and maps"
        } else {
            "not needed: this kernel (5.11 or later) charges BPF memory to the memory cgroup"
        };
        vec![
            row(
                "CAP_BPF",
                CAP_BPF,
                true,
                if admin && !self.has(CAP_BPF) {
                    "loads programs, creates maps; CAP_SYS_ADMIN stands in"
                } else {
                    "loads programs, creates maps: without it nothing can be traced"
                },
            ),
            row(
                "CAP_PERFMON",
                CAP_PERFMON,
                true,
                if admin && !self.has(CAP_PERFMON) {
                    "loads tracing programs, reads kernel memory; CAP_SYS_ADMIN stands in"
                } else {
                    "loads tracing programs, opens tracepoint events, reads kernel memory: \
                     without it nothing can be traced"
                },
            ),
            row(
                "CAP_DAC_READ_SEARCH",
                CAP_DAC_READ_SEARCH,
                !self.tracefs_readable,
                tracefs,
            ),
            row("CAP_SYS_RESOURCE", CAP_SYS_RESOURCE, false, memlock),
            row(
                "CAP_SYS_ADMIN",
                CAP_SYS_ADMIN,
                false,
                "optional: stands in for CAP_BPF and CAP_PERFMON; mounts tracefs when it is \
                 not mounted",
            ),
        ]
    }
}

/// True for kernel releases before 5.11 (`5.10.0-28-amd64` → true).
pub fn memlock_charged(release: &str) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) < (5, 11),
        _ => false,
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privileges(caps: &[u32], tracefs_readable: bool) -> Privileges {
        Privileges {
            caps: caps.iter().fold(0, |m, c| m | (1u64 << c)),
            tracefs_readable,
            memlock_charged: false,
        }
    }

    #[test]
    fn parses_cap_eff_and_decides() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        let caps = parse_cap_eff(status).expect("CapEff present");
        assert_eq!(caps, 0x1ff_ffff_ffff);
        assert!(can_load_probes(caps));
        assert!(!can_load_probes(0));
        assert!(!can_load_probes(1 << CAP_BPF));
        assert!(can_load_probes((1 << CAP_BPF) | (1 << CAP_PERFMON)));
        assert!(can_load_probes(1 << CAP_SYS_ADMIN));
        assert_eq!(parse_cap_eff("Name:\tx\n"), None);
    }

    #[test]
    fn names_exactly_the_missing_capabilities() {
        let minimal = [CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH];
        assert_eq!(privileges(&minimal, false).error_line(), None);
        assert_eq!(
            privileges(&[CAP_BPF, CAP_PERFMON], false)
                .error_line()
                .as_deref(),
            Some(
                "ipc-trace needs CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH to trace \
                 (lacks CAP_DAC_READ_SEARCH): run it with sudo"
            )
        );
        assert_eq!(privileges(&[CAP_BPF, CAP_PERFMON], true).error_line(), None);
        assert_eq!(
            privileges(&[], true).error_line().as_deref(),
            Some(
                "ipc-trace needs CAP_BPF and CAP_PERFMON to trace (lacks CAP_BPF, CAP_PERFMON): run it with sudo"
            )
        );
        assert_eq!(
            privileges(&[CAP_SYS_ADMIN, CAP_DAC_OVERRIDE], false).missing(),
            Vec::<&str>::new()
        );
        assert_eq!(privileges(&[CAP_BPF], true).missing(), ["CAP_PERFMON"]);
    }

    #[test]
    fn rows_say_what_is_held_and_needed() {
        let p = privileges(&[CAP_BPF, CAP_DAC_READ_SEARCH], false);
        let rows = p.rows();
        let get = |n: &str| rows.iter().find(|r| r.name == n).expect("row");
        assert!(get("CAP_BPF").held && get("CAP_BPF").needed);
        assert!(!get("CAP_PERFMON").held && get("CAP_PERFMON").needed);
        assert!(get("CAP_PERFMON").effect.contains("nothing can be traced"));
        assert!(get("CAP_DAC_READ_SEARCH").needed);
        assert!(!get("CAP_SYS_RESOURCE").needed);
        assert!(get("CAP_SYS_RESOURCE").effect.starts_with("not needed"));
        assert!(!privileges(&[], true).rows()[2].needed);
    }

    #[test]
    fn memlock_is_charged_before_5_11() {
        assert!(memlock_charged("5.10.0-28-amd64"));
        assert!(memlock_charged("4.19.0"));
        assert!(!memlock_charged("5.11.0"));
        assert!(!memlock_charged("6.18.44-fc-v1098"));
        assert!(!memlock_charged("unknown"));
    }
}
