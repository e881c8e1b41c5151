//! A zero-copy, bounds-checked reader for ELF64 little-endian x86_64 images.
//!
//! [`ElfFile::parse`] validates the file header (magic, class, encoding,
//! version, machine, type EXEC or DYN) and checks that the program-header and
//! section-header tables lie entirely inside the image with large enough entry
//! sizes. After that, iterating either table cannot fail. Everything that
//! depends on further offsets (section data, names, symbols, segments) is
//! checked when asked for and reported as an [`ElfError`].
//!
//! Invariants: no `unsafe`, no allocation, no panics on any input. All offset
//! arithmetic is checked, every slice is taken with `get`, and all returned
//! slices and strings borrow from the caller's buffer.
//!
//! Extended numbering (more than 0xff00 sections or 0xffff program headers,
//! recorded in section header 0) is supported.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "builder"))]
extern crate alloc;

#[cfg(any(test, feature = "builder"))]
pub mod builder;
mod error;
mod program;
mod read;
mod section;
mod symbol;

pub use error::ElfError;
pub use program::{
    ProgramHeader, ProgramHeaders, Segment, SegmentFlags, SegmentType, PROGRAM_HEADER_SIZE,
};
pub use section::{
    section_type, SectionFlags, SectionHeader, Sections, StringTable, SECTION_HEADER_SIZE,
};
pub use symbol::{
    Symbol, SymbolBinding, SymbolKind, SymbolTable, Symbols, SHN_ABS, SHN_UNDEF, SYMBOL_SIZE,
};

use read::{u16_at, u32_at, u64_at, u8_at, Entries, EntryIter};

/// Size of the ELF64 file header.
pub const FILE_HEADER_SIZE: usize = 64;
/// `e_machine` for x86_64.
pub const EM_X86_64: u16 = 62;
const PN_XNUM: u16 = 0xffff;
const SHN_XINDEX: u16 = 0xffff;

/// The object file type (`e_type`); only these two are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElfType {
    /// `ET_EXEC`: a fixed-address executable.
    Executable,
    /// `ET_DYN`: a position-independent executable or shared object.
    Dynamic,
}

/// The decoded file header, with extended numbering resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    pub kind: ElfType,
    pub machine: u16,
    pub os_abi: u8,
    pub entry: u64,
    pub flags: u32,
    pub phoff: u64,
    pub phentsize: u16,
    /// Number of program headers.
    pub phnum: u64,
    pub shoff: u64,
    pub shentsize: u16,
    /// Number of section headers.
    pub shnum: u64,
    /// Index of the section-name string table (0 if none).
    pub shstrndx: u64,
}

/// A validated ELF image borrowed from a byte buffer.
#[derive(Clone, Copy, Debug)]
pub struct ElfFile<'a> {
    data: &'a [u8],
    header: FileHeader,
    program_headers: Entries<'a>,
    section_headers: Entries<'a>,
}

impl<'a> ElfFile<'a> {
    /// Validates the header and both header tables of `data`.
    pub fn parse(data: &'a [u8]) -> Result<ElfFile<'a>, ElfError> {
        let mut header = parse_file_header(data)?;
        let section_headers = section_table(data, &mut header)?;
        let program_headers = table(
            data,
            header.phoff,
            header.phnum,
            header.phentsize,
            PROGRAM_HEADER_SIZE,
            "program header table",
        )?;
        Ok(ElfFile {
            data,
            header,
            program_headers,
            section_headers,
        })
    }

    /// The whole image.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// Iterates over the program headers (infallible after `parse`).
    pub fn program_headers(&self) -> ProgramHeaders<'a> {
        ProgramHeaders {
            entries: EntryIter::new(self.program_headers),
        }
    }

    /// Validates one program header as a loadable segment (see [`Segment`]).
    pub fn segment(&self, header: &ProgramHeader) -> Result<Segment<'a>, ElfError> {
        header.validate(self.data)
    }

    /// The validated `PT_LOAD` segments, in table order.
    pub fn load_segments(&self) -> impl Iterator<Item = Result<Segment<'a>, ElfError>> + 'a {
        let data = self.data;
        self.program_headers()
            .filter(ProgramHeader::is_load)
            .map(move |header| header.validate(data))
    }

    /// Number of section headers.
    pub fn section_count(&self) -> usize {
        self.section_headers.len()
    }

    /// Iterates over the section headers (infallible after `parse`).
    pub fn sections(&self) -> Sections<'a> {
        Sections {
            entries: EntryIter::new(self.section_headers),
        }
    }

    /// Section header `index`.
    pub fn section(&self, index: usize) -> Result<SectionHeader, ElfError> {
        self.section_headers
            .get(index)
            .and_then(SectionHeader::parse)
            .ok_or(ElfError::BadSectionIndex(index as u64))
    }

    /// The bytes of a section (empty for `SHT_NOBITS`), bounds-checked.
    pub fn section_data(&self, section: &SectionHeader) -> Result<&'a [u8], ElfError> {
        if section.is_nobits() {
            return Ok(&[]);
        }
        read::range(self.data, section.offset, section.size).ok_or(ElfError::OutOfBounds {
            what: "section data",
        })
    }

    /// The string table in section `index` (must be `SHT_STRTAB`).
    pub fn string_table(&self, index: u64) -> Result<StringTable<'a>, ElfError> {
        let section = self.section(usize::try_from(index).unwrap_or(usize::MAX))?;
        if section.kind != section_type::STRTAB {
            return Err(ElfError::WrongSectionType {
                what: "string table",
                found: section.kind,
            });
        }
        Ok(StringTable::new(self.section_data(&section)?))
    }

    /// The section-name string table, if the image has one.
    pub fn section_names(&self) -> Result<Option<StringTable<'a>>, ElfError> {
        match self.header.shstrndx {
            0 => Ok(None),
            index => self.string_table(index).map(Some),
        }
    }

    /// The name of a section.
    pub fn section_name(&self, section: &SectionHeader) -> Result<&'a str, ElfError> {
        match self.section_names()? {
            Some(names) => names.get(section.name_offset),
            None => Ok(""),
        }
    }

    /// The first section called `name` (sections with unreadable names are
    /// skipped).
    pub fn section_by_name(&self, name: &str) -> Result<Option<SectionHeader>, ElfError> {
        let Some(names) = self.section_names()? else {
            return Ok(None);
        };
        Ok(self
            .sections()
            .find(|section| names.get(section.name_offset) == Ok(name)))
    }

    /// The symbol table of a `SHT_SYMTAB` or `SHT_DYNSYM` section.
    pub fn symbol_table(&self, section: &SectionHeader) -> Result<SymbolTable<'a>, ElfError> {
        if section.kind != section_type::SYMTAB && section.kind != section_type::DYNSYM {
            return Err(ElfError::WrongSectionType {
                what: "symbol table",
                found: section.kind,
            });
        }
        let stride = match section.entsize {
            0 => SYMBOL_SIZE as u64,
            size if size < SYMBOL_SIZE as u64 => {
                return Err(ElfError::BadEntrySize {
                    what: "symbol table",
                    size,
                })
            }
            size => size,
        };
        let strings = self.string_table(section.link.into())?;
        let out_of_bounds = ElfError::OutOfBounds {
            what: "symbol table",
        };
        let count = section.size / stride;
        let entries =
            Entries::new(self.data, section.offset, count, stride).ok_or(out_of_bounds)?;
        Ok(SymbolTable::new(entries, strings))
    }

    /// The static symbol table (`SHT_SYMTAB`, normally `.symtab`), if any.
    pub fn symbols(&self) -> Result<Option<SymbolTable<'a>>, ElfError> {
        self.first_symbol_table(section_type::SYMTAB)
    }

    /// The dynamic symbol table (`SHT_DYNSYM`, normally `.dynsym`), if any.
    pub fn dynamic_symbols(&self) -> Result<Option<SymbolTable<'a>>, ElfError> {
        self.first_symbol_table(section_type::DYNSYM)
    }

    fn first_symbol_table(&self, kind: u32) -> Result<Option<SymbolTable<'a>>, ElfError> {
        match self.sections().find(|section| section.kind == kind) {
            Some(section) => self.symbol_table(&section).map(Some),
            None => Ok(None),
        }
    }
}

/// Checks the identification bytes and decodes the fixed header fields.
fn parse_file_header(data: &[u8]) -> Result<FileHeader, ElfError> {
    let ident = data.get(..FILE_HEADER_SIZE).ok_or(ElfError::Truncated)?;
    if ident.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::BadMagic);
    }
    let field8 = |at| u8_at(ident, at).unwrap_or(0);
    let field16 = |at| u16_at(ident, at).unwrap_or(0);
    let field32 = |at| u32_at(ident, at).unwrap_or(0);
    let field64 = |at| u64_at(ident, at).unwrap_or(0);
    check_ident(field8(4), field8(5), field8(6))?;
    let kind = match field16(16) {
        2 => ElfType::Executable,
        3 => ElfType::Dynamic,
        other => return Err(ElfError::UnsupportedType(other)),
    };
    let machine = field16(18);
    if machine != EM_X86_64 {
        return Err(ElfError::UnsupportedMachine(machine));
    }
    match field32(20) {
        1 => {}
        other => return Err(ElfError::UnsupportedVersion(other)),
    }
    let ehsize = field16(52);
    if usize::from(ehsize) < FILE_HEADER_SIZE {
        return Err(ElfError::BadHeaderSize(ehsize));
    }
    Ok(FileHeader {
        kind,
        machine,
        os_abi: field8(7),
        entry: field64(24),
        flags: field32(48),
        phoff: field64(32),
        phentsize: field16(54),
        phnum: field16(56).into(),
        shoff: field64(40),
        shentsize: field16(58),
        shnum: field16(60).into(),
        shstrndx: field16(62).into(),
    })
}

/// Checks class (64-bit), data encoding (LSB) and identification version.
fn check_ident(class: u8, encoding: u8, version: u8) -> Result<(), ElfError> {
    if class != 2 {
        return Err(ElfError::UnsupportedClass(class));
    }
    if encoding != 1 {
        return Err(ElfError::UnsupportedEncoding(encoding));
    }
    if version != 1 {
        return Err(ElfError::UnsupportedVersion(version.into()));
    }
    Ok(())
}

/// Slices the section-header table, resolving extended numbering from
/// section 0 into `header`.
fn section_table<'a>(data: &'a [u8], header: &mut FileHeader) -> Result<Entries<'a>, ElfError> {
    if header.shoff == 0 {
        header.shnum = 0;
        header.shstrndx = 0;
        return Ok(Entries::empty());
    }
    let first = table(
        data,
        header.shoff,
        1,
        header.shentsize,
        SECTION_HEADER_SIZE,
        "section header table",
    )?;
    let zeroth = first
        .get(0)
        .and_then(SectionHeader::parse)
        .ok_or(ElfError::OutOfBounds {
            what: "section header table",
        })?;
    if header.shnum == 0 {
        header.shnum = zeroth.size;
    }
    if header.shstrndx == u64::from(SHN_XINDEX) {
        header.shstrndx = zeroth.link.into();
    }
    if header.phnum == u64::from(PN_XNUM) {
        header.phnum = zeroth.info.into();
    }
    table(
        data,
        header.shoff,
        header.shnum,
        header.shentsize,
        SECTION_HEADER_SIZE,
        "section header table",
    )
}

/// Slices a header table after checking its entry size (when non-empty).
fn table<'a>(
    data: &'a [u8],
    offset: u64,
    count: u64,
    entsize: u16,
    minimum: usize,
    what: &'static str,
) -> Result<Entries<'a>, ElfError> {
    if count == 0 {
        return Ok(Entries::empty());
    }
    if usize::from(entsize) < minimum {
        return Err(ElfError::BadEntrySize {
            what,
            size: entsize.into(),
        });
    }
    Entries::new(data, offset, count, entsize.into()).ok_or(ElfError::OutOfBounds { what })
}

#[cfg(test)]
mod tests;
