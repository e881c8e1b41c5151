//! SYSCALL/SYSRET: the entry and exit path for native system calls, and
//! the common path back to ring 3.
//!
//! SYSCALL leaves the user RIP in `rcx`, RFLAGS in `r11`, switches CS/SS
//! from `STAR` and masks RFLAGS with `FMASK` (interrupts, direction, trap
//! and alignment-check flags off), but does not switch stacks. The entry
//! therefore `swapgs`es to reach the per-CPU area, parks the user RSP there,
//! loads the thread's kernel stack and fills in the same [`TrapFrame`] an
//! interrupt from ring 3 would, so every user context in the kernel has one
//! shape:
//!
//! ```text
//!   kernel_stack_top ->
//!     ss      (not written: always USER_DATA, see below)
//!     rsp     = user rsp (through the per-CPU parking slot)
//!     rflags  = r11
//!     cs      (not written: always USER_CODE)
//!     rip     = rcx
//!     error   (not written)
//!     vector  (not written)
//!     rax, rbx           stored
//!     rcx     (not written: SYSCALL clobbered it)
//!     rdx .. r10         stored
//!     r11     (not written: SYSCALL clobbered it)
//!     r12 .. r15         stored; rsp = rdi = &TrapFrame
//! ```
//!
//! The frame is filled with `mov`s, not pushes, so that slots whose value
//! is already right or never read cost nothing. This frame sits at the
//! same place (the top of the thread's own kernel stack) every time, and
//! every writer of it (this entry, the CPU and the trap stubs for an
//! interrupt from ring 3, `sched::create_user`) leaves the user selectors
//! in CS and SS, so they are still there. `vector` and `error` matter only
//! to the trap handler that reads its own frame. User code sees RCX and
//! R11 clobbered by SYSCALL/SYSRET (they come back as RIP and RFLAGS), so
//! their slots are not saved; an IRETQ return (never taken for a syscall
//! frame, whose RIP is canonical) would give back the thread's own
//! earlier values.
//!
//! A native thread's `Call` and `ReplyRecv`, and a container member's
//! Linux call, first go to the IPC fast path (`crate::ipc_fast`), which
//! leaves straight to the partner (through `super::ipc_exit`) or returns
//! if it does not apply. `crate::syscall::dispatch(&mut TrapFrame)` then
//! runs with interrupts off. The way out is [`return_to_user`]: SYSRET
//! when the saved state allows it (CS and SS are the user selectors and
//! RIP is canonical, since SYSRET with a non-canonical RCX faults in ring 0
//! on Intel CPUs), IRETQ otherwise. New user threads start by "returning"
//! through the same path.

use super::gdt::{KERNEL_CODE, KERNEL_DATA, USER_CODE, USER_DATA};
use super::percpu::{KERNEL_STACK_TOP, USER_RSP};
use super::trap_entry::TrapFrame;
use core::arch::{global_asm, naked_asm};
use core::mem::offset_of;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

global_asm!(
    r#"
    .section .text
    .balign 16
.global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:{user_rsp}
    mov %gs:{kstack}, %rsp
    sub ${frame_size}, %rsp
    mov %rcx, {f_rip}(%rsp)
    mov %r11, {f_rflags}(%rsp)
    mov %gs:{user_rsp}, %rcx
    mov %rcx, {f_rsp}(%rsp)
    mov %rax, {f_rax}(%rsp)
    mov %rbx, {f_rbx}(%rsp)
    mov %rdx, {f_rdx}(%rsp)
    mov %rsi, {f_rsi}(%rsp)
    mov %rdi, {f_rdi}(%rsp)
    mov %rbp, {f_rbp}(%rsp)
    mov %r8, {f_r8}(%rsp)
    mov %r9, {f_r9}(%rsp)
    mov %r10, {f_r10}(%rsp)
    mov %r12, {f_r12}(%rsp)
    mov %r13, {f_r13}(%rsp)
    mov %r14, {f_r14}(%rsp)
    mov %r15, {f_r15}(%rsp)
    /* No cld: SYSCALL cleared DF already (FMASK, see init). */
    mov %rsp, %rdi
    /* A native thread's Call or ReplyRecv, and every Linux call of an
       ipc container member, try the IPC fast path first; it returns only
       if it does not apply. rax still holds the number. An in-kernel
       member's calls go straight to dispatch. */
    cmpb ${native}, {is_linux}(%rip)
    jne 4f
    cmp ${call}, %rax
    je 1f
    cmp ${reply_recv}, %rax
    jne 2f
    call {try_reply_recv}
    jmp 3f
1:  call {try_call}
    jmp 3f
4:  js 2f                                /* flags of the compare above */
    call {try_linux_call}
3:  mov %rsp, %rdi
2:  call {dispatch}
    mov %rsp, %rdi
    jmp {ret}
    "#,
    is_linux = sym crate::sched::CURRENT_LINUX,
    native = const crate::sched::LINUX_NONE,
    call = const bulkhead_abi::Syscall::Call as u64,
    reply_recv = const bulkhead_abi::Syscall::ReplyRecv as u64,
    try_call = sym crate::ipc_fast::try_call,
    try_reply_recv = sym crate::ipc_fast::try_reply_recv,
    try_linux_call = sym crate::ipc_fast::try_linux_call,
    user_rsp = const USER_RSP,
    kstack = const KERNEL_STACK_TOP,
    frame_size = const core::mem::size_of::<TrapFrame>(),
    f_rip = const offset_of!(TrapFrame, rip),
    f_rflags = const offset_of!(TrapFrame, rflags),
    f_rsp = const offset_of!(TrapFrame, rsp),
    f_rax = const offset_of!(TrapFrame, rax),
    f_rbx = const offset_of!(TrapFrame, rbx),
    f_rdx = const offset_of!(TrapFrame, rdx),
    f_rsi = const offset_of!(TrapFrame, rsi),
    f_rdi = const offset_of!(TrapFrame, rdi),
    f_rbp = const offset_of!(TrapFrame, rbp),
    f_r8 = const offset_of!(TrapFrame, r8),
    f_r9 = const offset_of!(TrapFrame, r9),
    f_r10 = const offset_of!(TrapFrame, r10),
    f_r12 = const offset_of!(TrapFrame, r12),
    f_r13 = const offset_of!(TrapFrame, r13),
    f_r14 = const offset_of!(TrapFrame, r14),
    f_r15 = const offset_of!(TrapFrame, r15),
    dispatch = sym crate::syscall::dispatch,
    ret = sym return_to_user,
    options(att_syntax)
);

/// Restores the user context in the [`TrapFrame`] at `frame` (which must be
/// the current stack pointer) and returns to ring 3. Never returns.
///
/// # Safety
/// `frame` must be the top frame of the current thread's kernel stack,
/// describing a ring-3 context.
#[unsafe(naked)]
pub unsafe extern "C" fn return_to_user(frame: *mut TrapFrame) -> ! {
    naked_asm!(
        "mov rsp, rdi",
        // SYSRET is possible only for the flat user selectors and a
        // canonical RIP; anything else takes IRETQ.
        "cmp qword ptr [rsp + {cs}], {user_cs}",
        "jne 3f",
        "cmp qword ptr [rsp + {ss}], {user_ss}",
        "jne 3f",
        "mov rcx, qword ptr [rsp + {rip}]",
        "shl rcx, 16",
        "sar rcx, 16",
        "cmp rcx, qword ptr [rsp + {rip}]",
        "jne 3f",
        // The SYSRET exit the IPC fast path uses (rdi is still the frame).
        "jmp {sysret_exit}",
        "3:",
        "pop r15", "pop r14", "pop r13", "pop r12",
        "pop r11", "pop r10", "pop r9", "pop r8",
        "pop rbp", "pop rdi", "pop rsi", "pop rdx",
        "pop rcx", "pop rbx", "pop rax",
        "add rsp, 16",
        "swapgs",
        "iretq",
        cs = const offset_of!(TrapFrame, cs),
        ss = const offset_of!(TrapFrame, ss),
        rip = const offset_of!(TrapFrame, rip),
        sysret_exit = sym super::ipc_exit::return_to_user_fast,
        user_cs = const USER_CODE.0,
        user_ss = const USER_DATA.0,
    )
}

extern "C" {
    fn syscall_entry();
}

/// Programs the SYSCALL MSRs: entry point, selectors and the RFLAGS mask.
pub fn init() {
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    // SYSRET loads CS = base + 16 and SS = base + 8 from STAR[63:48];
    // `Star::write` checks the GDT layout agrees.
    if let Err(e) = Star::write(USER_CODE, USER_DATA, KERNEL_CODE, KERNEL_DATA) {
        panic!("syscall: GDT layout unsuitable for SYSRET: {e}");
    }
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    // SAFETY: enabling SYSCALL/SYSRET after the MSRs above are valid.
    unsafe { Efer::update(|e| *e |= EferFlags::SYSTEM_CALL_EXTENSIONS) };
}
