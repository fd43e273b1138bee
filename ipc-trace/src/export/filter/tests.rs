//! Unit tests of `filter.rs`.

use super::*;

#[test]
fn keys_parse_as_hex_or_decimal() {
    assert_eq!(parse_key("0x5100d3a1"), Ok(0x5100_d3a1));
    assert_eq!(parse_key("0xffffffff"), Ok(-1));
    assert_eq!(parse_key("1358992289"), Ok(1_358_992_289));
    assert_eq!(parse_key("-5"), Ok(-5));
    assert!(parse_key("0x1_0000_0000").is_err());
    assert!(parse_key("0x100000000").is_err());
    let err = parse_key("ab").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid key `ab`: give a decimal number or 0x followed by up to 8 hex digits")
    );
}

#[test]
fn kinds_parse_with_families() {
    assert_eq!(
        parse_kinds("shm_fault, sem_op"),
        Ok(vec![EventKind::ShmFault, EventKind::SemOp])
    );
    assert_eq!(parse_kinds("sem").map(|k| k.len()), Ok(5));
    assert!(matches!(parse_kinds("shm_foo"), Err(FilterError::UnknownKind(k)) if k == "shm_foo"));
    assert!(parse_kinds(",").is_err());
}

#[test]
fn times_parse_with_units() {
    assert_eq!(
        parse_time("+1.5s"),
        Ok(TimePoint::SinceStart(1_500_000_000))
    );
    assert_eq!(parse_time("+250ms"), Ok(TimePoint::SinceStart(250_000_000)));
    assert_eq!(parse_time("+.5us"), Ok(TimePoint::SinceStart(500)));
    assert_eq!(
        parse_time("81234567890"),
        Ok(TimePoint::Monotonic(81_234_567_890))
    );
    assert_eq!(parse_time("7ns"), Ok(TimePoint::Monotonic(7)));
    for bad in [
        "",
        "+",
        "1.2.3s",
        "5 min",
        "-3s",
        "+s",
        "99999999999999999999s",
    ] {
        assert!(parse_time(bad).is_err(), "{bad}");
    }
}

fn ev(ts: u64, kind: EventKind, pid: u32, id: Option<i32>, key: Option<i32>) -> Event {
    let mut e = Event::new(ts, kind, pid, pid, "t");
    e.id = id;
    e.key = key;
    e
}

#[test]
fn the_key_filter_follows_the_objects_it_found() {
    let filter = Filter {
        key: Some(77),
        ..Filter::default()
    };
    let header = Header::new("k", 0, 0);
    let mut m = filter.matcher(&header);
    let kept: Vec<bool> = [
        ev(1, EventKind::ShmGet, 1, Some(5), Some(77)),
        ev(2, EventKind::SemGet, 1, Some(5), Some(99)),
        ev(3, EventKind::ShmAttach, 2, Some(5), None),
        ev(4, EventKind::SemOp, 2, Some(5), None),
        ev(5, EventKind::ShmDestroy, 1, Some(5), None),
        ev(6, EventKind::ShmAttach, 2, Some(5), None),
        ev(7, EventKind::ProcExit, 2, None, None),
    ]
    .iter()
    .map(|e| m.matches(e))
    .collect();
    assert_eq!(kept, [true, false, true, false, true, false, false]);
}

#[test]
fn ids_repeat_across_ipc_namespaces() {
    let in_ns = |ns: u32, mut e: Event| {
        e.ipc_ns = ns;
        e
    };
    let events = [
        in_ns(1, ev(1, EventKind::ShmGet, 1, Some(0), Some(77))),
        in_ns(2, ev(2, EventKind::ShmGet, 2, Some(0), Some(99))),
        in_ns(2, ev(3, EventKind::ShmAttach, 2, Some(0), None)),
        in_ns(1, ev(4, EventKind::ShmAttach, 1, Some(0), None)),
        in_ns(3, ev(5, EventKind::Drops, 0, None, None)),
    ];
    let keep = |filter: Filter| -> Vec<bool> {
        let header = Header::new("k", 0, 0);
        let mut m = filter.matcher(&header);
        events.iter().map(|e| m.matches(e)).collect()
    };
    let by_key = keep(Filter {
        key: Some(77),
        ..Filter::default()
    });
    assert_eq!(by_key, [true, false, false, true, true]);
    let by_ns = keep(Filter {
        ipc_ns: Some(2),
        ..Filter::default()
    });
    assert_eq!(by_ns, [false, true, true, false, true]);
}

#[test]
fn pid_kind_id_and_time_combine() {
    let filter = Filter {
        pid: Some(2),
        kinds: vec![EventKind::SemOp, EventKind::Drops],
        from: Some(TimePoint::SinceStart(10)),
        to: Some(TimePoint::Monotonic(130)),
        id: Some(3),
        key: None,
        ipc_ns: None,
    };
    let header = Header::new("k", 0, 100);
    let mut m = filter.matcher(&header);
    let kept: Vec<bool> = [
        ev(105, EventKind::SemOp, 2, Some(3), None),
        ev(115, EventKind::SemOp, 2, Some(3), None),
        ev(116, EventKind::SemOp, 1, Some(3), None),
        ev(117, EventKind::SemOp, 2, Some(4), None),
        ev(118, EventKind::ShmAttach, 2, Some(3), None),
        ev(119, EventKind::Drops, 9, None, None),
        ev(131, EventKind::SemOp, 2, Some(3), None),
    ]
    .iter()
    .map(|e| m.matches(e))
    .collect();
    assert_eq!(kept, [false, true, false, false, false, true, false]);
    assert!(!filter.is_empty());
    assert!(Filter::default().is_empty());
}
