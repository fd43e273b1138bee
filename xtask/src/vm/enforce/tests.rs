use super::*;

fn facts(absent: &[&str]) -> BTreeMap<String, String> {
    KERNEL_PATH_FUNCTIONS
        .iter()
        .map(|f| {
            let n = if absent.contains(f) { "0" } else { "1" };
            (format!("kallsyms.{f}"), n.to_string())
        })
        .collect()
}

fn row(name: &str, backend: &str) -> ProbeRow {
    ProbeRow {
        name: name.into(),
        kernel_path: true,
        backend: Some(backend.into()),
        attached: true,
        fired: true,
        reason: None,
    }
}

fn event(kind: &str, probe: &str, backend: &str) -> EventRef {
    EventRef {
        kind: kind.into(),
        probe: probe.into(),
        backend: backend.into(),
        inferred: false,
    }
}

/// A recording where everything came through the kernel path.
fn good(backend: &str) -> Recording {
    let mut probes: Vec<ProbeRow> = KERNEL_PATH_FUNCTIONS
        .iter()
        .map(|f| row(f, backend))
        .collect();
    probes.push(ProbeRow {
        name: "sys_shmget".into(),
        backend: Some("tracepoint".into()),
        attached: true,
        ..ProbeRow::default()
    });
    let source = [
        ("shm_create", "newseg"),
        ("sem_create", "newary"),
        ("shm_attach", "do_shmat"),
        ("shm_fault", "shm_fault"),
        ("sem_op", "__do_semtimedop"),
        ("shm_destroy", "shm_destroy"),
        ("sem_destroy", "freeary"),
    ];
    let events = source.iter().map(|(k, p)| event(k, p, backend)).collect();
    Recording { probes, events }
}

#[test]
fn a_full_kernel_path_recording_passes() {
    for backend in ["kprobe", "fentry"] {
        assert_eq!(
            enforce(backend, &facts(&[]), &good(backend)),
            Vec::<String>::new()
        );
    }
}

#[test]
fn a_present_probe_that_is_not_attached_fails() {
    let mut rec = good("kprobe");
    let r = rec.probes.iter_mut().find(|r| r.name == "shm_fault");
    if let Some(r) = r {
        r.attached = false;
        r.backend = None;
        r.reason = Some("excluded by --exclude-probe".into());
    }
    let f = enforce("kprobe", &facts(&[]), &rec);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("`shm_fault`") && f[0].contains("not attached"),
        "{f:?}"
    );
}

#[test]
fn an_absent_function_is_not_required() {
    let mut rec = good("fentry");
    rec.probes.retain(|r| r.name != "__do_semtimedop");
    if let Some(e) = rec.events.iter_mut().find(|e| e.kind == "sem_op") {
        e.probe = "do_semtimedop".into();
    }
    assert!(enforce("fentry", &facts(&["__do_semtimedop"]), &rec).is_empty());
    // ... but when the kernel has it, a missing row fails.
    let f = enforce("fentry", &facts(&[]), &rec);
    assert!(f.iter().any(|f| f.contains("`__do_semtimedop`")), "{f:?}");
}

#[test]
fn attached_with_another_backend_or_not_fired_fails() {
    let mut rec = good("fentry");
    rec.probes[0].backend = Some("kprobe".into());
    rec.probes[1].fired = false;
    let f = enforce("fentry", &facts(&[]), &rec);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f.iter()
            .any(|f| f.contains("`newseg`") && f.contains("instead of fentry"))
    );
    assert!(
        f.iter()
            .any(|f| f.contains("`do_shmat`") && f.contains("did not fire"))
    );
}

#[test]
fn an_inferred_shm_create_in_a_kprobe_cell_fails() {
    let mut rec = good("kprobe");
    rec.events.push(EventRef {
        inferred: true,
        ..event("shm_create", "sys_shmget", "tracepoint")
    });
    let f = enforce("kprobe", &facts(&[]), &rec);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("1 of 2 `shm_create`") && f[0].contains("inferred"),
        "{f:?}"
    );
}

#[test]
fn a_tracepoint_event_of_a_lifecycle_kind_fails_and_a_missing_kind_fails() {
    let mut rec = good("kprobe");
    if let Some(e) = rec.events.iter_mut().find(|e| e.kind == "shm_attach") {
        *e = event("shm_attach", "sys_shmat", "tracepoint");
    }
    rec.events.retain(|e| e.kind != "sem_destroy");
    let f = enforce("kprobe", &facts(&[]), &rec);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f[0].contains("`shm_attach`"));
    assert!(f[1].contains("no `sem_destroy` event"));
}

#[test]
fn missing_facts_fail_and_tracepoint_cells_are_not_enforced() {
    let f = enforce("kprobe", &BTreeMap::new(), &good("kprobe"));
    assert_eq!(f.len(), KERNEL_PATH_FUNCTIONS.len(), "{f:?}");
    let mut rec = good("tracepoint");
    rec.events.iter_mut().for_each(|e| e.inferred = true);
    assert!(enforce("tracepoint", &BTreeMap::new(), &rec).is_empty());
}

fn excluded_recording() -> Recording {
    let mut rec = good("kprobe");
    if let Some(r) = rec.probes.iter_mut().find(|r| r.name == "shm_fault") {
        r.attached = false;
        r.backend = None;
        r.reason = Some("excluded by --exclude-probe shm_fault".into());
    }
    if let Some(e) = rec.events.iter_mut().find(|e| e.kind == "shm_fault") {
        *e = EventRef {
            inferred: true,
            ..event("shm_fault", "page_fault_user", "tracepoint")
        };
    }
    rec
}

#[test]
fn the_control_is_as_expected_when_enforcement_names_the_excluded_probe() {
    let rec = excluded_recording();
    let enforcement = enforce("kprobe", &facts(&[]), &rec);
    assert_eq!(enforcement.len(), 2, "{enforcement:?}");
    let (failures, facts) = control_verdict("shm_fault", &rec, &enforcement, &[]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(facts.len(), 2, "{facts:?}");
}

#[test]
fn the_control_fails_when_nothing_is_enforced_or_the_run_broke() {
    let rec = excluded_recording();
    let (failures, _) = control_verdict("shm_fault", &rec, &[], &[]);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("does not enforce"));
    let enforcement = enforce("kprobe", &facts(&[]), &rec);
    let (failures, _) =
        control_verdict("shm_fault", &rec, &enforcement, &["record exited 1".into()]);
    assert_eq!(failures.len(), 1, "{failures:?}");
    // A probe that was attached after all is no control.
    let (failures, _) = control_verdict("shm_fault", &good("kprobe"), &enforcement, &[]);
    assert!(
        failures.iter().any(|f| f.contains("was not excluded")),
        "{failures:?}"
    );
}

/// A recording as ipc-trace writes it: header, events, stats.
fn ndjson(shm_fault_attached: bool, shm_create_inferred: bool) -> String {
    let rows: Vec<String> = KERNEL_PATH_FUNCTIONS
        .iter()
        .map(|f| {
            if *f == "shm_fault" && !shm_fault_attached {
                format!(r#"{{"name":"{f}","class":"kernel_path","backend":null,"attached":false,"reason":"excluded by --exclude-probe"}}"#)
            } else {
                format!(r#"{{"name":"{f}","class":"kernel_path","backend":"kprobe","attached":true,"fired":true}}"#)
            }
        })
        .collect();
    let header = format!(
        r#"{{"schema":"ipc-trace/1","kernel":"6.1.0","probes":[{{"name":"sys_shmget","class":"tracepoint","backend":"tracepoint","attached":true}},{}]}}"#,
        rows.join(",")
    );
    let create = if shm_create_inferred {
        r#"{"kind":"shm_create","probe":"sys_shmget","backend":"tracepoint","inferred":true,"id":1,"size":4096}"#
    } else {
        r#"{"kind":"shm_create","probe":"newseg","backend":"kprobe","id":1,"size":4096}"#
    };
    [
        header.as_str(),
        create,
        r#"{"kind":"shm_get","probe":"sys_shmget","backend":"tracepoint","ret":1}"#,
        r#"{"kind":"sem_create","probe":"newary","backend":"kprobe","id":1,"nsems":1}"#,
        r#"{"kind":"shm_attach","probe":"do_shmat","backend":"kprobe","id":1,"addr":4096}"#,
        r#"{"kind":"shm_fault","probe":"shm_fault","backend":"kprobe","id":1,"addr":4096,"page":0}"#,
        r#"{"kind":"sem_op","probe":"__do_semtimedop","backend":"kprobe","id":1,"ops":[]}"#,
        r#"{"kind":"shm_destroy","probe":"shm_destroy","backend":"kprobe","id":1}"#,
        r#"{"kind":"sem_destroy","probe":"freeary","backend":"kprobe","id":1}"#,
        r#"{"kind":"stats","events":8,"dropped":0}"#,
    ]
    .join("\n")
}

#[test]
fn synthetic_recordings_pass_or_fail_as_they_should() -> Result<()> {
    let good = parse_recording(&ndjson(true, false))?;
    assert_eq!(good.events.len(), 7);
    assert!(enforce("kprobe", &facts(&[]), &good).is_empty());
    // One present probe not attached: fails, naming it.
    let f = enforce(
        "kprobe",
        &facts(&[]),
        &parse_recording(&ndjson(false, false))?,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains("`shm_fault`"), "{f:?}");
    // An inferred shm_create in a kprobe cell: fails, naming the kind.
    let f = enforce(
        "kprobe",
        &facts(&[]),
        &parse_recording(&ndjson(true, true))?,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("`shm_create`") && f[0].contains("inferred"),
        "{f:?}"
    );
    // The same recording in an fentry cell: every probe has the wrong backend.
    assert!(!enforce("fentry", &facts(&[]), &good).is_empty());
    Ok(())
}
