//! Unit tests of `event.rs`.

use super::*;

#[test]
fn absent_fields_are_not_written_and_kinds_are_snake_case() -> Result<(), serde_json::Error> {
    let mut e = Event::new(5, EventKind::ShmCreate, 10, 10, "prod");
    e.id = Some(32768);
    e.size = Some(516);
    let json = serde_json::to_string(&e)?;
    assert!(json.contains("\"kind\":\"shm_create\""), "{json}");
    assert!(!json.contains("wait_ns"), "{json}");
    assert!(!json.contains("inferred"), "{json}");
    let back: Event = serde_json::from_str(&json)?;
    assert_eq!(back, e);
    assert_eq!(back.missing_field(), None);
    Ok(())
}

#[test]
fn a_fault_without_page_is_malformed() {
    let mut e = Event::new(5, EventKind::ShmFault, 10, 10, "c");
    e.id = Some(1);
    e.addr = Some(0x1000);
    assert_eq!(e.missing_field(), Some("page"));
}

#[test]
fn kind_names_match_serde() -> Result<(), serde_json::Error> {
    for k in EventKind::ALL {
        assert_eq!(serde_json::to_string(&k)?, format!("\"{}\"", k.as_str()));
    }
    Ok(())
}

#[test]
fn a_timeout_is_eagain_as_errno_or_as_a_kernel_return() {
    let mut e = Event::new(1, EventKind::SemOp, 7, 7, "t");
    assert!(!e.timed_out());
    e.errno = Some(libc::EAGAIN);
    assert!(e.timed_out());
    e.errno = Some(libc::EINTR);
    assert!(!e.timed_out());
    e.errno = None;
    e.ret = Some(-i64::from(libc::EAGAIN));
    assert!(e.timed_out());
}
