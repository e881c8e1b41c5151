//! Kernel stacks with guard pages.
//!
//! Stack `n` occupies slot `n` of the stack area (`paging::KERNEL_STACKS`):
//! the lowest page of each slot stays unmapped, so running off the end of a
//! stack faults on the guard page (reported through the double-fault IST
//! stack) instead of silently overwriting whatever lies below.
//!
//! ```text
//!  slot n:  [ guard (unmapped) | stack pages ......... ] <- top
//! ```

use super::paging::{self, Access, MapError, KERNEL_STACKS};
use super::{frames, PAGE_SIZE};
use core::sync::atomic::{AtomicU64, Ordering};

/// Pages of usable stack per kernel stack.
pub const STACK_PAGES: u64 = 16;
const SLOT_SIZE: u64 = (STACK_PAGES + 1) * PAGE_SIZE;

static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);

/// A mapped kernel stack.
#[derive(Debug)]
pub struct KernelStack {
    /// Lowest mapped address (the guard page is just below).
    pub bottom: u64,
    /// One past the highest byte: the initial stack pointer.
    pub top: u64,
}

impl KernelStack {
    /// The unmapped guard page's address.
    pub fn guard(&self) -> u64 {
        self.bottom - PAGE_SIZE
    }
}

/// Allocates and maps a kernel stack with a guard page below it.
pub fn alloc() -> Result<KernelStack, MapError> {
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    let bottom = KERNEL_STACKS + slot * SLOT_SIZE + PAGE_SIZE;
    for i in 0..STACK_PAGES {
        let frame = frames::alloc_zeroed()?;
        paging::map_page(bottom + i * PAGE_SIZE, frame, Access::ReadWrite)?;
    }
    Ok(KernelStack {
        bottom,
        top: bottom + STACK_PAGES * PAGE_SIZE,
    })
}

/// Switches the current CPU to `stack` and calls `entry` there. The old
/// stack is abandoned.
pub fn run_on(stack: &KernelStack, entry: extern "C" fn() -> !) -> ! {
    // SAFETY: the new stack is mapped and unused; `entry` never returns, so
    // nothing on the old stack is needed again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {entry}",
            "ud2",
            top = in(reg) stack.top,
            entry = in(reg) entry,
            options(noreturn)
        )
    }
}
