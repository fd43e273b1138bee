//! Short, human reasons for failed loads and attaches, as shown in the
//! probe table ("load failed: EPERM (kernel lockdown: integrity)").

use std::error::Error;
use std::io;

/// The symbolic name of an errno value (falls back to `errno N`).
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        524 => "ENOTSUPP",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// Why root gets EPERM from `bpf()`: the kernel's lockdown when it says
/// one is selected, else some other policy (a BPF LSM, a sandbox); which
/// one the kernel does not say.
fn eperm_hint(lockdown: Option<&str>) -> String {
    match lockdown {
        Some("none") => " (refused by the kernel's policy; lockdown is off)".to_string(),
        Some(mode) => format!(" (kernel lockdown: {mode})"),
        None => " (refused by the kernel's policy: lockdown or a security module)".to_string(),
    }
}

/// A hint for errnos whose cause is usually the same.
fn errno_hint(errno: i32) -> String {
    static EPERM_HINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match errno {
        libc::EPERM => EPERM_HINT
            .get_or_init(|| eperm_hint(super::system::read_lockdown().as_deref()))
            .clone(),
        _ => errno_hint_static(errno).to_string(),
    }
}

/// The hints that need no look at the system.
fn errno_hint_static(errno: i32) -> &'static str {
    match errno {
        libc::EACCES => " (rejected by the verifier)",
        libc::ENOENT => " (function not found)",
        524 | libc::EOPNOTSUPP => " (not supported by this kernel)",
        _ => "",
    }
}

/// The first `io::Error` with an errno in an error's source chain.
fn find_errno(err: &(dyn Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(errno) = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(errno);
        }
        cur = e.source();
    }
    None
}

/// Describes a failure of `what` ("load failed", "attach failed") in one line.
pub fn describe(what: &str, err: &aya::programs::ProgramError) -> String {
    use aya::programs::ProgramError;
    if let ProgramError::LoadError {
        io_error,
        verifier_log,
    } = err
    {
        let errno = io_error.raw_os_error().unwrap_or(0);
        let log = verifier_log.to_string();
        let last = log.lines().rev().find(|l| {
            let l = l.trim();
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
        });
        return match last {
            Some(line) if errno == libc::EACCES || errno == libc::EINVAL => {
                format!("{what}: {}: verifier: {}", errno_name(errno), line.trim())
            }
            _ => format!("{what}: {}{}", errno_name(errno), errno_hint(errno)),
        };
    }
    let errno = match err {
        // `transparent`: the io::Error itself is not in the source chain.
        ProgramError::IOError(io) => io.raw_os_error(),
        _ => find_errno(err),
    };
    match errno {
        Some(errno) => format!("{what}: {}{}", errno_name(errno), errno_hint(errno)),
        None => format!("{what}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hints() {
        assert_eq!(errno_name(libc::EPERM), "EPERM");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(9999), "errno 9999");
        let err = aya::programs::ProgramError::IOError(io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(
            describe("load failed", &err),
            format!(
                "load failed: EPERM{}",
                eperm_hint(super::super::system::read_lockdown().as_deref())
            )
        );
        assert_eq!(
            eperm_hint(Some("integrity")),
            " (kernel lockdown: integrity)"
        );
        assert!(eperm_hint(Some("none")).contains("lockdown is off"));
        assert!(eperm_hint(None).contains("lockdown or a security module"));
        let err = aya::programs::ProgramError::SyscallError(aya::sys::SyscallError {
            call: "perf_event_open",
            io_error: io::Error::from_raw_os_error(libc::ENOENT),
        });
        assert_eq!(
            describe("attach failed", &err),
            "attach failed: ENOENT (function not found)"
        );
    }
}
