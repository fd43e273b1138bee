//! The `/init` script run inside each VM.
//!
//! It mounts proc, sysfs, devtmpfs, tracefs, bpffs and tmpfs on /dev/shm
//! (not on /tmp: the initramfs root is writable already, and the host test
//! binaries sit at their absolute host paths, which may be under /tmp, as
//! in `cargo xtask fresh`'s clone), writes kernel facts, runs the plan (each backend in turn, or
//! the smoke run), sends every result file over ttyS1 (see `channel`) and
//! powers off.

use super::channel::MARK;

/// Kernel symbols whose presence is recorded in `facts.txt`.
pub const FACT_SYMBOLS: &[&str] = &[
    "newseg",
    "newary",
    "do_shmat",
    "shm_fault",
    "shmem_fault",
    "do_semtimedop",
    "__do_semtimedop",
    "ksys_shmdt",
    "shm_close",
    "shm_destroy",
    "do_shm_rmid",
    "freeary",
    "exit_shm",
    "exit_sem",
    "shm_open",
    "ksys_shmget",
    "ksys_semget",
    "ksys_semtimedop",
    "ipc_findkey",
    "sem_lock",
    "shm_more_checks",
    "sem_more_checks",
    "shmem_kernel_file_setup",
    "shm_mmap",
];

/// What the VM runs after collecting the kernel facts.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Facts, `ipc-trace doctor` and `demo-run` when present: proves the
    /// kernels, the initramfs and the channel without needing a recording.
    Smoke {
        /// Extra arguments of `demo-run`.
        demo_args: String,
    },
    /// `ipc-trace record --backend B -- demo-run ...` for each run, then
    /// the host test binaries.
    Record {
        /// Recording runs in order.
        runs: Vec<Run>,
        /// Extra arguments of `demo-run`.
        demo_args: String,
        /// Seconds before one run is killed.
        timeout_secs: u64,
        /// Labs run after the recordings (`ipc-trace lab NAME --auto --plain`).
        labs: Vec<String>,
        /// Test binaries run after the labs.
        host_tests: HostTests,
    },
}

/// One `ipc-trace record` run in the VM.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Name of its results (`kprobe`, `kprobe-exclude-shm_fault`).
    pub label: String,
    /// `--backend` value.
    pub backend: String,
    /// More `ipc-trace record` options (no shell quoting: plain words).
    pub options: Vec<String>,
    /// Run only on this kernel series (as passed in `ipct.series=`).
    pub only_series: Option<String>,
}

/// The libtest binaries to run in the VM, by name, at their host paths.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostTests {
    /// `(name, absolute path)` of each binary.
    pub binaries: Vec<(String, String)>,
    /// The directory they run in (their crate directory).
    pub crate_dir: String,
    /// Seconds before one binary is killed.
    pub timeout_secs: u64,
    /// Environment of the binaries (plain words, no shell quoting).
    pub env: Vec<(String, String)>,
}

const PRELUDE: &str = r#"#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t tracefs nodev /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
echo 1 > /proc/sys/net/core/bpf_jit_kallsyms 2>/dev/null
exec 3>/dev/ttyS1
stty -F /dev/ttyS1 raw -echo
echo "@@MARK hello" >&3

send() {
    if [ -f "$2" ]; then
        echo "@@MARK file $1 $(wc -c < "$2")" >&3
        cat "$2" >&3
        echo "" >&3
        echo "@@MARK end $1" >&3
    else
        echo "@@MARK missing $1" >&3
    fi
}
up() { cut -d' ' -f1 /proc/uptime; }
# JITed BPF images (programs, trampolines) the kernel lists in kallsyms.
progs() { grep -c '\[bpf\]$' /proc/kallsyms; }

{
    echo "uname=$(uname -r)"
    echo "nproc=$(nproc)"
    for s in @@SYMBOLS; do
        echo "kallsyms.$s=$(grep -c " $s\$" /proc/kallsyms)"
    done
    [ -e /sys/kernel/btf/vmlinux ] && echo btf=yes || echo btf=no
    [ -e /sys/bus/event_source/devices/kprobe/type ] && echo kprobe_pmu=yes || echo kprobe_pmu=no
    echo "bpf_jit_kallsyms=$(cat /proc/sys/net/core/bpf_jit_kallsyms 2>&1)"
    echo "bpf_progs=$(progs)"
    echo "boot_seconds=$(up)"
} > /tmp/facts.txt 2>&1
send facts.txt /tmp/facts.txt
# Every text symbol of the IPC code (with .isra/.constprop suffixes), to see
# what a new kernel renamed, split or inlined.
grep -E ' [tT] (newseg|newary|freeary|ipc|do_shm|shm|__shm|sem|__sem|do_sem|__do_sem|ksys_s[eh]m|exit_s[eh]m|__x64_sys_s[eh]m)' /proc/kallsyms \
    | cut -d' ' -f2- | sort -u > /tmp/kallsyms-ipc.txt
send kallsyms-ipc.txt /tmp/kallsyms-ipc.txt
# The C layout (from BTF) of the structs the probes read, to diff kernels.
if [ -x /usr/sbin/bpftool ]; then
    /usr/sbin/bpftool btf dump file /sys/kernel/btf/vmlinux format c 2>/dev/null | awk '
        /^struct (ipc_params|vm_fault|vm_area_struct|shm_file_data|shmid_kernel|kern_ipc_perm|sem_array|sem_queue|ipc_namespace) \{$/ { p = 1 }
        p { print }
        p && /^\};$/ { p = 0; print "" }' > /tmp/btf-ipc.h
    send btf-ipc.h /tmp/btf-ipc.h
    # ... and their top-level member offsets (bits_offset).
    /usr/sbin/bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2>/dev/null | awk '
        /^\[[0-9]+\] / { p = 0 }
        /^\[[0-9]+\] STRUCT .(ipc_params|vm_fault|vm_area_struct|shm_file_data|shmid_kernel|kern_ipc_perm|file). / { p = 1 }
        p { print }' > /tmp/btf-offsets.txt
    send btf-offsets.txt /tmp/btf-offsets.txt
fi

if [ -x /bin/ipc-trace ]; then
    ipc-trace doctor > /tmp/doctor.txt 2>&1
    echo "exit=$?" >> /tmp/doctor.txt
    send doctor.txt /tmp/doctor.txt
    ipc-trace doctor --json > /tmp/doctor.json 2>&1 && send doctor.json /tmp/doctor.json
fi
"#;

const SMOKE: &str = r#"
if [ -x /bin/demo-run ]; then
    mkdir -p /tmp/rep
    t0=$(up)
    demo-run --report-dir /tmp/rep @@DEMO_ARGS > /tmp/demo.log 2>&1
    code=$?
    t1=$(up)
    { echo "demo_rc=$code"; echo "seconds_start=$t0"; echo "seconds_end=$t1"; } > /tmp/result.txt
    send smoke/result.txt /tmp/result.txt
    send smoke/demo.log /tmp/demo.log
    for f in /tmp/rep/*; do [ -f "$f" ] && send "smoke/reports/${f##*/}" "$f"; done
else
    echo "@@MARK missing smoke/demo-run" >&3
fi
"#;

const RECORD: &str = r#"
# record_run LABEL BACKEND [ipc-trace record options]: results under LABEL/.
record_run() {
    L=$1; B=$2; shift 2
    mkdir -p /tmp/rep-$L
    before=$(progs)
    echo "$before" > /tmp/peak-$L
    ( while :; do dd if=/dev/zero of=/dev/shm/noise bs=4096 count=256 2>/dev/null; rm -f /dev/shm/noise; done ) &
    noise=$!
    ( peak=$before; while :; do n=$(progs); if [ "$n" -gt "$peak" ]; then peak=$n; echo "$peak" > /tmp/peak-$L; fi; sleep 0.2; done ) &
    sampler=$!
    t0=$(up)
    timeout @@TIMEOUT ipc-trace record --backend $B "$@" -o /tmp/rec-$L.ndjson -- demo-run --report-dir /tmp/rep-$L @@DEMO_ARGS > /tmp/record-$L.log 2>&1
    code=$?
    t1=$(up)
    kill $noise $sampler
    wait $noise $sampler 2>/dev/null
    i=0
    while [ "$(progs)" -gt "$before" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    {
        echo "backend=$B"
        echo "record_rc=$code"
        echo "seconds_start=$t0"
        echo "seconds_end=$t1"
        echo "bpf_progs_before=$before"
        echo "bpf_progs_peak=$(cat /tmp/peak-$L)"
        echo "bpf_progs_after=$(progs)"
        echo "bpffs_entries=$(ls -A /sys/fs/bpf | wc -l)"
        echo "ours_loaded_after=$(ipc-trace doctor --loaded-programs 2>&1)"
    } > /tmp/result-$L.txt
    send $L/result.txt /tmp/result-$L.txt
    send $L/recording.ndjson /tmp/rec-$L.ndjson
    send $L/record.log /tmp/record-$L.log
    for f in /tmp/rep-$L/*; do [ -f "$f" ] && send "$L/reports/${f##*/}" "$f"; done
    rm -rf /tmp/rec-$L.ndjson /tmp/rep-$L
}
SERIES=$(sed -n 's/.*ipct.series=\([^ ]*\).*/\1/p' /proc/cmdline)
@@RUNS
"#;

const LABS: &str = r#"
# lab_run NAME: the lab straight through, plain; its transcript as labs/NAME.txt.
lab_run() {
    t0=$(up)
    timeout @@TIMEOUT ipc-trace lab $1 --auto --plain > /tmp/lab-$1.txt 2>&1
    code=$?
    t1=$(up)
    { echo "rc=$code"; echo "seconds_start=$t0"; echo "seconds_end=$t1"; } > /tmp/lab-$1.rc
    send labs/$1.txt /tmp/lab-$1.txt
    send labs/$1.rc /tmp/lab-$1.rc
}
@@LABS
"#;

const HOSTTESTS: &str = r#"
# host_test NAME BINARY: a libtest binary, one test at a time, from its crate dir.
mkdir -p @@CRATE_DIR
host_test() {
    t0=$(up)
    ( cd @@CRATE_DIR && @@TEST_ENV timeout @@TEST_TIMEOUT "$2" --test-threads=1 --skip model::layering ) > /tmp/ht-$1.log 2>&1
    code=$?
    t1=$(up)
    { echo "rc=$code"; echo "seconds_start=$t0"; echo "seconds_end=$t1"; } > /tmp/ht-$1.txt
    send hosttests/$1.log /tmp/ht-$1.log
    send hosttests/$1.txt /tmp/ht-$1.txt
}
@@HOSTTESTS
"#;

const EPILOGUE: &str = r#"
echo "@@MARK done" >&3
exec 3>&-
poweroff -f
"#;

/// The `/init` text for `plan`.
pub fn init_script(plan: &Plan) -> String {
    let symbols = FACT_SYMBOLS.join(" ");
    let body = match plan {
        Plan::Smoke { demo_args } => SMOKE.replace("@@DEMO_ARGS", demo_args),
        Plan::Record {
            runs,
            demo_args,
            timeout_secs,
            labs,
            host_tests,
        } => {
            let mut record = RECORD
                .replace("@@RUNS", &run_lines(runs))
                .replace("@@DEMO_ARGS", demo_args)
                .replace("@@TIMEOUT", &timeout_secs.to_string());
            if !labs.is_empty() {
                let calls: Vec<String> = labs.iter().map(|l| format!("lab_run {l}")).collect();
                record += &LABS
                    .replace("@@LABS", &calls.join("\n"))
                    .replace("@@TIMEOUT", &timeout_secs.to_string());
            }
            if host_tests.binaries.is_empty() {
                record
            } else {
                let calls: Vec<String> = host_tests
                    .binaries
                    .iter()
                    .map(|(name, path)| format!("host_test {name} {path}"))
                    .collect();
                record
                    + &HOSTTESTS
                        .replace("@@HOSTTESTS", &calls.join("\n"))
                        .replace("@@CRATE_DIR", &host_tests.crate_dir)
                        .replace("@@TEST_TIMEOUT", &host_tests.timeout_secs.to_string())
                        .replace("@@TEST_ENV", &env_words(&host_tests.env))
            }
        }
    };
    [
        PRELUDE.replace("@@SYMBOLS", &symbols),
        body,
        EPILOGUE.to_string(),
    ]
    .concat()
    .replace("@@MARK", MARK)
}

/// `K=V K2=V2` (prefixed to a command, or `env` when there is none).
fn env_words(env: &[(String, String)]) -> String {
    if env.is_empty() {
        return "env".to_string();
    }
    env.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `record_run` line per run; a series-bound run is guarded by `$SERIES`.
fn run_lines(runs: &[Run]) -> String {
    runs.iter()
        .map(|r| {
            let call = [
                vec!["record_run".to_string(), r.label.clone(), r.backend.clone()],
                r.options.clone(),
            ]
            .concat()
            .join(" ");
            match &r.only_series {
                Some(series) => format!("[ \"$SERIES\" = \"{series}\" ] && {call}"),
                None => call,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_no_placeholder(script: &str) {
        for p in [
            "@@MARK",
            "@@SYMBOLS",
            "@@DEMO_ARGS",
            "@@RUNS",
            "@@TIMEOUT",
            "@@HOSTTESTS",
            "@@CRATE_DIR",
            "@@TEST_TIMEOUT",
            "@@TEST_ENV",
            "@@LABS",
        ] {
            assert!(!script.contains(p), "{p} was left in:\n{script}");
        }
    }

    fn run(label: &str, backend: &str) -> Run {
        Run {
            label: label.into(),
            backend: backend.into(),
            options: Vec::new(),
            only_series: None,
        }
    }

    #[test]
    fn record_script_runs_each_run_then_the_host_tests_and_ends_with_poweroff() {
        let control = Run {
            options: vec!["--exclude-probe".into(), "shm_fault".into()],
            only_series: Some("6.1".into()),
            ..run("kprobe-exclude-shm_fault", "kprobe")
        };
        let s = init_script(&Plan::Record {
            runs: vec![run("kprobe", "kprobe"), run("fentry", "fentry"), control],
            demo_args: "--pingpong".into(),
            timeout_secs: 90,
            labs: vec!["shm".into(), "leak".into()],
            host_tests: HostTests {
                binaries: vec![("live_host".into(), "/w/t/release/deps/live_host-1".into())],
                crate_dir: "/w/ipc-trace".into(),
                timeout_secs: 300,
                env: vec![("INSTA_UPDATE".into(), "no".into())],
            },
        });
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("\nrecord_run kprobe kprobe\nrecord_run fentry fentry\n"));
        assert!(s.contains(
            "[ \"$SERIES\" = \"6.1\" ] && record_run kprobe-exclude-shm_fault kprobe --exclude-probe shm_fault\n"
        ));
        assert!(s.contains("timeout 90 ipc-trace record --backend $B \"$@\""));
        assert!(s.contains("--report-dir /tmp/rep-$L --pingpong"));
        assert!(
            s.contains("cd /w/ipc-trace && INSTA_UPDATE=no timeout 300 \"$2\" --test-threads=1 --skip model::layering")
        );
        assert!(s.contains("\nhost_test live_host /w/t/release/deps/live_host-1\n"));
        assert!(s.contains("\nlab_run shm\nlab_run leak\n"));
        assert!(s.contains("timeout 90 ipc-trace lab $1 --auto --plain"));
        assert!(
            s.find("lab_run leak").unwrap_or(usize::MAX)
                < s.find("host_test live_host /").unwrap_or(0)
        );
        assert!(
            s.find("record_run fentry").unwrap_or(usize::MAX)
                < s.find("host_test live_host /").unwrap_or(0)
        );
        assert!(s.contains(&format!("echo \"{MARK} done\"")));
        assert!(s.trim_end().ends_with("poweroff -f"));
        assert_no_placeholder(&s);
    }

    #[test]
    fn every_kernel_path_function_is_a_fact() {
        for f in super::super::enforce::KERNEL_PATH_FUNCTIONS {
            assert!(FACT_SYMBOLS.contains(f), "{f} is not in FACT_SYMBOLS");
        }
    }

    #[test]
    fn smoke_script_has_no_placeholders() {
        let s = init_script(&Plan::Smoke {
            demo_args: String::new(),
        });
        assert_no_placeholder(&s);
        assert!(s.contains("kallsyms.$s"));
    }
}
