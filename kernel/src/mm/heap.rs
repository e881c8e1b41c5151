//! The kernel heap (`alloc`), a buddy heap from `buddy_system_allocator`.
//!
//! It starts on a 1 MiB static arena so the frame allocator (whose free
//! lists live on the heap) can start; once frames exist it is given one
//! contiguous run sized to the machine (1/32 of RAM, between 1 and 32 MiB).
//! After that it grows in steps, outside any allocation, when free heap runs
//! low ([`ensure_headroom`]). Code that can handle exhaustion uses fallible
//! APIs (`Vec::try_reserve`); an infallible allocation that fails panics.
//!
//! While an in-kernel container's personality runs, allocations come from
//! that container's arena instead (`mm::arena`); the global allocator
//! below routes each request.

use super::arena;
use super::{frames, PAGE_SIZE};
use buddy_system_allocator::LockedHeap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static HEAP: LockedHeap<32> = LockedHeap::empty();

/// The kernel's allocator: the current arena if one is entered, else the
/// shared heap (noting in [`LOW`] when that leaves it short of headroom);
/// frees go to whichever holds the pointer.
struct KernelAllocator;

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

// SAFETY: both heaps are correct allocators; a pointer is freed by the
// heap that allocated it (arena pointers lie inside their arena, and an
// arena is entered whenever its memory is freed, see `mm::arena`).
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(arena) = arena::current() {
            if let Some(p) = arena.alloc(layout) {
                return p.as_ptr();
            }
            arena.note_overflow(layout.size());
        }
        let mut heap = HEAP.lock();
        let p = heap.alloc(layout);
        if heap.stats_total_bytes() - heap.stats_alloc_user() < WANTED_FREE.load(Ordering::Relaxed)
        {
            LOW.store(true, Ordering::Relaxed);
        }
        p.map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let (Some(arena), Some(p)) = (arena::current(), NonNull::new(ptr)) {
            if arena.contains(ptr as u64) {
                // SAFETY: inside the arena, so the arena allocated it.
                unsafe { arena.dealloc(p, layout) };
                return;
            }
        }
        // SAFETY: forwarded contract.
        unsafe { HEAP.dealloc(ptr, layout) }
    }
}

const BOOTSTRAP_SIZE: usize = 1024 * 1024;

#[repr(C, align(4096))]
struct Arena([u8; BOOTSTRAP_SIZE]);

static mut BOOTSTRAP: Arena = Arena([0; BOOTSTRAP_SIZE]);

/// Gives the heap its static bootstrap arena.
pub fn init_bootstrap() {
    // SAFETY: the arena is used by nothing else, and this runs once at boot.
    unsafe {
        let start = core::ptr::addr_of_mut!(BOOTSTRAP) as usize;
        HEAP.lock().init(start, BOOTSTRAP_SIZE);
    }
}

/// Adds a run of frames sized to the machine (`total_frames` usable).
pub fn grow_from_frames(total_frames: u64) {
    let wanted = (total_frames * PAGE_SIZE / 32).clamp(1 << 20, 32 << 20);
    let count = (wanted / PAGE_SIZE) as usize;
    match frames::alloc_contiguous(count) {
        Ok(phys) => {
            let start = super::phys_to_virt(phys) as usize;
            // SAFETY: the run was just allocated for the heap and is mapped
            // through the window; it is never freed.
            unsafe {
                HEAP.lock()
                    .add_to_heap(start, start + count * PAGE_SIZE as usize)
            };
        }
        Err(_) => log::warn!("heap: no {count} contiguous frames; staying on the boot arena"),
    }
    update_wanted_free();
}

/// Free heap below which [`ensure_headroom`] grows the heap, at least.
const HEADROOM: usize = 1 << 20;
/// Pages added per growth step, at least.
const GROWTH_PAGES: usize = 512;
/// Pages added per growth step, at most (32 MiB).
const MAX_GROWTH_PAGES: usize = 8192;

/// Pages to add in one growth step of a heap that owns `total` bytes: a
/// quarter of it (a power of two, between [`GROWTH_PAGES`] and
/// [`MAX_GROWTH_PAGES`]). The heap's largest records are vectors that
/// double (the object and table lists grow with every container), so the
/// free space must grow with the heap: a fixed step leaves no free block
/// large enough once a few thousand objects exist.
fn growth_pages(total: usize) -> usize {
    (total / 4 / PAGE_SIZE as usize)
        .next_power_of_two()
        .clamp(GROWTH_PAGES, MAX_GROWTH_PAGES)
}

/// Grows the heap from free frames when less than half a growth step
/// (and never less than [`HEADROOM`]) is left.
///
/// The test is one load: [`LOW`], which the allocator sets whenever an
/// allocation leaves less free than that, and which only the full check
/// here clears ([`grow_if_low`]).
///
/// Called where no heap lock is held (at the end of every system call),
/// never from inside an allocation: the frame allocator itself allocates
/// from the heap, so growing inside `alloc` could deadlock. One system call
/// allocates far less than the headroom (map calls are bounded), and every
/// heap-backed record a user causes is charged to its memory quota, which
/// is smaller than free memory, so quotas run out before the heap does.
#[inline(always)]
pub fn ensure_headroom() {
    if LOW.load(Ordering::Relaxed) {
        grow_if_low();
    }
}

/// The full check of [`ensure_headroom`]: grows the heap if less than
/// [`WANTED_FREE`] is free, then works out [`LOW`] again.
#[cold]
#[inline(never)]
fn grow_if_low() {
    let total = {
        // Checked and cleared under the heap lock, so no allocation
        // comes in between.
        let heap = HEAP.lock();
        let total = heap.stats_total_bytes();
        if total - heap.stats_alloc_user() >= WANTED_FREE.load(Ordering::Relaxed) {
            LOW.store(false, Ordering::Relaxed);
            return;
        }
        total
    };
    let pages = growth_pages(total);
    if let Ok(phys) = frames::alloc_contiguous(pages) {
        let start = super::phys_to_virt(phys) as usize;
        // SAFETY: the run was just allocated for the heap and is mapped
        // through the window; it is never freed.
        unsafe {
            HEAP.lock()
                .add_to_heap(start, start + pages * PAGE_SIZE as usize)
        };
    }
    update_wanted_free();
}

/// Works out [`WANTED_FREE`] for the heap's present size, and [`LOW`].
fn update_wanted_free() {
    let (used, total) = stats();
    let wanted = (growth_pages(total) * PAGE_SIZE as usize / 2).max(HEADROOM);
    WANTED_FREE.store(wanted, Ordering::Relaxed);
    LOW.store(total - used < wanted, Ordering::Relaxed);
}

/// The free heap [`ensure_headroom`] keeps: half the next growth step, at
/// least [`HEADROOM`]; worked out when the heap grows, because the check
/// runs at the end of every system call.
static WANTED_FREE: AtomicUsize = AtomicUsize::new(HEADROOM);

/// Set when less than [`WANTED_FREE`] may be free: by every allocation
/// from the shared heap that leaves less, and by [`update_wanted_free`].
/// Free space shrinks only by such an allocation and the threshold moves
/// only there, so while this is clear the heap has its headroom. Set at
/// boot, so the first check is a full one.
static LOW: AtomicBool = AtomicBool::new(true);

/// Frames the heap has taken from the frame allocator (all it owns but
/// the static bootstrap arena); they are never given back.
pub fn frames_owned() -> u64 {
    (stats().1.saturating_sub(BOOTSTRAP_SIZE) / PAGE_SIZE as usize) as u64
}

/// (bytes requested by live allocations, bytes the heap owns).
pub fn stats() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_user(), heap.stats_total_bytes())
}
