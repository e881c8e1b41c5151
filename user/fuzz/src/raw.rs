//! The fuzzer's only `unsafe` code: the `syscall` instruction with every
//! register chosen by the caller, and the raw status handed back as it is.
//!
//! The runtime's stubs (`bulkhead_rt::syscall`, `sys::ipc::ipc_raw`) turn
//! a status they do not know into `InvalidArgument`, and take the call
//! number as a `Syscall`; the fuzzer needs arbitrary numbers and the exact
//! status (an unknown code is a finding), so it has its own two stubs.
//!
//! # Why these functions are safe to call
//!
//! A system call can only affect this program's memory in two ways: the
//! kernel writes through a pointer argument (`SpaceRead`, `ConsoleRead`,
//! an IPC receive into the IPC buffer), or a capability changes this
//! program's own address space or thread. The fuzzer rules out both before
//! anything reaches these stubs:
//!
//! - every pointer comes from `gen::Gen::pointer`, which returns either an
//!   address whose first page is never mapped in this program (a reserved
//!   hole, the null page, the top of user space) or that the kernel rejects
//!   outright (non-canonical, kernel half, overflowing), or an address
//!   inside the scratch window, which no Rust reference ever covers and is
//!   followed by unmapped pages; the kernel copies forward, page by page,
//!   and stops with `BadAddress` at the first unmapped page, so it can only
//!   ever write scratch bytes;
//! - every capability argument goes through `arena::Protected::sanitize`,
//!   which turns a handle naming this program's own table, space, thread,
//!   memory quota, heap or scratch Frames (or the partner thread) into a
//!   stale handle, so the kernel refuses it; copies of those capabilities
//!   are never made, for the same reason;
//! - the IPC buffers registered for this program's threads lie in scratch.
//!
//! The kernel checks every user pointer against the user half before it
//! touches memory (`kernel/src/usercopy.rs`), so a pointer into the kernel
//! half, or a non-canonical one, comes back as an error. What the kernel
//! does with the registers is fixed by the ABI: it reads the arguments,
//! writes `rax`, `rdi`, `rsi`, `rdx` (and for IPC the message registers),
//! destroys `rcx` and `r11`, and preserves everything else, the stack
//! included.

use core::arch::asm;

/// What a call left in the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw {
    /// `rax`: 0 or an error code (maybe one the ABI does not know).
    pub status: u64,
    /// `rdi`, `rsi`, `rdx`.
    pub results: [u64; 3],
}

/// Makes system call `number` with arguments `rdi, rsi, rdx, r10, r8, r9`.
pub fn call(number: u64, args: [u64; 6]) -> Raw {
    let status: u64;
    let (r0, r1, r2): (u64, u64, u64);
    // SAFETY: see the module docs: the caller passes only pointers the
    // kernel either refuses or writes inside the scratch window, and
    // capabilities that cannot name this program's own space, table,
    // thread or memory; the register contract is the ABI's.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => status,
            inlateout("rdi") args[0] => r0,
            inlateout("rsi") args[1] => r1,
            inlateout("rdx") args[2] => r2,
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    Raw {
        status,
        results: [r0, r1, r2],
    }
}

/// What an IPC call left in the registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcRaw {
    /// `rax`.
    pub status: u64,
    /// `rdi`: the badge on a receive.
    pub badge: u64,
    /// `rsi`: the delivered `MessageInfo`.
    pub info: u64,
    /// MR0..MR7 (`rdx r10 r8 r9 r12 r13 r14 r15`).
    pub mrs: [u64; 8],
}

/// Makes IPC call `number` on capability `cap` with message info `info`
/// and message registers `mrs` (the register layout of `bulkhead_abi::ipc`).
pub fn ipc(number: u64, cap: u64, info: u64, mrs: [u64; 8]) -> IpcRaw {
    let [mut m0, mut m1, mut m2, mut m3, mut m4, mut m5, mut m6, mut m7] = mrs;
    let (status, badge, info_out): (u64, u64, u64);
    // SAFETY: IPC passes no pointers except through the threads' IPC
    // buffers, which for this program's threads lie in scratch (module
    // docs); MR7 can name a capability to transfer and went through the
    // sanitizer. The kernel reads and writes only these registers.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => status,
            inlateout("rdi") cap => badge,
            inlateout("rsi") info => info_out,
            inlateout("rdx") m0, inlateout("r10") m1, inlateout("r8") m2, inlateout("r9") m3,
            inlateout("r12") m4, inlateout("r13") m5, inlateout("r14") m6, inlateout("r15") m7,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    IpcRaw {
        status,
        badge,
        info: info_out,
        mrs: [m0, m1, m2, m3, m4, m5, m6, m7],
    }
}
