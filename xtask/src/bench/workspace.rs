//! The bench targets of a workspace package, as `cargo metadata` lists them.

use crate::cmd;
use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Names of the `[[bench]]` targets of package `package`.
pub fn bench_targets(package: &str) -> Result<Vec<String>> {
    let out = cmd::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(cmd::workspace_root())
        .output()
        .context("cannot run `cargo metadata`")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata: bad JSON")?;
    Ok(benches_of(&metadata, package))
}

fn benches_of(metadata: &Value, package: &str) -> Vec<String> {
    let packages = metadata.get("packages").and_then(Value::as_array);
    let Some(pkg) = packages.and_then(|ps| {
        ps.iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(package))
    }) else {
        return Vec::new();
    };
    let targets = pkg.get("targets").and_then(Value::as_array);
    targets
        .into_iter()
        .flatten()
        .filter(|t| {
            t.get("kind")
                .and_then(Value::as_array)
                .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("bench")))
        })
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bench_targets_of_the_package_are_listed() -> Result<()> {
        let metadata: Value = serde_json::from_str(
            r#"{"packages":[
                {"name":"other","targets":[{"name":"x","kind":["bench"]}]},
                {"name":"ipc-trace","targets":[
                    {"name":"ipc-trace","kind":["bin"]},
                    {"name":"model","kind":["bench"]}]}]}"#,
        )?;
        assert_eq!(benches_of(&metadata, "ipc-trace"), ["model"]);
        assert!(benches_of(&metadata, "missing").is_empty());
        Ok(())
    }
}
