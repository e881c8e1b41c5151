//! The per-CPU area, reached through the GS segment base while in the
//! kernel.
//!
//! In user mode GS belongs to the user (`IA32_GS_BASE` holds the user's
//! value) and `IA32_KERNEL_GS_BASE` holds the address of this CPU's
//! [`PerCpu`]; `swapgs` on every entry from and exit to ring 3 exchanges the
//! two. The SYSCALL entry path uses the first fields before it has a stack,
//! so their offsets are taken with `offset_of!` by the assembly. Bulkhead
//! runs on one CPU today; the area exists so SMP needs no ABI change.

use core::mem::offset_of;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// One CPU's kernel-private state.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Points at this structure (so `gs:[0]` yields its address).
    pub self_ptr: u64,
    /// Top of the current thread's kernel stack: where SYSCALL entry
    /// builds the user frame.
    pub kernel_stack_top: u64,
    /// Scratch for the user RSP during SYSCALL entry.
    pub user_rsp: u64,
    /// CPU number.
    pub cpu_id: u64,
    /// The arena the kernel heap allocates from (`mm::arena`), 0 = none.
    pub arena: u64,
}

/// Offset of `kernel_stack_top`, for the entry assembly.
pub const KERNEL_STACK_TOP: usize = offset_of!(PerCpu, kernel_stack_top);
/// Offset of `user_rsp`, for the entry assembly.
pub const USER_RSP: usize = offset_of!(PerCpu, user_rsp);

static mut BOOT_CPU: PerCpu = PerCpu {
    self_ptr: 0,
    kernel_stack_top: 0,
    user_rsp: 0,
    cpu_id: 0,
    arena: 0,
};

/// Installs the boot CPU's area in GS (kernel mode) and zeroes the user
/// GS base.
pub fn init() {
    let area = core::ptr::addr_of_mut!(BOOT_CPU);
    // SAFETY: runs once on the boot CPU before anything reads the area.
    unsafe { (*area).self_ptr = area as u64 };
    GsBase::write(VirtAddr::new(area as u64));
    KernelGsBase::write(VirtAddr::new(0));
}

/// Sets the stack SYSCALL entry will use (the current thread's kernel stack).
#[inline]
pub fn set_kernel_stack_top(top: u64) {
    // SAFETY: one CPU, interrupts are off on every path that switches
    // threads, and the entry code only reads the field.
    unsafe { (*core::ptr::addr_of_mut!(BOOT_CPU)).kernel_stack_top = top };
}

/// The arena allocations come from (`mm::arena::ArenaScope`), 0 = none.
#[inline]
pub fn current_arena() -> u64 {
    // SAFETY: one CPU; the field is written only by `set_current_arena`
    // on this CPU, never concurrently with this read.
    unsafe { (*core::ptr::addr_of!(BOOT_CPU)).arena }
}

/// Sets the arena allocations come from.
#[inline]
pub fn set_current_arena(arena: u64) {
    // SAFETY: as in `current_arena`.
    unsafe { (*core::ptr::addr_of_mut!(BOOT_CPU)).arena = arena };
}
