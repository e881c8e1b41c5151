//! Switching between threads' kernel stacks, and saving FPU/SSE/AVX state.
//!
//! Every thread has its own kernel stack; a thread that is not running is
//! parked inside [`switch_stacks`] on that stack, with its callee-saved
//! registers pushed (the System V ABI makes the caller save the rest). A
//! new thread's stack is prepared by [`prepare_stack`] to look exactly like
//! that, with a return address of [`thread_trampoline`]:
//!
//! ```text
//!   top ->  [ TrapFrame (user threads) ]      <- where a new user thread's
//!           [ thread_trampoline         ]        first "return" lands
//!           [ rbp = 0                   ]
//!           [ rbx = 0                   ]
//!           [ r12 = entry function      ]     kernel threads: called with
//!           [ r13 = argument            ]     the argument in rdi
//!           [ r14 = 0, r15 = 0          ]  <- saved rsp
//! ```
//!
//! FPU state is saved and restored eagerly on every switch, with XSAVE when
//! the CPU has it (x87, SSE and AVX components) and FXSAVE otherwise, into a
//! 64-byte aligned area per thread.

use core::arch::naked_asm;
use core::sync::atomic::{AtomicBool, Ordering};

/// XSAVE is used (decided once at boot: this is on every thread switch).
static USE_XSAVE: AtomicBool = AtomicBool::new(false);

/// Chooses XSAVE or FXSAVE for FPU state (after `cpu::init`).
pub fn init(xsave: bool) {
    USE_XSAVE.store(xsave, Ordering::Relaxed);
}

/// Saves callee-saved registers on the current stack, stores the stack
/// pointer in `*save_rsp`, loads `next_rsp` and pops the next thread's
/// registers; "returns" into the next thread.
///
/// # Safety
/// `next_rsp` must be a stack saved by this function or prepared by
/// [`prepare_stack`], and `save_rsp` must stay valid until the current
/// thread is resumed.
#[unsafe(naked)]
pub unsafe extern "C" fn switch_stacks(save_rsp: *mut u64, next_rsp: u64) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// First code a new thread runs: calls `r12(r13)`. For user threads `r12`
/// is [`super::syscall_entry::return_to_user`] and `r13` the frame address.
#[unsafe(naked)]
pub unsafe extern "C" fn thread_trampoline() -> ! {
    naked_asm!("mov rdi, r13", "call r12", "ud2")
}

/// Number of quadwords [`prepare_stack`] pushes below `top`.
const PREPARED_WORDS: u64 = 7;

/// Lays out a fresh kernel stack so that switching to it calls
/// `entry(arg)`; returns the stack pointer to switch to.
///
/// # Safety
/// `[top - 56, top)` must be writable memory owned by the new thread.
pub unsafe fn prepare_stack(top: u64, entry: u64, arg: u64) -> u64 {
    let words: [u64; PREPARED_WORDS as usize] = [
        0,
        0,
        arg,
        entry,
        0,
        0,
        thread_trampoline as *const () as u64,
    ];
    let rsp = top - PREPARED_WORDS * 8;
    // SAFETY: per the contract, the range is writable and unused.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), rsp as *mut u64, words.len()) };
    rsp
}

/// Re-prepares the kernel stack of a thread that left through the IPC fast
/// path, so that switching to it calls `entry(frame)` (see
/// [`prepare_stack`]; `frame` is its `TrapFrame`, the stack's top). Only
/// the words `thread_trampoline` uses are written (r13, r12, rbp and the
/// return address); r15, r14 and rbx are popped as whatever is there and
/// never read. Returns the stack pointer to switch to.
///
/// # Safety
/// `[frame - 56, frame)` must be writable memory of that thread's stack
/// that nothing will return into.
#[inline(always)]
pub unsafe fn prepare_resume(frame: u64, entry: u64) -> u64 {
    let rsp = frame - PREPARED_WORDS * 8;
    let words = rsp as *mut u64;
    // SAFETY: per the contract; the offsets are those of `prepare_stack`.
    unsafe {
        words.add(2).write(frame);
        words.add(3).write(entry);
        words.add(5).write(0);
        words.add(6).write(thread_trampoline as *const () as u64);
    }
    rsp
}

/// Bytes of FPU state to reserve per thread (XSAVE size for the enabled
/// components, or 512 for FXSAVE).
pub fn fpu_area_size() -> usize {
    if USE_XSAVE.load(Ordering::Relaxed) {
        // CPUID.(EAX=0Dh, ECX=0).EBX: size for the components enabled in XCR0.
        core::arch::x86_64::__cpuid_count(0xd, 0).ebx as usize
    } else {
        512
    }
}

/// Saves the FPU state into `save` and loads it from `restore`: the two
/// halves of a thread switch, with one look at which instruction to use.
///
/// # Safety
/// Both areas must be 64-byte aligned and at least [`fpu_area_size`]
/// bytes, and `restore` must hold a valid saved (or initial) state.
#[inline(always)]
pub unsafe fn fpu_switch(save: *mut u8, restore: *const u8) {
    // SAFETY: per the contract; RFBM = all ones covers every enabled
    // component.
    unsafe {
        if USE_XSAVE.load(Ordering::Relaxed) {
            core::arch::asm!(
                "xsave64 [{save}]",
                "xrstor64 [{restore}]",
                save = in(reg) save,
                restore = in(reg) restore,
                in("eax") u32::MAX,
                in("edx") u32::MAX,
                options(nostack),
            );
        } else {
            core::arch::asm!(
                "fxsave64 [{save}]",
                "fxrstor64 [{restore}]",
                save = in(reg) save,
                restore = in(reg) restore,
                options(nostack),
            );
        }
    }
}

/// Fills `area` with the initial FPU state (default x87 control word and
/// MXCSR, every register zero), in the layout both FXRSTOR and XRSTOR
/// accept: an XSAVE header with no component marked as in use means
/// "initial state" for all of them. The running thread's FPU is untouched.
///
/// # Safety
/// `area` must be 64-byte aligned and at least [`fpu_area_size`] bytes.
pub unsafe fn fpu_init_area(area: *mut u8) {
    const FCW_OFFSET: usize = 0;
    const MXCSR_OFFSET: usize = 24;
    const FCW_DEFAULT: u16 = 0x037f;
    const MXCSR_DEFAULT: u32 = 0x1f80;
    // SAFETY: per the contract the area is writable for its whole size.
    unsafe {
        core::ptr::write_bytes(area, 0, fpu_area_size());
        area.add(FCW_OFFSET).cast::<u16>().write(FCW_DEFAULT);
        area.add(MXCSR_OFFSET).cast::<u32>().write(MXCSR_DEFAULT);
    }
}
