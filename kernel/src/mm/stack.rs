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
use alloc::vec::Vec;
use spin::Mutex;

/// Pages of usable stack per kernel stack.
pub const STACK_PAGES: u64 = 16;
const SLOT_SIZE: u64 = (STACK_PAGES + 1) * PAGE_SIZE;

/// Slot allocation: the next never-used slot, and freed slots for reuse.
struct Slots {
    next: u64,
    free: Vec<u64>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    next: 0,
    free: Vec::new(),
});

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
    let slot = {
        let mut slots = SLOTS.lock();
        match slots.free.pop() {
            Some(slot) => slot,
            None => {
                slots.next += 1;
                slots.next - 1
            }
        }
    };
    let stack = KernelStack {
        bottom: KERNEL_STACKS + slot * SLOT_SIZE + PAGE_SIZE,
        top: KERNEL_STACKS + (slot + 1) * SLOT_SIZE,
    };
    for i in 0..STACK_PAGES {
        let mapped = frames::alloc_zeroed()
            .map_err(MapError::from)
            .and_then(|frame| {
                paging::map_page(stack.bottom + i * PAGE_SIZE, frame, Access::ReadWrite)
            });
        if let Err(e) = mapped {
            free_pages(&stack, i);
            SLOTS.lock().free.push(slot);
            return Err(e);
        }
    }
    Ok(stack)
}

/// Unmaps and frees the first `pages` pages of `stack`.
fn free_pages(stack: &KernelStack, pages: u64) {
    for i in 0..pages {
        if let Ok(frame) = paging::unmap_page(stack.bottom + i * PAGE_SIZE) {
            // SAFETY: the page was this stack's, now unmapped and unused.
            unsafe { frames::free(frame) };
        }
    }
}

/// Frees a kernel stack.
///
/// # Safety
/// Nothing may run on the stack or hold pointers into it any more.
pub unsafe fn free(stack: KernelStack) {
    free_pages(&stack, STACK_PAGES);
    let slot = (stack.bottom - KERNEL_STACKS) / SLOT_SIZE;
    SLOTS.lock().free.push(slot);
}

/// Switches the current CPU to the stack whose top is `top` and calls
/// `entry` there. The old stack is abandoned.
pub fn run_on(top: u64, entry: extern "C" fn() -> !) -> ! {
    // SAFETY: the new stack is mapped and unused; `entry` never returns, so
    // nothing on the old stack is needed again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {entry}",
            "ud2",
            top = in(reg) top,
            entry = in(reg) entry,
            options(noreturn)
        )
    }
}
