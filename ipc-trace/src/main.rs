//! The `ipc-trace` command: parse, dispatch, map errors to exit statuses
//! (0 ok, 1 runtime error, 2 bad usage or bad input; 101 is a panic, a
//! bug, reported in one line).

mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command};
use std::io::Write;
use std::process::ExitCode;

/// A panic is a bug: one line saying so, where, and that the probes go
/// with the process (the panic unwinds through the session, which detaches
/// them; the TUI's own hook restores the terminal before this runs).
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "ipc-trace: internal error (a bug, please report it): {what}{place}; exiting (the probes are detached on the way out)"
        );
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            let _ = writeln!(std::io::stderr(), "{trace}");
        }
    }));
}

/// Commands that only print a report end quietly when their reader goes
/// away (`summary --json | head`), as other command-line tools do: the
/// default action of SIGPIPE, instead of Rust's ignoring it and panicking
/// in `print!`. Commands that trace while they write (`record`, the TUI)
/// keep it ignored, so that a closed pipe never skips their clean-up.
fn end_quietly_on_closed_pipe(command: Option<&Command>) {
    // A live lab traces, and stops its demo between stages: it must live
    // to let the demo go on. A lab over a recording, or the list, only prints.
    let reports_only = matches!(
        command,
        Some(Command::Summary { .. } | Command::Doctor { .. })
            | Some(
                Command::Lab {
                    replay: Some(_),
                    ..
                } | Command::Lab { name: None, .. }
            )
    );
    if reports_only {
        // SAFETY: restores a signal's default action before any thread
        // that could receive it exists; no handler is involved.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    report_panics();
    let cli = Cli::parse();
    end_quietly_on_closed_pipe(cli.command.as_ref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ipc-trace: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => commands::tui(cli.trace, cli.cmd).await,
            Some(Command::Tui { trace, cmd }) => commands::tui(trace, cmd).await,
            Some(Command::Record {
                output,
                duration,
                echo,
                summary_out,
                program_stats,
                mode,
                trace,
                cmd,
            }) => {
                let out = commands::RecordOutputs {
                    output: &output,
                    mode,
                    duration,
                    echo,
                    summary_out: summary_out.as_deref(),
                    program_stats: program_stats.as_deref(),
                };
                commands::record(out, trace, cmd).await
            }
            Some(Command::Replay {
                file,
                skip_bad,
                step,
            }) => commands::replay(&file, skip_bad, step).await,
            Some(Command::Summary {
                file,
                json,
                skip_bad,
                trace,
                cmd,
            }) => commands::summary(file.as_deref(), json, skip_bad, trace, cmd).await,
            Some(Command::Export {
                file,
                format,
                output,
                mode,
                key,
                id,
                pid,
                ipc_ns,
                kind,
                from,
                to,
                skip_bad,
            }) => commands::export(
                &file,
                format,
                (&output, mode),
                key,
                id,
                (pid, ipc_ns),
                kind,
                from,
                to,
                skip_bad,
            ),
            Some(Command::Doctor {
                attach,
                json,
                trace,
                loaded_programs,
            }) => commands::doctor(attach, json, trace, loaded_programs).await,
            Some(Command::Lab {
                name,
                exclude_probes,
                replay,
                auto,
                plain,
                answers,
                keep,
                no_stacks,
            }) => {
                commands::lab(commands::LabArgs {
                    name,
                    exclude_probes,
                    replay,
                    auto,
                    plain,
                    answers,
                    keep,
                    no_stacks,
                })
                .await
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Standard error may be a closed terminal (SIGHUP): not a panic.
            let _ = writeln!(std::io::stderr(), "ipc-trace: {}", e.message);
            ExitCode::from(e.status)
        }
    }
}
