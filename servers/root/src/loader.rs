//! Loads a static ELF image into another address space using capabilities
//! only: for each `PT_LOAD` segment it allocates zeroed Frames from the
//! child's quota, maps them into the child's space read-write (never
//! executable), copies the file bytes in with `space_write` (the rest of
//! the pages, including `.bss`, stay zero), then sets the segment's final
//! rights with `space_protect`. A segment asking to be both writable and
//! executable is refused, so no page is ever W and X. Segments must not
//! share pages (the user linker script aligns each to 4 KiB).

use core::fmt;

use bulkhead_elf::{ElfError, ElfFile, Segment};
use bulkhead_rt::abi::{CapRef, Error, Rights, PAGE_SIZE, USER_END, USER_START};
use bulkhead_rt::sys;

/// Why an image could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The image is not a valid ELF file.
    Elf(ElfError),
    /// A segment lies outside user space or is both writable and executable.
    BadSegment { vaddr: u64, why: &'static str },
    /// A system call failed.
    Sys { step: &'static str, error: Error },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Elf(error) => write!(f, "bad ELF image: {error}"),
            LoadError::BadSegment { vaddr, why } => write!(f, "segment at {vaddr:#x}: {why}"),
            LoadError::Sys { step, error } => write!(f, "{step}: {error}"),
        }
    }
}

/// Tags a system-call error with the step that made it.
pub fn at(step: &'static str) -> impl FnOnce(Error) -> LoadError {
    move |error| LoadError::Sys { step, error }
}

/// Where the child will find its memory.
pub struct Target {
    pub memory: CapRef,
    pub space: CapRef,
}

/// Loads every `PT_LOAD` segment of `image` into `target`; returns the
/// entry point.
pub fn load(image: &[u8], target: &Target) -> Result<u64, LoadError> {
    let elf = ElfFile::parse(image).map_err(LoadError::Elf)?;
    for segment in elf.load_segments() {
        load_segment(&segment.map_err(LoadError::Elf)?, target)?;
    }
    Ok(elf.header().entry)
}

/// The page-aligned range `segment` occupies.
fn page_range(segment: &Segment) -> Result<(u64, u64), LoadError> {
    let range = segment.vaddr_range();
    let bad = |why| LoadError::BadSegment {
        vaddr: range.start,
        why,
    };
    let start = range.start - range.start % PAGE_SIZE;
    let end = range
        .end
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(bad("wraps"))?;
    if start < USER_START || end > USER_END {
        return Err(bad("outside user space"));
    }
    Ok((start, (end - start) / PAGE_SIZE))
}

/// The final mapping rights of `segment`.
fn segment_rights(segment: &Segment) -> Result<Rights, LoadError> {
    let flags = segment.flags();
    if flags.writable() && flags.executable() {
        return Err(LoadError::BadSegment {
            vaddr: segment.vaddr_range().start,
            why: "writable and executable",
        });
    }
    let mut rights = Rights::READ;
    rights.set(Rights::WRITE, flags.writable());
    rights.set(Rights::EXECUTE, flags.executable());
    Ok(rights)
}

/// Maps `pages` fresh zeroed pages at `addr` of the target with `rights`.
/// The Frames capability is deleted again at once: the mapping keeps the
/// pages, so they go back to the child's quota with its address space
/// (a capability left in our table would keep the quota alive).
pub fn map_fresh(
    target: &Target,
    addr: u64,
    pages: u64,
    rights: Rights,
    step: &'static str,
) -> Result<(), LoadError> {
    let frames = sys::frames_alloc(target.memory, pages).map_err(at(step))?;
    let mapped = sys::space_map(target.space, frames, 0, pages, addr, rights).map_err(at(step));
    let _ = sys::cap_delete(frames);
    mapped
}

fn load_segment(segment: &Segment, target: &Target) -> Result<(), LoadError> {
    let rights = segment_rights(segment)?;
    let (start, pages) = page_range(segment)?;
    if pages == 0 {
        return Ok(());
    }
    let writable = Rights::READ | Rights::WRITE;
    map_fresh(target, start, pages, writable, "map segment")?;
    sys::space_write(
        target.space,
        segment.vaddr_range().start,
        segment.file_bytes(),
    )
    .map_err(at("copy segment"))?;
    if rights != writable {
        sys::space_protect(target.space, start, pages, rights).map_err(at("protect segment"))?;
    }
    Ok(())
}
