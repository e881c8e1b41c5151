//! A process's map of user memory areas, for `mmap`, `munmap`,
//! `mprotect` and `brk`.
//!
//! The map is a `BTreeMap` from an area's start address to its end and
//! protection. Areas never overlap, and every start and end is page
//! aligned. All editing goes through one trick: [`AddressSpace::split_at`]
//! cuts the area containing an address in two, so after splitting at both
//! ends of a range, that range consists of whole areas that can be removed
//! or re-protected without any arithmetic on partial areas. Adjacent areas
//! are not merged again; that only costs a few map entries.
//!
//! The map only *records* what the backend has mapped; the syscall code
//! keeps the two in step by calling the backend for exactly the pieces
//! this map reports.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::Prot;

/// The first address above user space: the kernel's `USER_END`, the
/// canonical lower half without its last page.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;

/// Linux's default `vm.mmap_min_addr`: nothing is ever mapped below it.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;

/// Who made an area, so `brk` never removes someone else's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaKind {
    /// Mapped by the loader: image segments and the stack.
    Image,
    /// The `brk` heap.
    Heap,
    /// Made by `mmap`.
    Mapping,
}

/// One area `[start, end)`; the start is the map key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub end: u64,
    pub prot: Prot,
    pub kind: AreaKind,
}

/// The set of areas of one process. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct AddressSpace {
    areas: BTreeMap<u64, Area>,
}

impl AddressSpace {
    /// An empty map.
    pub fn new() -> AddressSpace {
        AddressSpace::default()
    }

    /// All areas in address order, as `(start, area)`.
    pub fn areas(&self) -> impl Iterator<Item = (u64, &Area)> {
        self.areas.iter().map(|(start, area)| (*start, area))
    }

    /// Records `[start, end)`; the caller has removed any overlap first.
    pub fn insert(&mut self, start: u64, end: u64, prot: Prot, kind: AreaKind) {
        if start < end {
            self.areas.insert(start, Area { end, prot, kind });
        }
    }

    /// True when any area overlaps `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return false;
        }
        // The area with the greatest start below `end` is the only one that
        // can reach into the range from the left or lie inside it.
        match self.areas.range(..end).next_back() {
            Some((_, area)) => area.end > start,
            None => false,
        }
    }

    /// True when `[start, end)` is mapped with no holes.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return true;
        }
        let mut reached = start;
        if let Some((_, area)) = self.areas.range(..=start).next_back() {
            reached = reached.max(area.end);
        }
        for (area_start, area) in self.areas.range(start..end) {
            if *area_start > reached {
                return false;
            }
            reached = reached.max(area.end);
        }
        reached >= end
    }

    /// Cuts the area containing `addr` (strictly inside it) in two.
    fn split_at(&mut self, addr: u64) {
        let found = self.areas.range(..addr).next_back().map(|(s, a)| (*s, *a));
        if let Some((start, area)) = found {
            if start < addr && addr < area.end {
                self.areas.insert(start, Area { end: addr, ..area });
                self.areas.insert(addr, area);
            }
        }
    }

    /// Removes everything in `[start, end)` (only areas of `kind`, when
    /// given) and returns the removed pieces, which the caller unmaps.
    pub fn remove_range(
        &mut self,
        start: u64,
        end: u64,
        kind: Option<AreaKind>,
    ) -> Vec<(u64, u64)> {
        if start >= end {
            return Vec::new();
        }
        self.split_at(start);
        self.split_at(end);
        let doomed: Vec<(u64, u64)> = self
            .areas
            .range(start..end)
            .filter(|(_, area)| kind.is_none_or(|kind| area.kind == kind))
            .map(|(s, area)| (*s, area.end))
            .collect();
        for (piece_start, _) in &doomed {
            self.areas.remove(piece_start);
        }
        doomed
    }

    /// Sets the protection of `[start, end)`, which must be covered.
    pub fn protect_range(&mut self, start: u64, end: u64, prot: Prot) {
        if start >= end {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        for (_, area) in self.areas.range_mut(start..end) {
            area.prot = prot;
        }
    }

    /// The lowest page-aligned `addr` in `[lower, upper)` where `len` bytes
    /// fit without touching any area (first fit).
    pub fn find_free(&self, len: u64, lower: u64, upper: u64) -> Option<u64> {
        let mut candidate = lower;
        let first_relevant = self
            .areas
            .range(..=lower)
            .next_back()
            .map(|(start, _)| *start)
            .unwrap_or(lower);
        for (start, area) in self.areas.range(first_relevant..) {
            if area.end <= candidate {
                continue;
            }
            let fit_end = candidate.checked_add(len)?;
            if *start >= fit_end {
                break;
            }
            candidate = area.end;
        }
        let fit_end = candidate.checked_add(len)?;
        (fit_end <= upper).then_some(candidate)
    }
}
