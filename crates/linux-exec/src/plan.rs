//! Checking an ELF image and planning where everything goes.
//!
//! [`plan`] reads the image and the configuration and decides everything
//! before the loader touches the target: the load bias, each `PT_LOAD`
//! segment's final address range and protection, the page-aligned regions
//! to map, the entry point, where the program headers are in memory and the
//! program break. It has no side effects, so a rejected image leaves the
//! address space untouched.
//!
//! Invariants of a [`Plan`]: every segment range lies in
//! `[LOWEST_LOAD_ADDRESS, USER_LIMIT)` and outside the stack; no two
//! segments share a byte (they may share a page); `regions` are page
//! aligned, sorted, disjoint, and cover every segment's pages; a page that
//! two segments share gets the union of their protections (for example a
//! page holding the end of `r-x` text and the start of `rw-` data becomes
//! `rwx`; linkers using `-z separate-code`, the default today, avoid this).

use alloc::vec::Vec;
use core::ops::Range;

use bulkhead_elf::{ElfError, ElfFile, ElfType, ProgramHeader, SegmentType};

use crate::{ExecConfig, ExecError, Prot};

/// The page size of x86-64.
pub const PAGE_SIZE: u64 = 4096;
/// One past the highest user address: the kernel's `USER_END`, the
/// canonical lower half without its last page.
pub const USER_LIMIT: u64 = 0x0000_7fff_ffff_f000;
/// Nothing is loaded below this address, so that null-pointer accesses
/// (and small offsets from null) always fault, as with Linux's default
/// `vm.mmap_min_addr`.
pub const LOWEST_LOAD_ADDRESS: u64 = 0x1_0000;
/// At most this many `PT_LOAD` segments (real programs have 2 to 5).
pub const MAX_LOAD_SEGMENTS: usize = 64;

/// One checked `PT_LOAD` segment, bias applied.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlannedSegment<'a> {
    /// Program header index, for error messages.
    pub index: usize,
    /// First byte of the segment in memory.
    pub start: u64,
    /// One past the last byte (`start + p_memsz`).
    pub end: u64,
    /// `p_offset`: where `file_bytes` start in the file.
    pub offset: u64,
    /// The `p_filesz` bytes to copy to `start`.
    pub file_bytes: &'a [u8],
    pub prot: Prot,
}

impl PlannedSegment<'_> {
    fn page_start(&self) -> u64 {
        page_down(self.start)
    }

    /// Cannot overflow: `end <= USER_LIMIT`, which is page aligned.
    fn page_end(&self) -> u64 {
        page_down(self.end.saturating_add(PAGE_SIZE - 1))
    }

    fn file_end(&self) -> u64 {
        self.start.saturating_add(self.file_bytes.len() as u64)
    }
}

/// A page-aligned range to map, with its final protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
}

impl Region {
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// Where the program headers are for `AT_PHDR`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Phdr<'a> {
    /// Loaded with a segment, at this address.
    InMemory(u64),
    /// Not loaded by any segment: copy these bytes onto the stack.
    Copy(&'a [u8]),
}

/// Everything the loader will do, decided up front.
#[derive(Clone, Debug)]
pub(crate) struct Plan<'a> {
    pub bias: u64,
    pub entry: u64,
    pub segments: Vec<PlannedSegment<'a>>,
    pub regions: Vec<Region>,
    pub brk_start: u64,
    pub phdr: Phdr<'a>,
    pub phent: u64,
    pub phnum: u64,
}

/// Checks `image` against `config` and plans the load (see module docs).
pub(crate) fn plan<'a, E>(
    image: &'a [u8],
    config: &ExecConfig<'_>,
) -> Result<Plan<'a>, ExecError<E>> {
    let elf = ElfFile::parse(image)?;
    let header = elf.header();
    let bias = match header.kind {
        ElfType::Executable => 0,
        ElfType::Dynamic => config.pie_base,
    };
    let stack = config.stack_range()?;
    if elf
        .program_headers()
        .any(|ph| ph.kind == SegmentType::Interp)
    {
        return Err(ExecError::Interpreter);
    }
    let segments = load_segments(&elf, bias, &stack)?;
    let entry = checked_entry(header.entry, bias, &segments)?;
    let phdr = locate_phdr(&elf, bias, &segments)?;
    let brk_start = segments.iter().map(PlannedSegment::page_end).max();
    Ok(Plan {
        bias,
        entry,
        regions: regions(&segments),
        brk_start: brk_start.unwrap_or(0),
        segments,
        phdr,
        phent: header.phentsize.into(),
        phnum: header.phnum,
    })
}

/// Checks every `PT_LOAD` header and returns the segments sorted by
/// address, with no byte shared between two of them.
fn load_segments<'a, E>(
    elf: &ElfFile<'a>,
    bias: u64,
    stack: &Range<u64>,
) -> Result<Vec<PlannedSegment<'a>>, ExecError<E>> {
    let mut segments = Vec::new();
    for (index, header) in elf.program_headers().enumerate() {
        if !header.is_load() || header.memsz == 0 {
            continue;
        }
        if segments.len() == MAX_LOAD_SEGMENTS {
            return Err(ExecError::TooManySegments);
        }
        let segment = check_segment(elf, index, &header, bias)?;
        if segment.start < stack.end && stack.start < segment.end {
            return Err(ExecError::SegmentOverlapsStack { index });
        }
        segments.push(segment);
    }
    if segments.is_empty() {
        return Err(ExecError::NoLoadableSegment);
    }
    segments.sort_by_key(|segment| segment.start);
    for pair in segments.windows(2) {
        if let [first, second] = pair {
            if first.end > second.start {
                return Err(ExecError::OverlappingSegments {
                    first: first.index,
                    second: second.index,
                });
            }
        }
    }
    Ok(segments)
}

/// Checks one `PT_LOAD` header: file range, sizes, alignment, address range.
fn check_segment<'a, E>(
    elf: &ElfFile<'a>,
    index: usize,
    header: &ProgramHeader,
    bias: u64,
) -> Result<PlannedSegment<'a>, ExecError<E>> {
    let segment = elf.segment(header).map_err(|error| match error {
        ElfError::FileSizeExceedsMemSize { .. } => ExecError::FileSizeExceedsMemSize { index },
        ElfError::OutOfBounds { .. } => ExecError::SegmentPastEndOfFile { index },
        ElfError::BadAlignment(_) => ExecError::BadAlignment { index },
        ElfError::MisalignedSegment => ExecError::MisalignedSegment { index },
        _ => ExecError::SegmentOutOfRange { index },
    })?;
    if header.vaddr % PAGE_SIZE != header.offset % PAGE_SIZE {
        return Err(ExecError::MisalignedSegment { index });
    }
    let range = header
        .vaddr
        .checked_add(bias)
        .and_then(|start| Some(start..start.checked_add(header.memsz)?))
        .filter(|range| range.start >= LOWEST_LOAD_ADDRESS && range.end <= USER_LIMIT);
    let Some(Range { start, end }) = range else {
        return Err(ExecError::SegmentOutOfRange { index });
    };
    let flags = segment.flags();
    Ok(PlannedSegment {
        index,
        start,
        end,
        offset: header.offset,
        file_bytes: segment.file_bytes(),
        prot: Prot {
            read: flags.readable(),
            write: flags.writable(),
            exec: flags.executable(),
        },
    })
}

/// The biased entry point; it must lie in an executable segment.
fn checked_entry<E>(
    entry: u64,
    bias: u64,
    segments: &[PlannedSegment<'_>],
) -> Result<u64, ExecError<E>> {
    let biased = entry.wrapping_add(bias);
    let inside = |segment: &PlannedSegment<'_>| {
        segment.prot.exec && segment.start <= biased && biased < segment.end
    };
    match entry.checked_add(bias) {
        Some(biased) if segments.iter().any(inside) => Ok(biased),
        _ => Err(ExecError::BadEntry(biased)),
    }
}

/// Finds the program headers in memory: `PT_PHDR` if present (it must lie
/// in a segment's file bytes), else the segment whose file bytes contain
/// `e_phoff`, else a copy for the stack.
fn locate_phdr<'a, E>(
    elf: &ElfFile<'a>,
    bias: u64,
    segments: &[PlannedSegment<'_>],
) -> Result<Phdr<'a>, ExecError<E>> {
    let header = elf.header();
    let table_len = header
        .phnum
        .checked_mul(header.phentsize.into())
        .ok_or(ExecError::PhdrNotLoaded)?;
    let inside_file_bytes = |start: u64| {
        let end = start.checked_add(table_len);
        segments.iter().any(|segment| {
            segment.start <= start && end.is_some_and(|end| end <= segment.file_end())
        })
    };
    if let Some(ph) = elf
        .program_headers()
        .find(|ph| ph.kind == SegmentType::Phdr)
    {
        return match ph.vaddr.checked_add(bias) {
            Some(address) if inside_file_bytes(address) => Ok(Phdr::InMemory(address)),
            _ => Err(ExecError::PhdrNotLoaded),
        };
    }
    if let Some(address) = phdr_from_load_segments(header.phoff, table_len, segments) {
        return Ok(Phdr::InMemory(address));
    }
    let table = usize::try_from(header.phoff)
        .ok()
        .zip(usize::try_from(table_len).ok())
        .and_then(|(start, len)| elf.data().get(start..start.checked_add(len)?))
        .ok_or(ExecError::PhdrNotLoaded)?;
    Ok(Phdr::Copy(table))
}

/// The address of the header table if a loaded segment's file bytes hold
/// `e_phoff` (the usual case: the first segment starts at file offset 0).
fn phdr_from_load_segments(
    phoff: u64,
    table_len: u64,
    segments: &[PlannedSegment<'_>],
) -> Option<u64> {
    let table_end = phoff.checked_add(table_len)?;
    let holder = segments.iter().find(|segment| {
        let file_end = segment.offset.checked_add(segment.file_bytes.len() as u64);
        segment.offset <= phoff && file_end.is_some_and(|end| table_end <= end)
    })?;
    holder.start.checked_add(phoff.checked_sub(holder.offset)?)
}

/// Splits the segments' pages into maximal runs of equal protection.
///
/// The boundaries are every segment's first and last page boundary; each
/// piece between two boundaries gets the union of the protections of the
/// segments covering it, and neighbouring pieces with equal protection
/// merge. Pieces no segment covers (gaps) are skipped.
fn regions(segments: &[PlannedSegment<'_>]) -> Vec<Region> {
    let mut bounds: Vec<u64> = segments
        .iter()
        .flat_map(|segment| [segment.page_start(), segment.page_end()])
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut regions: Vec<Region> = Vec::new();
    for pair in bounds.windows(2) {
        let &[start, end] = pair else { continue };
        let covering = segments
            .iter()
            .filter(|segment| segment.page_start() < end && start < segment.page_end());
        let Some(prot) = covering.map(|segment| segment.prot).reduce(Prot::union) else {
            continue;
        };
        match regions.last_mut() {
            Some(last) if last.end == start && last.prot == prot => last.end = end,
            _ => regions.push(Region { start, end, prot }),
        }
    }
    regions
}

/// Rounds down to a page boundary.
pub(crate) fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}
