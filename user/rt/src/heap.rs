//! The program heap: a buddy allocator (`buddy_system_allocator`) as the
//! `#[global_allocator]`, fed with pages the program pays for itself.
//!
//! [`init`] records the memory quota and the program's own address space,
//! allocates a first run of Frames and maps it read-write at the start of
//! the heap window. When an allocation does not fit, the allocator's rescue
//! hook allocates and maps another chunk directly after the last one (at
//! least [`GROW_PAGES`], and twice the request so a naturally aligned block
//! of the requested size fits), so the heap is one growing range. The hook
//! runs with the allocator's lock held, so growth is serialised; it makes
//! system calls but never allocates. When the quota or the window is used
//! up the allocation fails and Rust's allocation-error path panics.

use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};

use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use bulkhead_abi::{CapRef, Error, Rights, PAGE_SIZE, USER_END};

use crate::sys;

/// Default start of the heap window.
pub const DEFAULT_HEAP_BASE: u64 = 0x0000_1000_0000_0000;
/// Size of the heap window (address space, not memory).
pub const HEAP_WINDOW: u64 = 1 << 36;
/// Smallest growth step, in pages.
pub const GROW_PAGES: u64 = 64;

const ORDER: usize = 40;

#[cfg_attr(all(target_os = "none", not(test)), global_allocator)]
static HEAP: LockedHeapWithRescue<ORDER> = LockedHeapWithRescue::new(grow);

/// Where heap pages come from and where the next ones go.
struct HeapSource {
    memory: AtomicU64,
    space: AtomicU64,
    next: AtomicU64,
    end: AtomicU64,
}

static SOURCE: HeapSource = HeapSource {
    memory: AtomicU64::new(CapRef::NULL.0),
    space: AtomicU64::new(CapRef::NULL.0),
    next: AtomicU64::new(0),
    end: AtomicU64::new(0),
};

/// Starts the heap: `pages` pages from `memory`, mapped into `own_space`
/// at `base` (page aligned), growing on demand up to [`HEAP_WINDOW`].
pub fn init(memory: CapRef, own_space: CapRef, base: u64, pages: u64) -> Result<(), Error> {
    let end = base
        .checked_add(HEAP_WINDOW)
        .ok_or(Error::InvalidArgument)?;
    if !base.is_multiple_of(PAGE_SIZE) || end > USER_END || pages == 0 {
        return Err(Error::InvalidArgument);
    }
    SOURCE.memory.store(memory.0, Ordering::Relaxed);
    SOURCE.space.store(own_space.0, Ordering::Relaxed);
    SOURCE.next.store(base, Ordering::Relaxed);
    SOURCE.end.store(end, Ordering::Relaxed);
    add_pages(&mut HEAP.lock(), pages)
}

/// Bytes handed out and bytes the heap holds.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_actual(), heap.stats_total_bytes())
}

/// Pages to add so that `layout` fits (see the module docs).
pub fn growth_pages(layout: &Layout) -> u64 {
    let block = layout.size().max(layout.align()).next_power_of_two() as u64;
    block.saturating_mul(2).div_ceil(PAGE_SIZE).max(GROW_PAGES)
}

fn grow(heap: &mut Heap<ORDER>, layout: &Layout) {
    // On failure the allocation fails; the allocation-error path reports it.
    let _ = add_pages(heap, growth_pages(layout));
}

/// Maps `pages` new pages after the heap's end and gives them to `heap`.
fn add_pages(heap: &mut Heap<ORDER>, pages: u64) -> Result<(), Error> {
    let memory = CapRef(SOURCE.memory.load(Ordering::Relaxed));
    let space = CapRef(SOURCE.space.load(Ordering::Relaxed));
    let start = SOURCE.next.load(Ordering::Relaxed);
    let len = pages.checked_mul(PAGE_SIZE).ok_or(Error::InvalidArgument)?;
    let end = start.checked_add(len).ok_or(Error::InvalidArgument)?;
    if end > SOURCE.end.load(Ordering::Relaxed) {
        return Err(Error::QuotaExhausted);
    }
    let frames = sys::frames_alloc(memory, pages)?;
    if let Err(error) = sys::space_map(space, frames, 0, pages, start, Rights::READ | Rights::WRITE)
    {
        let _ = sys::cap_delete(frames);
        return Err(error);
    }
    SOURCE.next.store(end, Ordering::Relaxed);
    // SAFETY: `start..end` was just mapped read-write in our own space and
    // lies past every range given to the heap before (`next` only grows), so
    // it is valid, writable and owned by nothing else.
    unsafe { heap.add_to_heap(start as usize, end as usize) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_requests_grow_by_the_minimum() {
        let layout = Layout::from_size_align(24, 8).unwrap();
        assert_eq!(growth_pages(&layout), GROW_PAGES);
    }

    #[test]
    fn large_requests_grow_by_twice_their_block() {
        let layout = Layout::from_size_align(3 << 20, 8).unwrap();
        // 3 MiB rounds to a 4 MiB block; twice that is 2048 pages.
        assert_eq!(growth_pages(&layout), 2048);
    }
}
