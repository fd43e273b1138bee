//! Parsing one line of a recording into a [`Record`], with errors that name
//! the line and the field. Events take a fast path (one typed parse); only a
//! line that fails it is parsed again to explain what is wrong.

use super::errors::ReadError;
use super::{Header, Record, SchemaVersion};
use crate::event::{Event, EventKind, Stats};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses line number `line` (1-based) of a recording. Line 1 must be the
/// header; later lines are events or the stats line. Order rules (nothing
/// after stats) are the reader's job.
pub fn parse_record(line: u64, text: &str) -> Result<Record, ReadError> {
    if line <= 1 {
        parse_header(line.max(1), text).map(|h| Record::Header(Box::new(h)))
    } else {
        parse_body(line, text)
    }
}

/// Parses the header line, checking the schema version before the fields.
pub(crate) fn parse_header(line: u64, text: &str) -> Result<Header, ReadError> {
    let value = parse_value(line, text)?;
    let Value::Object(object) = &value else {
        return Err(ReadError::NotHeader {
            line,
            detail: format!(
                "the first line is {}, not the header object {{\"schema\":\"{}\",…}}",
                type_name(&value),
                super::SCHEMA
            ),
        });
    };
    let schema = match object.get("schema") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(ReadError::Field {
                line,
                field: "schema".to_string(),
                detail: format!(
                    "expected a string such as \"{}\", found {}",
                    super::SCHEMA,
                    type_name(other)
                ),
            });
        }
        None => {
            let detail = match object.get("kind").and_then(Value::as_str) {
                Some(kind) => format!("the first line is a `{kind}` record, not the header"),
                None => "the first line has no `schema` field".to_string(),
            };
            return Err(ReadError::NotHeader { line, detail });
        }
    };
    match SchemaVersion::parse(schema) {
        None => {
            return Err(ReadError::NotHeader {
                line,
                detail: format!(
                    "schema `{schema}` is not of the form {}/N",
                    super::SCHEMA_NAME
                ),
            });
        }
        Some(v) if !v.is_supported() => {
            return Err(ReadError::UnsupportedSchema {
                line,
                found: schema.clone(),
            });
        }
        Some(_) => {}
    }
    typed(line, "header", text)
}

/// Parses an event or the stats line.
fn parse_body(line: u64, text: &str) -> Result<Record, ReadError> {
    match serde_json::from_str::<Event>(text) {
        Ok(event) => match event.missing_field() {
            None => Ok(Record::Event(Box::new(event))),
            Some(field) => Err(ReadError::MissingField {
                line,
                kind: event.kind.as_str().to_string(),
                field: field.to_string(),
            }),
        },
        Err(fast) => explain_body(line, text, &fast),
    }
}

/// A line that is not a well-formed event: the stats line, or an error that
/// says what is wrong.
fn explain_body(line: u64, text: &str, fast: &serde_json::Error) -> Result<Record, ReadError> {
    let value = parse_value(line, text)?;
    let Value::Object(object) = &value else {
        return Err(ReadError::NotObject {
            line,
            found: type_name(&value),
        });
    };
    if object.contains_key("schema") {
        return Err(ReadError::SecondHeader { line });
    }
    let kind = match object.get("kind") {
        None => {
            return Err(ReadError::MissingField {
                line,
                kind: "record".to_string(),
                field: "kind".to_string(),
            });
        }
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => {
            return Err(ReadError::Field {
                line,
                field: "kind".to_string(),
                detail: format!("expected a string, found {}", type_name(other)),
            });
        }
    };
    if kind == "stats" {
        return typed::<Stats>(line, "stats", text).map(Record::Stats);
    }
    if !EventKind::ALL.iter().any(|k| k.as_str() == kind) {
        return Err(ReadError::UnknownKind {
            line,
            kind: kind.to_string(),
        });
    }
    match typed::<Event>(line, kind, text) {
        Err(e) => Err(e),
        // The fast path refused it for a reason the second parse did not
        // see again; report the parser's own words.
        Ok(_) => Err(ReadError::Invalid {
            line,
            detail: without_location(fast),
        }),
    }
}

/// Parses `text` as any JSON value; a syntax error becomes [`ReadError::NotJson`].
fn parse_value(line: u64, text: &str) -> Result<Value, ReadError> {
    serde_json::from_str(text).map_err(|e| ReadError::NotJson {
        line,
        detail: without_location(&e),
        column: e.column(),
    })
}

/// Parses `text` as `T`, naming the field of the first error.
fn typed<T: DeserializeOwned>(line: u64, kind: &str, text: &str) -> Result<T, ReadError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| field_error(line, kind, err.path().to_string(), &err.into_inner()))?;
    de.end()
        .map_err(|err| field_error(line, kind, ".".to_string(), &err))?;
    Ok(parsed)
}

/// A typed-parse error at `path` (`.` = the line's object itself).
fn field_error(line: u64, kind: &str, path: String, inner: &serde_json::Error) -> ReadError {
    let detail = without_location(inner);
    if inner.is_syntax() || inner.is_eof() {
        return ReadError::NotJson {
            line,
            detail,
            column: inner.column(),
        };
    }
    let missing = detail
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    match (path.as_str(), missing) {
        (".", Some(field)) => ReadError::MissingField {
            line,
            kind: kind.to_string(),
            field: field.to_string(),
        },
        (".", None) => ReadError::Invalid { line, detail },
        _ => ReadError::Field {
            line,
            field: path,
            detail,
        },
    }
}

/// serde_json's message without its " at line L column C" suffix (a
/// recording line is always line 1 to the parser).
fn without_location(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAULT: &str = r#"{"ts_ns":5,"kind":"shm_fault","pid":7,"tgid":7,"comm":"c","ipc_ns":1,"probe":"page_fault_user","backend":"tracepoint","id":3,"addr":4096,"page":0,"write":true}"#;

    fn err(line: u64, text: &str) -> String {
        match parse_record(line, text) {
            Ok(r) => format!("unexpectedly parsed: {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_event_parses() -> Result<(), ReadError> {
        let r = parse_record(2, FAULT)?;
        let e = r.as_event().ok_or(ReadError::Empty)?;
        assert_eq!(
            (e.kind, e.page, e.write),
            (EventKind::ShmFault, Some(0), Some(true))
        );
        Ok(())
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        assert_eq!(
            err(7, "{]"),
            "line 7: not JSON: key must be a string at column 2"
        );
        assert_eq!(
            err(7, "  x"),
            "line 7: not JSON: expected value at column 3"
        );
        assert_eq!(
            err(7, &FAULT.replace("\"pid\":7", "\"pid\":\"7\"")),
            "line 7: field `pid`: invalid type: string \"7\", expected u32"
        );
        assert_eq!(
            err(7, &FAULT.replace("\"pid\":7", "\"pid\":-1")),
            "line 7: field `pid`: invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            err(7, &FAULT.replace("shm_fault", "shm_foo")),
            "line 7: unknown kind `shm_foo`"
        );
        assert_eq!(
            err(7, &FAULT.replace(",\"page\":0", "")),
            "line 7: shm_fault lacks field `page`"
        );
        assert_eq!(
            err(7, &FAULT.replace("\"ts_ns\":5,", "")),
            "line 7: shm_fault lacks field `ts_ns`"
        );
        assert_eq!(
            err(7, &FAULT.replace("\"kind\":\"shm_fault\",", "")),
            "line 7: record lacks field `kind`"
        );
        assert_eq!(
            err(7, &FAULT.replace("\"shm_fault\"", "3")),
            "line 7: field `kind`: expected a string, found a number"
        );
        assert_eq!(
            err(7, "[1,2]"),
            "line 7: not a JSON object (found an array)"
        );
        assert_eq!(
            err(7, r#"{"schema":"ipc-trace/1","tool_version":"x"}"#),
            "line 7: a second header (recordings cannot be concatenated)"
        );
        assert_eq!(
            err(
                7,
                &FAULT.replace("\"write\":true}", "\"write\":true,\"pid\":8}")
            ),
            "line 7: duplicate field `pid`"
        );
        assert_eq!(
            err(7, &format!("{FAULT} x")),
            format!(
                "line 7: not JSON: trailing characters at column {}",
                FAULT.len() + 2
            )
        );
    }

    #[test]
    fn sembuf_fields_are_named_by_path() {
        let op = r#"{"ts_ns":5,"kind":"sem_op","pid":7,"tgid":7,"comm":"c","ipc_ns":1,"probe":"sys_semop","backend":"tracepoint","id":3,"ops":[{"num":0,"op":-1,"flg":0},{"num":1,"op":70000,"flg":0}]}"#;
        assert_eq!(
            err(3, op),
            "line 3: field `ops[1].op`: invalid value: integer `70000`, expected i16"
        );
    }

    #[test]
    fn stats_lines_parse_and_are_checked() -> Result<(), ReadError> {
        let good = r#"{"kind":"stats","events":3,"dropped":0,"duration_ns":9}"#;
        assert!(matches!(parse_record(9, good)?, Record::Stats(s) if s.events == 3));
        assert_eq!(
            err(9, r#"{"kind":"stats","events":3,"duration_ns":9}"#),
            "line 9: stats lacks field `dropped`"
        );
        assert_eq!(
            err(
                9,
                r#"{"kind":"stats","events":-3,"dropped":0,"duration_ns":9}"#
            ),
            "line 9: field `events`: invalid value: integer `-3`, expected u64"
        );
        Ok(())
    }

    #[test]
    fn headers_are_checked_for_version_before_fields() {
        assert_eq!(
            err(1, r#"{"schema":"ipc-trace/2"}"#),
            "line 1: schema ipc-trace/2 is not supported by this ipc-trace (reads ipc-trace/1)"
        );
        assert_eq!(
            err(1, r#"{"schema":"ipc-trace/1.1","tool_version":"9"}"#),
            "line 1: header lacks field `kernel`"
        );
        assert_eq!(
            err(1, FAULT),
            "line 1: not an ipc-trace recording: the first line is a `shm_fault` record, not the header"
        );
        assert_eq!(
            err(1, r#"{"schema":"perf/1"}"#),
            "line 1: not an ipc-trace recording: schema `perf/1` is not of the form ipc-trace/N"
        );
        assert_eq!(
            err(1, r#"{"schema":1}"#),
            "line 1: field `schema`: expected a string such as \"ipc-trace/1.2\", found a number"
        );
    }
}
