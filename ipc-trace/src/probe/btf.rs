//! A small reader of raw BTF, the type information the kernel publishes at
//! `/sys/kernel/btf/vmlinux`. It answers two questions the loader needs:
//! where a member sits inside a kernel struct ([`Btf::member_offset`]),
//! which gives the eBPF programs the offsets they read with.
//!
//! Only the parts needed for that are kept, but every record kind is sized
//! correctly so the walk over the type section never loses its place.

mod kernel;
mod records;
mod source;

use records::{Kind, Member, Reader, TypeRec, parse_types};

pub use kernel::kernel_offsets;
pub use source::{BtfFileError, BtfSource};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// `BTF_MAGIC` as read in the file's own byte order.
const MAGIC: u16 = 0xeb9f;
/// Size of the fixed part of `struct btf_header`.
const HEADER_LEN: usize = 24;
/// How deep anonymous members and type modifiers may nest before the data
/// is considered corrupt (real kernels need fewer than 10).
const MAX_DEPTH: usize = 32;

/// What can go wrong reading BTF or looking something up in it.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // each variant says what its fields hold
pub enum BtfError {
    /// The BTF file could not be read.
    #[error("cannot read BTF from {path}: {source} (is CONFIG_DEBUG_INFO_BTF enabled?)")]
    Io {
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data does not start with the BTF magic number.
    #[error("not BTF data: magic is {0:#06x}, expected 0xeb9f")]
    BadMagic(u16),
    /// A BTF version this reader does not know.
    #[error("unsupported BTF version {0} (only version 1 is known)")]
    UnsupportedVersion(u8),
    /// The data ends before a structure it announces.
    #[error("BTF data is truncated: {what} at byte {offset} runs past the end")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset where it starts.
        offset: usize,
    },
    /// A type record of a kind this reader does not know; the walk cannot
    /// continue because its size is unknown.
    #[error("BTF type {type_id} has unknown kind {kind}; this reader is too old for this kernel")]
    UnknownKind {
        /// Id of the type.
        type_id: u32,
        /// The kind number.
        kind: u32,
    },
    /// A name offset outside the string section, or a name that is not UTF-8.
    #[error("BTF string at offset {0} is missing or not valid UTF-8")]
    BadString(u32),
    /// A type id that does not exist.
    #[error("BTF refers to type id {0}, which does not exist")]
    BadTypeId(u32),
    /// Type modifiers or anonymous members nest too deeply (a loop).
    #[error("BTF type {0} nests too deeply (corrupt data?)")]
    TooDeep(u32),
    /// No struct or union of that name.
    #[error("BTF has no struct or union named `{0}`")]
    StructNotFound(String),
    /// The struct exists but has no such member.
    #[error("BTF struct `{struct_name}` has no member `{member}`")]
    MemberNotFound {
        /// The struct (or union) looked in.
        struct_name: String,
        /// The member asked for.
        member: String,
    },
    /// The member is a bitfield; it has no byte offset a program could read.
    #[error(
        "BTF member `{struct_name}.{member}` is a bitfield; it cannot be read at a byte offset"
    )]
    Bitfield {
        /// The struct (or union).
        struct_name: String,
        member: String,
    },
}

/// Parsed BTF: the type records and the string section.
#[derive(Debug)]
pub struct Btf {
    big_endian: bool,
    types_data: Vec<u8>,
    strings: Vec<u8>,
    /// Index 0 is `void`; type id N is `types[N]`.
    types: Vec<TypeRec>,
    /// STRUCT and UNION type ids by name.
    composites: HashMap<String, Vec<u32>>,
}

impl Btf {
    /// Reads and parses a raw BTF file such as `/sys/kernel/btf/vmlinux`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Btf, BtfError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| BtfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Btf::from_bytes(&data)
    }

    /// Reads the running kernel's BTF.
    pub fn from_kernel() -> Result<Btf, BtfError> {
        Btf::from_file(VMLINUX_BTF)
    }

    /// The running kernel's BTF as aya parses it, from the same file: aya
    /// needs its own parse to load fentry/fexit programs, this parser reads
    /// the struct offsets the programs are given.
    pub fn aya_kernel() -> Result<aya::Btf, aya::BtfError> {
        aya::Btf::parse_file(VMLINUX_BTF, aya::Endianness::default())
    }

    /// Parses raw BTF bytes (header, type section, string section).
    pub fn from_bytes(data: &[u8]) -> Result<Btf, BtfError> {
        let magic_bytes: [u8; 2] =
            data.get(0..2)
                .and_then(|s| s.try_into().ok())
                .ok_or(BtfError::Truncated {
                    what: "header",
                    offset: 0,
                })?;
        let big_endian = if u16::from_le_bytes(magic_bytes) == MAGIC {
            false
        } else if u16::from_be_bytes(magic_bytes) == MAGIC {
            true
        } else {
            return Err(BtfError::BadMagic(u16::from_le_bytes(magic_bytes)));
        };
        let header = Reader { data, big_endian };
        let version = *data.get(2).ok_or(BtfError::Truncated {
            what: "header",
            offset: 2,
        })?;
        if version != 1 {
            return Err(BtfError::UnsupportedVersion(version));
        }
        let hdr_len = header.u32_at(4, "header")? as usize;
        if hdr_len < HEADER_LEN {
            return Err(BtfError::Truncated {
                what: "header",
                offset: 4,
            });
        }
        let section = |off_at: usize, what: &'static str| -> Result<&[u8], BtfError> {
            let off = header.u32_at(off_at, what)? as usize;
            let len = header.u32_at(off_at + 4, what)? as usize;
            let start = hdr_len.saturating_add(off);
            start
                .checked_add(len)
                .and_then(|end| data.get(start..end))
                .ok_or(BtfError::Truncated {
                    what,
                    offset: start,
                })
        };
        let types_data = section(8, "type section")?.to_vec();
        let strings = section(16, "string section")?.to_vec();
        let types = parse_types(Reader {
            data: &types_data,
            big_endian,
        })?;
        let mut btf = Btf {
            big_endian,
            types_data,
            strings,
            types,
            composites: HashMap::new(),
        };
        btf.build_indexes()?;
        Ok(btf)
    }

    /// Number of type records (not counting `void`).
    #[cfg(test)]
    fn type_count(&self) -> usize {
        self.types.len().saturating_sub(1)
    }

    /// True when BTF has a FUNC of this name.
    #[cfg(test)]
    fn has_func(&self, name: &str) -> bool {
        self.types
            .iter()
            .any(|r| r.kind == Kind::Func && self.name(r.name_off).is_ok_and(|n| n == name))
    }

    /// Byte offset of `member` inside the struct or union `struct_name`.
    ///
    /// Members of anonymous structs and unions count as members of the
    /// enclosing type, as in C (`vm_fault.vma` lives in an anonymous
    /// `const struct` on newer kernels); their offsets are added up. When
    /// several types share the name, the first one that has the member
    /// wins. A bitfield member is refused.
    pub fn member_offset(&self, struct_name: &str, member: &str) -> Result<u32, BtfError> {
        let ids = self
            .composites
            .get(struct_name)
            .ok_or_else(|| BtfError::StructNotFound(struct_name.to_string()))?;
        for &id in ids {
            if let Some((bits, bitfield)) = self.find_member(id, member, 0)? {
                if bitfield || bits % 8 != 0 {
                    return Err(BtfError::Bitfield {
                        struct_name: struct_name.to_string(),
                        member: member.to_string(),
                    });
                }
                return Ok(bits / 8);
            }
        }
        Err(BtfError::MemberNotFound {
            struct_name: struct_name.to_string(),
            member: member.to_string(),
        })
    }

    /// Searches composite `id` for `name`, descending into anonymous
    /// members. Returns the bit offset and whether it is a bitfield.
    fn find_member(
        &self,
        id: u32,
        name: &str,
        depth: usize,
    ) -> Result<Option<(u32, bool)>, BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::TooDeep(id));
        }
        let rec = self.type_rec(id)?;
        for member in self.members(rec)? {
            let member_name = self.name(member.name_off)?;
            if member_name == name {
                let bitfield = member.bitfield_size != 0 || self.is_int_bitfield(member.type_id)?;
                return Ok(Some((member.bit_offset, bitfield)));
            }
            if member_name.is_empty() {
                let inner = self.resolve(member.type_id)?;
                let inner_kind = self.type_rec(inner)?.kind;
                if matches!(inner_kind, Kind::Struct | Kind::Union)
                    && let Some((bits, bitfield)) = self.find_member(inner, name, depth + 1)?
                {
                    return Ok(Some((member.bit_offset.saturating_add(bits), bitfield)));
                }
            }
        }
        Ok(None)
    }

    /// For structs without `kind_flag`, a bitfield is an INT member whose
    /// encoding gives fewer bits than its size, or a bit offset.
    fn is_int_bitfield(&self, type_id: u32) -> Result<bool, BtfError> {
        let rec = self.type_rec(self.resolve(type_id)?)?;
        if rec.kind != Kind::Int {
            return Ok(false);
        }
        let encoding = self.reader().u32_at(rec.extra, "int encoding")?;
        let bits = encoding & 0xff;
        let offset = (encoding >> 16) & 0xff;
        Ok(offset != 0 || bits != rec.size_or_type.saturating_mul(8))
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    fn resolve(&self, mut id: u32) -> Result<u32, BtfError> {
        for _ in 0..MAX_DEPTH {
            let rec = self.type_rec(id)?;
            if !rec.kind.is_modifier() {
                return Ok(id);
            }
            id = rec.size_or_type;
        }
        Err(BtfError::TooDeep(id))
    }

    /// The members of a STRUCT or UNION record.
    fn members(&self, rec: &TypeRec) -> Result<Vec<Member>, BtfError> {
        let reader = self.reader();
        (0..rec.vlen as usize)
            .map(|i| {
                let at = rec.extra + 12 * i;
                let raw_offset = reader.u32_at(at + 8, "struct member")?;
                let (bit_offset, bitfield_size) = if rec.kind_flag {
                    (raw_offset & 0x00ff_ffff, raw_offset >> 24)
                } else {
                    (raw_offset, 0)
                };
                Ok(Member {
                    name_off: reader.u32_at(at, "struct member")?,
                    type_id: reader.u32_at(at + 4, "struct member")?,
                    bit_offset,
                    bitfield_size,
                })
            })
            .collect()
    }

    fn type_rec(&self, id: u32) -> Result<&TypeRec, BtfError> {
        if id == 0 {
            return Err(BtfError::BadTypeId(0));
        }
        self.types.get(id as usize).ok_or(BtfError::BadTypeId(id))
    }

    fn reader(&self) -> Reader<'_> {
        Reader {
            data: &self.types_data,
            big_endian: self.big_endian,
        }
    }

    /// The NUL-terminated string at `offset` in the string section.
    fn name(&self, offset: u32) -> Result<&str, BtfError> {
        let rest = self
            .strings
            .get(offset as usize..)
            .ok_or(BtfError::BadString(offset))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(BtfError::BadString(offset))?;
        std::str::from_utf8(&rest[..end]).map_err(|_| BtfError::BadString(offset))
    }

    fn build_indexes(&mut self) -> Result<(), BtfError> {
        let mut composites: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, rec) in self.types.iter().enumerate().skip(1) {
            match rec.kind {
                Kind::Struct | Kind::Union => {
                    let name = self.name(rec.name_off)?;
                    if !name.is_empty() {
                        composites
                            .entry(name.to_string())
                            .or_default()
                            .push(id as u32);
                    }
                }
                _ => {}
            }
        }
        self.composites = composites;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
