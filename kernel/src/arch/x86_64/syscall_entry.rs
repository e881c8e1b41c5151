//! SYSCALL/SYSRET: the entry and exit path for native system calls, and
//! the common path back to ring 3.
//!
//! SYSCALL leaves the user RIP in `rcx`, RFLAGS in `r11`, switches CS/SS
//! from `STAR` and masks RFLAGS with `FMASK` (interrupts, direction, trap
//! and alignment-check flags off), but does not switch stacks. The entry
//! therefore `swapgs`es to reach the per-CPU area, parks the user RSP there,
//! loads the thread's kernel stack and builds the same [`TrapFrame`] an
//! interrupt from ring 3 would, so every user context in the kernel has one
//! shape:
//!
//! ```text
//!   kernel_stack_top ->
//!     ss      = USER_DATA          (pushed here, as the CPU would for an IRQ)
//!     rsp     = user rsp
//!     rflags  = r11
//!     cs      = USER_CODE
//!     rip     = rcx
//!     error   = 0
//!     vector  = SYSCALL_VECTOR     (not an IDT vector: marks a syscall frame)
//!     rax .. r15                   rsp points at r15 = &TrapFrame
//! ```
//!
//! A native thread's `Call` and `ReplyRecv`, and a container member's
//! Linux call, first go to the IPC fast path (`crate::ipc_fast`), which
//! leaves straight to the partner or returns if it does not apply. `crate::syscall::dispatch(&mut TrapFrame)` then
//! runs with interrupts off. The way
//! out is [`return_to_user`]: SYSRET when the saved state allows it (CS and
//! SS are the user selectors and RIP is canonical, since SYSRET with a
//! non-canonical RCX faults in ring 0 on Intel CPUs), IRETQ otherwise. New
//! user threads start by "returning" through the same path.

use super::gdt::{KERNEL_CODE, KERNEL_DATA, USER_CODE, USER_DATA};
use super::percpu::{KERNEL_STACK_TOP, USER_RSP};
use super::trap_entry::TrapFrame;
use core::arch::{global_asm, naked_asm};
use core::mem::offset_of;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

/// The `vector` value of a frame built by SYSCALL entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

global_asm!(
    r#"
    .section .text
    .balign 16
.global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:{user_rsp}
    mov %gs:{kstack}, %rsp
    pushq ${user_ss}
    pushq %gs:{user_rsp}
    pushq %r11
    pushq ${user_cs}
    pushq %rcx
    pushq $0
    pushq ${vector}
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
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
    user_ss = const USER_DATA.0,
    user_cs = const USER_CODE.0,
    vector = const SYSCALL_VECTOR,
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
        // rcx (= RIP, already loaded) and r11 (= RFLAGS) are SYSRET's:
        // their own slots are skipped, as in `return_to_user_fast`.
        "mov r15, qword ptr [rsp + {r15}]",
        "mov r14, qword ptr [rsp + {r14}]",
        "mov r13, qword ptr [rsp + {r13}]",
        "mov r12, qword ptr [rsp + {r12}]",
        "mov r10, qword ptr [rsp + {r10}]",
        "mov r9, qword ptr [rsp + {r9}]",
        "mov r8, qword ptr [rsp + {r8}]",
        "mov rbp, qword ptr [rsp + {rbp}]",
        "mov rdi, qword ptr [rsp + {rdi}]",
        "mov rsi, qword ptr [rsp + {rsi}]",
        "mov rdx, qword ptr [rsp + {rdx}]",
        "mov rbx, qword ptr [rsp + {rbx}]",
        "mov rax, qword ptr [rsp + {rax}]",
        "mov rcx, qword ptr [rsp + {rip}]",
        "mov r11, qword ptr [rsp + {rflags}]",
        "mov rsp, qword ptr [rsp + {rsp}]",
        "swapgs",
        "sysretq",
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
        r15 = const offset_of!(TrapFrame, r15),
        r14 = const offset_of!(TrapFrame, r14),
        r13 = const offset_of!(TrapFrame, r13),
        r12 = const offset_of!(TrapFrame, r12),
        r10 = const offset_of!(TrapFrame, r10),
        r9 = const offset_of!(TrapFrame, r9),
        r8 = const offset_of!(TrapFrame, r8),
        rbp = const offset_of!(TrapFrame, rbp),
        rdi = const offset_of!(TrapFrame, rdi),
        rsi = const offset_of!(TrapFrame, rsi),
        rdx = const offset_of!(TrapFrame, rdx),
        rbx = const offset_of!(TrapFrame, rbx),
        rax = const offset_of!(TrapFrame, rax),
        rflags = const offset_of!(TrapFrame, rflags),
        rsp = const offset_of!(TrapFrame, rsp),
        user_cs = const USER_CODE.0,
        user_ss = const USER_DATA.0,
    )
}

/// [`return_to_user`] without its checks, for the IPC fast path, whose
/// guards have made them: the frame's CS and SS are the user selectors
/// (true of every user thread's frame) and its RIP is canonical. Loads the
/// registers from the frame and SYSRETs. Never returns.
///
/// ```text
///   frame ->  r15 .. r12       loaded (rdi: the frame's address, last)
///             r11              skipped: SYSRET takes RFLAGS from r11
///             r10 .. rdx       loaded
///             rcx              skipped: SYSRET takes RIP from rcx
///             rbx, rax         loaded
///             vector, error    skipped
///             rip          -> rcx
///             cs
///             rflags       -> r11
///             rsp          -> rsp
///             ss
/// ```
///
/// Loading by offset instead of popping skips the two slots that SYSRET
/// overwrites anyway (rcx and r11 come back holding RIP and RFLAGS, as
/// after any SYSCALL).
///
/// # Safety
/// As for [`return_to_user`], and the frame must satisfy SYSRET as above.
#[unsafe(naked)]
pub unsafe extern "C" fn return_to_user_fast(frame: *mut TrapFrame) -> ! {
    naked_asm!(
        "mov r15, qword ptr [rdi + {r15}]",
        "mov r14, qword ptr [rdi + {r14}]",
        "mov r13, qword ptr [rdi + {r13}]",
        "mov r12, qword ptr [rdi + {r12}]",
        "mov r10, qword ptr [rdi + {r10}]",
        "mov r9, qword ptr [rdi + {r9}]",
        "mov r8, qword ptr [rdi + {r8}]",
        "mov rbp, qword ptr [rdi + {rbp}]",
        "mov rsi, qword ptr [rdi + {rsi}]",
        "mov rdx, qword ptr [rdi + {rdx}]",
        "mov rbx, qword ptr [rdi + {rbx}]",
        "mov rax, qword ptr [rdi + {rax}]",
        "mov rcx, qword ptr [rdi + {rip}]",
        "mov r11, qword ptr [rdi + {rflags}]",
        "mov rsp, qword ptr [rdi + {rsp}]",
        "mov rdi, qword ptr [rdi + {rdi}]",
        "swapgs",
        "sysretq",
        r15 = const offset_of!(TrapFrame, r15),
        r14 = const offset_of!(TrapFrame, r14),
        r13 = const offset_of!(TrapFrame, r13),
        r12 = const offset_of!(TrapFrame, r12),
        r10 = const offset_of!(TrapFrame, r10),
        r9 = const offset_of!(TrapFrame, r9),
        r8 = const offset_of!(TrapFrame, r8),
        rbp = const offset_of!(TrapFrame, rbp),
        rsi = const offset_of!(TrapFrame, rsi),
        rdx = const offset_of!(TrapFrame, rdx),
        rbx = const offset_of!(TrapFrame, rbx),
        rax = const offset_of!(TrapFrame, rax),
        rip = const offset_of!(TrapFrame, rip),
        rflags = const offset_of!(TrapFrame, rflags),
        rsp = const offset_of!(TrapFrame, rsp),
        rdi = const offset_of!(TrapFrame, rdi),
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
