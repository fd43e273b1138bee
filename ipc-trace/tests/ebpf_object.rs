//! The built eBPF object holds every program, map and global userspace
//! depends on, each with the right section kind.

use aya_obj::{Object, ProgramSection};
use ipc_trace::probe::attach::ebpf_object;

fn parse() -> Object {
    Object::parse(ebpf_object()).expect("the embedded eBPF object parses")
}

fn kind(obj: &Object, name: &str) -> Option<&'static str> {
    obj.programs.get(name).map(|p| match p.section {
        ProgramSection::KProbe => "kprobe",
        ProgramSection::KRetProbe => "kretprobe",
        ProgramSection::FEntry { .. } => "fentry",
        ProgramSection::FExit { .. } => "fexit",
        ProgramSection::TracePoint => "tracepoint",
        _ => "other",
    })
}

#[test]
fn kernel_path_programs_exist_for_every_backend() {
    let obj = parse();
    let with_return = [
        "newseg",
        "do_shmat",
        "shm_fault",
        "shmem_fault",
        "newary",
        "do_semtimedop",
        "do_semtimedop_inner",
    ];
    for f in with_return {
        for prefix in ["kprobe", "kretprobe", "fentry", "fexit"] {
            let name = format!("{prefix}_{f}");
            assert_eq!(kind(&obj, &name), Some(prefix), "program {name}");
        }
    }
    for f in ["shm_destroy", "shm_close", "freeary"] {
        for prefix in ["kprobe", "fentry"] {
            let name = format!("{prefix}_{f}");
            assert_eq!(kind(&obj, &name), Some(prefix), "program {name}");
        }
        for prefix in ["kretprobe", "fexit"] {
            let name = format!("{prefix}_{f}");
            assert_eq!(kind(&obj, &name), None, "entry-only probe has {name}");
        }
    }
}

#[test]
fn tracepoint_programs_exist() {
    let obj = parse();
    for name in [
        "sys_enter_1",
        "sys_enter_3",
        "sys_enter_4",
        "sys_exit",
        "page_fault_user",
        "sched_switch",
        "sched_process_fork",
        "sched_process_exec",
        "sched_waking",
        "sched_process_exit",
        "task_newtask",
    ] {
        assert_eq!(kind(&obj, name), Some("tracepoint"), "program {name}");
    }
}

#[test]
fn every_kernel_probe_spec_names_real_programs() {
    let obj = parse();
    for spec in ipc_trace::probe::kernel_path::KERNEL_PROBES {
        assert_eq!(kind(&obj, &spec.program("kprobe")), Some("kprobe"));
        assert_eq!(kind(&obj, &spec.program("fentry")), Some("fentry"));
        if spec.has_return {
            assert_eq!(kind(&obj, &spec.program("kretprobe")), Some("kretprobe"));
            assert_eq!(kind(&obj, &spec.program("fexit")), Some("fexit"));
        }
    }
}

#[test]
fn maps_and_globals_userspace_uses_exist() {
    let obj = parse();
    for map in [
        "EVENTS",
        "DROPS",
        "SWITCHES",
        "TRACED_TGIDS",
        "SHM_SIZES",
        "SHM_RANGES",
        "SYSCALLS",
        "INFLIGHT",
        "SCRATCH",
    ] {
        assert!(obj.maps.contains_key(map), "map {map}");
    }
    // The globals live in .rodata, where EbpfLoader::override_global finds them.
    assert!(obj.maps.contains_key(".rodata"), "globals section .rodata");
}
