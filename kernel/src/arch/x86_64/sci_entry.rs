//! The switch into and out of an isolated (SCI) syscall.
//!
//! [`sci_call`] runs `body(arg)` on a restricted page table and comes back
//! on the full one. It lives in the entry section (`.text.entry`), which
//! every restricted table maps, because the instructions right after the
//! CR3 write are fetched through the restricted table. Interrupts are on
//! while the body runs (a tick or a device interrupt is taken on the full
//! table by the trap entry and comes back here), and off around the
//! switches.
//!
//! ```text
//!  kernel stack of the member thread (mapped in both tables):
//!    [ ... serve()'s frame ...        ]
//!    [ return address into serve()    ]  <- rsp at entry
//!    [ saved rbx                      ]  <- 16-byte aligned for the call
//!    [ return address into sci_call   ]  <- body's frame starts below
//!
//!  per-CPU area (mapped in both):
//!    sci_full_cr3       = full      (trap entry switches to it; 0 = not isolated)
//!    sci_restricted_cr3 = restricted
//! ```

use super::percpu::{SCI_FULL_CR3, SCI_RESTRICTED_CR3};
use core::arch::naked_asm;

/// Runs `body(arg)` with CR3 = `restricted`, then loads `full` again.
///
/// # Safety
/// `restricted` must map the entry section, this thread's kernel stack
/// and the per-CPU area exactly as `full` does, and `full` must be the
/// page table loaded now (with its no-flush bit if wanted). Interrupts
/// must be off; they are off again on return.
#[unsafe(naked)]
#[unsafe(link_section = ".text.entry")]
pub unsafe extern "C" fn sci_call(
    arg: *mut u8,
    body: extern "C" fn(*mut u8),
    restricted: u64,
    full: u64,
) {
    naked_asm!(
        "push rbx",
        "mov gs:[{full}], rcx",
        "mov gs:[{restricted}], rdx",
        "mov cr3, rdx",
        "sti",
        "call rsi",
        "cli",
        "mov rax, gs:[{full}]",
        "mov cr3, rax",
        "mov qword ptr gs:[{full}], 0",
        "mov qword ptr gs:[{restricted}], 0",
        "pop rbx",
        "ret",
        full = const SCI_FULL_CR3,
        restricted = const SCI_RESTRICTED_CR3,
    )
}

/// Loads the full page table of the isolated syscall running (for a
/// kernel service), from the per-CPU area. In the entry section so the
/// return is fetched through the table it loaded. It takes no argument: a
/// hijacked call can switch only between the syscall's own two tables.
///
/// # Safety
/// An isolated syscall must be running (its two CR3 values are set), and
/// the caller's code page, stack and the per-CPU area must be mapped in
/// both tables identically.
#[unsafe(naked)]
#[unsafe(link_section = ".text.entry")]
pub unsafe extern "C" fn load_full_table() {
    naked_asm!(
        "mov rax, gs:[{full}]",
        "mov cr3, rax",
        "ret",
        full = const SCI_FULL_CR3,
    )
}

/// Loads the restricted page table of the isolated syscall running again
/// (after a kernel service).
///
/// # Safety
/// As for [`load_full_table`].
#[unsafe(naked)]
#[unsafe(link_section = ".text.entry")]
pub unsafe extern "C" fn load_restricted_table() {
    naked_asm!(
        "mov rax, gs:[{restricted}]",
        "mov cr3, rax",
        "ret",
        restricted = const SCI_RESTRICTED_CR3,
    )
}
