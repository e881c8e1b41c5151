//! The physical frame allocator: every usable page of the sanitized boot
//! memory map, managed by `buddy_system_allocator`.
//!
//! Single 4 KiB frames and contiguous runs (rounded up to a power of two
//! and aligned to their size, the buddy system's rule) are allocated and
//! freed here. Running out is an `Err(OutOfFrames)`, never a panic; the
//! caller decides. Counters track frames in use, so tests and (later) the
//! kernel self-check can prove that nothing leaks.

use super::PAGE_SIZE;
use buddy_system_allocator::FrameAllocator;
use bulkhead_memmap::MemoryMap;
use core::fmt;
use spin::Mutex;

/// No free run of the requested size exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfFrames;

impl fmt::Display for OutOfFrames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of physical memory")
    }
}

/// Frame counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames handed to the allocator at boot.
    pub total_frames: u64,
    /// Frames currently allocated (including buddy round-up).
    pub used_frames: u64,
    /// Number of separate usable ranges the allocator was given.
    pub ranges: u64,
}

struct Frames {
    buddy: FrameAllocator<32>,
    stats: FrameStats,
}

static FRAMES: Mutex<Frames> = Mutex::new(Frames {
    buddy: FrameAllocator::new(),
    stats: FrameStats {
        total_frames: 0,
        used_frames: 0,
        ranges: 0,
    },
});

/// Memory the loaders' page tables are guaranteed to map (the Multiboot2
/// trampoline maps 4 GiB): until the kernel's own tables are live, only
/// frames below this are handed out.
pub const BOOT_MAPPED_LIMIT: u64 = 4 << 30;

/// Hands the usable ranges of `map` that lie in `[low, high)` to the
/// allocator. Called for memory below [`BOOT_MAPPED_LIMIT`] first and for
/// the rest once the kernel's page tables map it.
pub fn add_usable(map: &MemoryMap, low: u64, high: u64) {
    let mut frames = FRAMES.lock();
    for region in map.usable() {
        let (start, end) = (region.start.max(low), region.end.min(high));
        let (first, end) = (start.div_ceil(PAGE_SIZE), end / PAGE_SIZE);
        if end > first {
            frames.buddy.add_frame(first as usize, end as usize);
            frames.stats.total_frames += end - first;
            frames.stats.ranges += 1;
        }
    }
}

/// Allocates `count` physically contiguous frames and returns the physical
/// address of the first. The run is aligned to `count.next_power_of_two()`
/// frames. The memory is not zeroed.
pub fn alloc_contiguous(count: usize) -> Result<u64, OutOfFrames> {
    if count == 0 {
        return Err(OutOfFrames);
    }
    let mut frames = FRAMES.lock();
    let first = frames.buddy.alloc(count).ok_or(OutOfFrames)?;
    frames.stats.used_frames += count.next_power_of_two() as u64;
    Ok(first as u64 * PAGE_SIZE)
}

/// Allocates one frame (not zeroed).
pub fn alloc() -> Result<u64, OutOfFrames> {
    alloc_contiguous(1)
}

/// Allocates one frame and fills it with zeros.
pub fn alloc_zeroed() -> Result<u64, OutOfFrames> {
    let phys = alloc()?;
    // SAFETY: the frame was just allocated, so nothing else refers to it,
    // and the window maps it.
    unsafe { core::ptr::write_bytes(super::phys_to_virt(phys), 0, PAGE_SIZE as usize) };
    Ok(phys)
}

/// Returns a run from [`alloc_contiguous`] (same `count`).
///
/// # Safety
/// `phys` and `count` must be exactly what an earlier allocation returned
/// and took, and nothing may use the memory afterwards.
pub unsafe fn free_contiguous(phys: u64, count: usize) {
    let mut frames = FRAMES.lock();
    frames.buddy.dealloc((phys / PAGE_SIZE) as usize, count);
    frames.stats.used_frames -= count.next_power_of_two() as u64;
}

/// Returns a frame from [`alloc`] or [`alloc_zeroed`].
///
/// # Safety
/// As for [`free_contiguous`] with `count = 1`.
pub unsafe fn free(phys: u64) {
    // SAFETY: forwarded contract.
    unsafe { free_contiguous(phys, 1) }
}

/// Current counters.
pub fn stats() -> FrameStats {
    FRAMES.lock().stats
}
