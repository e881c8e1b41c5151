//! Restricted page tables: one container's partial view of the kernel.
//!
//! A `sci` container owns a tree of page tables for the kernel half that
//! maps only what its syscalls may touch: a base set mapped at creation
//! (entry code, CPU tables, the per-CPU area, its members' kernel stacks)
//! and pages the fault handler adds later. Each member thread gets a PML4
//! of its own, because the user half differs per app:
//!
//! ```text
//!  member PML4 (one per app thread)        container's kernel-half tables
//!   0..256   = the app's PML4 entries  ->  (the app's own PDPTs, shared)
//!   256..512 = the template's entries  ->  PDPT -> PD -> PT -> 4 KiB pages
//! ```
//!
//! The template PML4 holds the kernel-half entries; a member PML4 copies
//! them when it is made and whenever the template gains one. User-half
//! entries are copied when the member is made and, for PDPTs the app gains
//! later, on the first fault there (`sync_user_entry`). Only 4 KiB leaf
//! pages are used, with the flags the full kernel table has for them.
//!
//! Invariants: every table frame is owned here (freed by `destroy`); no
//! leaf maps a page the full kernel table does not map with the same
//! physical address and flags.

use crate::mm::{frames, phys_to_virt, PAGE_SIZE};
use alloc::vec::Vec;
use bulkhead_abi::Error;
use x86_64::structures::paging::page_table::{PageTable, PageTableFlags as Flags};
use x86_64::PhysAddr;

/// Frames for page tables this container may use at most.
pub const TABLE_BUDGET: usize = bulkhead_abi::container::SCI_TABLE_PAGES as usize;

/// A container's restricted page tables.
pub struct RestrictedTables {
    template: u64,
    members: Vec<u64>,
    /// Every intermediate table frame (PDPT, PD, PT), for `destroy`.
    tables: Vec<u64>,
    /// Leaf pages mapped now.
    mapped: usize,
}

fn table(phys: u64) -> &'static mut PageTable {
    // SAFETY: `phys` is a page-table frame owned by these tables (or an
    // app's PML4, read for its entries), reached through the window; the
    // kernel edits them one thread at a time.
    unsafe { &mut *(phys_to_virt(phys) as *mut PageTable) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 0x1ff) as usize
}

impl RestrictedTables {
    /// Empty tables.
    pub fn new() -> Result<Self, Error> {
        let template = frames::alloc_zeroed().map_err(|_| Error::OutOfMemory)?;
        Ok(RestrictedTables {
            template,
            members: Vec::new(),
            tables: Vec::new(),
            mapped: 0,
        })
    }

    /// Table frames in use (template, members, intermediate tables).
    pub fn frames_used(&self) -> usize {
        1 + self.members.len() + self.tables.len()
    }

    /// Leaf pages mapped now.
    pub fn mapped_pages(&self) -> usize {
        self.mapped
    }

    fn take_frame(&mut self) -> Result<u64, Error> {
        if self.frames_used() >= TABLE_BUDGET {
            return Err(Error::QuotaExhausted);
        }
        frames::alloc_zeroed().map_err(|_| Error::OutOfMemory)
    }

    /// A PML4 for a member whose app runs on the PML4 at `app_pml4`.
    pub fn add_member(&mut self, app_pml4: u64) -> Result<u64, Error> {
        let pml4 = self.take_frame()?;
        let (own, app, template) = (table(pml4), table(app_pml4), table(self.template));
        for i in 0..256 {
            own[i] = app[i].clone();
        }
        for i in 256..512 {
            own[i] = template[i].clone();
        }
        self.members.push(pml4);
        Ok(pml4)
    }

    /// Frees a member's PML4 (its app no longer runs on it).
    pub fn remove_member(&mut self, pml4: u64) {
        if let Some(i) = self.members.iter().position(|&m| m == pml4) {
            self.members.swap_remove(i);
            // SAFETY: the frame came from `add_member` and no CPU runs on it.
            unsafe { frames::free(pml4) };
        }
    }

    /// Copies the app's PML4 entry for user address `va` into the member's
    /// PML4 if the member lacks it; true if it did.
    pub fn sync_user_entry(&mut self, member: u64, app_pml4: u64, va: u64) -> bool {
        let i = index(va, 4);
        let (own, app) = (table(member), table(app_pml4));
        if i >= 256 || !own[i].is_unused() || app[i].is_unused() {
            return false;
        }
        own[i] = app[i].clone();
        true
    }

    /// The next-level table under `entry`, made if missing.
    fn next(&mut self, parent: u64, i: usize, top: bool) -> Result<u64, Error> {
        let entry = &table(parent)[i];
        if !entry.is_unused() {
            return Ok(entry.addr().as_u64());
        }
        let frame = self.take_frame()?;
        self.tables.push(frame);
        let flags = Flags::PRESENT | Flags::WRITABLE;
        table(parent)[i].set_addr(PhysAddr::new(frame), flags);
        if top {
            // A new kernel-half PML4 entry: every member gets it.
            for &m in &self.members {
                table(m)[i].set_addr(PhysAddr::new(frame), flags);
            }
        }
        Ok(frame)
    }

    /// Maps the kernel page `va` to `phys` with `flags` (4 KiB). Mapping a
    /// page already mapped is a no-op.
    pub fn map(&mut self, va: u64, phys: u64, flags: Flags) -> Result<(), Error> {
        let pdpt = self.next(self.template, index(va, 4), true)?;
        let pd = self.next(pdpt, index(va, 3), false)?;
        let pt = self.next(pd, index(va, 2), false)?;
        let leaf = &mut table(pt)[index(va, 1)];
        if leaf.is_unused() {
            leaf.set_addr(PhysAddr::new(phys & !(PAGE_SIZE - 1)), flags);
            self.mapped += 1;
        }
        Ok(())
    }

    /// Maps every page of `[start, end)` as the full kernel table does
    /// (read-only, if `read_only`).
    pub fn map_like_kernel(&mut self, start: u64, end: u64, read_only: bool) -> Result<(), Error> {
        let mut va = start & !(PAGE_SIZE - 1);
        while va < end {
            let (phys, mut flags) = kernel_mapping(va).ok_or(Error::NotMapped)?;
            if read_only {
                flags.remove(Flags::WRITABLE);
            }
            self.map(va, phys, flags)?;
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// The leaf entry for `va`, if its tables exist.
    fn leaf(
        &self,
        va: u64,
    ) -> Option<&'static mut x86_64::structures::paging::page_table::PageTableEntry> {
        let mut t = self.template;
        for level in [4, 3, 2] {
            let entry = &table(t)[index(va, level)];
            if entry.is_unused() {
                return None;
            }
            t = entry.addr().as_u64();
        }
        Some(&mut table(t)[index(va, 1)])
    }

    /// Unmaps the kernel page `va` (the caller flushes the TLB).
    pub fn unmap(&mut self, va: u64) {
        if let Some(e) = self.leaf(va) {
            if !e.is_unused() {
                e.set_unused();
                self.mapped -= 1;
            }
        }
    }

    /// Frees every frame.
    pub fn destroy(self) {
        for frame in self
            .members
            .into_iter()
            .chain(self.tables)
            .chain([self.template])
        {
            // SAFETY: frames owned by these tables; no CPU runs on them.
            unsafe { frames::free(frame) };
        }
    }
}

/// The physical page and 4 KiB leaf flags the full kernel table has for
/// the kernel page `va`.
pub fn kernel_mapping(va: u64) -> Option<(u64, Flags)> {
    let phys = crate::mm::paging::translate(va)?;
    let flags = crate::mm::paging::page_flags(va)?;
    let keep = Flags::PRESENT
        | Flags::WRITABLE
        | Flags::NO_EXECUTE
        | Flags::NO_CACHE
        | Flags::WRITE_THROUGH;
    Some((phys & !(PAGE_SIZE - 1), flags & keep))
}
