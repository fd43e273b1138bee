//! Taking the bootable image and the build configuration out of Debian
//! kernel packages, in both layouts Debian has used:
//!
//! - up to trixie, `linux-image-<abi>` carries `/boot/vmlinuz-<abi>` and
//!   `/boot/config-<abi>`;
//! - in sid (7.x), `linux-image-<abi>` is an empty package depending on
//!   `linux-binary-<abi>`, which carries `/usr/lib/modules/<abi>/vmlinuz`,
//!   and no binary package ships the config: `linux-config-<series>` has it
//!   as `config.amd64_none_amd64.xz`.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The members of a kernel package that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BootMembers {
    /// `./boot/vmlinuz-*` or `./usr/lib/modules/*/vmlinuz`.
    pub vmlinuz: Option<String>,
    /// `./boot/config-*`.
    pub config: Option<String>,
}

/// Find the kernel image and config among the lines of `dpkg-deb -c`.
pub fn boot_members(listing: &str) -> BootMembers {
    let mut out = BootMembers::default();
    for path in listing.lines().filter_map(|l| l.split_whitespace().nth(5)) {
        let in_boot = |prefix: &str| {
            path.strip_prefix("./boot/")
                .is_some_and(|f| f.starts_with(prefix) && !f.contains('/'))
        };
        let modules_image = path
            .strip_prefix("./usr/lib/modules/")
            .or_else(|| path.strip_prefix("./lib/modules/"))
            .and_then(|r| r.strip_suffix("/vmlinuz"))
            .is_some_and(|abi| !abi.is_empty() && !abi.contains('/'));
        if in_boot("vmlinuz-") || modules_image {
            out.vmlinuz.get_or_insert_with(|| path.to_string());
        } else if in_boot("config-") {
            out.config.get_or_insert_with(|| path.to_string());
        }
    }
    out
}

/// The `linux-binary-*` package an empty sid `linux-image-*` depends on.
pub fn binary_dependency(depends: &str) -> Option<String> {
    depends
        .split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .find(|name| name.starts_with("linux-binary-"))
        .map(str::to_string)
}

/// The config of the plain amd64 flavour inside `linux-config-<series>`.
pub fn config_member(listing: &str) -> Option<String> {
    listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/config.amd64_none_amd64.xz"))
        .map(str::to_string)
}

/// The `Depends` field of `deb` (empty when it has none).
pub fn depends(deb: &Path) -> Result<String> {
    cmd::output(Command::new("dpkg-deb").arg("-f").arg(deb).arg("Depends"))
}

/// The member list of `deb` (`dpkg-deb -c`).
pub fn listing(deb: &Path) -> Result<String> {
    cmd::output(Command::new("dpkg-deb").arg("-c").arg(deb))
}

/// Extract `members` of `deb` under `dest`.
pub fn extract(deb: &Path, members: &[&str], dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run dpkg-deb: install dpkg")?;
    let tar_in = dpkg.stdout.take().context("dpkg-deb has no stdout")?;
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dest)
        .args(members)
        .stdin(tar_in)
        .status()
        .context("cannot run tar")?;
    let dpkg_status = dpkg.wait().context("dpkg-deb did not finish")?;
    if !tar.success() || !dpkg_status.success() {
        bail!(
            "unpacking {} from {} failed (dpkg-deb {dpkg_status}, tar {tar})",
            members.join(" "),
            deb.display()
        );
    }
    Ok(())
}

/// Move the image (and the config, when the package has one) of `deb` to
/// `dir/vmlinuz` and `dir/config`; true when a config was stored.
pub fn store_boot(deb: &Path, dir: &Path) -> Result<bool> {
    let members = boot_members(&listing(deb)?);
    let vmlinuz = members.vmlinuz.with_context(|| {
        format!(
            "{} has neither /boot/vmlinuz-* nor /usr/lib/modules/*/vmlinuz",
            deb.display()
        )
    })?;
    let extract_dir = dir.join("extract");
    let _ = std::fs::remove_dir_all(&extract_dir);
    let mut wanted = vec![vmlinuz.as_str()];
    wanted.extend(members.config.as_deref());
    extract(deb, &wanted, &extract_dir)?;
    std::fs::rename(extract_dir.join(&vmlinuz), dir.join("vmlinuz"))
        .context("cannot store vmlinuz")?;
    if let Some(config) = &members.config {
        std::fs::rename(extract_dir.join(config), dir.join("config"))
            .context("cannot store the kernel config")?;
    }
    let _ = std::fs::remove_dir_all(&extract_dir);
    Ok(members.config.is_some())
}

/// Decompress the amd64 config of a `linux-config-<series>` package to `dir/config`.
pub fn store_config_package(deb: &Path, dir: &Path) -> Result<()> {
    let member = config_member(&listing(deb)?)
        .with_context(|| format!("{} has no config.amd64_none_amd64.xz", deb.display()))?;
    let extract_dir = dir.join("extract-config");
    let _ = std::fs::remove_dir_all(&extract_dir);
    extract(deb, &[member.as_str()], &extract_dir)?;
    let xz: PathBuf = extract_dir.join(&member);
    let text = cmd::output(Command::new("xz").arg("-dc").arg(&xz))
        .context("cannot decompress the kernel config: install xz-utils")?;
    std::fs::write(dir.join("config"), text).context("cannot write the kernel config")?;
    let _ = std::fs::remove_dir_all(&extract_dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str) -> String {
        format!("-rw-r--r-- root/root  14546880 2026-10-28 15:01 {path}\n")
    }

    #[test]
    fn trixie_layout_has_image_and_config_in_boot() {
        let listing = [
            line("./boot/System.map-6.12.117+deb13-amd64"),
            line("./boot/config-6.12.117+deb13-amd64"),
            line("./boot/vmlinuz-6.12.117+deb13-amd64"),
            line("./lib/modules/6.12.117+deb13-amd64/kernel/ipc/x.ko"),
        ]
        .concat();
        assert_eq!(
            boot_members(&listing),
            BootMembers {
                vmlinuz: Some("./boot/vmlinuz-6.12.117+deb13-amd64".into()),
                config: Some("./boot/config-6.12.117+deb13-amd64".into()),
            }
        );
    }

    #[test]
    fn sid_layout_has_the_image_under_usr_lib_modules() {
        let listing = [
            line("./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz"),
            line("./usr/share/lintian/overrides/linux-binary-7.2.13+deb14-amd64"),
        ]
        .concat();
        let m = boot_members(&listing);
        assert_eq!(
            m.vmlinuz.as_deref(),
            Some("./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz")
        );
        assert_eq!(m.config, None);
        assert_eq!(
            boot_members(&line("./usr/share/doc/x")),
            BootMembers::default()
        );
    }

    #[test]
    fn the_binary_package_is_found_in_depends() {
        let d = "dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, \
                 linux-base-7.2.13+deb14-amd64 (= 7.2.13-1), linux-binary-7.2.13+deb14-amd64 (= 7.2.13-1)";
        assert_eq!(
            binary_dependency(d).as_deref(),
            Some("linux-binary-7.2.13+deb14-amd64")
        );
        assert_eq!(binary_dependency("linux-base (>= 4.3~), kmod"), None);
    }

    #[test]
    fn the_plain_amd64_config_is_chosen() {
        let listing = [
            line("./usr/src/linux-config-7.2/config.amd64_none_cloud-amd64.xz"),
            line("./usr/src/linux-config-7.2/config.amd64_none_amd64.xz"),
        ]
        .concat();
        assert_eq!(
            config_member(&listing).as_deref(),
            Some("./usr/src/linux-config-7.2/config.amd64_none_amd64.xz")
        );
    }
}
