//! demo-run: the one command to trace. Starts shm-producer, then
//! shm-consumer (and with `--pingpong` sem-pingpong), all found next to this
//! executable, waits for all of them and fails if any failed.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::keyfile::DEFAULT_KEY_PATH;
use demos::message::RECORD_SIZE;
use demos::stages::StageArg;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

#[derive(Parser, Debug)]
#[command(about = "Run the System V IPC demos together (the command to trace)")]
struct Args {
    /// File the IPC keys are derived from (ftok); created when missing.
    #[arg(long, default_value = DEFAULT_KEY_PATH)]
    path: PathBuf,
    /// Segment size in bytes.
    #[arg(long, default_value_t = RECORD_SIZE)]
    size: usize,
    /// Data messages from producer to consumer.
    #[arg(long, default_value_t = 10)]
    messages: u64,
    /// Also run sem-pingpong.
    #[arg(long)]
    pingpong: bool,
    /// Ping-pong rounds.
    #[arg(long, default_value_t = 10)]
    rounds: u64,
    /// Milliseconds between the producer's tries (raise it to watch the
    /// demo at human speed in the TUI).
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    /// Give up after this many seconds without progress (each program).
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Write one JSON report per program into this directory
    /// (`shm-producer.json`, `shm-consumer.json`, `sem-pingpong.json`).
    #[arg(long)]
    report_dir: Option<PathBuf>,
    // Passed on to every program it starts.
    #[command(flatten)]
    stage: StageArg,
}

/// The sibling program `name`, next to this executable.
fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this executable's path")?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{name} not found at {}: build all demo programs (`cargo build -p demos`) and keep them in one directory",
            path.display()
        );
    }
    Ok(path)
}

fn start(program: &Path, name: &str, args: &Args, extra: &[String]) -> Result<Child> {
    let mut cmd = Command::new(program);
    cmd.arg("--path")
        .arg(&args.path)
        .arg("--timeout-s")
        .arg(args.timeout_s.to_string())
        .args(extra);
    if let Some(dir) = &args.report_dir {
        cmd.arg("--report").arg(dir.join(format!("{name}.json")));
    }
    if let Some(fifo) = &args.stage.fifo {
        cmd.arg("--stages").arg(fifo);
    }
    cmd.spawn()
        .with_context(|| format!("cannot start {}", program.display()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.stage.fifo.is_some() {
        // Under a lab: Ctrl-C is for the lab (demos::stages).
        demos::stages::ignore_interrupts();
    }
    if let Some(dir) = &args.report_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create report directory {}", dir.display()))?;
    }
    let size = args.size.to_string();
    let mut plan: Vec<(&str, Vec<String>)> = vec![
        (
            "shm-producer",
            vec![
                "--size".into(),
                size.clone(),
                "--messages".into(),
                args.messages.to_string(),
                "--interval-ms".into(),
                args.interval_ms.to_string(),
            ],
        ),
        ("shm-consumer", vec!["--size".into(), size]),
    ];
    if args.pingpong {
        plan.push((
            "sem-pingpong",
            vec!["--rounds".into(), args.rounds.to_string()],
        ));
    }
    // Find every program before starting any.
    let programs = plan
        .iter()
        .map(|(name, _)| sibling(name))
        .collect::<Result<Vec<_>>>()?;

    let mut children = Vec::new();
    let mut failed = Vec::new();
    for ((name, extra), program) in plan.iter().zip(&programs) {
        match start(program, name, &args, extra) {
            Ok(child) => children.push((*name, child)),
            Err(e) => {
                // The programs already started time out and clean up by themselves.
                failed.push(format!("{e:#}"));
                break;
            }
        }
    }
    for (name, mut child) in children {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("{name} ({status})")),
            Err(e) => failed.push(format!("waiting for {name}: {e}")),
        }
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join("; "));
    }
    eprintln!("demo-run: all programs succeeded");
    Ok(())
}
