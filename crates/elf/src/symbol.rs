//! Symbol tables (`.symtab`, `.dynsym`).
//!
//! A [`SymbolTable`] is a bounds-checked view of the `Elf64_Sym` array of one
//! symbol-table section plus the string table its `sh_link` names. The entry
//! count is `sh_size / entsize` (a trailing partial entry is ignored). Each
//! [`Symbol`] is decoded on demand; a symbol whose name cannot be resolved
//! yields an error for that symbol only, so callers may skip it.

use crate::read::{u16_at, u32_at, u64_at, u8_at, Entries, EntryIter};
use crate::section::StringTable;
use crate::ElfError;

/// Size of one `Elf64_Sym`.
pub const SYMBOL_SIZE: usize = 24;

/// `st_shndx` of an undefined symbol.
pub const SHN_UNDEF: u16 = 0;
/// `st_shndx` of an absolute symbol.
pub const SHN_ABS: u16 = 0xfff1;

/// The type of a symbol (low nibble of `st_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    NoType,
    Object,
    Func,
    Section,
    File,
    Tls,
    Other(u8),
}

impl SymbolKind {
    fn from_raw(raw: u8) -> SymbolKind {
        match raw {
            0 => SymbolKind::NoType,
            1 => SymbolKind::Object,
            2 => SymbolKind::Func,
            3 => SymbolKind::Section,
            4 => SymbolKind::File,
            6 => SymbolKind::Tls,
            other => SymbolKind::Other(other),
        }
    }
}

/// The binding of a symbol (high nibble of `st_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolBinding {
    Local,
    Global,
    Weak,
    Other(u8),
}

impl SymbolBinding {
    fn from_raw(raw: u8) -> SymbolBinding {
        match raw {
            0 => SymbolBinding::Local,
            1 => SymbolBinding::Global,
            2 => SymbolBinding::Weak,
            other => SymbolBinding::Other(other),
        }
    }
}

/// One decoded symbol, with its name resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    pub name: &'a str,
    pub value: u64,
    pub size: u64,
    pub kind: SymbolKind,
    pub binding: SymbolBinding,
    /// Visibility (`st_other & 3`): 0 default, 1 internal, 2 hidden, 3 protected.
    pub visibility: u8,
    /// Index of the section the symbol is defined in (`st_shndx`).
    pub section_index: u16,
}

impl Symbol<'_> {
    /// True unless the symbol is undefined (`SHN_UNDEF`).
    pub fn is_defined(&self) -> bool {
        self.section_index != SHN_UNDEF
    }

    /// True for absolute symbols (`SHN_ABS`).
    pub fn is_absolute(&self) -> bool {
        self.section_index == SHN_ABS
    }
}

/// A symbol table section and its linked string table.
#[derive(Clone, Copy, Debug)]
pub struct SymbolTable<'a> {
    entries: Entries<'a>,
    strings: StringTable<'a>,
}

impl<'a> SymbolTable<'a> {
    pub(crate) fn new(entries: Entries<'a>, strings: StringTable<'a>) -> Self {
        SymbolTable { entries, strings }
    }

    /// Number of entries, including the null symbol at index 0.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// The linked string table.
    pub fn strings(&self) -> StringTable<'a> {
        self.strings
    }

    /// Decodes symbol `index`.
    pub fn get(&self, index: usize) -> Result<Symbol<'a>, ElfError> {
        let entry = self
            .entries
            .get(index)
            .ok_or(ElfError::BadSymbolIndex(index as u64))?;
        decode(entry, self.strings)
    }

    /// Iterates over all symbols in table order (index 0 included).
    pub fn iter(&self) -> Symbols<'a> {
        Symbols {
            entries: EntryIter::new(self.entries),
            strings: self.strings,
        }
    }
}

impl<'a> IntoIterator for &SymbolTable<'a> {
    type Item = Result<Symbol<'a>, ElfError>;
    type IntoIter = Symbols<'a>;

    fn into_iter(self) -> Symbols<'a> {
        self.iter()
    }
}

/// Decodes one `Elf64_Sym` entry (at least [`SYMBOL_SIZE`] bytes).
fn decode<'a>(entry: &[u8], strings: StringTable<'a>) -> Result<Symbol<'a>, ElfError> {
    let truncated = ElfError::OutOfBounds { what: "symbol" };
    let name_offset = u32_at(entry, 0).ok_or(truncated)?;
    let info = u8_at(entry, 4).ok_or(truncated)?;
    let other = u8_at(entry, 5).ok_or(truncated)?;
    Ok(Symbol {
        name: strings.get(name_offset)?,
        value: u64_at(entry, 8).ok_or(truncated)?,
        size: u64_at(entry, 16).ok_or(truncated)?,
        kind: SymbolKind::from_raw(info & 0xf),
        binding: SymbolBinding::from_raw(info >> 4),
        visibility: other & 3,
        section_index: u16_at(entry, 6).ok_or(truncated)?,
    })
}

/// Iterator over a symbol table; each item is decoded independently.
#[derive(Clone, Debug)]
pub struct Symbols<'a> {
    entries: EntryIter<'a>,
    strings: StringTable<'a>,
}

impl<'a> Iterator for Symbols<'a> {
    type Item = Result<Symbol<'a>, ElfError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.next()?;
        Some(decode(entry, self.strings))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.entries.remaining()))
    }
}
