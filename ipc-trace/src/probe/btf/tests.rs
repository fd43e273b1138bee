//! Tests on hand-built BTF blobs and on the running kernel's BTF.

use super::*;
use ipc_trace_common::{KernelOffsets, OFFSET_UNKNOWN};

/// Builds raw BTF the way the kernel lays it out.
struct Builder {
    big_endian: bool,
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
}

impl Builder {
    fn new(big_endian: bool) -> Builder {
        Builder {
            big_endian,
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
        }
    }

    fn put(buf: &mut Vec<u8>, big_endian: bool, v: u32) {
        if big_endian {
            buf.extend_from_slice(&v.to_be_bytes());
        } else {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn word(&mut self, v: u32) {
        Builder::put(&mut self.types, self.big_endian, v);
    }

    fn string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    /// Appends a `btf_type` header and returns the new type id.
    fn header(&mut self, name: &str, kind: u32, kind_flag: bool, vlen: u32, size: u32) -> u32 {
        let name_off = self.string(name);
        self.word(name_off);
        self.word((u32::from(kind_flag) << 31) | (kind << 24) | vlen);
        self.word(size);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn int(&mut self, name: &str, size: u32, bits: u32) -> u32 {
        let id = self.header(name, 1, false, 0, size);
        self.word(bits);
        id
    }

    fn modifier(&mut self, kind: u32, name: &str, target: u32) -> u32 {
        self.header(name, kind, false, 0, target)
    }

    /// STRUCT (kind 4) or UNION (kind 5); member offsets are raw words.
    fn composite(
        &mut self,
        kind: u32,
        name: &str,
        kind_flag: bool,
        size: u32,
        members: &[(&str, u32, u32)],
    ) -> u32 {
        let id = self.header(name, kind, kind_flag, members.len() as u32, size);
        for (member, ty, offset) in members {
            let name_off = self.string(member);
            self.word(name_off);
            self.word(*ty);
            self.word(*offset);
        }
        id
    }

    /// One record of every kind that is not used for lookups, so that a
    /// wrong record size shows up as a broken walk.
    fn all_other_kinds(&mut self, int: u32) {
        let ptr = self.modifier(2, "", int);
        // ARRAY: elem type, index type, nelems.
        self.header("", 3, false, 0, 0);
        self.word(int);
        self.word(int);
        self.word(4);
        // ENUM with two values.
        self.header("colour", 6, false, 2, 4);
        for (name, value) in [("RED", 0), ("BLUE", 1)] {
            let off = self.string(name);
            self.word(off);
            self.word(value);
        }
        self.header("fwd_only", 7, false, 0, 0);
        self.modifier(9, "", int);
        self.modifier(11, "", ptr);
        // FUNC_PROTO with two params, and a FUNC using it.
        let proto = self.header("", 13, false, 2, int);
        for name in ["a", "b"] {
            let off = self.string(name);
            self.word(off);
            self.word(int);
        }
        self.header("do_thing", 12, false, 1, proto);
        // VAR and a DATASEC holding it.
        let var = self.header("counter", 14, false, 0, int);
        self.word(1);
        self.header(".data", 15, false, 1, 4);
        self.word(var);
        self.word(0);
        self.word(4);
        self.header("double", 16, false, 0, 8);
        self.header("tag", 17, false, 0, var);
        self.word(u32::MAX);
        self.modifier(18, "user", ptr);
        // ENUM64 with one value.
        self.header("big", 19, false, 1, 8);
        let off = self.string("HUGE");
        self.word(off);
        self.word(1);
        self.word(2);
    }

    fn finish(self) -> Vec<u8> {
        let be = self.big_endian;
        let mut out = Vec::new();
        let magic = if be { [0xeb, 0x9f] } else { [0x9f, 0xeb] };
        out.extend_from_slice(&magic);
        out.push(1); // version
        out.push(0); // flags
        for v in [
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            Builder::put(&mut out, be, v);
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// ```c
/// typedef unsigned int u32_t;
/// struct inner { long a; long b; };
/// struct outer {                      // kind_flag set
///     int x;                          // 0
///     unsigned int flags:3;           // bit 32, bitfield
///     union {                         // 8
///         const struct { long start; long end; };
///         long freeptr;
///     };
///     u32_t count;                    // 24
///     struct inner named;             // 32
/// };
/// struct plain { int lo:4; int hi; }; // no kind_flag, INT-encoded bitfield
/// ```
fn sample(big_endian: bool) -> Vec<u8> {
    let mut b = Builder::new(big_endian);
    let int = b.int("int", 4, 32);
    b.all_other_kinds(int);
    let long = b.int("long", 8, 64);
    let uint = b.int("unsigned int", 4, 32);
    let u32_t = b.modifier(8, "u32_t", uint);
    let inner = b.composite(4, "inner", false, 16, &[("a", long, 0), ("b", long, 64)]);
    let range = b.composite(4, "", false, 16, &[("start", long, 0), ("end", long, 64)]);
    let const_range = b.modifier(10, "", range);
    let union = b.composite(
        5,
        "",
        false,
        16,
        &[("", const_range, 0), ("freeptr", long, 0)],
    );
    b.composite(
        4,
        "outer",
        true,
        48,
        &[
            ("x", int, 0),
            ("flags", uint, (3 << 24) | 32),
            ("", union, 64),
            ("count", u32_t, 192),
            ("named", inner, 256),
        ],
    );
    let int4 = b.int("int", 4, 4);
    b.composite(4, "plain", false, 8, &[("lo", int4, 0), ("hi", int, 32)]);
    b.finish()
}

#[test]
fn finds_members_through_anonymous_union_and_struct() -> Result<(), BtfError> {
    for big_endian in [false, true] {
        let btf = Btf::from_bytes(&sample(big_endian))?;
        assert_eq!(btf.member_offset("outer", "x")?, 0);
        assert_eq!(btf.member_offset("outer", "start")?, 8);
        assert_eq!(btf.member_offset("outer", "end")?, 16);
        assert_eq!(btf.member_offset("outer", "freeptr")?, 8);
        assert_eq!(btf.member_offset("outer", "count")?, 24);
        assert_eq!(btf.member_offset("outer", "named")?, 32);
        assert_eq!(btf.member_offset("inner", "b")?, 8);
        assert_eq!(btf.member_offset("plain", "hi")?, 4);
    }
    Ok(())
}

#[test]
fn named_members_are_not_descended_into() -> Result<(), BtfError> {
    let btf = Btf::from_bytes(&sample(false))?;
    let err = btf.member_offset("outer", "a").err();
    assert!(
        matches!(&err, Some(BtfError::MemberNotFound { struct_name, member })
            if struct_name == "outer" && member == "a"),
        "{err:?}"
    );
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("outer") && message.contains("`a`"),
        "{message}"
    );
    Ok(())
}

#[test]
fn refuses_bitfields_in_both_encodings() -> Result<(), BtfError> {
    let btf = Btf::from_bytes(&sample(false))?;
    assert!(matches!(
        btf.member_offset("outer", "flags"),
        Err(BtfError::Bitfield { .. })
    ));
    assert!(matches!(
        btf.member_offset("plain", "lo"),
        Err(BtfError::Bitfield { .. })
    ));
    Ok(())
}

#[test]
fn unknown_struct_and_anonymous_types_are_not_found() -> Result<(), BtfError> {
    let btf = Btf::from_bytes(&sample(false))?;
    assert!(matches!(
        btf.member_offset("nosuch", "x"),
        Err(BtfError::StructNotFound(name)) if name == "nosuch"
    ));
    assert!(matches!(
        btf.member_offset("", "start"),
        Err(BtfError::StructNotFound(_))
    ));
    // A typedef name is not a struct name.
    assert!(matches!(
        btf.member_offset("u32_t", "x"),
        Err(BtfError::StructNotFound(_))
    ));
    Ok(())
}

#[test]
fn walks_every_kind_and_indexes_funcs() -> Result<(), BtfError> {
    let btf = Btf::from_bytes(&sample(false))?;
    // int + 14 records of the other kinds + long, uint, typedef, inner, range,
    // const, union, outer, int4, plain.
    assert_eq!(btf.type_count(), 1 + 14 + 10);
    assert!(btf.has_func("do_thing"));
    assert!(!btf.has_func("counter"));
    assert!(!btf.has_func("inner"));
    Ok(())
}

#[test]
fn rejects_damaged_data() {
    let good = sample(false);
    assert!(matches!(
        Btf::from_bytes(&good[..good.len() - 3]),
        Err(BtfError::Truncated { .. })
    ));
    assert!(matches!(
        Btf::from_bytes(&[0u8; 32]),
        Err(BtfError::BadMagic(0))
    ));
    let mut new_version = good.clone();
    new_version[2] = 2;
    assert!(matches!(
        Btf::from_bytes(&new_version),
        Err(BtfError::UnsupportedVersion(2))
    ));
    // Type 1 (`int`) turned into kind 20, which does not exist.
    let mut unknown_kind = good.clone();
    unknown_kind[24 + 7] = 20;
    assert!(matches!(
        Btf::from_bytes(&unknown_kind),
        Err(BtfError::UnknownKind {
            type_id: 1,
            kind: 20
        })
    ));
    assert!(matches!(
        Btf::from_bytes(&[]),
        Err(BtfError::Truncated { .. })
    ));
}

#[test]
fn kernel_offsets_lists_what_is_missing() -> Result<(), BtfError> {
    let btf = Btf::from_bytes(&sample(false))?;
    let (offsets, missing) = kernel_offsets(&btf);
    assert_eq!(offsets, KernelOffsets::UNKNOWN);
    assert_eq!(missing.len(), 20);
    assert_eq!(missing[0], "task_struct.nsproxy");
    assert!(missing.contains(&"shm_file_data.id".to_string()));
    Ok(())
}

/// The running kernel's BTF, whatever the kernel: every offset the attach
/// table (`KERNEL_PROBES`) needs, and the IPC-namespace chain every
/// program reads, must resolve, with values that fit the C layouts these
/// structs have had since 5.x. Skipped, with the reason printed, only when
/// the kernel has no BTF at all.
#[test]
fn running_kernel_btf_resolves_every_offset_the_probes_need() -> Result<(), BtfError> {
    if !std::path::Path::new(VMLINUX_BTF).exists() {
        eprintln!("skipped: {VMLINUX_BTF} is absent (kernel built without CONFIG_DEBUG_INFO_BTF)");
        return Ok(());
    }
    let btf = Btf::from_kernel()?;
    let (o, missing) = kernel_offsets(&btf);
    let mut lacking: Vec<String> = Vec::new();
    for probe in crate::probe::kernel_path::KERNEL_PROBES {
        for name in probe.missing_offsets(&o) {
            lacking.push(format!("{} needs {name}", probe.function));
        }
    }
    assert!(lacking.is_empty(), "{lacking:?} (BTF lacks {missing:?})");
    for (name, value) in [
        ("task_struct.nsproxy", o.task_nsproxy),
        ("nsproxy.ipc_ns", o.nsproxy_ipc_ns),
        ("ipc_namespace.ns.inum", o.ipc_ns_inum),
    ] {
        assert_ne!(value, OFFSET_UNKNOWN, "{name} unresolved: {missing:?}");
    }
    // Plausible: inside a struct of reasonable size, and in the order
    // these members have always had.
    let all = [
        o.task_nsproxy,
        o.nsproxy_ipc_ns,
        o.ipc_ns_inum,
        o.ipc_params_key,
        o.ipc_params_flg,
        o.ipc_params_u,
        o.vm_fault_vma,
        o.vm_fault_address,
        o.vm_fault_pgoff,
        o.vm_fault_flags,
        o.vma_vm_start,
        o.vma_vm_end,
        o.vma_vm_file,
        o.file_private_data,
        o.shm_file_data_id,
        o.ipc_perm_id,
        o.ipc_perm_key,
        o.shmid_kernel_perm,
        o.shmid_kernel_segsz,
    ];
    assert!(all.iter().all(|&v| v < 16 * 1024), "{o:?}");
    assert_eq!(o.ipc_params_key, 0);
    assert_eq!(o.ipc_params_flg, 4);
    assert!(o.ipc_params_u > o.ipc_params_key);
    assert_eq!(o.vma_vm_start, 0);
    assert_eq!(o.vma_vm_end, o.vma_vm_start + 8);
    assert!(o.vma_vm_file > o.vma_vm_end);
    assert_eq!(o.vm_fault_vma, 0);
    assert!(o.vm_fault_pgoff > o.vm_fault_vma && o.vm_fault_address > o.vm_fault_pgoff);
    assert_eq!(o.shm_file_data_id, 0);
    assert_eq!(o.shmid_kernel_perm, 0);
    assert!(o.shmid_kernel_segsz > o.shmid_kernel_perm);
    // `int id; key_t key;` follow each other in kern_ipc_perm.
    assert_eq!(o.ipc_perm_key, o.ipc_perm_id + 4);
    // Functions are indexed: a hooked function that kallsyms has is a BTF
    // FUNC (what fentry attaches to), a struct name is not.
    let facts = crate::probe::facts::function_facts();
    let present: Vec<&str> = facts
        .iter()
        .filter(|f| f.in_kallsyms)
        .map(|f| f.function.as_str())
        .collect();
    assert!(
        present.iter().any(|f| btf.has_func(f)),
        "none of {present:?} is a BTF FUNC"
    );
    assert!(!btf.has_func("ipc_params"));
    Ok(())
}
