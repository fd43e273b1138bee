//! The `doctor` report: what the system offers and what became of each
//! probe, as aligned plain text.

use crate::probe::facts::KernelFacts;
use crate::probe::privilege::Privileges;
use crate::probe::system::SystemFacts;
use crate::probe::{ProbeClass, ProbeTable};
use std::fmt::Write;

/// Renders the report: the system, the capabilities held and lacking
/// (`privileges`), the kernel-path facts (BTF offsets, kprobe PMU, the
/// fentry trial, functions in `/proc/kallsyms`) and `table`, the probe
/// table after loading (None when probes were not loaded).
pub fn render(
    facts: &SystemFacts,
    privileges: &Privileges,
    kernel: &KernelFacts,
    table: Option<&ProbeTable>,
) -> String {
    let mut out = String::new();
    out.push_str("System\n");
    let mut system = system_rows(facts, privileges, &kernel.btf_missing_offsets);
    system.push(("fentry".to_string(), fentry_row(kernel)));
    push_pairs(&mut out, &system);

    out.push_str("\nCapabilities\n");
    let rows: Vec<(String, String)> = privileges
        .rows()
        .into_iter()
        .map(|r| {
            let state = match (r.held, r.needed) {
                (true, _) => "has",
                (false, true) => "LACKS",
                (false, false) => "lacks",
            };
            (r.name.to_string(), format!("{state}  {}", r.effect))
        })
        .collect();
    push_pairs(&mut out, &rows);

    if !kernel.functions.is_empty() {
        out.push_str("\nKernel functions in /proc/kallsyms\n");
        let rows: Vec<(String, String)> = kernel
            .functions
            .iter()
            .map(|f| (f.function.clone(), yes_no(f.in_kallsyms).to_string()))
            .collect();
        push_pairs(&mut out, &rows);
    }

    out.push_str("\nProbes\n");
    match table {
        Some(table) => push_probe_table(&mut out, table),
        None => out.push_str("  not loaded\n"),
    }
    out
}

fn btf_row(facts: &SystemFacts, btf_missing: &[String]) -> String {
    if !facts.btf_present {
        "missing (/sys/kernel/btf/vmlinux): no fentry, no kernel-path offsets".to_string()
    } else if btf_missing.is_empty() {
        "present, every offset resolved".to_string()
    } else {
        format!("present, lacks {}", btf_missing.join(", "))
    }
}

fn system_rows(
    facts: &SystemFacts,
    privileges: &Privileges,
    btf_missing: &[String],
) -> Vec<(String, String)> {
    let mut rows = vec![("kernel".to_string(), facts.kernel_release.clone())];
    rows.push(("BTF".to_string(), btf_row(facts, btf_missing)));
    rows.push((
        "lockdown".to_string(),
        match &facts.lockdown {
            Some(mode) => mode.clone(),
            None => "not available (no lockdown LSM)".to_string(),
        },
    ));
    rows.push(("privileges".to_string(), privilege_row(facts, privileges)));
    rows.push((
        "tracefs".to_string(),
        match (&facts.tracefs, privileges.tracefs_readable) {
            (Some(path), _) => path.display().to_string(),
            (None, false) => "mounted, not readable by this user".to_string(),
            (None, true) => "not mounted".to_string(),
        },
    ));
    rows.push((
        "kprobes".to_string(),
        if facts.kprobes_available {
            "available".to_string()
        } else {
            "not available (no kprobe event source in this kernel)".to_string()
        },
    ));
    rows.push(("kptr_restrict".to_string(), number(facts.kptr_restrict)));
    rows.push((
        "unprivileged_bpf_disabled".to_string(),
        number(facts.unprivileged_bpf_disabled),
    ));
    rows
}

fn fentry_row(kernel: &KernelFacts) -> String {
    let verdict = match kernel.fentry_allowed {
        Some(true) => "allowed",
        Some(false) => "refused",
        None => "unknown",
    };
    format!("{verdict} ({})", kernel.fentry_detail)
}

fn privilege_row(facts: &SystemFacts, privileges: &Privileges) -> String {
    let mut held: Vec<&str> = Vec::new();
    if facts.is_root {
        held.push("root");
    }
    for (has, name) in [
        (facts.cap_bpf, "CAP_BPF"),
        (facts.cap_perfmon, "CAP_PERFMON"),
        (facts.cap_sys_admin, "CAP_SYS_ADMIN"),
    ] {
        if has {
            held.push(name);
        }
    }
    let held = if held.is_empty() {
        "none of root, CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN".to_string()
    } else {
        held.join(", ")
    };
    match privileges.error_line() {
        Some(error) => format!("{held}; {error}"),
        None => held,
    }
}

fn number(value: Option<u32>) -> String {
    value.map_or_else(|| "unreadable".to_string(), |v| v.to_string())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// Two aligned columns, indented.
fn push_pairs(out: &mut String, rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
}

fn push_probe_table(out: &mut String, table: &ProbeTable) {
    let header = ["PROBE", "CLASS", "BACKEND", "ATTACHED", "FIRED", "REASON"];
    let rows: Vec<[String; 6]> = table
        .probes
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                match p.class {
                    ProbeClass::Tracepoint => "tracepoint",
                    ProbeClass::KernelPath => "kernel-path",
                }
                .to_string(),
                p.backend.map_or("-", |b| b.as_str()).to_string(),
                yes_no(p.attached).to_string(),
                match p.fired {
                    Some(fired) => yes_no(fired),
                    None => "untested",
                }
                .to_string(),
                p.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut push_row = |cells: [&str; 6]| {
        let mut line = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(line, "  {cell:<width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header);
    for row in &rows {
        push_row([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
    let attached = table.probes.iter().filter(|p| p.attached).count();
    let _ = writeln!(
        out,
        "  {attached} of {} probes attached",
        table.probes.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Backend;
    use ipc_trace_common::probe as ids;
    use std::path::PathBuf;

    fn facts() -> SystemFacts {
        SystemFacts {
            kernel_release: "6.18.44".into(),
            btf_present: true,
            lockdown: Some("none".into()),
            is_root: true,
            cap_bpf: true,
            cap_perfmon: true,
            cap_sys_admin: true,
            kprobes_available: false,
            tracefs: Some(PathBuf::from("/sys/kernel/tracing")),
            kptr_restrict: Some(0),
            unprivileged_bpf_disabled: Some(2),
        }
    }

    fn all_caps() -> Privileges {
        Privileges {
            caps: u64::MAX,
            tracefs_readable: true,
            memlock_charged: false,
        }
    }

    fn kernel(missing: &[&str], functions: &[(&str, bool)]) -> KernelFacts {
        KernelFacts {
            kernel_release: "6.18.44".into(),
            btf_present: true,
            btf_missing_offsets: missing.iter().map(|m| (*m).to_string()).collect(),
            kprobe_pmu: false,
            fentry_allowed: Some(false),
            fentry_detail: "fentry on do_shmat: load failed: EPERM (kernel lockdown: integrity)"
                .into(),
            functions: functions
                .iter()
                .map(|(name, found)| crate::probe::facts::FunctionFact {
                    probe: (*name).to_string(),
                    function: (*name).to_string(),
                    in_kallsyms: *found,
                })
                .collect(),
        }
    }

    fn line_with<'a>(report: &'a str, start: &str) -> &'a str {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{report}"))
    }

    #[test]
    fn system_section_reports_every_fact() {
        let report = render(&facts(), &all_caps(), &kernel(&[], &[]), None);
        assert!(report.starts_with("System\n"));
        assert!(line_with(&report, "kernel").ends_with("6.18.44"));
        assert!(line_with(&report, "BTF").ends_with("present, every offset resolved"));
        assert!(line_with(&report, "lockdown").ends_with("none"));
        assert!(
            line_with(&report, "privileges").ends_with("root, CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN")
        );
        assert!(line_with(&report, "tracefs").ends_with("/sys/kernel/tracing"));
        assert!(line_with(&report, "kprobes").contains("not available"));
        assert!(line_with(&report, "fentry").ends_with(
            "refused (fentry on do_shmat: load failed: EPERM (kernel lockdown: integrity))"
        ));
        assert!(line_with(&report, "unprivileged_bpf_disabled").ends_with(" 2"));
        assert!(report.ends_with("Probes\n  not loaded\n"));
        assert!(line_with(&report, "CAP_BPF").contains(" has  loads programs"));
        assert!(line_with(&report, "CAP_SYS_RESOURCE").contains("has  not needed"));
        // Values start in one column.
        let kernel = line_with(&report, "kernel");
        let unpriv = line_with(&report, "unprivileged_bpf_disabled");
        assert_eq!(kernel.find("6.18.44"), unpriv.rfind(" 2").map(|i| i + 1));
    }

    #[test]
    fn problems_are_spelled_out() {
        let mut f = facts();
        f.is_root = false;
        f.cap_bpf = false;
        f.cap_perfmon = false;
        f.cap_sys_admin = false;
        f.lockdown = None;
        f.tracefs = None;
        let mut k = kernel(
            &["shm_file_data.id", "vm_fault.vma"],
            &[("newseg", true), ("shm_fault", false)],
        );
        k.fentry_allowed = None;
        k.fentry_detail = "not tried: no privileges".into();
        let none = Privileges {
            caps: 0,
            tracefs_readable: false,
            memlock_charged: false,
        };
        let report = render(&f, &none, &k, None);
        assert!(line_with(&report, "CAP_BPF").contains(" LACKS  loads programs"));
        assert!(line_with(&report, "CAP_DAC_READ_SEARCH").contains("LACKS  reads tracefs"));
        assert!(line_with(&report, "CAP_SYS_ADMIN").contains("lacks  optional"));
        assert!(line_with(&report, "tracefs").ends_with("mounted, not readable by this user"));
        assert!(line_with(&report, "fentry").ends_with("unknown (not tried: no privileges)"));
        assert!(
            line_with(&report, "BTF").ends_with("present, lacks shm_file_data.id, vm_fault.vma")
        );
        assert!(line_with(&report, "privileges").contains("run it with sudo"));
        assert!(line_with(&report, "lockdown").contains("not available"));
        assert!(line_with(&report, "newseg").ends_with("yes"));
        assert!(line_with(&report, "shm_fault").ends_with("no"));
    }

    #[test]
    fn probe_rows_are_aligned_with_the_header() {
        let mut table = ProbeTable::unattached();
        if let Some(row) = table.get_mut(ids::SYS_SHMGET) {
            row.attached = true;
            row.backend = Some(Backend::Tracepoint);
            row.fired = Some(true);
        }
        if let Some(row) = table.get_mut(ids::NEWSEG) {
            row.reason = Some("kprobe: not supported; fentry: not supported".into());
            row.fired = Some(false);
        }
        let report = render(&facts(), &all_caps(), &kernel(&[], &[]), Some(&table));
        let header = line_with(&report, "PROBE");
        let shmget = line_with(&report, "sys_shmget ");
        let newseg = line_with(&report, "newseg ");
        let col = |line: &str, word: &str| line.find(word).unwrap_or(usize::MAX);
        assert_eq!(col(shmget, "tracepoint"), col(header, "CLASS"));
        assert_eq!(col(newseg, "kernel-path"), col(header, "CLASS"));
        assert_eq!(col(newseg, " - ") + 1, col(header, "BACKEND"));
        assert_eq!(col(newseg, "kprobe: not"), col(header, "REASON"));
        assert!(shmget.contains(" yes ") && shmget.ends_with("yes"));
        let shmat = line_with(&report, "sys_shmat ");
        assert!(shmat.ends_with("untested"), "{shmat:?}");
        assert!(newseg.contains(" no "));
        assert!(report.ends_with(&format!("1 of {} probes attached\n", ids::COUNT)));
        assert!(report.lines().all(|l| l == l.trim_end()));
    }
}
