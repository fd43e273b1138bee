//! `cargo xtask soak`: a bounded long run. `ipc-trace record` traces a
//! steady mix of segment churn (create, attach, fault every page, remove:
//! `shm-bench`) and semops (`sem-bench`) for `--minutes`; every
//! `--every` seconds the tracer's RSS and the entries of its hash maps are
//! sampled, and a live TUI beside it (tmux) is sent a key and timed until
//! it redraws. The run fails when an RSS grows more than 5% over the second
//! half, a map's entries keep growing, the stats line counts a loss, or the
//! TUI takes over 2 s to redraw. Not part of CI (it takes minutes); its
//! figures are in docs/KERNELS.md.

mod judge;
mod sample;
mod tui;

use crate::{build, cmd};
use anyhow::{Context, Result, bail};
use sample::Sample;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `cargo xtask soak`.
#[derive(clap::Args, Debug, Clone)]
pub struct SoakArgs {
    /// How long to trace the workload. The TUI's model fills its slowest
    /// bound (4096 exited processes kept) after about 14 minutes of this
    /// workload, and memory is judged over the second half: a shorter run
    /// than ~30 minutes judges the filling, not a leak.
    #[arg(long, default_value_t = 30.0, value_name = "MINUTES")]
    pub minutes: f64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub every: u64,
    /// Use the release binaries as they are instead of building them first.
    #[arg(long)]
    pub no_build: bool,
    /// Take ipc-trace, shm-bench and sem-bench from this directory (implies
    /// --no-build; e.g. a copy, so that a rebuild during the run changes nothing).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<std::path::PathBuf>,
    /// Do not run the TUI beside the recording.
    #[arg(long)]
    pub no_tui: bool,
}

/// Runs the soak; Ok(false) when a judgement failed.
pub fn run(args: &SoakArgs) -> Result<bool> {
    if !(args.minutes.is_finite() && args.minutes > 0.0) || args.every == 0 {
        bail!("--minutes and --every must be positive");
    }
    if !args.no_build && args.bin_dir.is_none() {
        build::cargo_build(true)?;
    }
    let bin = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| build::profile_dir(true));
    let out_dir = cmd::target_dir().join("soak");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let recording = out_dir.join("soak.ndjson");
    let secs = (args.minutes * 60.0).round().max(1.0) as u64;
    let mut tracer = start(&bin, &recording, secs)?;
    let pid = tracer.id();
    let started = Instant::now();
    let ui = if args.no_tui {
        None
    } else {
        Some(tui::Tui::start(&bin.join("ipc-trace"))?)
    };
    let ui_pid = ui.as_ref().map(tui::Tui::pid).transpose()?;
    let mut samples = Vec::new();
    let mut ui_samples = Vec::new();
    let mut redraws = Vec::new();
    // Let it attach and the workload start before the first sample.
    std::thread::sleep(Duration::from_secs(args.every.min(5)));
    while started.elapsed() < Duration::from_secs(secs) {
        if tracer.try_wait()?.is_some() {
            break;
        }
        match take(pid, started) {
            Ok(s) => {
                println!("{}", row(&s));
                samples.push(s);
            }
            Err(e) => eprintln!("soak: sample failed: {e:#}"),
        }
        if let (Some(ui), Some(ui_pid)) = (&ui, ui_pid) {
            match (sample::rss_kib(ui_pid), ui.redraw_after_key()) {
                (Ok(rss_kib), Ok(redraw)) => {
                    println!(
                        "{:>8} {:>10}  TUI, redrawn {:.0} ms after a key",
                        "",
                        rss_kib,
                        redraw.as_secs_f64() * 1000.0
                    );
                    ui_samples.push(Sample {
                        at_s: started.elapsed().as_secs_f64(),
                        rss_kib,
                        entries: Default::default(),
                    });
                    redraws.push(redraw);
                }
                (Err(e), _) | (_, Err(e)) => eprintln!("soak: TUI sample failed: {e:#}"),
            }
        }
        std::thread::sleep(Duration::from_secs(args.every));
    }
    if let Some(ui) = ui {
        ui.quit();
    }
    let status = tracer.wait()?;
    if !status.success() {
        bail!("ipc-trace record exited with {status}; see its output above");
    }
    let stats = last_line(&recording)?;
    let mut verdicts = vec![
        judge::rss_flat(&samples),
        judge::maps_bounded(&samples),
        judge::nothing_lost(&stats),
    ];
    if !args.no_tui {
        let mut tui_rss = judge::rss_flat(&ui_samples);
        tui_rss.name = format!("TUI {}", tui_rss.name);
        verdicts.push(tui_rss);
        verdicts.push(judge::responsive(&redraws, tui::REDRAW_LIMIT));
    }
    println!(
        "\nsoak: {} min, {} samples, recording {} MiB",
        args.minutes,
        samples.len(),
        std::fs::metadata(&recording).map_or(0, |m| m.len() >> 20)
    );
    for v in &verdicts {
        println!(
            "  {:<32} {}  {}",
            v.name,
            if v.ok { "ok  " } else { "FAIL" },
            v.detail
        );
    }
    let _ = std::fs::remove_file(&recording);
    Ok(verdicts.iter().all(|v| v.ok))
}

/// `ipc-trace record` over the workload loop, for `secs` seconds.
fn start(bin: &Path, recording: &Path, secs: u64) -> Result<Child> {
    let ipc_trace = bin.join("ipc-trace");
    let (shm, sem) = (bin.join("shm-bench"), bin.join("sem-bench"));
    for b in [&ipc_trace, &shm, &sem] {
        if !b.is_file() {
            bail!("{} is missing: build first (drop --no-build)", b.display());
        }
    }
    // About 1000 events a second: 10 segments of 8 pages and 400 semops
    // every half second.
    let workload = format!(
        "while :; do {} --pages 8 --rounds 10 >/dev/null && {} --ops 400 >/dev/null || exit 1; sleep 0.4; done",
        shm.display(),
        sem.display()
    );
    println!(
        "soak: tracing for {secs} s: {workload}\n{:>8} {:>10}  hash map entries",
        "at s", "RSS KiB"
    );
    Command::new(&ipc_trace)
        .args([
            "record",
            "--no-selftest",
            "--duration",
            &secs.to_string(),
            "-o",
        ])
        .arg(recording)
        .args(["--", "sh", "-c", &workload])
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", ipc_trace.display()))
}

fn take(pid: u32, started: Instant) -> Result<Sample> {
    let rss_kib = sample::rss_kib(pid)?;
    let entries = sample::hash_map_entries(&sample::map_ids(pid)?)?;
    Ok(Sample {
        at_s: started.elapsed().as_secs_f64(),
        rss_kib,
        entries,
    })
}

fn row(s: &Sample) -> String {
    let maps: Vec<String> = s.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{:>8.0} {:>10}  {}", s.at_s, s.rss_kib, maps.join(" "))
}

/// The last line of the recording (its stats line), as JSON.
fn last_line(path: &Path) -> Result<serde_json::Value> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let tail = String::from_utf8_lossy(&bytes);
    let line = tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .with_context(|| format!("{} is empty", path.display()))?;
    serde_json::from_str(line)
        .with_context(|| format!("the last line of {} is not JSON", path.display()))
}
