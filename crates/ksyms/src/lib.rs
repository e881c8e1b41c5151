//! A sorted table of function symbols, for turning code addresses into names
//! (backtraces, fault reports) and for checking that an address is a function
//! entry point (SCI mode faults kernel text in only at symbol starts).
//!
//! Design: [`SymbolTable::from_elf`] reads `.symtab` (or `.dynsym` when there
//! is no `.symtab`) through `bulkhead-elf`, keeps defined `STT_FUNC` and
//! `STT_NOTYPE` symbols that lie in executable sections, copies their names
//! into one owned `String` arena, and stores `(start, size, name_offset,
//! name_len)` entries sorted by start. Zero-size symbols (assembly labels)
//! extend to the next symbol or the end of their section.
//!
//! Invariants of a built table:
//! - entries are sorted by `start` and do not overlap, so [`SymbolTable::lookup`]
//!   is one binary search; every entry has `size > 0` and `start + size`
//!   does not overflow;
//! - overlaps are resolved deterministically: candidates are ordered by
//!   start, then sized before zero-size, then larger size, then `FUNC` before
//!   `NOTYPE`, then symbol-table order; a candidate that starts inside an
//!   already kept entry is dropped (so the first, largest one wins);
//! - every `(name_offset, name_len)` is a valid range of the arena;
//! - building never panics and reports allocation failure as an error
//!   (`try_reserve`), so a kernel heap that is too small is not fatal.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod collect;
mod demangle;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bulkhead_elf::ElfError;

pub use demangle::{demangle, Demangled};

/// Why a symbol table could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolError {
    /// The image is not a valid ELF file or its symbol table is malformed.
    Elf(ElfError),
    /// The image has neither `.symtab` nor `.dynsym` (it was stripped).
    NoSymbolTable,
    /// The allocator could not provide memory for the table.
    OutOfMemory,
    /// The names do not fit a `u32`-indexed arena.
    TooLarge,
}

impl From<ElfError> for SymbolError {
    fn from(error: ElfError) -> Self {
        SymbolError::Elf(error)
    }
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolError::Elf(error) => write!(f, "bad ELF image: {error}"),
            SymbolError::NoSymbolTable => f.write_str("ELF image has no symbol table"),
            SymbolError::OutOfMemory => f.write_str("out of memory building symbol table"),
            SymbolError::TooLarge => f.write_str("symbol names exceed 4 GiB"),
        }
    }
}

/// Which symbols [`SymbolTable::from_elf_with`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Keep zero-size `FUNC`/`NOTYPE` symbols in executable sections,
    /// extended to the next symbol or the end of their section.
    pub include_unsized: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            include_unsized: true,
        }
    }
}

/// One table entry; `name_offset..name_offset + name_len` indexes the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: u64,
    size: u64,
    name_offset: u32,
    name_len: u32,
}

/// A symbol found by lookup or iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolRef<'a> {
    /// The raw (mangled) name.
    pub name: &'a str,
    pub start: u64,
    pub size: u64,
    /// Distance of the looked-up address from `start` (0 when iterating).
    pub offset: u64,
}

impl<'a> SymbolRef<'a> {
    /// The name in demangled form (for display).
    pub fn demangled(&self) -> Demangled<'a> {
        demangle(self.name)
    }

    /// One past the last address of the symbol.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

impl fmt::Display for SymbolRef<'_> {
    /// `demangled+0xOFF`; the alternate form `{:#}` uses the raw name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{}+{:#x}", self.name, self.offset)
        } else {
            write!(f, "{}+{:#x}", self.demangled(), self.offset)
        }
    }
}

/// A sorted, non-overlapping table of function symbols (see module docs).
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    names: String,
    entries: Vec<Entry>,
}

impl SymbolTable {
    /// An empty table (every lookup fails).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the table from an ELF image with [`BuildOptions::default`].
    pub fn from_elf(image: &[u8]) -> Result<SymbolTable, SymbolError> {
        Self::from_elf_with(image, BuildOptions::default())
    }

    /// Builds the table from an ELF image.
    pub fn from_elf_with(image: &[u8], options: BuildOptions) -> Result<SymbolTable, SymbolError> {
        collect::build(image, options)
    }

    /// Number of symbols in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The symbol whose range `[start, start + size)` contains `addr`.
    pub fn lookup(&self, addr: u64) -> Option<SymbolRef<'_>> {
        let after = self.entries.partition_point(|entry| entry.start <= addr);
        let entry = self.entries.get(after.checked_sub(1)?)?;
        let offset = addr.checked_sub(entry.start)?;
        (offset < entry.size).then(|| self.symbol_ref(entry, offset))
    }

    /// True if a symbol in the table starts exactly at `addr`.
    pub fn is_function_start(&self, addr: u64) -> bool {
        self.entries
            .binary_search_by_key(&addr, |entry| entry.start)
            .is_ok()
    }

    /// The symbols in address order (each with `offset` 0).
    pub fn iter(&self) -> impl Iterator<Item = SymbolRef<'_>> + '_ {
        self.entries
            .iter()
            .map(move |entry| self.symbol_ref(entry, 0))
    }

    /// Bytes of heap used by names and entries (for boot-time reporting).
    pub fn heap_bytes(&self) -> usize {
        let entries = self
            .entries
            .capacity()
            .saturating_mul(core::mem::size_of::<Entry>());
        self.names.capacity().saturating_add(entries)
    }

    fn symbol_ref(&self, entry: &Entry, offset: u64) -> SymbolRef<'_> {
        let start = entry.name_offset as usize;
        let end = start.saturating_add(entry.name_len as usize);
        SymbolRef {
            name: self.names.get(start..end).unwrap_or(""),
            start: entry.start,
            size: entry.size,
            offset,
        }
    }
}

#[cfg(test)]
mod tests;
