//! The IPC fast path's ways back to ring 3 (`crate::ipc_fast`): SYSRET
//! straight into the partner thread, with the message delivered on the
//! way out.
//!
//! None of them makes the checks `return_to_user` makes, because they hold
//! for every user thread: its saved CS and SS are always the user selectors
//! (every frame of one is built by SYSCALL entry, by the CPU for an
//! interrupt from ring 3, or by `sched::create_user`), and its saved RIP
//! is canonical (it is a return address a `syscall` left, below
//! `USER_END`, or an entry point checked against it). So each exit only
//! loads registers, SWAPGSes and SYSRETs.
//!
//! A message is not written into the partner's `TrapFrame` and loaded back
//! from it: the exits load the message registers straight from the
//! *sender's* frame and the partner's own registers (RBX, RBP, RIP,
//! RFLAGS, RSP) from the partner's frame. The partner's frame is left as
//! it was; nothing reads it before its next entry to the kernel rewrites
//! it. The sender's frame stays intact too: the sender is blocked, and its
//! kernel stack is not used until it is resumed.
//!
//! The register message of the ABI (`bulkhead_abi::ipc`): RAX = status,
//! RDI = badge, RSI = info (the word count), MR0..MR7 in RDX R10 R8 R9 R12
//! R13 R14 R15. RCX and R11 come back holding RIP and RFLAGS, as after any
//! SYSCALL.

use super::trap_entry::TrapFrame;
use bulkhead_abi::container::SYSCALL_WORDS;
use core::arch::naked_asm;
use core::mem::offset_of;

/// Returns to user mode in the partner whose frame is `dst`, delivering
/// the `words` (≤ 8) first message registers of the sender's frame `src`
/// with `badge` (the arguments are in the order that puts `badge` and
/// `words` in RDI and RSI, where they are delivered): exactly what the slow path delivers (`ipc::prepare`,
/// `ipc::write_message`): status 0, the badge, the info word reduced to
/// the word count, the words sent and zero in every other message
/// register. Never returns.
///
/// ```text
///   dst (partner) ->  rbx, rbp, rip -> rcx, rflags -> r11, rsp
///   MR[words]..MR7    cleared: a jump into the chain
///                       xor MR0; xor MR1; ...; xor MR7
///                     at entry `words` (table 48, after sysretq)
///   src (sender)  ->  MR[words-1]..MR0 loaded: a jump into the chain
///                       load MR7; load MR6; ...; load MR0
///                     at the entry for `words` (table 49)
///   rax = 0, rdi = badge, rsi = words
/// ```
///
/// # Safety
/// `dst` must be the `TrapFrame` at the top of the partner's kernel stack,
/// which `Scheduler::fast_switch` installed for the next entries from user
/// mode (the CPU still runs on the sender's stack, abandoned from here),
/// of a user thread; `src` another thread's frame that nothing writes
/// meanwhile; `words` at most 8. Interrupts must be off and no lock
/// held.
#[unsafe(naked)]
pub unsafe extern "C" fn return_with_message(
    badge: u64,
    words: u64,
    dst: *const TrapFrame,
    src: *const TrapFrame,
) -> ! {
    naked_asm!(
        // rdi = badge and rsi = words are where they are delivered;
        // rdx = dst, rcx = src.
        "mov r11, rdx",
        "mov rax, rcx",
        "mov rcx, qword ptr [r11 + {rip}]",
        "mov rbx, qword ptr [r11 + {rbx}]",
        "mov rbp, qword ptr [r11 + {rbp}]",
        // `words` ≤ 8 was checked long before, by a branch: keep even a
        // mispredicted one from indexing past the tables (16 entries).
        "and esi, 15",
        // Clear MR[words]..MR7: enter the chain at `words` ...
        "jmp qword ptr [8 * rsi + 48f]",
        "30: xor edx, edx",
        "31: xor r10d, r10d",
        "32: xor r8d, r8d",
        "33: xor r9d, r9d",
        "34: xor r12d, r12d",
        "35: xor r13d, r13d",
        "36: xor r14d, r14d",
        "37: xor r15d, r15d",
        // ... then load MR[words - 1]..MR0 from the sender's frame.
        "38: jmp qword ptr [8 * rsi + 49f]",
        "57: mov r15, qword ptr [rax + {r15}]",
        "56: mov r14, qword ptr [rax + {r14}]",
        "55: mov r13, qword ptr [rax + {r13}]",
        "54: mov r12, qword ptr [rax + {r12}]",
        "53: mov r9, qword ptr [rax + {r9}]",
        "52: mov r8, qword ptr [rax + {r8}]",
        "51: mov r10, qword ptr [rax + {r10}]",
        "50: mov rdx, qword ptr [rax + {rdx}]",
        "59: xor eax, eax",
        "mov rsp, qword ptr [r11 + {rsp}]",
        "mov r11, qword ptr [r11 + {rflags}]",
        "swapgs",
        "sysretq",
        ".balign 8",
        // Entries 9..15 are never taken: a count above 8 never gets here.
        "48: .quad 30b, 31b, 32b, 33b, 34b, 35b, 36b, 37b, 38b",
        ".quad 38b, 38b, 38b, 38b, 38b, 38b, 38b",
        "49: .quad 59b, 50b, 51b, 52b, 53b, 54b, 55b, 56b, 57b",
        ".quad 59b, 59b, 59b, 59b, 59b, 59b, 59b",
        rip = const offset_of!(TrapFrame, rip),
        rbx = const offset_of!(TrapFrame, rbx),
        rbp = const offset_of!(TrapFrame, rbp),
        rdx = const offset_of!(TrapFrame, rdx),
        r10 = const offset_of!(TrapFrame, r10),
        r8 = const offset_of!(TrapFrame, r8),
        r9 = const offset_of!(TrapFrame, r9),
        r12 = const offset_of!(TrapFrame, r12),
        r13 = const offset_of!(TrapFrame, r13),
        r14 = const offset_of!(TrapFrame, r14),
        r15 = const offset_of!(TrapFrame, r15),
        rsp = const offset_of!(TrapFrame, rsp),
        rflags = const offset_of!(TrapFrame, rflags),
    )
}

/// Returns to user mode in the syscall server whose frame is `dst`,
/// delivering the Linux call of the container member whose frame is `src`
/// with `badge`, as `container_call::linux_message` builds it for the
/// slow path: status 0, the badge, info = `SYSCALL_WORDS` (7), MR0 = the
/// call number (the member's RAX), MR1..MR6 = its argument registers RDI
/// RSI RDX R10 R8 R9, MR7 = 0. Never returns.
///
/// ```text
///   dst (server) ->  rbx, rbp, rip -> rcx, rflags -> r11, rsp
///   src (member) ->  rax rdi rsi rdx r10 r8 r9
///                 =  MR0 MR1 MR2 MR3 MR4 MR5 MR6  (rdx r10 r8 r9 r12 r13 r14)
///   r15 (MR7) = 0, rax = 0, rdi = badge, rsi = 7
/// ```
///
/// # Safety
/// As for [`return_with_message`].
#[unsafe(naked)]
pub unsafe extern "C" fn return_with_linux_call(
    dst: *const TrapFrame,
    src: *const TrapFrame,
    badge: u64,
) -> ! {
    naked_asm!(
        // rdi = dst, rsi = src, rdx = badge.
        "mov r11, rdi",
        "mov rdi, rdx",
        "mov rcx, qword ptr [r11 + {rip}]",
        "mov rbx, qword ptr [r11 + {rbx}]",
        "mov rbp, qword ptr [r11 + {rbp}]",
        "mov rdx, qword ptr [rsi + {rax}]",
        "mov r10, qword ptr [rsi + {rdi}]",
        "mov r8, qword ptr [rsi + {rsi}]",
        "mov r9, qword ptr [rsi + {rdx}]",
        "mov r12, qword ptr [rsi + {r10}]",
        "mov r13, qword ptr [rsi + {r8}]",
        "mov r14, qword ptr [rsi + {r9}]",
        "xor r15d, r15d",
        "mov esi, {words}",
        "xor eax, eax",
        "mov rsp, qword ptr [r11 + {rsp}]",
        "mov r11, qword ptr [r11 + {rflags}]",
        "swapgs",
        "sysretq",
        rip = const offset_of!(TrapFrame, rip),
        rbx = const offset_of!(TrapFrame, rbx),
        rbp = const offset_of!(TrapFrame, rbp),
        rax = const offset_of!(TrapFrame, rax),
        rdi = const offset_of!(TrapFrame, rdi),
        rsi = const offset_of!(TrapFrame, rsi),
        rdx = const offset_of!(TrapFrame, rdx),
        r10 = const offset_of!(TrapFrame, r10),
        r8 = const offset_of!(TrapFrame, r8),
        r9 = const offset_of!(TrapFrame, r9),
        rsp = const offset_of!(TrapFrame, rsp),
        rflags = const offset_of!(TrapFrame, rflags),
        words = const SYSCALL_WORDS,
    )
}

/// Returns to user mode from the whole `frame`: the fast path's exit for
/// a partner whose new registers it wrote there (a container member's
/// reply: only its RAX changes), and the SYSRET half of
/// `syscall_entry::return_to_user`, which jumps here once it has checked
/// the frame. Never returns.
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
/// # Safety
/// As for [`return_with_message`], for `frame` in the place of `dst`.
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
