//! Arenas: a private kernel heap for each in-kernel container.
//!
//! The personality of a `direct` or `sci` container (its file tree,
//! process table, open files) lives in the kernel, but not on the shared
//! kernel heap: every byte of it is allocated from that container's own
//! arena, frames charged to the container's quota and mapped one by one
//! at consecutive addresses of a slot of the arena area
//! (`paging::KERNEL_ARENAS`; no large physically contiguous run is
//! needed). That keeps the accounting honest (a container's files cost
//! its own quota) and gives System Call Isolation a simple definition of
//! "this container's kernel data": the arena's pages.
//!
//! ```text
//!   slot n: KERNEL_ARENAS + n * SLOT_SIZE
//!   arena.start                                               arena.end
//!   | Arena header (this struct) | buddy heap: the personality's data  |
//! ```
//!
//! The kernel's global allocator (`mm::heap`) serves an allocation from
//! the *current* arena while one is entered ([`ArenaScope`], kept in the
//! per-CPU area), and from the shared heap otherwise. A free goes to the
//! arena that contains the pointer. Invariant: memory of an arena is only
//! ever freed while that arena is entered (the personality runs only
//! inside a scope, and the container drops its state inside one), so a
//! pointer is never handed to the wrong heap.
//!
//! An arena that is full does not fail the allocation: it falls back to
//! the shared heap and counts the bytes ([`Arena::overflow_bytes`]); the
//! personality bounds its own growth (its file tree has a limit), so this
//! is a safety net against a kernel panic, not a way around the quota.

use super::paging::{self, Access, KERNEL_ARENAS};
use super::{frames, PAGE_SIZE};
use alloc::vec::Vec;
use buddy_system_allocator::Heap;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// Address space per arena slot (the largest arena: 256 MiB).
const SLOT_SIZE: u64 = 256 << 20;

/// Slots given back by destroyed arenas, and the next never-used one.
static SLOTS: Mutex<(u64, Vec<u64>)> = Mutex::new((0, Vec::new()));

/// One container's kernel heap, stored at the start of its own slot.
pub struct Arena {
    pages: usize,
    start: u64,
    end: u64,
    heap: Mutex<Heap<32>>,
    overflow: AtomicU64,
}

/// Unmaps and frees the first `pages` pages from `start`.
fn unmap_pages(start: u64, pages: usize) {
    for i in 0..pages as u64 {
        if let Ok(frame) = paging::unmap_page(start + i * PAGE_SIZE) {
            // SAFETY: an arena page, unmapped, referred to by nothing.
            unsafe { frames::free(frame) };
        }
    }
}

impl Arena {
    /// Makes an arena of `pages` pages (at least 2, at most a slot); `None`
    /// when memory runs out.
    pub fn create(pages: usize) -> Option<NonNull<Arena>> {
        if pages < 2 || pages as u64 * PAGE_SIZE > SLOT_SIZE {
            return None;
        }
        let slot = {
            let mut slots = SLOTS.lock();
            slots.1.pop().unwrap_or_else(|| {
                slots.0 += 1;
                slots.0 - 1
            })
        };
        let start = KERNEL_ARENAS + slot * SLOT_SIZE;
        for i in 0..pages {
            let va = start + i as u64 * PAGE_SIZE;
            let mapped = frames::alloc_zeroed()
                .ok()
                .and_then(|f| paging::map_page(va, f, Access::ReadWrite).ok());
            if mapped.is_none() {
                unmap_pages(start, i);
                paging::release_empty_tables(start, start + SLOT_SIZE);
                SLOTS.lock().1.push(slot);
                return None;
            }
        }
        let end = start + pages as u64 * PAGE_SIZE;
        let header = start as *mut Arena;
        let heap_start = (start + core::mem::size_of::<Arena>() as u64).next_multiple_of(64);
        // SAFETY: the pages were just mapped for this arena; the header and
        // the heap use disjoint parts of them, and the header is written
        // before anything reads it.
        unsafe {
            header.write(Arena {
                pages,
                start,
                end,
                heap: Mutex::new(Heap::empty()),
                overflow: AtomicU64::new(0),
            });
            (*header)
                .heap
                .lock()
                .init(heap_start as usize, (end - heap_start) as usize);
        }
        NonNull::new(header)
    }

    /// Returns the arena's frames. Whatever still lives in it is gone.
    ///
    /// # Safety
    /// `arena` came from [`Arena::create`], is not entered, and nothing
    /// refers to memory inside it any more.
    pub unsafe fn destroy(arena: NonNull<Arena>) {
        // SAFETY: the header is valid until the pages go (caller's
        // contract); it is read before they do.
        let (start, pages) = unsafe { (arena.as_ref().start, arena.as_ref().pages) };
        unmap_pages(start, pages);
        paging::release_empty_tables(start, start + SLOT_SIZE);
        SLOTS.lock().1.push((start - KERNEL_ARENAS) / SLOT_SIZE);
    }

    /// True if `addr` lies inside the arena.
    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Allocates from the arena; `None` if it is full.
    pub fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.heap.lock().alloc(layout).ok()
    }

    /// Notes an allocation that fell back to the shared heap.
    pub fn note_overflow(&self, bytes: usize) {
        self.overflow.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Frees memory this arena allocated.
    ///
    /// # Safety
    /// `ptr` came from [`Arena::alloc`] on this arena with `layout`.
    pub unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.heap.lock().dealloc(ptr, layout) };
    }
}

/// While alive, allocations come from one arena (see the module docs).
/// Scopes nest: the previous arena (or none) is restored on drop.
pub struct ArenaScope {
    previous: u64,
}

impl ArenaScope {
    /// Enters `arena` (a null pointer enters none: the shared heap, for
    /// kernel services called from inside the personality).
    pub fn enter(arena: *const Arena) -> ArenaScope {
        let previous = crate::arch::x86_64::percpu::current_arena();
        crate::arch::x86_64::percpu::set_current_arena(arena as u64);
        ArenaScope { previous }
    }
}

impl Drop for ArenaScope {
    fn drop(&mut self) {
        crate::arch::x86_64::percpu::set_current_arena(self.previous);
    }
}

/// The arena allocations come from now, if any.
#[inline]
pub fn current() -> Option<&'static Arena> {
    let arena = crate::arch::x86_64::percpu::current_arena() as *const Arena;
    // SAFETY: only `ArenaScope` sets the field, with a live arena (its
    // container is alive while the scope lasts).
    unsafe { arena.as_ref() }
}
