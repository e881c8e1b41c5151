//! A sanitized physical memory map with fixed capacity and no allocation.
//!
//! Bootloaders (Limine, Multiboot2) hand the kernel raw memory maps that can
//! be unsorted, overlapping, unaligned, or contain empty entries.
//! [`MemoryMap::sanitize`] turns such a list into a map the frame allocator
//! can trust, and the editing operations ([`MemoryMap::limit`],
//! [`MemoryMap::punch_holes`]) keep that trust.
//!
//! Invariants of every [`MemoryMap`]:
//! - regions are sorted by start, non-empty, and do not overlap;
//! - touching regions of the same kind are merged;
//! - usable regions start and end on 4 KiB page boundaries and lie at or
//!   above 1 MiB ([`LOW_MEMORY_END`]);
//! - at most [`MAX_REGIONS`] regions; operations that would need more fail
//!   with [`MapError::TooManyRegions`] (or stop early, for `punch_holes`).
//!
//! Overlaps are resolved by restrictiveness ([`RegionKind::restrictiveness`]):
//! any non-usable kind wins over `Usable`, and among non-usable kinds the
//! more restrictive wins. Nothing here panics on any input.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod display;
mod edit;
mod sanitize;

use core::fmt;

pub use display::{Size, Summary};

/// Largest number of regions a map (or a raw input list) can hold.
pub const MAX_REGIONS: usize = 512;
/// The page size usable memory is aligned to.
pub const PAGE_SIZE: u64 = 4096;
/// Usable memory below this address (real-mode area, BIOS) is never reported.
pub const LOW_MEMORY_END: u64 = 0x10_0000;

/// What a physical address range is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// Free RAM the kernel may allocate.
    Usable,
    /// Reserved by firmware or hardware (includes MMIO windows).
    Reserved,
    /// ACPI tables; reusable once they have been parsed.
    AcpiReclaimable,
    /// ACPI non-volatile storage; must be preserved.
    AcpiNvs,
    /// Memory reported as defective; never touch.
    BadMemory,
    /// Used by the bootloader; reusable once boot information is consumed.
    Bootloader,
    /// The kernel image, boot modules and boot information.
    KernelAndModules,
    /// The boot framebuffer.
    Framebuffer,
}

impl RegionKind {
    /// Every kind, in declaration order.
    pub const ALL: [RegionKind; 8] = [
        RegionKind::Usable,
        RegionKind::Reserved,
        RegionKind::AcpiReclaimable,
        RegionKind::AcpiNvs,
        RegionKind::BadMemory,
        RegionKind::Bootloader,
        RegionKind::KernelAndModules,
        RegionKind::Framebuffer,
    ];

    /// Rank used to resolve overlaps; the higher rank wins. From least to
    /// most restrictive: usable, bootloader-reclaimable, ACPI-reclaimable,
    /// kernel and modules, framebuffer, reserved, ACPI NVS, bad memory.
    pub fn restrictiveness(self) -> u8 {
        match self {
            RegionKind::Usable => 0,
            RegionKind::Bootloader => 1,
            RegionKind::AcpiReclaimable => 2,
            RegionKind::KernelAndModules => 3,
            RegionKind::Framebuffer => 4,
            RegionKind::Reserved => 5,
            RegionKind::AcpiNvs => 6,
            RegionKind::BadMemory => 7,
        }
    }

    /// Whether the kind is backed by RAM the kernel may need to map
    /// (everything except reserved, framebuffer and bad memory).
    pub fn is_ram(self) -> bool {
        !matches!(
            self,
            RegionKind::Reserved | RegionKind::Framebuffer | RegionKind::BadMemory
        )
    }

    /// Short lower-case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            RegionKind::Usable => "usable",
            RegionKind::Reserved => "reserved",
            RegionKind::AcpiReclaimable => "acpi-reclaimable",
            RegionKind::AcpiNvs => "acpi-nvs",
            RegionKind::BadMemory => "bad-memory",
            RegionKind::Bootloader => "bootloader",
            RegionKind::KernelAndModules => "kernel+modules",
            RegionKind::Framebuffer => "framebuffer",
        }
    }

    /// Position in [`RegionKind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The more restrictive of two kinds.
    pub(crate) fn stricter(self, other: RegionKind) -> RegionKind {
        if other.restrictiveness() > self.restrictiveness() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A physical address range `[start, end)` of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    pub start: u64,
    /// Exclusive end.
    pub end: u64,
    pub kind: RegionKind,
}

impl Region {
    pub const fn new(start: u64, end: u64, kind: RegionKind) -> Region {
        Region { start, end, kind }
    }

    /// Length in bytes (0 for empty or inverted ranges).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True for empty or inverted ranges.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// Why a map could not be built or changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The input, or the result, has more than [`MAX_REGIONS`] regions.
    TooManyRegions,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::TooManyRegions => {
                write!(f, "memory map needs more than {MAX_REGIONS} regions")
            }
        }
    }
}

const EMPTY: Region = Region::new(0, 0, RegionKind::Reserved);

/// A sanitized memory map (see the module docs for its invariants).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryMap {
    regions: [Region; MAX_REGIONS],
    len: usize,
}

impl MemoryMap {
    /// An empty map.
    pub const fn new() -> MemoryMap {
        MemoryMap {
            regions: [EMPTY; MAX_REGIONS],
            len: 0,
        }
    }

    /// Builds a map from raw bootloader regions, carving out `reserved`
    /// ranges given as `(start, end)` with `end` exclusive. A reserved range
    /// only changes memory that some raw region describes (it never creates
    /// regions in gaps); where it overlaps, that memory becomes at least
    /// `KernelAndModules`. Empty or inverted regions and ranges are ignored.
    pub fn sanitize(
        raw: impl IntoIterator<Item = Region>,
        reserved: &[(u64, u64)],
    ) -> Result<MemoryMap, MapError> {
        sanitize::sanitize(raw, reserved)
    }

    /// The regions, sorted by start.
    pub fn regions(&self) -> &[Region] {
        self.regions.get(..self.len).unwrap_or(&[])
    }

    pub fn iter(&self) -> core::slice::Iter<'_, Region> {
        self.regions().iter()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The usable regions, in address order.
    pub fn usable(&self) -> impl Iterator<Item = Region> + '_ {
        self.iter()
            .copied()
            .filter(|region| region.kind == RegionKind::Usable)
    }

    /// Total usable bytes.
    pub fn total_usable(&self) -> u64 {
        self.usable()
            .fold(0u64, |total, region| total.saturating_add(region.len()))
    }

    /// End of the highest RAM-backed region ([`RegionKind::is_ram`]), or 0.
    /// Reserved, framebuffer and bad-memory regions are left out on purpose:
    /// firmware often reports huge MMIO windows near the top of the physical
    /// address space, and sizing a direct map by them would waste memory.
    pub fn highest_address(&self) -> u64 {
        self.iter()
            .filter(|region| region.kind.is_ram())
            .map(|region| region.end)
            .max()
            .unwrap_or(0)
    }

    /// Appends a region after the last one, merging it into the last one
    /// when they touch and have the same kind. The caller keeps order.
    pub(crate) fn append(&mut self, region: Region) -> Result<(), MapError> {
        if let Some(last) = self
            .len
            .checked_sub(1)
            .and_then(|i| self.regions.get_mut(i))
        {
            if last.kind == region.kind && last.end == region.start {
                last.end = region.end;
                return Ok(());
            }
        }
        let slot = self
            .regions
            .get_mut(self.len)
            .ok_or(MapError::TooManyRegions)?;
        *slot = region;
        self.len += 1;
        Ok(())
    }

    /// Keeps the regions for which `keep` returns `Some`, replaced by the
    /// returned region, in order. `keep` must not break the invariants.
    pub(crate) fn retain_map(&mut self, mut keep: impl FnMut(Region) -> Option<Region>) {
        let mut kept = 0;
        for index in 0..self.len {
            let Some(&region) = self.regions.get(index) else {
                break;
            };
            if let Some(new) = keep(region) {
                if let Some(slot) = self.regions.get_mut(kept) {
                    *slot = new;
                    kept += 1;
                }
            }
        }
        self.len = kept;
    }
}

impl Default for MemoryMap {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> IntoIterator for &'a MemoryMap {
    type Item = &'a Region;
    type IntoIter = core::slice::Iter<'a, Region>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Rounds `value` up to a page boundary; `None` on overflow.
pub(crate) fn page_align_up(value: u64) -> Option<u64> {
    value.checked_next_multiple_of(PAGE_SIZE)
}

/// Rounds `value` down to a page boundary.
pub(crate) fn page_align_down(value: u64) -> u64 {
    value - value % PAGE_SIZE
}

#[cfg(test)]
mod tests;
