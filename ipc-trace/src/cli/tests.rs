//! Parsing tests of the command line.

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("ipc-trace").chain(args.iter().copied()))
}

#[test]
fn modes_are_octal_permission_bits() {
    assert_eq!(parse_mode("600"), Ok(0o600));
    assert_eq!(parse_mode("0644"), Ok(0o644));
    assert_eq!(parse_mode("0o640"), Ok(0o640));
    assert!(parse_mode("1777").is_err());
    assert!(parse_mode("rw-").is_err());
    assert!(parse_mode("9").is_err());
}

#[test]
fn default_is_the_tui_with_a_command() -> Result<(), clap::Error> {
    let cli = parse(&["--", "demo-run", "--messages", "3"])?;
    assert!(cli.command.is_none());
    assert_eq!(cli.cmd, ["demo-run", "--messages", "3"]);
    assert_eq!(cli.trace.options().backend, BackendChoice::Auto);
    Ok(())
}

#[test]
fn record_takes_output_duration_filters_and_command() -> Result<(), clap::Error> {
    let cli = parse(&[
        "record",
        "-o",
        "x.ndjson",
        "--duration",
        "2.5",
        "--backend",
        "kprobe",
        "--pid",
        "7",
        "--pid",
        "9",
        "--key",
        "0x16988",
        "--",
        "true",
    ])?;
    match cli.command {
        Some(Command::Record {
            output,
            duration,
            trace,
            cmd,
            ..
        }) => {
            assert_eq!(output, PathBuf::from("x.ndjson"));
            assert_eq!(duration, Some(2.5));
            assert_eq!(trace.options().backend, BackendChoice::Kprobe);
            assert_eq!(trace.pids, [7, 9]);
            assert_eq!(trace.key, Some(0x16988));
            assert_eq!(cmd, ["true"]);
        }
        other => panic!("parsed as {other:?}"),
    }
    Ok(())
}

#[test]
fn bad_usage_is_an_error_with_exit_status_2() {
    for args in [
        &["record"][..],
        &["--frobnicate"],
        &["record", "-o", "x", "--ringbuf-size", "1000"],
        &["record", "-o", "x", "--backend", "magic"],
        &["tui", "--key", "banana"],
    ] {
        match parse(args) {
            Ok(cli) => panic!("{args:?} parsed as {cli:?}"),
            Err(e) => assert_eq!(e.exit_code(), 2, "{args:?}"),
        }
    }
}

#[test]
fn exclude_probe_is_repeatable_on_every_tracing_command() -> Result<(), clap::Error> {
    use ipc_trace_common::probe as ids;
    let x = [
        "--exclude-probe",
        "shm_fault",
        "--exclude-probe",
        "__do_semtimedop",
    ];
    let with = |cmd: &[&'static str]| -> Vec<&'static str> {
        let mut v = cmd.to_vec();
        v.extend(x);
        v
    };
    let want = vec![ids::SHM_FAULT, ids::DO_SEMTIMEDOP_INNER];
    let cli = parse(&with(&[]))?;
    assert_eq!(cli.trace.exclude_probes, want);
    assert!(cli.trace.excluded().contains(ids::SHM_FAULT));
    assert!(!cli.trace.excluded().contains(ids::SHMEM_FAULT));
    for cmd in [
        &["tui"][..],
        &["record", "-o", "x"],
        &["summary"],
        &["doctor", "--attach"],
    ] {
        let trace = match parse(&with(cmd))?.command {
            Some(Command::Tui { trace, .. })
            | Some(Command::Record { trace, .. })
            | Some(Command::Summary { trace, .. })
            | Some(Command::Doctor { trace, .. }) => trace,
            other => panic!("{cmd:?} parsed as {other:?}"),
        };
        assert_eq!(trace.exclude_probes, want, "{cmd:?}");
    }
    match parse(&with(&["lab", "shm"]))?.command {
        Some(Command::Lab { exclude_probes, .. }) => assert_eq!(exclude_probes, want),
        other => panic!("lab parsed as {other:?}"),
    }
    Ok(())
}

#[test]
fn unknown_probe_names_are_usage_errors_listing_the_valid_names() {
    for bad in ["shm_faults", "sys_shmget", "do_semtimedop_inner", ""] {
        let err = match parse(&["record", "-o", "x", "--exclude-probe", bad]) {
            Ok(cli) => panic!("{bad:?} parsed as {cli:?}"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 2, "{bad:?}");
        let text = err.to_string();
        for name in kernel_probe_names() {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }
}

#[test]
fn help_names_every_excludable_probe() {
    use clap::CommandFactory;
    let help = Cli::command()
        .find_subcommand_mut("record")
        .map(|c| c.render_long_help().to_string())
        .unwrap_or_default();
    assert!(help.contains("--exclude-probe <NAME>"), "{help}");
    for name in kernel_probe_names() {
        assert!(help.contains(name), "{name} missing from record --help");
    }
}

#[test]
fn keys_and_sizes_parse() {
    assert_eq!(parse_key("0x00016988"), Ok(0x16988));
    assert_eq!(parse_key("92552"), Ok(92552));
    assert_eq!(parse_key("0xffffffff"), Ok(-1));
    assert!(parse_key("0xfffffffff").is_err());
    assert_eq!(parse_ring_size("64K"), Ok(65536));
    assert_eq!(parse_ring_size("4M"), Ok(4 << 20));
    assert!(parse_ring_size("3M").is_err());
}
