//! Unit tests of `output.rs`.

use super::*;

fn scratch(name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ipc-trace-output-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

#[test]
fn nothing_appears_until_commit_then_the_target_holds_the_data()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = scratch("commit")?;
    let target = dir.join("out.ndjson");
    std::fs::write(&target, "previous\n")?;
    let mut out = OutputFile::create(&target)?;
    out.write_all(b"new\n")?;
    out.flush()?;
    assert_eq!(std::fs::read_to_string(&target)?, "previous\n");
    out.commit()?;
    assert_eq!(std::fs::read_to_string(&target)?, "new\n");
    assert_eq!(entries(&dir)?, vec!["out.ndjson".to_string()]);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_dropped_output_leaves_the_previous_file_and_no_temporary()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = scratch("drop")?;
    let target = dir.join("out.ndjson");
    std::fs::write(&target, "previous\n")?;
    {
        let mut out = OutputFile::create(&target)?;
        out.write_all(b"half a recor")?;
    }
    assert_eq!(std::fs::read_to_string(&target)?, "previous\n");
    assert_eq!(entries(&dir)?, vec!["out.ndjson".to_string()]);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_partial_output_is_kept_once_marked_and_blocks_the_next_one()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = scratch("partial")?;
    let target = dir.join("r.ndjson");
    {
        let mut out = OutputFile::create_partial(&target, DEFAULT_MODE)?;
        out.write_all(b"not marked\n")?;
    }
    assert_eq!(entries(&dir)?, Vec::<String>::new());
    {
        let mut out = OutputFile::create_partial(&target, DEFAULT_MODE)?;
        out.write_all(b"header\n")?;
        out.keep_if_dropped();
        out.write_all(b"event\n")?;
    }
    assert_eq!(entries(&dir)?, vec!["r.ndjson.partial".to_string()]);
    assert_eq!(
        std::fs::read_to_string(partial_path(&target))?,
        "header\nevent\n"
    );
    let err = OutputFile::create_partial(&target, DEFAULT_MODE)
        .err()
        .ok_or("a second recording over a kept partial")?;
    assert!(err.to_string().contains("r.ndjson.partial exists"), "{err}");
    // An empty one (killed before its header) is replaced.
    std::fs::write(partial_path(&target), "")?;
    let mut out = OutputFile::create_partial(&target, DEFAULT_MODE)?;
    out.write_all(b"whole\n")?;
    out.commit()?;
    assert_eq!(entries(&dir)?, vec!["r.ndjson".to_string()]);
    assert_eq!(std::fs::read_to_string(&target)?, "whole\n");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_planted_symlink_is_replaced_not_followed() -> Result<(), Box<dyn std::error::Error>> {
    let dir = scratch("symlink")?;
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious\n")?;
    let target = dir.join("out.ndjson");
    std::os::unix::fs::symlink(&victim, &target)?;
    let mut out = OutputFile::create(&target)?;
    out.write_all(b"recording\n")?;
    out.commit()?;
    assert_eq!(std::fs::read_to_string(&victim)?, "precious\n");
    assert!(!std::fs::symlink_metadata(&target)?.file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&target)?, "recording\n");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn new_files_are_the_owners_only_unless_a_mode_is_given() -> Result<(), Box<dyn std::error::Error>>
{
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode")?;
    let target = dir.join("out.ndjson");
    OutputFile::create(&target)?.commit()?;
    let mode = std::fs::metadata(&target)?.permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let shared = dir.join("shared.ndjson");
    OutputFile::create_with_mode(&shared, 0o644)?.commit()?;
    let mode = std::fs::metadata(&shared)?.permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644, "mode {mode:o}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_unwritable_place_gives_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
    let dir = scratch("unwritable")?;
    // A regular file where the directory should be: fails even for root.
    let not_a_dir = dir.join("plain-file");
    std::fs::write(&not_a_dir, "")?;
    let target = not_a_dir.join("out.ndjson");
    let err = OutputFile::create(&target)
        .err()
        .ok_or("created under a file")?;
    assert_eq!(
        err.to_string(),
        format!("cannot write {}: Not a directory", target.display())
    );
    // sysfs refuses new files with EACCES, also for root.
    let err = OutputFile::create(Path::new("/sys/ipc-trace-out.ndjson"))
        .err()
        .ok_or("created a file in /sys")?;
    assert_eq!(
        err.to_string(),
        "cannot write /sys/ipc-trace-out.ndjson: Permission denied"
    );
    // A directory as the target.
    let err = OutputFile::create(&dir)
        .err()
        .ok_or("wrote over a directory")?;
    assert!(err.to_string().contains("it is a directory"), "{err}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
