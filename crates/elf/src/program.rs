//! Program headers and loadable segments.
//!
//! [`ProgramHeader`] is a plain copy of one `Elf64_Phdr`; nothing in it is
//! trusted. [`Segment`] is a program header that passed every check a loader
//! needs: its file bytes lie inside the image, `filesz <= memsz`, neither the
//! virtual nor the physical range wraps, and its alignment is zero or a power
//! of two with `vaddr ≡ offset (mod align)`. A loader copies
//! [`Segment::file_bytes`] to `vaddr` and zero-fills the rest up to `memsz`.

use core::fmt;
use core::ops::Range;

use crate::read::{u32_at, u64_at, EntryIter};
use crate::ElfError;

/// Size of one `Elf64_Phdr`.
pub const PROGRAM_HEADER_SIZE: usize = 56;

/// The type of a program header (`p_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentType {
    Null,
    Load,
    Dynamic,
    Interp,
    Note,
    Phdr,
    Tls,
    GnuEhFrame,
    GnuStack,
    GnuRelro,
    Other(u32),
}

impl SegmentType {
    /// Decodes a raw `p_type`.
    pub fn from_raw(raw: u32) -> SegmentType {
        match raw {
            0 => SegmentType::Null,
            1 => SegmentType::Load,
            2 => SegmentType::Dynamic,
            3 => SegmentType::Interp,
            4 => SegmentType::Note,
            6 => SegmentType::Phdr,
            7 => SegmentType::Tls,
            0x6474_e550 => SegmentType::GnuEhFrame,
            0x6474_e551 => SegmentType::GnuStack,
            0x6474_e552 => SegmentType::GnuRelro,
            other => SegmentType::Other(other),
        }
    }
}

/// Segment permission flags (`p_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegmentFlags(pub u32);

impl SegmentFlags {
    pub const EXECUTE: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const READ: u32 = 4;

    pub fn executable(self) -> bool {
        self.0 & Self::EXECUTE != 0
    }

    pub fn writable(self) -> bool {
        self.0 & Self::WRITE != 0
    }

    pub fn readable(self) -> bool {
        self.0 & Self::READ != 0
    }
}

impl fmt::Display for SegmentFlags {
    /// `rwx` style, with `-` for missing permissions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.readable() { 'r' } else { '-' };
        let w = if self.writable() { 'w' } else { '-' };
        let x = if self.executable() { 'x' } else { '-' };
        write!(f, "{r}{w}{x}")
    }
}

/// One program header, copied out of the image (unvalidated values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    pub kind: SegmentType,
    pub flags: SegmentFlags,
    pub offset: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl ProgramHeader {
    /// Decodes an entry of at least [`PROGRAM_HEADER_SIZE`] bytes.
    pub(crate) fn parse(entry: &[u8]) -> Option<ProgramHeader> {
        Some(ProgramHeader {
            kind: SegmentType::from_raw(u32_at(entry, 0)?),
            flags: SegmentFlags(u32_at(entry, 4)?),
            offset: u64_at(entry, 8)?,
            vaddr: u64_at(entry, 16)?,
            paddr: u64_at(entry, 24)?,
            filesz: u64_at(entry, 32)?,
            memsz: u64_at(entry, 40)?,
            align: u64_at(entry, 48)?,
        })
    }

    /// True for `PT_LOAD`.
    pub fn is_load(&self) -> bool {
        self.kind == SegmentType::Load
    }

    /// Runs every loader check against the image `data` (see module docs).
    pub(crate) fn validate<'a>(&self, data: &'a [u8]) -> Result<Segment<'a>, ElfError> {
        if self.filesz > self.memsz {
            return Err(ElfError::FileSizeExceedsMemSize {
                filesz: self.filesz,
                memsz: self.memsz,
            });
        }
        let file_bytes =
            crate::read::range(data, self.offset, self.filesz).ok_or(ElfError::OutOfBounds {
                what: "segment file bytes",
            })?;
        let vaddr_end = self.vaddr.checked_add(self.memsz);
        let paddr_end = self.paddr.checked_add(self.memsz);
        let (Some(vaddr_end), Some(_)) = (vaddr_end, paddr_end) else {
            return Err(ElfError::AddressOverflow);
        };
        check_alignment(self)?;
        Ok(Segment {
            header: *self,
            file_bytes,
            vaddr_end,
        })
    }
}

/// Checks `align` is 0 or a power of two, and `vaddr ≡ offset (mod align)`.
fn check_alignment(header: &ProgramHeader) -> Result<(), ElfError> {
    let align = header.align;
    if align > 1 {
        if !align.is_power_of_two() {
            return Err(ElfError::BadAlignment(align));
        }
        if header.vaddr % align != header.offset % align {
            return Err(ElfError::MisalignedSegment);
        }
    }
    Ok(())
}

/// A validated segment: its header plus the bytes it takes from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    header: ProgramHeader,
    file_bytes: &'a [u8],
    vaddr_end: u64,
}

impl<'a> Segment<'a> {
    /// The (unchanged) program header.
    pub fn header(&self) -> &ProgramHeader {
        &self.header
    }

    /// The `filesz` bytes to copy to `vaddr`.
    pub fn file_bytes(&self) -> &'a [u8] {
        self.file_bytes
    }

    /// The virtual range `vaddr..vaddr + memsz` (known not to wrap).
    pub fn vaddr_range(&self) -> Range<u64> {
        self.header.vaddr..self.vaddr_end
    }

    /// How many bytes after the file bytes must be zero-filled (`memsz - filesz`).
    pub fn zero_fill_len(&self) -> u64 {
        self.header.memsz.saturating_sub(self.header.filesz)
    }

    pub fn flags(&self) -> SegmentFlags {
        self.header.flags
    }
}

/// Iterator over an image's program headers, in table order.
#[derive(Clone, Debug)]
pub struct ProgramHeaders<'a> {
    pub(crate) entries: EntryIter<'a>,
}

impl Iterator for ProgramHeaders<'_> {
    type Item = ProgramHeader;

    fn next(&mut self) -> Option<ProgramHeader> {
        self.entries.next().and_then(ProgramHeader::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.entries.remaining()))
    }
}
