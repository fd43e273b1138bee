//! Facts about the running system that decide what ipc-trace can load:
//! kernel release, BTF, lockdown, capabilities, tracefs, kprobe support and
//! the sysctls that restrict BPF. Stored in every recording's header and
//! shown by `doctor`.

use crate::probe::{btf, tracefs};
use serde::{Deserialize, Serialize};
use std::ffi::CStr;
use std::path::{Path, PathBuf};

/// The selected kernel lockdown mode is the bracketed word in this file.
const LOCKDOWN_PATH: &str = "/sys/kernel/security/lockdown";
use super::facts::KPROBE_PMU_TYPE;
const KPTR_RESTRICT: &str = "/proc/sys/kernel/kptr_restrict";
const UNPRIVILEGED_BPF_DISABLED: &str = "/proc/sys/kernel/unprivileged_bpf_disabled";

pub use super::privilege::parse_cap_eff;
/// Capability bit numbers (`linux/capability.h`).
use super::privilege::{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN};

/// What the system offers, gathered once at start-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemFacts {
    /// `uname -r`.
    pub kernel_release: String,
    /// True when `/sys/kernel/btf/vmlinux` exists.
    pub btf_present: bool,
    /// Selected lockdown mode (`none`, `integrity`, `confidentiality`);
    /// None when the lockdown LSM is not there.
    pub lockdown: Option<String>,
    /// Effective uid is 0.
    pub is_root: bool,
    /// `CAP_BPF` is in the effective set.
    pub cap_bpf: bool,
    /// `CAP_PERFMON` is in the effective set.
    pub cap_perfmon: bool,
    /// `CAP_SYS_ADMIN` is in the effective set.
    pub cap_sys_admin: bool,
    /// The kernel can create kprobes (`CONFIG_KPROBE_EVENTS`: the kprobe
    /// PMU is registered).
    pub kprobes_available: bool,
    /// The tracefs root, when mounted.
    pub tracefs: Option<PathBuf>,
    /// `kernel.kptr_restrict` (None when unreadable).
    pub kptr_restrict: Option<u32>,
    /// `kernel.unprivileged_bpf_disabled` (None when unreadable).
    pub unprivileged_bpf_disabled: Option<u32>,
}

/// What can go wrong reading system files.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // each variant says what its fields hold
pub enum SystemError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Looks at the running system. Nothing here fails: what cannot be read is
/// reported as absent.
pub fn gather() -> SystemFacts {
    let cap_eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_cap_eff(&status))
        .unwrap_or(0);
    let has_cap = |cap: u32| cap_eff & (1u64 << cap) != 0;
    SystemFacts {
        kernel_release: kernel_release(),
        btf_present: Path::new(btf::VMLINUX_BTF).exists(),
        lockdown: read_lockdown(),
        // SAFETY: geteuid has no preconditions and cannot fail.
        is_root: unsafe { libc::geteuid() } == 0,
        cap_bpf: has_cap(CAP_BPF),
        cap_perfmon: has_cap(CAP_PERFMON),
        cap_sys_admin: has_cap(CAP_SYS_ADMIN),
        kprobes_available: Path::new(KPROBE_PMU_TYPE).exists(),
        tracefs: tracefs::tracefs_root().ok(),
        kptr_restrict: read_number(KPTR_RESTRICT),
        unprivileged_bpf_disabled: read_number(UNPRIVILEGED_BPF_DISABLED),
    }
}

/// The kernel release from `uname(2)`, or `"unknown"`.
fn kernel_release() -> String {
    // SAFETY: utsname is plain bytes; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".to_string();
    }
    let bytes: Vec<u8> = uts.release.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&bytes)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".to_string())
}

fn read_number(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The selected lockdown mode, None when the kernel shows none (no
/// lockdown LSM, or securityfs not mounted).
pub fn read_lockdown() -> Option<String> {
    std::fs::read_to_string(LOCKDOWN_PATH)
        .ok()
        .and_then(|text| parse_lockdown(&text))
}

/// The selected mode in `/sys/kernel/security/lockdown`
/// (`none [integrity] confidentiality` → `integrity`).
pub fn parse_lockdown(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = start + text[start..].find(']')?;
    Some(text[start + 1..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capabilities_and_lockdown() {
        let status = "Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n";
        let eff = parse_cap_eff(status);
        assert_eq!(eff, Some(0x1ff_feff_ffff));
        assert_eq!(parse_cap_eff("CapEff:\tzz\n"), None);
        assert_eq!(parse_cap_eff("Name: x\n"), None);
        assert_eq!(
            parse_lockdown("none [integrity] confidentiality\n").as_deref(),
            Some("integrity")
        );
        assert_eq!(
            parse_lockdown("[none] integrity\n").as_deref(),
            Some("none")
        );
        assert_eq!(parse_lockdown("none integrity"), None);
    }

    /// On the host (root, 6.18, BTF): the facts must match what we know of
    /// the machine, and the IPC functions must be in kallsyms.
    #[test]
    fn host_facts() -> Result<(), Box<dyn std::error::Error>> {
        let f = gather();
        assert!(f.kernel_release.starts_with(|c: char| c.is_ascii_digit()));
        assert!(f.btf_present);
        assert!(f.is_root);
        assert_eq!(
            super::super::privilege::Privileges::gather().error_line(),
            None
        );
        assert!(f.tracefs.is_some());
        assert!(f.kptr_restrict.is_some());
        let names = ["newseg", "do_shmat", "no_such_function_here"];
        let k =
            super::super::kallsyms::Kallsyms::read(&names).ok_or("cannot read /proc/kallsyms")?;
        use super::super::kallsyms::SymbolState::{Absent, Present};
        assert_eq!(names.map(|n| k.state(n)), [Present, Present, Absent]);
        let back: SystemFacts = serde_json::from_str(&serde_json::to_string(&f)?)?;
        assert_eq!(back, f);
        Ok(())
    }
}
