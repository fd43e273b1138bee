//! Shared by the integration tests: the JSON Schema validator.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The ipc-trace crate directory.
pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The validator of schema/ipc-trace-1.schema.json (itself checked against the meta-schema).
pub fn validator() -> Result<jsonschema::Validator, Box<dyn std::error::Error>> {
    let path = manifest().join("../schema/ipc-trace-1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    jsonschema::meta::validate(&schema)
        .map_err(|e| format!("{}: not a valid JSON Schema: {e}", path.display()))?;
    Ok(jsonschema::draft202012::new(&schema).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Every line's schema violations, as "path:line: message".
pub fn violations(
    validator: &jsonschema::Validator,
    path: &Path,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                found.push(format!("{}:{}: not JSON: {e}", path.display(), n + 1));
                continue;
            }
        };
        let is_header = value.get("schema").is_some();
        if (n == 0) != is_header {
            found.push(format!(
                "{}:{}: the header must be line 1 and only line 1",
                path.display(),
                n + 1
            ));
        }
        for error in validator.iter_errors(&value) {
            found.push(format!(
                "{}:{}: {} at {}",
                path.display(),
                n + 1,
                error,
                error.instance_path()
            ));
        }
    }
    Ok(found)
}
