//! The error type of the ELF reader.
//!
//! Every malformed input maps to one variant of [`ElfError`]; the reader never
//! panics. Variants carry a short static description of the structure that was
//! wrong (`what`) so the kernel can print a useful message without allocating.

use core::fmt;

/// Why an ELF image (or a part of it) was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The data is shorter than the 64-byte ELF header.
    Truncated,
    /// The first four bytes are not `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not ELFCLASS64.
    UnsupportedClass(u8),
    /// `EI_DATA` is not little-endian.
    UnsupportedEncoding(u8),
    /// `EI_VERSION` or `e_version` is not 1.
    UnsupportedVersion(u32),
    /// `e_machine` is not x86_64 (62).
    UnsupportedMachine(u16),
    /// `e_type` is neither ET_EXEC nor ET_DYN.
    UnsupportedType(u16),
    /// `e_ehsize` is smaller than the ELF64 header.
    BadHeaderSize(u16),
    /// A table's entry size is smaller than its entry structure.
    BadEntrySize { what: &'static str, size: u64 },
    /// A table, section or segment lies (partly) outside the file.
    OutOfBounds { what: &'static str },
    /// A section index is not below the section count.
    BadSectionIndex(u64),
    /// A symbol index is not below the symbol count.
    BadSymbolIndex(u64),
    /// A section has the wrong type for its use (e.g. a string table link
    /// that is not SHT_STRTAB).
    WrongSectionType { what: &'static str, found: u32 },
    /// A string offset lies outside its string table.
    BadStringOffset(u64),
    /// A string runs to the end of its table without a NUL.
    UnterminatedString,
    /// A name is not valid UTF-8.
    InvalidUtf8,
    /// A segment's file size exceeds its memory size.
    FileSizeExceedsMemSize { filesz: u64, memsz: u64 },
    /// An alignment is not zero or a power of two.
    BadAlignment(u64),
    /// A segment's virtual address is not congruent to its file offset
    /// modulo its alignment.
    MisalignedSegment,
    /// An address range wraps around the end of the address space.
    AddressOverflow,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::Truncated => f.write_str("ELF image shorter than its 64-byte header"),
            ElfError::BadMagic => f.write_str("not an ELF image (bad magic)"),
            ElfError::UnsupportedClass(c) => write!(f, "ELF class {c} is not 64-bit"),
            ElfError::UnsupportedEncoding(e) => {
                write!(f, "ELF data encoding {e} is not little-endian")
            }
            ElfError::UnsupportedVersion(v) => write!(f, "unsupported ELF version {v}"),
            ElfError::UnsupportedMachine(m) => write!(f, "ELF machine {m} is not x86_64"),
            ElfError::UnsupportedType(t) => write!(f, "ELF type {t} is neither EXEC nor DYN"),
            ElfError::BadHeaderSize(s) => write!(f, "ELF header size {s} is too small"),
            ElfError::BadEntrySize { what, size } => {
                write!(f, "{what}: entry size {size} is too small")
            }
            ElfError::OutOfBounds { what } => write!(f, "{what} lies outside the ELF image"),
            ElfError::BadSectionIndex(i) => write!(f, "section index {i} out of range"),
            ElfError::BadSymbolIndex(i) => write!(f, "symbol index {i} out of range"),
            ElfError::WrongSectionType { what, found } => {
                write!(f, "{what} has unexpected section type {found}")
            }
            ElfError::BadStringOffset(o) => write!(f, "string offset {o} outside its string table"),
            ElfError::UnterminatedString => f.write_str("string not NUL-terminated"),
            ElfError::InvalidUtf8 => f.write_str("name is not valid UTF-8"),
            ElfError::FileSizeExceedsMemSize { filesz, memsz } => {
                write!(
                    f,
                    "segment file size {filesz:#x} exceeds memory size {memsz:#x}"
                )
            }
            ElfError::BadAlignment(a) => write!(f, "alignment {a:#x} is not a power of two"),
            ElfError::MisalignedSegment => {
                f.write_str("segment address and file offset disagree modulo alignment")
            }
            ElfError::AddressOverflow => f.write_str("address range wraps around"),
        }
    }
}
