//! Validation of a recording against the JSON Schema of the format
//! (schema/ipc-trace-1.schema.json), line by line.
//!
//! Self-contained (std, serde_json, jsonschema only) so that the
//! ipc-trace integration tests can include this very file by `#[path]`
//! instead of keeping a copy: demos depends on ipc-trace, not the reverse.

use serde_json::Value;
use std::error::Error;
use std::path::Path;

/// The validator of the schema at `path` (itself checked against the
/// meta-schema, so a broken schema fails loudly instead of passing all).
pub fn validator_at(path: &Path) -> Result<jsonschema::Validator, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    jsonschema::meta::validate(&schema)
        .map_err(|e| format!("{}: not a valid JSON Schema: {e}", path.display()))?;
    Ok(jsonschema::draft202012::new(&schema).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Every line's schema violations in the recording at `path`, as
/// "path:line: message"; the header must be line 1 and only line 1.
pub fn violations(
    validator: &jsonschema::Validator,
    path: &Path,
) -> Result<Vec<String>, Box<dyn Error>> {
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
