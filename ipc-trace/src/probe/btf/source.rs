//! Where the struct offsets come from (`--btf`): the running kernel's BTF,
//! a BTF file the user names (e.g. one published for a kernel built
//! without `CONFIG_DEBUG_INFO_BTF`), or none at all (`--btf none`: act as
//! on a kernel without BTF).
//!
//! A file only gives offsets: fentry/fexit programs are still loaded
//! against the running kernel's own BTF, because the kernel resolves the
//! function id a program names in its own BTF, and an id taken from
//! another file would name another function (or none).

use super::{Btf, BtfError, VMLINUX_BTF, kernel_offsets};
use ipc_trace_common::KernelOffsets;
use std::path::PathBuf;

/// The BTF the session reads struct offsets from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BtfSource {
    /// `/sys/kernel/btf/vmlinux` (the default).
    #[default]
    Kernel,
    /// `--btf PATH`: offsets from this file.
    File(PathBuf),
    /// `--btf none`: no BTF at all; no fentry, no probe that reads structs.
    Disabled,
}

/// A `--btf PATH` that cannot be used: the user's input (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("--btf {}: {}", path.display(), describe(source))]
pub struct BtfFileError {
    /// The path given.
    pub path: PathBuf,
    /// Why it cannot be read or parsed.
    #[source]
    pub source: BtfError,
}

/// The parse error, or for an unreadable file only the OS's words (the
/// `Io` variant's hint about `CONFIG_DEBUG_INFO_BTF` is about the kernel's
/// file, not the user's).
fn describe(e: &BtfError) -> String {
    match e {
        BtfError::Io { source, .. } => {
            format!("cannot read it: {}", crate::recording::os_message(source))
        }
        other => format!("not usable BTF: {other}"),
    }
}

impl BtfSource {
    /// `--btf` as given: `none` disables BTF, anything else is a path.
    pub fn from_arg(arg: &std::path::Path) -> BtfSource {
        if arg.as_os_str() == "none" {
            BtfSource::Disabled
        } else {
            BtfSource::File(arg.to_path_buf())
        }
    }

    /// The value of the recording header's `filters.btf` (None for the
    /// kernel's own BTF, the default).
    pub fn header_value(&self) -> Option<String> {
        match self {
            BtfSource::Kernel => None,
            BtfSource::File(path) => Some(path.display().to_string()),
            BtfSource::Disabled => Some("none".to_string()),
        }
    }

    /// False for `--btf none`: fentry and the loader's BTF relocations
    /// are then off too.
    pub fn uses_kernel_btf(&self) -> bool {
        !matches!(self, BtfSource::Disabled)
    }

    /// The struct offsets and the `"struct.member"` names this source
    /// lacks. The kernel's BTF may be missing (then every offset is
    /// unknown, as on a kernel without BTF); a file given with `--btf`
    /// must be readable and parse, or this is an error.
    pub fn offsets(&self) -> Result<(KernelOffsets, Vec<String>), BtfFileError> {
        match self {
            BtfSource::Kernel => Ok(match Btf::from_file(VMLINUX_BTF) {
                Ok(b) => kernel_offsets(&b),
                Err(e) => (KernelOffsets::UNKNOWN, vec![format!("no kernel BTF ({e})")]),
            }),
            BtfSource::File(path) => {
                Btf::from_file(path)
                    .map(|b| kernel_offsets(&b))
                    .map_err(|source| BtfFileError {
                        path: path.clone(),
                        source,
                    })
            }
            BtfSource::Disabled => Ok((
                KernelOffsets::UNKNOWN,
                vec!["no BTF (--btf none)".to_string()],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn none_disables_and_anything_else_is_a_path() {
        assert_eq!(BtfSource::from_arg(Path::new("none")), BtfSource::Disabled);
        assert_eq!(
            BtfSource::from_arg(Path::new("./none")),
            BtfSource::File(PathBuf::from("./none"))
        );
        assert_eq!(BtfSource::Kernel.header_value(), None);
        assert_eq!(BtfSource::Disabled.header_value().as_deref(), Some("none"));
        assert!(!BtfSource::Disabled.uses_kernel_btf());
        assert!(BtfSource::File(PathBuf::from("x")).uses_kernel_btf());
    }

    #[test]
    fn a_missing_or_garbage_file_is_one_clear_line() -> Result<(), Box<dyn std::error::Error>> {
        let missing = BtfSource::File(PathBuf::from("/nonexistent/vmlinux"));
        let err = missing.offsets().err().ok_or("a missing file parsed")?;
        assert_eq!(
            err.to_string(),
            "--btf /nonexistent/vmlinux: cannot read it: No such file or directory"
        );
        let garbage = std::env::temp_dir().join(format!("btf-garbage-{}", std::process::id()));
        std::fs::write(&garbage, b"this is not BTF at all")?;
        let err = BtfSource::File(garbage.clone())
            .offsets()
            .err()
            .ok_or("garbage parsed")?;
        std::fs::remove_file(&garbage)?;
        let text = err.to_string();
        assert!(text.contains("not usable BTF: not BTF data"), "{text}");
        assert!(!text.contains('\n'));
        let (offsets, missing) = BtfSource::Disabled.offsets()?;
        assert_eq!(offsets, KernelOffsets::UNKNOWN);
        assert_eq!(missing, ["no BTF (--btf none)"]);
        Ok(())
    }
}
