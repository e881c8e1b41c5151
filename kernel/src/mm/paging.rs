//! The kernel's own page tables.
//!
//! Built from fresh frames at boot (nothing of the loader's tables is
//! kept), they hold, in the kernel half of the address space:
//!
//! ```text
//!  phys_window ..        all RAM-like memory, read/write, no-execute (2 MiB
//!                        pages where aligned), plus device and firmware
//!                        ranges mapped on demand (`map_physical`)
//!  KERNEL_ARENAS ..      in-kernel containers' private heaps (`mm::arena`)
//!  KERNEL_SCRATCH ..     a window for kernel-internal mappings (tests)
//!  KERNEL_STACKS ..      kernel stacks, each with an unmapped guard page
//!  KERNEL_VMA + 2 MiB .. the kernel image: text R+X, rodata R, data+bss R+W
//! ```
//!
//! Invariant (W^X): no kernel page is both writable and executable; the
//! test suite checks it by walking every table. No kernel mapping is
//! global: System Call Isolation runs syscalls on restricted page tables
//! that map only part of the kernel, and a global TLB entry would survive
//! the switch to one and let code reach a page the restricted table does
//! not map. (With PCID the kernel's entries stay cached per address space;
//! without it a CR3 write drops them with the user's.) The lower half is
//! empty; user address spaces share these kernel-half entries.

use super::frames::{self, OutOfFrames};
use crate::boot::BootInfo;
use bulkhead_memmap::RegionKind;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use x86_64::structures::paging::mapper::{MapToError, Translate, TranslateResult, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageSize, PageTable, PageTableFlags as Flags,
    PhysFrame, Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

/// Base of the kernel-internal scratch mapping window.
pub const KERNEL_SCRATCH: u64 = 0xffff_fe00_0000_0000;
/// Base of the area of in-kernel containers' arenas (`mm::arena`).
pub const KERNEL_ARENAS: u64 = 0xffff_fd00_0000_0000;
/// Base of the kernel stack area.
pub const KERNEL_STACKS: u64 = 0xffff_ff00_0000_0000;

/// Why a mapping request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for a page table.
    OutOfFrames,
    /// Something is already mapped there.
    AlreadyMapped,
    /// Nothing is mapped there.
    NotMapped,
    /// The address or size is not page-aligned or not canonical.
    BadAddress,
}

impl From<OutOfFrames> for MapError {
    fn from(_: OutOfFrames) -> Self {
        MapError::OutOfFrames
    }
}

impl<S: PageSize> From<MapToError<S>> for MapError {
    fn from(e: MapToError<S>) -> Self {
        match e {
            MapToError::FrameAllocationFailed => MapError::OutOfFrames,
            MapToError::ParentEntryHugePage | MapToError::PageAlreadyMapped(_) => {
                MapError::AlreadyMapped
            }
        }
    }
}

/// Permissions of a kernel mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
    ReadExecute,
    /// Read/write, caching disabled: device registers.
    Device,
}

impl Access {
    fn flags(self) -> Flags {
        let base = Flags::PRESENT;
        match self {
            Access::ReadOnly => base | Flags::NO_EXECUTE,
            Access::ReadWrite => base | Flags::WRITABLE | Flags::NO_EXECUTE,
            Access::ReadExecute => base,
            Access::Device => {
                base | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::NO_CACHE | Flags::WRITE_THROUGH
            }
        }
    }
}

/// Physical address of the kernel PML4 (0 until [`init`] ran).
static KERNEL_PML4: Mutex<u64> = Mutex::new(0);

/// Allocates the frames of the kernel's own page tables, and counts them.
struct TableFrames;

/// Frames the kernel's own page tables hold. They grow with what the
/// kernel half maps (the window, kernel stacks, arenas) and only the
/// arenas' are given back ([`release_empty_tables`]).
static TABLE_FRAMES: AtomicU64 = AtomicU64::new(0);

/// Frames the kernel's own page tables hold.
pub fn table_frames() -> u64 {
    TABLE_FRAMES.load(Ordering::Relaxed)
}

// SAFETY: every frame returned is freshly allocated, zeroed and unused.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let phys = frames::alloc_zeroed().ok()?;
        TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
        Some(PhysFrame::containing_address(PhysAddr::new(phys)))
    }
}

/// A mapper over the table whose PML4 is at `pml4` (physical).
///
/// # Safety
/// `pml4` must be a valid PML4 frame that nothing else modifies while the
/// returned mapper lives.
unsafe fn mapper(pml4: u64) -> OffsetPageTable<'static> {
    // SAFETY: per the contract; the window maps every table frame.
    unsafe {
        let table = &mut *(super::phys_to_virt(pml4) as *mut PageTable);
        OffsetPageTable::new(table, VirtAddr::new(super::phys_window()))
    }
}

/// Runs `f` on the kernel's page tables, serialised by their lock.
fn with_kernel_tables<R>(f: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    let pml4 = KERNEL_PML4.lock();
    assert!(*pml4 != 0, "kernel page tables used before paging::init");
    // SAFETY: the lock is held, so no one else edits the tables.
    let mut m = unsafe { mapper(*pml4) };
    f(&mut m)
}

fn map_4k(m: &mut OffsetPageTable, virt: u64, phys: u64, flags: Flags) -> Result<(), MapError> {
    let page = Page::<Size4KiB>::from_start_address(VirtAddr::new(virt))
        .map_err(|_| MapError::BadAddress)?;
    let frame =
        PhysFrame::from_start_address(PhysAddr::new(phys)).map_err(|_| MapError::BadAddress)?;
    let parents = Flags::PRESENT | Flags::WRITABLE;
    // SAFETY: kernel-half mappings of frames the caller owns; the flush is
    // done by the caller (or unnecessary for a table not yet loaded).
    unsafe { m.map_to_with_table_flags(page, frame, flags, parents, &mut TableFrames) }?.ignore();
    x86_64::instructions::tlb::flush(VirtAddr::new(virt));
    Ok(())
}

fn map_2m(m: &mut OffsetPageTable, virt: u64, phys: u64, flags: Flags) -> Result<(), MapError> {
    let page = Page::<Size2MiB>::from_start_address(VirtAddr::new(virt))
        .map_err(|_| MapError::BadAddress)?;
    let frame =
        PhysFrame::from_start_address(PhysAddr::new(phys)).map_err(|_| MapError::BadAddress)?;
    let parents = Flags::PRESENT | Flags::WRITABLE;
    // SAFETY: as for `map_4k`.
    unsafe { m.map_to_with_table_flags(page, frame, flags, parents, &mut TableFrames) }?.ignore();
    Ok(())
}

/// Maps `[phys, phys + len)` at `window + phys` with 2 MiB pages where the
/// range allows, 4 KiB pages elsewhere. Pages already mapped are skipped.
fn map_window_range(
    m: &mut OffsetPageTable,
    phys: u64,
    len: u64,
    access: Access,
) -> Result<(), MapError> {
    const HUGE: u64 = Size2MiB::SIZE;
    let window = super::phys_window();
    let (mut p, end) = (phys & !0xfff, (phys + len).div_ceil(4096) * 4096);
    while p < end {
        let virt = window + p;
        let huge = p % HUGE == 0 && end - p >= HUGE;
        if m.translate_addr(VirtAddr::new(virt)).is_none() {
            if huge {
                map_2m(m, virt, p, access.flags() | Flags::HUGE_PAGE)?;
            } else {
                map_4k(m, virt, p, access.flags())?;
            }
        }
        p += if huge { HUGE } else { 4096 };
    }
    Ok(())
}

fn linker_range(start: &u8, end: &u8) -> (u64, u64) {
    (start as *const u8 as u64, end as *const u8 as u64)
}

/// The kernel image's sections: (start, end, access).
pub fn kernel_sections() -> [(u64, u64, Access); 3] {
    extern "C" {
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __data_start: u8;
        static __data_end: u8;
    }
    // SAFETY: only the addresses of linker symbols are taken.
    unsafe {
        [
            (
                linker_range(&__text_start, &__text_end).0,
                linker_range(&__text_start, &__text_end).1,
                Access::ReadExecute,
            ),
            (
                linker_range(&__rodata_start, &__rodata_end).0,
                linker_range(&__rodata_start, &__rodata_end).1,
                Access::ReadOnly,
            ),
            (
                linker_range(&__data_start, &__data_end).0,
                linker_range(&__data_start, &__data_end).1,
                Access::ReadWrite,
            ),
        ]
    }
}

/// Gives every kernel-half PML4 entry (256..512) a page-directory-pointer
/// table now, so that user address spaces, which copy these 256 entries at
/// creation, see every later kernel mapping too.
fn preallocate_kernel_half(m: &mut OffsetPageTable) -> Result<(), MapError> {
    let flags = Flags::PRESENT | Flags::WRITABLE;
    for entry in m.level_4_table_mut().iter_mut().skip(256) {
        if entry.is_unused() {
            let table = frames::alloc_zeroed()?;
            TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
            entry.set_addr(PhysAddr::new(table), flags);
        }
    }
    Ok(())
}

fn build(m: &mut OffsetPageTable, boot: &BootInfo) -> Result<(), MapError> {
    for region in boot.memory.regions() {
        let ram_like = matches!(
            region.kind,
            RegionKind::Usable
                | RegionKind::AcpiReclaimable
                | RegionKind::AcpiNvs
                | RegionKind::Bootloader
                | RegionKind::KernelAndModules
        );
        if ram_like {
            map_window_range(
                m,
                region.start,
                region.end - region.start,
                Access::ReadWrite,
            )?;
        }
    }
    preallocate_kernel_half(m)?;
    let (image_start, _) = crate::boot::kernel_image_virt();
    for (start, end, access) in kernel_sections() {
        for virt in (start..end).step_by(4096) {
            map_4k(
                m,
                virt,
                boot.kernel_phys + (virt - image_start),
                access.flags(),
            )?;
        }
    }
    Ok(())
}

/// Builds the kernel's page tables and switches to them.
pub fn init(boot: &BootInfo) {
    let pml4 = match frames::alloc_zeroed() {
        Ok(p) => {
            TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
            p
        }
        Err(e) => panic!("paging: no frame for the kernel PML4: {e}"),
    };
    // SAFETY: the PML4 frame is fresh and not yet shared.
    let mut m = unsafe { mapper(pml4) };
    if let Err(e) = build(&mut m, boot) {
        panic!("paging: cannot build the kernel page tables: {e:?}");
    }
    *KERNEL_PML4.lock() = pml4;
    let frame = PhysFrame::containing_address(PhysAddr::new(pml4));
    // SAFETY: the new tables map the kernel image, the current stack (boot
    // stack in .bss, or Limine's in bootloader memory, both in the window
    // or image) and the window exactly where the old ones did.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    flush_all();
}

/// Physical address of the kernel's PML4.
pub fn kernel_pml4() -> u64 {
    *KERNEL_PML4.lock()
}

/// Flushes the whole TLB, global entries included.
pub fn flush_all() {
    let cr4 = Cr4::read();
    if cr4.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: toggling PGE flushes all TLB entries and changes nothing else.
        unsafe {
            Cr4::write(cr4 - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(cr4);
        }
    } else {
        x86_64::instructions::tlb::flush_all();
    }
}

/// Frees the page tables (PTs, and PDs that become empty) of the kernel
/// range `[start, end)` once nothing is mapped in them, so a kernel area
/// whose pages come and go (`mm::arena`) does not keep tables it no
/// longer needs. The PDPTs stay: every address space shares them.
pub fn release_empty_tables(start: u64, end: u64) {
    fn table(phys: PhysAddr) -> &'static mut PageTable {
        // SAFETY: a page-table frame of the kernel tables, reached through
        // the window; the kernel tables' lock is held by the caller.
        unsafe { &mut *(super::phys_to_virt(phys.as_u64()) as *mut PageTable) }
    }
    const GIB: u64 = 1 << 30;
    const TWO_MIB: u64 = 2 << 20;
    with_kernel_tables(|m| {
        let pml4 = m.level_4_table_mut();
        let entry = &pml4[((start >> 39) & 0x1ff) as usize];
        if entry.is_unused() {
            return;
        }
        let pdpt = table(entry.addr());
        let mut gib = start & !(GIB - 1);
        while gib < end {
            let pdpt_entry = &mut pdpt[((gib >> 30) & 0x1ff) as usize];
            if !pdpt_entry.is_unused() && !pdpt_entry.flags().contains(Flags::HUGE_PAGE) {
                let pd = table(pdpt_entry.addr());
                let mut mib = gib.max(start & !(TWO_MIB - 1));
                while mib < end.min(gib + GIB) {
                    let pd_entry = &mut pd[((mib >> 21) & 0x1ff) as usize];
                    let empty_pt = !pd_entry.is_unused()
                        && !pd_entry.flags().contains(Flags::HUGE_PAGE)
                        && table(pd_entry.addr()).iter().all(|e| e.is_unused());
                    if empty_pt {
                        let frame = pd_entry.addr().as_u64();
                        pd_entry.set_unused();
                        // SAFETY: an empty PT no entry points at any more.
                        unsafe { frames::free(frame) };
                        TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
                    }
                    mib += TWO_MIB;
                }
                if pd.iter().all(|e| e.is_unused()) {
                    let frame = pdpt_entry.addr().as_u64();
                    pdpt_entry.set_unused();
                    // SAFETY: an empty PD no entry points at any more.
                    unsafe { frames::free(frame) };
                    TABLE_FRAMES.fetch_sub(1, Ordering::Relaxed);
                }
            }
            gib += GIB;
        }
    });
    flush_all_contexts();
}

/// Drops every TLB entry of every PCID: INVPCID's all-contexts form where
/// present, else toggling CR4.PGE (which flushes all PCIDs either way).
pub fn flush_all_contexts() {
    if super::pcid::invpcid() {
        const ALL_CONTEXTS: u64 = 2;
        let descriptor = [0u64; 2];
        // SAFETY: INVPCID is present (checked at init); it only drops TLB
        // entries.
        unsafe {
            core::arch::asm!("invpcid {}, [{}]", in(reg) ALL_CONTEXTS, in(reg) &descriptor, options(nostack, readonly));
        }
        return;
    }
    let cr4 = Cr4::read();
    // SAFETY: flipping PGE and back flushes the TLB for all PCIDs and
    // changes nothing else.
    unsafe {
        Cr4::write(cr4 ^ Cr4Flags::PAGE_GLOBAL);
        Cr4::write(cr4);
    }
}

/// Maps one 4 KiB kernel page `virt` to frame `phys` with `access`.
pub fn map_page(virt: u64, phys: u64, access: Access) -> Result<(), MapError> {
    with_kernel_tables(|m| map_4k(m, virt, phys, access.flags()))
}

/// Unmaps the 4 KiB kernel page `virt` and returns the frame it mapped.
pub fn unmap_page(virt: u64) -> Result<u64, MapError> {
    let page = Page::<Size4KiB>::from_start_address(VirtAddr::new(virt))
        .map_err(|_| MapError::BadAddress)?;
    with_kernel_tables(|m| match m.unmap(page) {
        Ok((frame, flush)) => {
            flush.flush();
            // Kernel mappings are not global: with PCIDs, other address
            // spaces may still cache this page under their own PCID.
            if super::pcid::enabled() {
                flush_all_contexts();
            }
            Ok(frame.start_address().as_u64())
        }
        Err(UnmapError::PageNotMapped) => Err(MapError::NotMapped),
        Err(_) => Err(MapError::BadAddress),
    })
}

/// The physical address `virt` maps to in the kernel tables, if any.
pub fn translate(virt: u64) -> Option<u64> {
    let virt = VirtAddr::try_new(virt).ok()?;
    with_kernel_tables(|m| m.translate_addr(virt).map(|p| p.as_u64()))
}

/// The flags of the page mapping `virt`, if mapped.
pub fn page_flags(virt: u64) -> Option<Flags> {
    let virt = VirtAddr::try_new(virt).ok()?;
    with_kernel_tables(|m| match m.translate(virt) {
        TranslateResult::Mapped { flags, .. } => Some(flags),
        _ => None,
    })
}

/// Makes `[phys, phys + len)` reachable through the window (for ACPI
/// tables and device registers outside RAM) and returns its address there.
pub fn map_physical(phys: u64, len: u64, access: Access) -> Result<*mut u8, MapError> {
    with_kernel_tables(|m| map_window_range(m, phys, len.max(1), access))?;
    Ok(super::phys_to_virt(phys))
}

/// Calls `f(virt, size, flags)` for every present leaf mapping in the
/// kernel half of the active tables.
pub fn for_each_kernel_mapping(mut f: impl FnMut(u64, u64, Flags)) {
    let pml4 = Cr3::read().0.start_address().as_u64();
    // SAFETY: the active tables are valid and mapped through the window;
    // they are only read.
    let table = unsafe { &*(super::phys_to_virt(pml4) as *const PageTable) };
    for (i, entry) in table.iter().enumerate().skip(256) {
        let base = 0xffff_0000_0000_0000 | ((i as u64) << 39);
        walk(entry.flags(), entry.addr().as_u64(), base, 3, &mut f);
    }
}

fn walk(flags: Flags, phys: u64, base: u64, level: u32, f: &mut impl FnMut(u64, u64, Flags)) {
    if !flags.contains(Flags::PRESENT) {
        return;
    }
    let size = 1u64 << (12 + 9 * level);
    if level == 0 || flags.contains(Flags::HUGE_PAGE) {
        f(base, size, flags);
        return;
    }
    // SAFETY: a present non-leaf entry points at a page table in RAM.
    let table = unsafe { &*(super::phys_to_virt(phys) as *const PageTable) };
    let child = size >> 9;
    for (i, entry) in table.iter().enumerate() {
        walk(
            entry.flags(),
            entry.addr().as_u64(),
            base + i as u64 * child,
            level - 1,
            f,
        );
    }
}
