//! Building a [`SymbolTable`] from an ELF image.
//!
//! Three steps: collect candidate symbols (borrowing names from the image),
//! sort them into the deterministic preference order described in the crate
//! docs, then walk them once, dropping any that start inside an already kept
//! entry and sizing zero-size ones up to the next candidate start (or their
//! section end). Only kept names are copied into the arena. All allocation
//! goes through `try_reserve`.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use bulkhead_elf::{ElfFile, SectionHeader, Symbol, SymbolKind, SymbolTable as ElfSymbols};

use crate::{BuildOptions, Entry, SymbolError, SymbolTable};

/// First reserved section index; symbols at or above it are not in a section.
const SHN_LORESERVE: u16 = 0xff00;

/// A symbol that may enter the table; `limit` bounds a zero-size symbol.
#[derive(Clone, Copy, Debug)]
struct Candidate<'a> {
    name: &'a str,
    start: u64,
    size: u64,
    limit: u64,
    is_func: bool,
    order: usize,
}

pub(crate) fn build(image: &[u8], options: BuildOptions) -> Result<SymbolTable, SymbolError> {
    let elf = ElfFile::parse(image)?;
    let symbols = match elf.symbols()? {
        Some(table) => table,
        None => elf.dynamic_symbols()?.ok_or(SymbolError::NoSymbolTable)?,
    };
    let mut candidates = collect_candidates(&elf, &symbols, options)?;
    candidates.sort_unstable_by(preference);
    let kept = resolve(&candidates)?;
    drop(candidates);
    into_table(&kept)
}

/// Defined FUNC/NOTYPE symbols with a name, inside an executable section.
fn collect_candidates<'a>(
    elf: &ElfFile<'a>,
    symbols: &ElfSymbols<'a>,
    options: BuildOptions,
) -> Result<Vec<Candidate<'a>>, SymbolError> {
    let mut candidates = Vec::new();
    for (order, symbol) in symbols.iter().enumerate() {
        let Ok(symbol) = symbol else { continue };
        let Some(section) = code_section(elf, &symbol) else {
            continue;
        };
        if symbol.size == 0 && !(options.include_unsized && section.contains_addr(symbol.value)) {
            continue;
        }
        candidates
            .try_reserve(1)
            .map_err(|_| SymbolError::OutOfMemory)?;
        candidates.push(Candidate {
            name: symbol.name,
            start: symbol.value,
            size: symbol.size,
            limit: section.addr_end().unwrap_or(u64::MAX),
            is_func: symbol.kind == SymbolKind::Func,
            order,
        });
    }
    Ok(candidates)
}

/// The executable section a named FUNC/NOTYPE symbol is defined in.
fn code_section(elf: &ElfFile<'_>, symbol: &Symbol<'_>) -> Option<SectionHeader> {
    let wanted_kind = matches!(symbol.kind, SymbolKind::Func | SymbolKind::NoType);
    let index = symbol.section_index;
    if !wanted_kind || symbol.name.is_empty() || index == 0 || index >= SHN_LORESERVE {
        return None;
    }
    let section = elf.section(usize::from(index)).ok()?;
    (section.flags.executable() && section.flags.allocated()).then_some(section)
}

/// Start ascending, then sized first, larger first, FUNC first, table order.
fn preference(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    a.start
        .cmp(&b.start)
        .then((b.size > 0).cmp(&(a.size > 0)))
        .then(b.size.cmp(&a.size))
        .then(b.is_func.cmp(&a.is_func))
        .then(a.order.cmp(&b.order))
}

/// Keeps non-overlapping candidates in order, sizing zero-size ones.
/// `sorted` must be ordered by [`preference`].
fn resolve<'a>(sorted: &[Candidate<'a>]) -> Result<Vec<Candidate<'a>>, SymbolError> {
    let mut kept: Vec<Candidate<'a>> = Vec::new();
    kept.try_reserve(sorted.len())
        .map_err(|_| SymbolError::OutOfMemory)?;
    let mut kept_end = 0u64;
    for (index, candidate) in sorted.iter().enumerate() {
        if candidate.start < kept_end {
            continue;
        }
        let size = match candidate.size {
            0 => unsized_extent(sorted, index, candidate),
            size => size,
        };
        let Some(end) = candidate.start.checked_add(size).filter(|_| size > 0) else {
            continue;
        };
        kept.push(Candidate { size, ..*candidate });
        kept_end = end;
    }
    Ok(kept)
}

/// Size of a zero-size candidate: up to the next greater start or its limit.
fn unsized_extent(sorted: &[Candidate<'_>], index: usize, candidate: &Candidate<'_>) -> u64 {
    let next_start = sorted
        .get(index..)
        .unwrap_or(&[])
        .iter()
        .map(|other| other.start)
        .find(|&start| start > candidate.start)
        .unwrap_or(u64::MAX);
    next_start
        .min(candidate.limit)
        .saturating_sub(candidate.start)
}

/// Copies kept names into one arena and builds the entry vector.
fn into_table(kept: &[Candidate<'_>]) -> Result<SymbolTable, SymbolError> {
    let name_bytes = kept
        .iter()
        .try_fold(0usize, |total, c| total.checked_add(c.name.len()))
        .ok_or(SymbolError::TooLarge)?;
    let mut names = String::new();
    names
        .try_reserve_exact(name_bytes)
        .map_err(|_| SymbolError::OutOfMemory)?;
    let mut entries = Vec::new();
    entries
        .try_reserve_exact(kept.len())
        .map_err(|_| SymbolError::OutOfMemory)?;
    for candidate in kept {
        let name_offset = u32::try_from(names.len()).map_err(|_| SymbolError::TooLarge)?;
        let name_len = u32::try_from(candidate.name.len()).map_err(|_| SymbolError::TooLarge)?;
        names.push_str(candidate.name);
        entries.push(Entry {
            start: candidate.start,
            size: candidate.size,
            name_offset,
            name_len,
        });
    }
    Ok(SymbolTable { names, entries })
}
