//! Arenas: a private kernel heap for each in-kernel container.
//!
//! The personality of a `direct` or `sci` container (its file tree,
//! process table, open files) lives in the kernel, but not on the shared
//! kernel heap: every byte of it is allocated from that container's own
//! arena, one physically contiguous run of frames charged to the
//! container's quota. That keeps the accounting honest (a container's
//! files cost its own quota) and gives System Call Isolation a simple
//! definition of "this container's kernel data": the arena's pages.
//!
//! ```text
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

use super::{frames, phys_to_virt, PAGE_SIZE};
use buddy_system_allocator::Heap;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// One container's kernel heap, stored at the start of its own run.
pub struct Arena {
    phys: u64,
    pages: usize,
    start: u64,
    end: u64,
    heap: Mutex<Heap<32>>,
    overflow: AtomicU64,
}

impl Arena {
    /// Makes an arena of `pages` pages (a power of two, at least 2); `None`
    /// when no such contiguous run is free.
    pub fn create(pages: usize) -> Option<NonNull<Arena>> {
        if pages < 2 || !pages.is_power_of_two() {
            return None;
        }
        let phys = frames::alloc_contiguous(pages).ok()?;
        let start = phys_to_virt(phys) as u64;
        let end = start + pages as u64 * PAGE_SIZE;
        let header = start as *mut Arena;
        let heap_start = (start + core::mem::size_of::<Arena>() as u64).next_multiple_of(64);
        // SAFETY: the run was just allocated and is mapped through the
        // window; the header and the heap use disjoint parts of it, and
        // the header is written before anything reads it.
        unsafe {
            header.write(Arena {
                phys,
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
        // SAFETY: the header is valid until the frames go (caller's
        // contract); it is read before they do.
        let (phys, pages) = unsafe { (arena.as_ref().phys, arena.as_ref().pages) };
        // SAFETY: the run came from `alloc_contiguous(pages)`.
        unsafe { frames::free_contiguous(phys, pages) };
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
