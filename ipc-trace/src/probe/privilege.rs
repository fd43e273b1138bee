//! Can this process load eBPF programs? Reads the effective capability set
//! (`CapEff` in /proc/self/status).

use std::io;

/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;
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
/// CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN.
pub fn can_load_probes(caps: u64) -> bool {
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
