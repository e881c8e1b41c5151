//! Section headers and string tables.
//!
//! [`SectionHeader`] is a plain copy of one `Elf64_Shdr`; its offset and size
//! are only trusted after [`crate::ElfFile::section_data`] bounds-checks them.
//! [`StringTable`] resolves NUL-terminated names; a name must end inside its
//! table and be valid UTF-8, otherwise the lookup fails with an error.

use core::fmt;

use crate::read::{u32_at, u64_at, EntryIter};
use crate::ElfError;

/// Size of one `Elf64_Shdr`.
pub const SECTION_HEADER_SIZE: usize = 64;

/// Well-known section types (`sh_type`).
pub mod section_type {
    pub const NULL: u32 = 0;
    pub const PROGBITS: u32 = 1;
    pub const SYMTAB: u32 = 2;
    pub const STRTAB: u32 = 3;
    pub const RELA: u32 = 4;
    pub const NOBITS: u32 = 8;
    pub const DYNSYM: u32 = 11;
}

/// Section flags (`sh_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SectionFlags(pub u64);

impl SectionFlags {
    pub const WRITE: u64 = 1;
    pub const ALLOC: u64 = 2;
    pub const EXECINSTR: u64 = 4;

    pub fn writable(self) -> bool {
        self.0 & Self::WRITE != 0
    }

    /// Occupies memory at run time.
    pub fn allocated(self) -> bool {
        self.0 & Self::ALLOC != 0
    }

    pub fn executable(self) -> bool {
        self.0 & Self::EXECINSTR != 0
    }
}

/// One section header, copied out of the image (unvalidated values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionHeader {
    /// Offset of the name in the section-name string table.
    pub name_offset: u32,
    /// `sh_type`; see [`section_type`].
    pub kind: u32,
    pub flags: SectionFlags,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

impl SectionHeader {
    /// Decodes an entry of at least [`SECTION_HEADER_SIZE`] bytes.
    pub(crate) fn parse(entry: &[u8]) -> Option<SectionHeader> {
        Some(SectionHeader {
            name_offset: u32_at(entry, 0)?,
            kind: u32_at(entry, 4)?,
            flags: SectionFlags(u64_at(entry, 8)?),
            addr: u64_at(entry, 16)?,
            offset: u64_at(entry, 24)?,
            size: u64_at(entry, 32)?,
            link: u32_at(entry, 40)?,
            info: u32_at(entry, 44)?,
            addralign: u64_at(entry, 48)?,
            entsize: u64_at(entry, 56)?,
        })
    }

    /// True if the section takes no bytes in the file (`SHT_NOBITS`).
    pub fn is_nobits(&self) -> bool {
        self.kind == section_type::NOBITS
    }

    /// True if `addr` lies in `[addr, addr + size)` (without wrapping).
    pub fn contains_addr(&self, addr: u64) -> bool {
        addr >= self.addr && addr - self.addr < self.size
    }

    /// End of the section's address range, if it does not wrap.
    pub fn addr_end(&self) -> Option<u64> {
        self.addr.checked_add(self.size)
    }
}

/// Iterator over an image's section headers, in table order.
#[derive(Clone, Debug)]
pub struct Sections<'a> {
    pub(crate) entries: EntryIter<'a>,
}

impl Iterator for Sections<'_> {
    type Item = SectionHeader;

    fn next(&mut self) -> Option<SectionHeader> {
        self.entries.next().and_then(SectionHeader::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.entries.remaining()))
    }
}

/// A string table section: NUL-terminated UTF-8 names addressed by offset.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StringTable<'a> {
    data: &'a [u8],
}

impl<'a> StringTable<'a> {
    /// Wraps raw string-table bytes.
    pub fn new(data: &'a [u8]) -> Self {
        StringTable { data }
    }

    /// The name starting at `offset`, up to (not including) its NUL.
    pub fn get(&self, offset: u32) -> Result<&'a str, ElfError> {
        let start =
            usize::try_from(offset).map_err(|_| ElfError::BadStringOffset(offset.into()))?;
        let tail = self
            .data
            .get(start..)
            .ok_or(ElfError::BadStringOffset(offset.into()))?;
        let len = tail
            .iter()
            .position(|&byte| byte == 0)
            .ok_or(ElfError::UnterminatedString)?;
        let bytes = tail.get(..len).ok_or(ElfError::UnterminatedString)?;
        core::str::from_utf8(bytes).map_err(|_| ElfError::InvalidUtf8)
    }

    /// The raw bytes of the table.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

impl fmt::Debug for StringTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StringTable({} bytes)", self.data.len())
    }
}
