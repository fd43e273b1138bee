//! The BTF type section, record by record: each record's kind, its size
//! in the section (so the walk never loses its place), and the reader of
//! integers in the data's byte order.

use super::BtfError;

/// Size of `struct btf_type` (name_off, info, size/type).
const TYPE_LEN: usize = 12;

/// The kinds of BTF type records (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    /// The kind for a `BTF_KIND_*` number.
    pub(super) fn from_raw(raw: u32) -> Option<Kind> {
        Some(match raw {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Bytes of kind-specific data following the 12-byte `btf_type`.
    pub(super) fn extra_len(self, vlen: usize) -> usize {
        match self {
            Kind::Int => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union => 12 * vlen,
            Kind::Enum => 8 * vlen,
            Kind::FuncProto => 8 * vlen,
            Kind::Var => 4,
            Kind::Datasec => 12 * vlen,
            Kind::DeclTag => 4,
            Kind::Enum64 => 12 * vlen,
            Kind::Ptr
            | Kind::Fwd
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Float
            | Kind::TypeTag => 0,
        }
    }

    /// Kinds that only qualify or rename another type.
    pub(super) fn is_modifier(self) -> bool {
        matches!(
            self,
            Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag
        )
    }
}

/// One type record, with the position of its kind-specific data.
#[derive(Clone, Copy, Debug)]
pub(super) struct TypeRec {
    pub(super) name_off: u32,
    pub(super) kind: Kind,
    pub(super) kind_flag: bool,
    pub(super) vlen: u16,
    /// `size` for INT/STRUCT/UNION/ENUM/FLOAT, `type` for the others.
    pub(super) size_or_type: u32,
    /// Offset of the kind-specific data inside `Btf::types_data`.
    pub(super) extra: usize,
}

/// One member of a struct or union.
#[derive(Clone, Copy, Debug)]
pub(super) struct Member {
    pub(super) name_off: u32,
    pub(super) type_id: u32,
    /// Offset in bits from the start of the enclosing struct.
    pub(super) bit_offset: u32,
    /// Bitfield width when the struct encodes it (`kind_flag`), else 0.
    pub(super) bitfield_size: u32,
}

/// Reads integers in the byte order of the BTF data.
#[derive(Clone, Copy)]
pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
    pub(super) big_endian: bool,
}

impl Reader<'_> {
    pub(super) fn u32_at(&self, offset: usize, what: &'static str) -> Result<u32, BtfError> {
        let bytes: [u8; 4] = offset
            .checked_add(4)
            .and_then(|end| self.data.get(offset..end))
            .and_then(|s| s.try_into().ok())
            .ok_or(BtfError::Truncated { what, offset })?;
        Ok(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }
}

/// Walks the type section. Entry 0 of the result stands for `void`.
pub(super) fn parse_types(reader: Reader<'_>) -> Result<Vec<TypeRec>, BtfError> {
    let void = TypeRec {
        name_off: 0,
        kind: Kind::Int,
        kind_flag: false,
        vlen: 0,
        size_or_type: 0,
        extra: 0,
    };
    let mut types = vec![void];
    let mut at = 0usize;
    while at < reader.data.len() {
        let type_id = types.len() as u32;
        let name_off = reader.u32_at(at, "type record")?;
        let info = reader.u32_at(at + 4, "type record")?;
        let size_or_type = reader.u32_at(at + 8, "type record")?;
        let raw_kind = (info >> 24) & 0x1f;
        let kind = Kind::from_raw(raw_kind).ok_or(BtfError::UnknownKind {
            type_id,
            kind: raw_kind,
        })?;
        let vlen = (info & 0xffff) as u16;
        let extra = at + TYPE_LEN;
        let next = extra + kind.extra_len(vlen as usize);
        if next > reader.data.len() {
            return Err(BtfError::Truncated {
                what: "type record",
                offset: at,
            });
        }
        types.push(TypeRec {
            name_off,
            kind,
            kind_flag: info >> 31 == 1,
            vlen,
            size_or_type,
            extra,
        });
        at = next;
    }
    Ok(types)
}
