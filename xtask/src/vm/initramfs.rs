//! The initramfs of a VM test: static busybox with its applet links, an
//! `/init` script, the test binaries (debug info stripped) and the shared
//! libraries they load (found with `ldd`, copied under their own paths),
//! packed with `cpio -H newc | gzip`.
//!
//! The archive is rebuilt only when its inputs change (script text, and
//! path, size and mtime of every binary); otherwise the previous one is reused.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The static busybox of Debian's `busybox-static`.
pub const BUSYBOX: &str = "/bin/busybox";

/// What goes into an initramfs.
pub struct InitramfsSpec<'a> {
    /// The text of `/init`.
    pub init_script: &'a str,
    /// Programs copied to `/bin/<file name>`.
    pub binaries: &'a [PathBuf],
    /// Files (programs or data) copied to their own absolute path, e.g. test
    /// binaries that run the program at the path baked into them.
    pub files: &'a [PathBuf],
}

/// A packed initramfs.
#[derive(Debug)]
pub struct Initramfs {
    /// The `initrd.gz` file.
    pub path: PathBuf,
    /// True when the previous archive was reused unchanged.
    pub reused: bool,
    /// Size of the archive.
    pub bytes: u64,
}

/// Build (or reuse) `<out_dir>/initrd.gz` for `spec`.
pub fn build(spec: &InitramfsSpec, out_dir: &Path) -> Result<Initramfs> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let archive = out_dir.join("initrd.gz");
    let key_file = out_dir.join("initrd.key");
    let key = input_key(spec)?;
    if archive.is_file() && std::fs::read_to_string(&key_file).is_ok_and(|k| k == key) {
        let bytes = std::fs::metadata(&archive)?.len();
        return Ok(Initramfs {
            path: archive,
            reused: true,
            bytes,
        });
    }
    let _ = std::fs::remove_file(&key_file);
    let root = out_dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("cannot clear {}", root.display()))?;
    }
    populate(spec, &root)?;
    pack(&root, &archive)?;
    std::fs::write(&key_file, &key)
        .with_context(|| format!("cannot write {}", key_file.display()))?;
    let bytes = std::fs::metadata(&archive)?.len();
    Ok(Initramfs {
        path: archive,
        reused: false,
        bytes,
    })
}

/// A fingerprint of everything that goes into the archive.
fn input_key(spec: &InitramfsSpec) -> Result<String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    spec.init_script.hash(&mut h);
    for path in spec
        .binaries
        .iter()
        .chain(spec.files)
        .map(PathBuf::as_path)
        .chain([Path::new(BUSYBOX)])
    {
        let meta =
            std::fs::metadata(path).with_context(|| format!("{} is missing", path.display()))?;
        path.hash(&mut h);
        meta.len().hash(&mut h);
        meta.modified().ok().hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// Lay out the initramfs tree under `root`.
fn populate(spec: &InitramfsSpec, root: &Path) -> Result<()> {
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root", "run",
    ] {
        std::fs::create_dir_all(root.join(dir))
            .with_context(|| format!("cannot create {}", root.join(dir).display()))?;
    }
    let busybox = Path::new(BUSYBOX);
    if !busybox.is_file() {
        bail!("{BUSYBOX} is missing: apt-get install busybox-static (or cargo xtask setup)");
    }
    std::fs::copy(busybox, root.join("bin/busybox")).context("cannot copy busybox")?;
    let applets = cmd::output(Command::new(busybox).arg("--list"))?;
    for applet in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let link = root.join("bin").join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
        }
    }
    let mut libraries = BTreeSet::new();
    libraries.extend(shared_libraries(busybox)?);
    for binary in spec.binaries {
        let name = binary
            .file_name()
            .with_context(|| format!("{} has no file name", binary.display()))?;
        copy_stripped(binary, &root.join("bin").join(name))?;
        libraries.extend(shared_libraries(binary)?);
    }
    for file in spec.files {
        let relative = file
            .strip_prefix("/")
            .with_context(|| format!("{} must be an absolute path", file.display()))?;
        let dest = root.join(relative);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        copy_stripped(file, &dest)?;
        libraries.extend(shared_libraries(file)?);
    }
    for lib in &libraries {
        let relative = lib.strip_prefix("/").unwrap_or(lib);
        let dest = root.join(relative);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(lib, &dest).with_context(|| format!("cannot copy {}", lib.display()))?;
    }
    let init = root.join("init");
    std::fs::write(&init, spec.init_script).context("cannot write /init")?;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))
        .context("cannot chmod /init")?;
    Ok(())
}

/// Copy `from` to `to` without debug info (smaller archive, faster boot);
/// a plain copy when `strip` is not installed or the file is not an object.
fn copy_stripped(from: &Path, to: &Path) -> Result<()> {
    let stripped = cmd::which("strip").is_some()
        && cmd::succeeds(
            Command::new("strip")
                .arg("--strip-debug")
                .arg("-o")
                .arg(to)
                .arg(from),
        );
    if !stripped {
        std::fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
    }
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod {}", to.display()))
}

/// The shared libraries `binary` loads, the dynamic loader included
/// (empty for a static binary).
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ldd: install libc-bin")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_ldd(&text).with_context(|| format!("ldd {}", binary.display()))
}

/// The library paths in `ldd` output.
fn parse_ldd(text: &str) -> Result<Vec<PathBuf>> {
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let target = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    bail!("{} is not found on this machine", name.trim());
                }
                rest
            }
            None => line,
        };
        let path = target.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// Every path under `root`, relative and `./`-prefixed, parents first.
fn archive_members(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in &entries {
            let child = rel.join(entry.file_name());
            out.push(format!("./{}", child.display()));
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(child);
            }
        }
    }
    Ok(out)
}

/// Pack `root` into a gzip-compressed newc cpio archive at `archive`.
fn pack(root: &Path, archive: &Path) -> Result<()> {
    let members = archive_members(root)?;
    let tmp = archive.with_extension("gz.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut gzip = Command::new("gzip")
        .arg("-6")
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .context("cannot run gzip")?;
    let gzip_in = gzip.stdin.take().context("gzip has no stdin")?;
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(gzip_in)
        .spawn()
        .context("cannot run cpio: apt-get install cpio (or cargo xtask setup)")?;
    {
        let mut list = cpio.stdin.take().context("cpio has no stdin")?;
        for m in &members {
            writeln!(list, "{m}").context("cannot feed cpio")?;
        }
    }
    let cpio_status = cpio.wait().context("cpio did not finish")?;
    let gzip_status = gzip.wait().context("gzip did not finish")?;
    if !cpio_status.success() || !gzip_status.success() {
        bail!("packing the initramfs failed (cpio {cpio_status}, gzip {gzip_status})");
    }
    std::fs::rename(&tmp, archive).with_context(|| format!("cannot write {}", archive.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_resolved_paths_and_the_loader() -> Result<()> {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x1)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n";
        let libs = parse_ldd(text)?;
        assert_eq!(
            libs,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        Ok(())
    }

    #[test]
    fn static_binaries_need_no_libraries() -> Result<()> {
        assert!(parse_ldd("\tnot a dynamic executable\n")?.is_empty());
        assert!(parse_ldd("\tstatically linked\n")?.is_empty());
        Ok(())
    }

    #[test]
    fn a_missing_library_is_an_error() {
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n").is_err());
    }

    #[test]
    fn the_host_busybox_is_static() -> Result<()> {
        assert!(
            shared_libraries(Path::new(BUSYBOX))?.is_empty(),
            "{BUSYBOX} must be busybox-static"
        );
        Ok(())
    }
}
