//! The kernel facts of a boot: `facts.txt` from the VM, the kernel config's
//! options, and their one-line summaries under the matrix.

use super::script;
use std::collections::BTreeMap;

/// The kernel build options the probes depend on, from a kernel config.
pub fn config_facts(config: &str) -> BTreeMap<String, String> {
    const OPTIONS: &[&str] = &[
        "CONFIG_KPROBES",
        "CONFIG_KPROBE_EVENTS",
        "CONFIG_BPF_EVENTS",
        "CONFIG_DEBUG_INFO_BTF",
        "CONFIG_FUNCTION_TRACER",
        "CONFIG_DYNAMIC_FTRACE",
    ];
    OPTIONS
        .iter()
        .map(|opt| {
            let value = config
                .lines()
                .find_map(|l| l.strip_prefix(opt).and_then(|r| r.strip_prefix('=')))
                .unwrap_or("n");
            (format!("config.{opt}"), value.to_string())
        })
        .collect()
}

/// One-line summaries of the VM's `facts.txt` and `doctor.txt`.
pub fn describe_facts(facts: &BTreeMap<String, String>, doctor: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(uname) = facts.get("uname") {
        let absent: Vec<&str> = script::FACT_SYMBOLS
            .iter()
            .copied()
            .filter(|s| {
                facts
                    .get(&format!("kallsyms.{s}"))
                    .is_some_and(|n| n == "0")
            })
            .collect();
        let fact = |k: &str| facts.get(k).map_or("?", String::as_str);
        out.push(format!(
            "uname {uname}, btf {}, kprobe pmu {}, CONFIG_KPROBES {}, bpf_jit_kallsyms {}, symbols absent: {}",
            fact("btf"),
            fact("kprobe_pmu"),
            fact("config.CONFIG_KPROBES"),
            fact("bpf_jit_kallsyms"),
            if absent.is_empty() { "none".to_string() } else { absent.join(" ") }
        ));
    }
    if let Some(doctor) = doctor {
        let exit = doctor
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("exit="))
            .unwrap_or("?");
        out.push(format!("ipc-trace doctor exited {exit}"));
    }
    out
}
