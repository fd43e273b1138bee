//! Kernel stacks (`--stacks`): the ids the programs put in their records
//! are looked up in the `STACKS` map and symbolized from /proc/kallsyms,
//! once per id (an id always names the same stack: the map is created
//! without `BPF_F_REUSE_STACKID`). Each lookup is one `bpf()` call, which
//! for its few microseconds makes the kernel skip programs on that CPU
//! (counted and shown as skipped runs); a lab sees a few dozen distinct
//! stacks. The lookups run unpreempted (`probe::unpreempted`), so that
//! window stays microseconds long on preemptible kernels too.

use aya::maps::{MapData, StackTraceMap};
use std::collections::HashMap;

/// Kernel text symbols by address, for naming stack frames.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    /// (start address, name), sorted by address.
    starts: Vec<(u64, String)>,
}

impl Symbols {
    /// Reads /proc/kallsyms; None when it cannot be read or hides the
    /// addresses (all zero: `kptr_restrict` for this user).
    pub fn read() -> Option<Symbols> {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        Symbols::parse(&text)
    }

    /// The text symbols (`t`/`T`, `w`/`W`) of a kallsyms text (`addr type
    /// name [module]`); None when there are none with a non-zero address.
    pub fn parse(text: &str) -> Option<Symbols> {
        let mut starts: Vec<(u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let addr = u64::from_str_radix(fields.next()?, 16).ok()?;
                let kind = fields.next()?;
                let name = fields.next()?;
                let text_symbol = matches!(kind, "t" | "T" | "w" | "W");
                (text_symbol && addr != 0).then(|| (addr, name.to_string()))
            })
            .collect();
        if starts.is_empty() {
            return None;
        }
        starts.sort_unstable();
        Some(Symbols { starts })
    }

    /// `name+0xoffset` of the symbol that covers `ip`, or None below the
    /// first one.
    pub fn name(&self, ip: u64) -> Option<String> {
        let i = self.starts.partition_point(|(addr, _)| *addr <= ip);
        let (start, name) = self.starts.get(i.checked_sub(1)?)?;
        Some(format!("{name}+{:#x}", ip - start))
    }
}

/// True for a frame of the tracer itself (its program, the fentry
/// trampoline), which is not part of the kernel path being shown.
fn tracer_frame(name: &str) -> bool {
    name.starts_with("bpf_prog_") || name.starts_with("bpf_trampoline_")
}

/// The frames of a stack, innermost first as the kernel gives them, as
/// the events carry them: outermost first, named, the tracer's own frames
/// left out; `0x…` when no symbol covers an address (or none were read).
pub fn frames(ips: &[u64], symbols: Option<&Symbols>) -> Vec<String> {
    ips.iter()
        .rev()
        .filter(|ip| **ip != 0)
        .map(|ip| {
            symbols
                .and_then(|s| s.name(*ip))
                .unwrap_or_else(|| format!("{ip:#x}"))
        })
        .filter(|name| !tracer_frame(name))
        .collect()
}

/// The stacks of one session: the map and what was symbolized so far.
pub struct KernelStacks {
    map: StackTraceMap<MapData>,
    symbols: Option<Symbols>,
    cache: HashMap<u32, Vec<String>>,
}

impl std::fmt::Debug for KernelStacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelStacks")
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl KernelStacks {
    /// Stacks from `map`, named with the symbols of /proc/kallsyms.
    pub fn new(map: StackTraceMap<MapData>) -> KernelStacks {
        KernelStacks {
            map,
            symbols: Symbols::read(),
            cache: HashMap::new(),
        }
    }

    /// The frames of stack `id` (a record's `stack_id`), outermost first,
    /// ending in `function`, the one whose probe took it (see
    /// [`ending_in`]); None for `NO_STACK` or an id the map does not hold.
    pub fn resolve(&mut self, id: i32, function: &str) -> Option<Vec<String>> {
        let id = u32::try_from(id).ok()?;
        let named = match self.cache.get(&id) {
            Some(frames) => frames.clone(),
            None => {
                let trace = super::unpreempted::map_call(|| self.map.get(&id, 0)).ok()?;
                let ips: Vec<u64> = trace.frames().iter().map(|f| f.ip).collect();
                let named = frames(&ips, self.symbols.as_ref());
                self.cache.insert(id, named.clone());
                named
            }
        };
        Some(ending_in(named, function))
    }
}

/// `frames` with `function` as the innermost frame. A kprobe's stack
/// starts in the probed function; an fentry program's starts at the
/// function's caller on some kernels (Debian's 7.2; 6.12 shows both), as
/// the unwinder skips the trampoline's frame. The probe fired on entry
/// to `function`, so it is added, by name alone (no offset), where the
/// kernel's stack lacks it.
pub fn ending_in(mut frames: Vec<String>, function: &str) -> Vec<String> {
    let innermost = frames
        .last()
        .map(|f| f.split_once('+').map_or(f.as_str(), |(name, _)| name));
    if !function.is_empty() && innermost != Some(function) {
        frames.push(function.to_string());
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    const KALLSYMS: &str = "0000000000000000 A fixed_percpu_data\n\
        ffffffff81000000 T _stext\n\
        ffffffff81100000 T asm_exc_page_fault\n\
        ffffffff81200000 t shm_fault\n\
        ffffffff81200400 t shmem_fault\n\
        ffffffff81300000 d some_data\n\
        ffffffffa0000000 t bpf_prog_6deef7357e7b4530_kprobe_shmem_fault\t[bpf]\n";

    #[test]
    fn frames_are_named_outermost_first_without_the_tracers_own() {
        let s = Symbols::parse(KALLSYMS).expect("symbols");
        let ips = [
            0xffff_ffff_a000_0010, // the program itself
            0xffff_ffff_8120_0404,
            0xffff_ffff_8120_0010,
            0xffff_ffff_8110_0020,
        ];
        assert_eq!(
            frames(&ips, Some(&s)),
            [
                "asm_exc_page_fault+0x20",
                "shm_fault+0x10",
                "shmem_fault+0x4"
            ]
        );
    }

    #[test]
    fn the_probed_function_ends_the_stack_once() {
        let named = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // fentry on 7.2: the stack starts at the caller.
        assert_eq!(
            ending_in(named(&["do_fault+0x3a", "__do_fault+0x31"]), "shmem_fault"),
            ["do_fault+0x3a", "__do_fault+0x31", "shmem_fault"]
        );
        // kprobe (and fentry on 6.12): already there.
        assert_eq!(
            ending_in(named(&["shm_fault+0x1f", "shmem_fault+0x4"]), "shmem_fault"),
            ["shm_fault+0x1f", "shmem_fault+0x4"]
        );
    }

    #[test]
    fn a_data_symbol_never_names_a_frame_and_hidden_addresses_give_hex() {
        let s = Symbols::parse(KALLSYMS).expect("symbols");
        // Just past shmem_fault, before some_data: still shmem_fault.
        assert_eq!(
            s.name(0xffff_ffff_8130_0008).as_deref(),
            Some("shmem_fault+0xffc08")
        );
        assert_eq!(s.name(0x10), None);
        let hidden = "0000000000000000 T _stext\n0000000000000000 t shm_fault\n";
        assert!(Symbols::parse(hidden).is_none());
        assert_eq!(frames(&[0x1234, 0], None), ["0x1234"]);
    }
}
