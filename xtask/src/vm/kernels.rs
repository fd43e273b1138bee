//! Debian kernels for the VM matrix.
//!
//! Kernel packages are fetched with `apt-get download` (never installed),
//! only `/boot` is unpacked from them, and the result is cached under
//! `$HOME/.cache/ipc-trace/kernels/<series>/` (`vmlinuz`, `config`,
//! `package`). A cached kernel is used without touching the network.
//! The suite of the machine's own release comes from its apt sources; the
//! others come through a private sources list on the machine's Debian mirror.

use super::kernel_deb;
use crate::cmd;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A kernel series of the matrix and the Debian suite that ships it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSpec {
    /// Major.minor, e.g. `"6.1"`; also the cache directory name.
    pub series: &'static str,
    /// Debian suite, e.g. `"bookworm"`.
    pub suite: &'static str,
}

/// The kernels of the matrix, oldest first.
pub const KERNELS: &[KernelSpec] = &[
    KernelSpec {
        series: "5.10",
        suite: "bullseye",
    },
    KernelSpec {
        series: "6.1",
        suite: "bookworm",
    },
    KernelSpec {
        series: "6.12",
        suite: "trixie",
    },
    KernelSpec {
        series: "7.2",
        suite: "sid",
    },
];

/// A kernel ready to boot.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// `<package> <version>` of the Debian package it came from.
    pub package: String,
    /// The kernel image.
    pub vmlinuz: PathBuf,
    /// The kernel's build configuration (`/boot/config-*`), when shipped.
    pub config: Option<PathBuf>,
    /// True when this call downloaded it (false: from the cache).
    pub downloaded: bool,
    /// Time spent fetching (near zero when cached).
    pub fetch_time: Duration,
}

/// Environment variable that overrides the Debian mirror URL.
pub const MIRROR_ENV: &str = "IPC_TRACE_DEBIAN_MIRROR";

/// The keyring that signs Debian's archives, when present.
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The spec of a series name (`"5.10"`, `"6.1"`, `"6.12"`, `"7.2"`).
pub fn spec(series: &str) -> Option<KernelSpec> {
    KERNELS.iter().copied().find(|k| k.series == series)
}

/// The cached kernel of `spec`, or fetch it (always fetch when `refresh`).
pub fn fetch(spec: KernelSpec, refresh: bool) -> Result<Kernel> {
    let start = Instant::now();
    let dir = cmd::cache_dir()?.join("kernels").join(spec.series);
    let (vmlinuz, config, package) = (dir.join("vmlinuz"), dir.join("config"), dir.join("package"));
    let cached = vmlinuz.is_file() && package.is_file();
    if !cached || refresh {
        download(spec, &dir).with_context(|| {
            format!(
                "cannot fetch the {} kernel from Debian {}",
                spec.series, spec.suite
            )
        })?;
    }
    let package_line = std::fs::read_to_string(&package)
        .with_context(|| format!("cannot read {}", package.display()))?;
    Ok(Kernel {
        package: package_line.trim().to_string(),
        vmlinuz,
        config: config.is_file().then_some(config),
        downloaded: !cached || refresh,
        fetch_time: start.elapsed(),
    })
}

/// How apt is pointed at a suite: the machine's own sources, or a private list.
enum AptSource {
    /// The machine's configured sources (its own release).
    Host,
    /// A private sources list and state under this directory.
    Private(PathBuf),
}

impl AptSource {
    /// The `-o` options that select this source.
    fn options(&self) -> Vec<String> {
        match self {
            AptSource::Host => Vec::new(),
            AptSource::Private(dir) => vec![
                "-o".into(),
                format!(
                    "Dir::Etc::sourcelist={}",
                    dir.join("sources.list").display()
                ),
                "-o".into(),
                "Dir::Etc::sourceparts=/dev/null".into(),
                "-o".into(),
                format!("Dir::State::Lists={}", dir.join("lists").display()),
                "-o".into(),
                format!("Dir::Cache={}", dir.join("cache").display()),
            ],
        }
    }

    fn apt_get(&self) -> Command {
        let mut c = Command::new("apt-get");
        c.arg("-q")
            .args(self.options())
            .args(["-o", "APT::Sandbox::User=root"]);
        c
    }

    /// `apt-get update` on this source.
    fn update(&self) -> Result<()> {
        cmd::output(self.apt_get().arg("update")).map(|_| ())
    }

    /// All package names apt knows that start with `prefix`.
    fn package_names(&self, prefix: &str) -> Result<Vec<String>> {
        let out = cmd::output(
            Command::new("apt-cache")
                .args(self.options())
                .args(["pkgnames", prefix]),
        )?;
        Ok(out.lines().map(str::to_string).collect())
    }
}

/// Prepare a private apt source for `suite` on `mirror`.
fn private_source(suite: &str, mirror: &str) -> Result<AptSource> {
    let dir = cmd::cache_dir()?.join("apt").join(suite);
    for sub in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let signed = if Path::new(ARCHIVE_KEYRING).is_file() {
        format!("[signed-by={ARCHIVE_KEYRING}] ")
    } else {
        String::new()
    };
    std::fs::write(
        dir.join("sources.list"),
        format!("deb {signed}{mirror} {suite} main\n"),
    )
    .with_context(|| format!("cannot write {}", dir.join("sources.list").display()))?;
    Ok(AptSource::Private(dir))
}

/// Download the newest kernel of `spec` and unpack its `/boot` into `dir`.
fn download(spec: KernelSpec, dir: &Path) -> Result<()> {
    println!(
        "vm-test: fetching the newest Debian {} kernel {}.x",
        spec.suite, spec.series
    );
    let source = if host_codename().as_deref() == Some(spec.suite) {
        AptSource::Host
    } else {
        let src = private_source(spec.suite, &debian_mirror()?)?;
        src.update()
            .context("apt-get update on the private sources list failed")?;
        src
    };
    let work = dir.join("download");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let deb = match newest_and_download(&source, spec, &work) {
        Ok(deb) => deb,
        Err(first) if matches!(source, AptSource::Host) => {
            // The machine's package lists may be stale: refresh once, retry.
            println!("vm-test: {first:#}; running apt-get update and retrying");
            source.update().context("apt-get update failed")?;
            newest_and_download(&source, spec, &work)?
        }
        Err(e) => return Err(e),
    };
    unpack_boot(&source, spec, &deb, dir)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Pick the newest kernel package of `spec` and download it into `work`.
fn newest_and_download(source: &AptSource, spec: KernelSpec, work: &Path) -> Result<PathBuf> {
    let names = source.package_names("linux-image-")?;
    let package = newest_image(&names, spec.series).with_context(|| {
        format!(
            "no linux-image-{}.*-amd64 package in the {} package lists",
            spec.series, spec.suite
        )
    })?;
    download_package(source, &package, work)
}

/// `apt-get download` one package into `work`; the path of its `.deb`.
fn download_package(source: &AptSource, package: &str, work: &Path) -> Result<PathBuf> {
    cmd::output(
        source
            .apt_get()
            .current_dir(work)
            .args(["download", package]),
    )?;
    let prefix = format!("{package}_");
    std::fs::read_dir(work)
        .with_context(|| format!("cannot read {}", work.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "deb")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .with_context(|| {
            format!(
                "apt-get download {package} left no .deb in {}",
                work.display()
            )
        })
}

/// Store `vmlinuz` and `config` of the image package `image` in `dir`,
/// following sid's split packages (see `kernel_deb`), and its name and
/// version in `dir/package`.
fn unpack_boot(source: &AptSource, spec: KernelSpec, image: &Path, dir: &Path) -> Result<()> {
    let work = image.parent().unwrap_or(dir);
    let boot_deb = match kernel_deb::binary_dependency(&kernel_deb::depends(image)?) {
        Some(binary) => download_package(source, &binary, work)?,
        None => image.to_path_buf(),
    };
    let _ = std::fs::remove_file(dir.join("config"));
    if !kernel_deb::store_boot(&boot_deb, dir)? {
        let package = format!("linux-config-{}", spec.series);
        let stored = download_package(source, &package, work)
            .and_then(|deb| kernel_deb::store_config_package(&deb, dir));
        if let Err(e) = stored {
            println!(
                "vm-test: no kernel config for {} ({e:#}); its config facts will read n",
                spec.series
            );
        }
    }
    let fields = cmd::output(
        Command::new("dpkg-deb")
            .args(["-f"])
            .arg(image)
            .args(["Package", "Version"]),
    )?;
    let mut name_version = String::new();
    for line in fields.lines() {
        if let Some((_, value)) = line.split_once(": ") {
            name_version.push_str(value.trim());
            name_version.push(' ');
        }
    }
    std::fs::write(dir.join("package"), format!("{}\n", name_version.trim()))
        .context("cannot write the package file")
}

/// The numbers in a kernel ABI string, for ordering (`5.10.0-32` → 5,10,0,32).
fn version_key(abi: &str) -> Vec<u64> {
    abi.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The ABI of a plain amd64 kernel image package of `series`, if `name` is one
/// (`linux-image-6.1.0-56-amd64` → `6.1.0-56`; not -rt, -cloud, -dbg, meta).
fn image_abi<'a>(name: &'a str, series: &str) -> Option<&'a str> {
    let rest = name.strip_prefix("linux-image-")?;
    let abi = rest
        .strip_suffix("-amd64-unsigned")
        .or_else(|| rest.strip_suffix("-amd64"))?;
    let plain = !abi.is_empty()
        && abi
            .split('-')
            .all(|part| part.starts_with(|c: char| c.is_ascii_digit()));
    let key = version_key(abi);
    let wanted = version_key(series);
    (plain && key.len() > wanted.len() && key[..wanted.len()] == wanted[..]).then_some(abi)
}

/// The newest plain amd64 image package of `series` among `names`; the
/// signed `-amd64` package is preferred to `-amd64-unsigned` of the same ABI
/// (both carry the same bootable vmlinuz).
fn newest_image(names: &[String], series: &str) -> Option<String> {
    names
        .iter()
        .filter_map(|n| {
            image_abi(n, series).map(|abi| (version_key(abi), !n.ends_with("-unsigned"), n))
        })
        .max()
        .map(|(_, _, n)| n.clone())
}

/// `VERSION_CODENAME` of this machine's /etc/os-release.
fn host_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
}

/// The Debian mirror this machine uses, from its apt sources (or `MIRROR_ENV`).
pub fn debian_mirror() -> Result<String> {
    if let Ok(url) = std::env::var(MIRROR_ENV) {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let mut entries = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".sources") {
            entries.extend(parse_deb822(&text));
        } else if name.ends_with(".list") {
            entries.extend(parse_one_line(&text));
        }
    }
    pick_mirror(&entries, host_codename().as_deref()).with_context(|| {
        format!("no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources; set {MIRROR_ENV}=<mirror URL>")
    })
}

/// One `deb` source: its URI and suites.
#[derive(Debug, PartialEq, Eq)]
struct SourceEntry {
    uri: String,
    suites: Vec<String>,
}

/// Entries of one-line-style sources (`deb [opts] URI SUITE COMPONENTS`).
fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next()?.trim();
            let rest = line.strip_prefix("deb ")?.trim_start();
            let rest = if rest.starts_with('[') {
                rest.split_once(']')?.1.trim_start()
            } else {
                rest
            };
            let mut words = rest.split_whitespace();
            let uri = words.next()?.to_string();
            let suite = words.next()?.to_string();
            Some(SourceEntry {
                uri,
                suites: vec![suite],
            })
        })
        .collect()
}

/// Entries of deb822 sources (`Types: deb`, `URIs:`, `Suites:` stanzas).
fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Option<Vec<String>> {
            stanza
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim().eq_ignore_ascii_case(name))
                        .then(|| v.split_whitespace().map(str::to_string).collect())
                })
        };
        let is_deb = field("Types").is_some_and(|t| t.iter().any(|t| t == "deb"));
        let enabled = field("Enabled").is_none_or(|v| v.first().is_none_or(|v| v != "no"));
        if let (true, true, Some(uris), Some(suites)) =
            (is_deb, enabled, field("URIs"), field("Suites"))
        {
            for uri in uris {
                out.push(SourceEntry {
                    uri,
                    suites: suites.clone(),
                });
            }
        }
    }
    out
}

/// The URI of the main Debian archive among `entries`: an http(s) source
/// carrying a plain release suite (no `-updates`/`-security`), preferring the
/// machine's own codename.
fn pick_mirror(entries: &[SourceEntry], codename: Option<&str>) -> Option<String> {
    let usable = |e: &&SourceEntry| {
        (e.uri.starts_with("http://") || e.uri.starts_with("https://"))
            && !e.uri.contains("security")
            && e.suites
                .iter()
                .any(|s| !s.contains('-') && !s.contains('/'))
    };
    let own = |e: &&SourceEntry| codename.is_some_and(|c| e.suites.iter().any(|s| s == c));
    entries
        .iter()
        .filter(usable)
        .find(own)
        .or_else(|| entries.iter().find(usable))
        .map(|e| e.uri.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests;
