//! Memory-quota calls: split a quota, ask how full it is, and allocate
//! zeroed physical pages (Frames) charged to it.

use bulkhead_abi::{CapRef, Error, Syscall};

use crate::syscall;

/// Size and use of a memory quota, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Pages the quota holds.
    pub pages: u64,
    /// Pages already charged to it.
    pub used: u64,
}

impl MemoryInfo {
    /// Pages still available.
    pub fn free(&self) -> u64 {
        self.pages.saturating_sub(self.used)
    }
}

/// Moves `pages` pages of `memory` into a new quota.
pub fn memory_split(memory: CapRef, pages: u64) -> Result<CapRef, Error> {
    // SAFETY: no pointer arguments.
    let [quota, _, _] = unsafe { syscall::syscall2(Syscall::MemorySplit, memory.0, pages) }?;
    Ok(CapRef(quota))
}

/// How many pages `memory` holds and how many are used.
pub fn memory_info(memory: CapRef) -> Result<MemoryInfo, Error> {
    // SAFETY: no pointer arguments.
    let [pages, used, _] = unsafe { syscall::syscall1(Syscall::MemoryInfo, memory.0) }?;
    Ok(MemoryInfo { pages, used })
}

/// A Frames capability for `pages` zeroed pages charged to `memory`.
pub fn frames_alloc(memory: CapRef, pages: u64) -> Result<CapRef, Error> {
    // SAFETY: no pointer arguments.
    let [frames, _, _] = unsafe { syscall::syscall2(Syscall::FramesAlloc, memory.0, pages) }?;
    Ok(CapRef(frames))
}

/// What the kernel holds for itself (the `KernelMemory` call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelMemory {
    /// Frames held on behalf of the objects that exist: user page tables,
    /// thread stacks, the in-kernel containers' arenas.
    pub frames: u64,
    /// Bytes allocated on the kernel's shared heap.
    pub heap_used: u64,
    /// Frames the kernel keeps once it has grown into them: its heap's and
    /// its own page tables' (not a leak when they grow).
    pub kept_frames: u64,
}

/// Reads the kernel's own memory use.
pub fn kernel_memory() -> Result<KernelMemory, Error> {
    // SAFETY: no arguments.
    let [frames, heap_used, kept_frames] = unsafe { syscall::syscall0(Syscall::KernelMemory) }?;
    Ok(KernelMemory {
        frames,
        heap_used,
        kept_frames,
    })
}
