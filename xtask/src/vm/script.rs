//! The `/init` script run inside each VM.
//!
//! It mounts proc, sysfs, devtmpfs, tracefs, bpffs and tmpfs on /tmp and
//! /dev/shm, writes kernel facts, runs the plan (each backend in turn, or
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
    /// `ipc-trace record --backend B -- demo-run ...` for each backend.
    Record {
        /// Backends in run order.
        backends: Vec<String>,
        /// Extra arguments of `demo-run`.
        demo_args: String,
        /// Seconds before one backend's run is killed.
        timeout_secs: u64,
    },
}

const PRELUDE: &str = r#"#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
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

if [ -x /bin/ipc-trace ]; then
    ipc-trace doctor > /tmp/doctor.txt 2>&1
    echo "exit=$?" >> /tmp/doctor.txt
    send doctor.txt /tmp/doctor.txt
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
for B in @@BACKENDS; do
    mkdir -p /tmp/rep-$B
    before=$(progs)
    echo "$before" > /tmp/peak-$B
    ( while :; do dd if=/dev/zero of=/dev/shm/noise bs=4096 count=256 2>/dev/null; rm -f /dev/shm/noise; done ) &
    noise=$!
    ( peak=$before; while :; do n=$(progs); if [ "$n" -gt "$peak" ]; then peak=$n; echo "$peak" > /tmp/peak-$B; fi; sleep 0.2; done ) &
    sampler=$!
    t0=$(up)
    timeout @@TIMEOUT ipc-trace record --backend $B -o /tmp/rec-$B.ndjson -- demo-run --report-dir /tmp/rep-$B @@DEMO_ARGS > /tmp/record-$B.log 2>&1
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
        echo "bpf_progs_peak=$(cat /tmp/peak-$B)"
        echo "bpf_progs_after=$(progs)"
        echo "bpffs_entries=$(ls -A /sys/fs/bpf | wc -l)"
        echo "ours_loaded_after=$(ipc-trace doctor --loaded-programs 2>&1)"
    } > /tmp/result-$B.txt
    send $B/result.txt /tmp/result-$B.txt
    send $B/recording.ndjson /tmp/rec-$B.ndjson
    send $B/record.log /tmp/record-$B.log
    for f in /tmp/rep-$B/*; do [ -f "$f" ] && send "$B/reports/${f##*/}" "$f"; done
    rm -rf /tmp/rec-$B.ndjson /tmp/rep-$B
done
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
            backends,
            demo_args,
            timeout_secs,
        } => RECORD
            .replace("@@BACKENDS", &backends.join(" "))
            .replace("@@DEMO_ARGS", demo_args)
            .replace("@@TIMEOUT", &timeout_secs.to_string()),
    };
    [
        PRELUDE.replace("@@SYMBOLS", &symbols),
        body,
        EPILOGUE.to_string(),
    ]
    .concat()
    .replace("@@MARK", MARK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_no_placeholder(script: &str) {
        for p in [
            "@@MARK",
            "@@SYMBOLS",
            "@@DEMO_ARGS",
            "@@BACKENDS",
            "@@TIMEOUT",
        ] {
            assert!(!script.contains(p), "{p} was left in:\n{script}");
        }
    }

    #[test]
    fn record_script_loops_over_the_backends_and_ends_with_poweroff() {
        let s = init_script(&Plan::Record {
            backends: vec!["kprobe".into(), "fentry".into()],
            demo_args: "--pingpong".into(),
            timeout_secs: 90,
        });
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("for B in kprobe fentry; do"));
        assert!(s.contains("timeout 90 ipc-trace record --backend $B"));
        assert!(s.contains("--report-dir /tmp/rep-$B --pingpong"));
        assert!(s.contains(&format!("echo \"{MARK} done\"")));
        assert!(s.trim_end().ends_with("poweroff -f"));
        assert_no_placeholder(&s);
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
