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

/// One CPU's kernel-private state. It fills a page of its own, because
/// System Call Isolation maps this page into every restricted page table.
#[repr(C, align(4096))]
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
    /// While an isolated (SCI) syscall runs: the full page table to return
    /// to (trap entry switches to it from the restricted one), else 0.
    pub sci_full_cr3: u64,
    /// While an isolated syscall runs: its restricted page table, else 0.
    pub sci_restricted_cr3: u64,
    /// Nonzero while an in-kernel personality runs a syscall (a kernel
    /// exception then stops the thread instead of the kernel).
    pub in_personality: u64,
    /// Whether `stac`/`clac` may be used (read by the user-copy routine,
    /// which runs on restricted page tables too).
    pub smap: u64,
}

/// Offset of `kernel_stack_top`, for the entry assembly.
pub const KERNEL_STACK_TOP: usize = offset_of!(PerCpu, kernel_stack_top);
/// Offset of `user_rsp`, for the entry assembly.
pub const USER_RSP: usize = offset_of!(PerCpu, user_rsp);
/// Offset of `sci_full_cr3`, for the entry assembly.
pub const SCI_FULL_CR3: usize = offset_of!(PerCpu, sci_full_cr3);
/// Offset of `sci_restricted_cr3`, for the entry assembly.
pub const SCI_RESTRICTED_CR3: usize = offset_of!(PerCpu, sci_restricted_cr3);

static mut BOOT_CPU: PerCpu = PerCpu {
    self_ptr: 0,
    kernel_stack_top: 0,
    user_rsp: 0,
    cpu_id: 0,
    arena: 0,
    sci_full_cr3: 0,
    sci_restricted_cr3: 0,
    in_personality: 0,
    smap: 0,
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

/// The page holding this CPU's area (for the restricted page tables).
pub fn area_page() -> u64 {
    core::ptr::addr_of!(BOOT_CPU) as u64
}

/// A getter and a setter for a field of this CPU's area.
macro_rules! field {
    ($get:ident, $set:ident, $field:ident, $doc:literal) => {
        #[doc = $doc]
        #[inline]
        pub fn $get() -> u64 {
            // SAFETY: one CPU; the field is written only on this CPU, never
            // concurrently with this read.
            unsafe { (*core::ptr::addr_of!(BOOT_CPU)).$field }
        }

        #[doc = $doc]
        #[inline]
        pub fn $set(value: u64) {
            // SAFETY: as above.
            unsafe { (*core::ptr::addr_of_mut!(BOOT_CPU)).$field = value };
        }
    };
}

field!(
    current_arena,
    set_current_arena,
    arena,
    "The arena allocations come from (`mm::arena::ArenaScope`), 0 = none."
);
field!(
    sci_full_cr3,
    set_sci_full_cr3,
    sci_full_cr3,
    "The full page table of the isolated syscall running (0 = none)."
);
field!(
    sci_restricted_cr3,
    set_sci_restricted_cr3,
    sci_restricted_cr3,
    "The restricted page table of the isolated syscall running (0 = none)."
);
field!(
    in_personality,
    set_in_personality,
    in_personality,
    "Nonzero while an in-kernel personality serves a syscall."
);
field!(smap, set_smap, smap, "1 if `stac`/`clac` may be used.");
