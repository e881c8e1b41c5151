//! Memory management: physical frames, the kernel's page tables, kernel
//! stacks and the kernel heap.
//!
//! Physical memory is reached through one window: physical address `p` is
//! at virtual `phys_window + p`. The loader chose the window (Limine's HHDM,
//! or `PHYS_WINDOW` on the Multiboot2 path) and the kernel's own tables keep
//! it at the same place, so pointers taken during boot stay valid.
//!
//! Start-up order matters because the buddy frame allocator keeps its free
//! lists in heap memory: (1) the heap starts on a static bootstrap arena;
//! (2) frames are handed to the buddy allocator from the sanitized memory
//! map; (3) the heap gets a larger chunk of frames; (4) the kernel's page
//! tables are built from frames and loaded.

pub mod arena;
pub mod frames;
pub mod heap;
pub mod paging;
pub mod pcid;
pub mod stack;

use crate::boot::BootInfo;
use core::sync::atomic::{AtomicU64, Ordering};

/// Size of a page and of a frame.
pub const PAGE_SIZE: u64 = 4096;

static PHYS_WINDOW: AtomicU64 = AtomicU64::new(0);

/// The virtual address at which physical address 0 is mapped.
pub fn phys_window() -> u64 {
    PHYS_WINDOW.load(Ordering::Relaxed)
}

/// The virtual address through which physical address `phys` is reached.
pub fn phys_to_virt(phys: u64) -> *mut u8 {
    (phys_window() + phys) as *mut u8
}

/// Brings up frames, heap and the kernel's own page tables.
pub fn init(boot: &'static BootInfo) {
    PHYS_WINDOW.store(boot.phys_window, Ordering::Relaxed);
    heap::init_bootstrap();
    frames::add_usable(&boot.memory, 0, frames::BOOT_MAPPED_LIMIT);
    heap::grow_from_frames(boot.memory.total_usable() / PAGE_SIZE);
    paging::init(boot);
    let features = crate::arch::x86_64::cpu::features();
    pcid::init(
        features.pcid,
        features.invpcid,
        crate::config::options().pcid_limit as usize,
    );
    frames::add_usable(&boot.memory, frames::BOOT_MAPPED_LIMIT, u64::MAX);
}
