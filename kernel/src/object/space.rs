//! `AddressSpace`: the user half of a page table.
//!
//! Each address space has its own PML4. Entries 256..512 (the kernel half)
//! are copied from the kernel's PML4 at creation; the kernel pre-allocates
//! all of them at boot, so they never change afterwards and every address
//! space sees the same kernel. Entries 0..256 are this space's own.
//!
//! User mappings are 4 KiB pages with the USER bit and the rights asked
//! for; READ is required (x86 cannot express write-only or execute-only
//! pages) and W^X is enforced: a page is never both writable and
//! executable. Page-table pages come from a caller-supplied budget so the
//! object layer can charge them to a memory quota; [`AddressSpace::destroy`]
//! hands each of them back.

use crate::mm::{frames, paging, pcid, phys_to_virt};
use bulkhead_abi::{Error, Rights, PAGE_SIZE, USER_END, USER_START};
use x86_64::structures::paging::mapper::{MapToError, Translate, TranslateResult, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame,
    Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

/// Supplies zeroed page-table frames (charging whoever pays), or refuses.
pub type TableBudget<'a> = &'a mut dyn FnMut() -> Result<u64, Error>;

/// The user half of a page table.
#[derive(Debug)]
pub struct AddressSpace {
    pml4: u64,
    pcid: u64,
}

struct BudgetFrames<'a> {
    budget: TableBudget<'a>,
    error: Option<Error>,
}

// SAFETY: every frame handed out is a fresh zeroed frame from the budget.
unsafe impl FrameAllocator<Size4KiB> for BudgetFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        match (self.budget)() {
            Ok(phys) => Some(PhysFrame::containing_address(PhysAddr::new(phys))),
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

/// Page flags for user `rights`, or why they are not allowed.
pub fn user_flags(rights: Rights) -> Result<Flags, Error> {
    if !rights.contains(Rights::READ) {
        return Err(Error::InvalidArgument);
    }
    if rights.contains(Rights::WRITE | Rights::EXECUTE) {
        return Err(Error::WriteAndExecute);
    }
    let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE;
    if rights.contains(Rights::WRITE) {
        flags |= Flags::WRITABLE;
    }
    if !rights.contains(Rights::EXECUTE) {
        flags |= Flags::NO_EXECUTE;
    }
    Ok(flags)
}

/// The page at user address `vaddr`, if it is a page-aligned user address.
fn user_page(vaddr: u64) -> Result<Page<Size4KiB>, Error> {
    if !vaddr.is_multiple_of(PAGE_SIZE) {
        return Err(Error::InvalidArgument);
    }
    if !(USER_START..USER_END).contains(&vaddr) {
        return Err(Error::BadAddress);
    }
    Page::from_start_address(VirtAddr::new(vaddr)).map_err(|_| Error::BadAddress)
}

impl AddressSpace {
    /// A new, empty address space; its PML4 comes from `budget`.
    pub fn new(budget: TableBudget) -> Result<Self, Error> {
        let pml4 = budget()?;
        let kernel = paging::kernel_pml4();
        // SAFETY: both are page-table frames reached through the window;
        // the new one is fresh and exclusively ours.
        unsafe {
            let src = &*(phys_to_virt(kernel) as *const PageTable);
            let dst = &mut *(phys_to_virt(pml4) as *mut PageTable);
            for i in 256..512 {
                dst[i] = src[i].clone();
            }
        }
        Ok(Self {
            pml4,
            pcid: pcid::allocate(),
        })
    }

    /// What CR3 gets to run in this space: PML4 address and PCID.
    pub fn cr3(&self) -> u64 {
        self.pml4 | self.pcid
    }

    fn mapper(&self) -> OffsetPageTable<'static> {
        // SAFETY: the PML4 is ours; callers hold `&mut self` (or `&self` for
        // reads), so no one else edits it concurrently.
        unsafe {
            let table = &mut *(phys_to_virt(self.pml4) as *mut PageTable);
            OffsetPageTable::new(table, VirtAddr::new(crate::mm::phys_window()))
        }
    }

    /// Maps frame `phys` at user address `vaddr` with `rights`.
    pub fn map(
        &mut self,
        vaddr: u64,
        phys: u64,
        rights: Rights,
        budget: TableBudget,
    ) -> Result<(), Error> {
        let page = user_page(vaddr)?;
        let flags = user_flags(rights)?;
        let frame = PhysFrame::from_start_address(PhysAddr::new(phys))
            .map_err(|_| Error::InvalidArgument)?;
        let parents = Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE;
        let mut tables = BudgetFrames {
            budget,
            error: None,
        };
        // SAFETY: a user-half mapping of a frame owned by a Frames object,
        // which keeps it alive while mapped.
        let result = unsafe {
            self.mapper()
                .map_to_with_table_flags(page, frame, flags, parents, &mut tables)
        };
        match result {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => {
                Err(tables.error.unwrap_or(Error::OutOfMemory))
            }
            Err(_) => Err(Error::AlreadyMapped),
        }
    }

    /// Unmaps the page at `vaddr`, returning the frame it mapped.
    pub fn unmap(&mut self, vaddr: u64) -> Result<u64, Error> {
        let page = user_page(vaddr)?;
        match self.mapper().unmap(page) {
            Ok((frame, flush)) => {
                flush.flush();
                pcid::invalidate_page(self.cr3(), vaddr);
                Ok(frame.start_address().as_u64())
            }
            Err(UnmapError::PageNotMapped) => Err(Error::NotMapped),
            Err(_) => Err(Error::InvalidArgument),
        }
    }

    /// Unmaps the page at `vaddr` without telling the TLB (no INVLPG, no
    /// PCID bookkeeping): the stale-TLB test uses it to find out whether the
    /// CPU kept entries across a no-flush CR3 load.
    #[cfg(feature = "test-suite")]
    pub fn unmap_behind_tlb(&mut self, vaddr: u64) -> Result<u64, Error> {
        let page = user_page(vaddr)?;
        match self.mapper().unmap(page) {
            Ok((frame, flush)) => {
                flush.ignore();
                Ok(frame.start_address().as_u64())
            }
            Err(_) => Err(Error::NotMapped),
        }
    }

    /// Changes the rights of the page at `vaddr`.
    pub fn protect(&mut self, vaddr: u64, rights: Rights) -> Result<(), Error> {
        let page = user_page(vaddr)?;
        let flags = user_flags(rights)?;
        // SAFETY: only the leaf flags of a user page change.
        match unsafe { self.mapper().update_flags(page, flags) } {
            Ok(flush) => {
                flush.flush();
                pcid::invalidate_page(self.cr3(), vaddr);
                Ok(())
            }
            Err(_) => Err(Error::NotMapped),
        }
    }

    /// The frame and flags behind user address `vaddr`.
    pub fn translate(&self, vaddr: u64) -> Option<(u64, Flags)> {
        let virt = VirtAddr::try_new(vaddr).ok()?;
        match self.mapper().translate(virt) {
            TranslateResult::Mapped {
                frame,
                offset,
                flags,
            } => Some((frame.start_address().as_u64() + offset, flags)),
            _ => None,
        }
    }

    /// Frees every page-table page of the user half and the PML4, handing
    /// each frame to `give_back` (which uncharges and frees it). Leaf
    /// frames are not freed: they belong to Frames objects.
    pub fn destroy(self, give_back: &mut dyn FnMut(u64)) {
        // SAFETY: the space is being destroyed; no thread runs on it.
        let pml4 = unsafe { &*(phys_to_virt(self.pml4) as *const PageTable) };
        for entry in pml4.iter().take(256) {
            if entry.flags().contains(Flags::PRESENT) {
                free_table(entry.addr().as_u64(), 2, give_back);
            }
        }
        pcid::forget(self.cr3());
        give_back(self.pml4);
    }
}

/// Frees the table at `phys` (level 2 = PDPT, 1 = PD, 0 = PT) and its
/// sub-tables.
fn free_table(phys: u64, level: u32, give_back: &mut dyn FnMut(u64)) {
    if level > 0 {
        // SAFETY: a present non-leaf entry of a user table points at a table.
        let table = unsafe { &*(phys_to_virt(phys) as *const PageTable) };
        for entry in table.iter() {
            let flags = entry.flags();
            if flags.contains(Flags::PRESENT) && !flags.contains(Flags::HUGE_PAGE) {
                free_table(entry.addr().as_u64(), level - 1, give_back);
            }
        }
    }
    give_back(phys);
}

// ---- The AddressSpace object: page table plus its mappings and quota ----

use super::{memory, Kernel, ObjRef, Object};
use alloc::collections::BTreeMap;

/// An address space as a kernel object.
#[derive(Debug)]
pub struct SpaceObject {
    pub space: AddressSpace,
    /// Pays for the page tables (None for kernel-built spaces).
    pub quota: Option<ObjRef>,
    /// Mapped user pages: the Frames each belongs to (each mapping holds a
    /// reference on those Frames) and the most rights the Frames
    /// capability allowed, which `protect` may not exceed.
    mappings: BTreeMap<u64, (ObjRef, Rights)>,
    /// Quota pages charged for the kernel heap the mapping records use
    /// (one page per [`MAPPINGS_PER_PAGE`] mappings).
    bookkeeping_pages: u64,
}

impl SpaceObject {
    /// User pages mapped.
    pub fn mapped_pages(&self) -> u64 {
        self.mappings.len() as u64
    }
}

/// Mapping records paid for by one quota page.
pub const MAPPINGS_PER_PAGE: u64 = 64;
/// Most pages one map call may map (bounds the work done with the lock held).
pub const MAX_MAP_PAGES: u64 = 4096;

/// Charges the quota for the records `extra` more mappings will need.
fn charge_bookkeeping(k: &mut Kernel, obj: &mut SpaceObject, extra: u64) -> Result<(), Error> {
    let needed = (obj.mappings.len() as u64 + extra).div_ceil(MAPPINGS_PER_PAGE);
    if needed > obj.bookkeeping_pages {
        if let Some(q) = obj.quota {
            memory::charge(k, q, needed - obj.bookkeeping_pages)?;
        }
        obj.bookkeeping_pages = needed;
    }
    Ok(())
}

/// Returns what the current mappings no longer need.
fn uncharge_bookkeeping(k: &mut Kernel, obj: &mut SpaceObject) {
    let needed = (obj.mappings.len() as u64).div_ceil(MAPPINGS_PER_PAGE);
    if needed < obj.bookkeeping_pages {
        if let Some(q) = obj.quota {
            memory::uncharge(k, q, obj.bookkeeping_pages - needed);
        }
        obj.bookkeeping_pages = needed;
    }
}

/// Takes a zeroed frame for a page table, charging `quota` one page.
fn charged_table(k: &mut Kernel, quota: Option<ObjRef>) -> Result<u64, Error> {
    if let Some(q) = quota {
        memory::charge(k, q, 1)?;
    }
    frames::alloc_zeroed().map_err(|_| {
        if let Some(q) = quota {
            memory::uncharge(k, q, 1);
        }
        Error::OutOfMemory
    })
}

/// Creates an empty address space whose page tables are charged to `quota`.
pub fn create(k: &mut Kernel, quota: Option<ObjRef>) -> Result<ObjRef, Error> {
    let space = AddressSpace::new(&mut || charged_table(k, quota))?;
    let r = k.insert(
        Object::Space(SpaceObject {
            space,
            quota,
            mappings: BTreeMap::new(),
            bookkeeping_pages: 0,
        }),
        None,
    );
    if let Some(q) = quota {
        k.hold(r, q);
    }
    Ok(r)
}

/// Runs `f` with the space object taken out of the arena, so `f` may also
/// use the kernel (to charge quotas, take references); puts it back after.
fn with_space<R>(
    k: &mut Kernel,
    r: ObjRef,
    f: impl FnOnce(&mut Kernel, &mut SpaceObject) -> Result<R, Error>,
) -> Result<R, Error> {
    let slot = k.get_mut(r).ok_or(Error::InvalidCap)?;
    let Object::Space(_) = slot else {
        return Err(Error::WrongType);
    };
    let Object::Space(mut obj) = core::mem::replace(slot, Object::Console) else {
        unreachable!("checked above")
    };
    let result = f(k, &mut obj);
    if let Some(slot) = k.get_mut(r) {
        *slot = Object::Space(obj);
    }
    result
}

/// Maps `count` pages of `frames` starting at page `first` at `vaddr`.
/// All or nothing: on any failure the pages mapped so far are unmapped.
#[allow(clippy::too_many_arguments)]
pub fn map(
    k: &mut Kernel,
    space: ObjRef,
    frames_ref: ObjRef,
    frames_rights: Rights,
    first: u64,
    count: u64,
    vaddr: u64,
    rights: Rights,
) -> Result<(), Error> {
    user_flags(rights)?;
    if count > MAX_MAP_PAGES {
        return Err(Error::InvalidArgument);
    }
    if !frames_rights.contains(rights) {
        return Err(Error::NoRights);
    }
    let pages = frame_pages(k, frames_ref, first, count)?;
    let end = count
        .checked_mul(PAGE_SIZE)
        .and_then(|len| vaddr.checked_add(len))
        .ok_or(Error::BadAddress)?;
    if !vaddr.is_multiple_of(PAGE_SIZE) {
        return Err(Error::InvalidArgument);
    }
    if vaddr < USER_START || end > USER_END {
        return Err(Error::BadAddress);
    }
    with_space(k, space, |k, obj| {
        if obj.mappings.range(vaddr..end).next().is_some() {
            return Err(Error::AlreadyMapped);
        }
        charge_bookkeeping(k, obj, count)?;
        let quota = obj.quota;
        for (i, phys) in pages.iter().enumerate() {
            let page = vaddr + i as u64 * PAGE_SIZE;
            if let Err(e) = obj
                .space
                .map(page, *phys, rights, &mut || charged_table(k, quota))
            {
                unmap_range(k, obj, vaddr, i as u64);
                return Err(e);
            }
            obj.mappings.insert(page, (frames_ref, frames_rights));
            k.add_ref(frames_ref);
        }
        Ok(())
    })
}

/// The physical pages `first..first + count` of a Frames object.
fn frame_pages(
    k: &Kernel,
    frames_ref: ObjRef,
    first: u64,
    count: u64,
) -> Result<alloc::vec::Vec<u64>, Error> {
    let Some(Object::Frames(f)) = k.get(frames_ref) else {
        return Err(Error::WrongType);
    };
    let end = first.checked_add(count).ok_or(Error::InvalidArgument)?;
    if count == 0 || end > f.count() {
        return Err(Error::InvalidArgument);
    }
    let mut pages = alloc::vec::Vec::new();
    pages
        .try_reserve_exact(count as usize)
        .map_err(|_| Error::OutOfMemory)?;
    pages.extend((first..end).filter_map(|i| f.page(i)));
    Ok(pages)
}

/// Unmaps whatever is mapped in `count` pages from `vaddr`, releasing the
/// Frames references. Returns how many pages were mapped. Walks only the
/// existing mappings, so a huge `count` costs nothing extra.
fn unmap_range(k: &mut Kernel, obj: &mut SpaceObject, vaddr: u64, count: u64) -> u64 {
    let end = vaddr.saturating_add(count.saturating_mul(PAGE_SIZE));
    let pages: alloc::vec::Vec<u64> = obj
        .mappings
        .range(vaddr..end)
        .map(|(page, _)| *page)
        .collect();
    for page in &pages {
        if let Some((frames_ref, _)) = obj.mappings.remove(page) {
            let _ = obj.space.unmap(*page);
            k.release(frames_ref);
        }
    }
    uncharge_bookkeeping(k, obj);
    pages.len() as u64
}

/// Unmaps `count` pages from `vaddr`; `NotMapped` if none was mapped.
pub fn unmap(k: &mut Kernel, space: ObjRef, vaddr: u64, count: u64) -> Result<(), Error> {
    if !vaddr.is_multiple_of(PAGE_SIZE) || count == 0 || count > (USER_END - USER_START) / PAGE_SIZE
    {
        return Err(Error::InvalidArgument);
    }
    with_space(k, space, |k, obj| match unmap_range(k, obj, vaddr, count) {
        0 => Err(Error::NotMapped),
        _ => Ok(()),
    })
}

/// Changes the rights of `count` mapped pages from `vaddr`; every page must
/// be mapped (checked before anything changes).
pub fn protect(
    k: &mut Kernel,
    space: ObjRef,
    vaddr: u64,
    count: u64,
    rights: Rights,
) -> Result<(), Error> {
    user_flags(rights)?;
    if !vaddr.is_multiple_of(PAGE_SIZE) || count == 0 || count > (USER_END - USER_START) / PAGE_SIZE
    {
        return Err(Error::InvalidArgument);
    }
    with_space(k, space, |_, obj| {
        let end = vaddr.saturating_add(count.saturating_mul(PAGE_SIZE));
        if obj.mappings.range(vaddr..end).count() as u64 != count {
            return Err(Error::NotMapped);
        }
        for i in 0..count {
            match obj.mappings.get(&(vaddr + i * PAGE_SIZE)) {
                None => return Err(Error::NotMapped),
                Some((_, allowed)) if !allowed.contains(rights) => return Err(Error::NoRights),
                Some(_) => {}
            }
        }
        for i in 0..count {
            obj.space.protect(vaddr + i * PAGE_SIZE, rights)?;
        }
        Ok(())
    })
}

/// Releases everything a dead address space held.
pub fn destroy(k: &mut Kernel, obj: SpaceObject) {
    let SpaceObject {
        space,
        quota,
        mappings,
        bookkeeping_pages,
    } = obj;
    for (_, (frames_ref, _)) in mappings {
        k.release(frames_ref);
    }
    if let Some(q) = quota {
        memory::uncharge(k, q, bookkeeping_pages);
    }
    space.destroy(&mut |phys| {
        // SAFETY: a page-table frame of a space no thread runs on any more.
        unsafe { frames::free(phys) };
        if let Some(q) = quota {
            memory::uncharge(k, q, 1);
        }
    });
}

/// The physical address behind user address `vaddr` in `space`, if mapped
/// (for reading and writing another space's memory). With `writable`, the
/// page must be mapped writable: an IPC buffer cannot be used to write into
/// read-only or executable pages.
pub fn translate_for(k: &Kernel, space: ObjRef, vaddr: u64, writable: bool) -> Result<u64, Error> {
    let Some(Object::Space(obj)) = k.get(space) else {
        return Err(if k.get(space).is_some() {
            Error::WrongType
        } else {
            Error::InvalidCap
        });
    };
    if !(USER_START..USER_END).contains(&vaddr) {
        return Err(Error::BadAddress);
    }
    match obj.space.translate(vaddr) {
        Some((_, flags)) if writable && !flags.contains(Flags::WRITABLE) => Err(Error::NoRights),
        Some((phys, _)) => Ok(phys),
        None => Err(Error::NotMapped),
    }
}
