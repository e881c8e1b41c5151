//! Interrupt and exception entry: 256 small stubs and one common path that
//! saves every general-purpose register into a [`TrapFrame`] and calls
//! [`super::traps::dispatch`].
//!
//! Each stub is 16 bytes at `trap_stubs + 16 * vector`, so the IDT needs no
//! table of addresses. Vectors without a CPU error code push a zero in its
//! place, so every frame has the same shape. If the trap came from ring 3
//! the common path executes `swapgs` on the way in and out (the CS saved by
//! the CPU tells), so kernel code always finds its per-CPU area in GS.
//!
//! The stack the common path builds (higher addresses first):
//!
//! ```text
//!   ss            <- pushed by the CPU (rsp is 16-byte aligned before this)
//!   rsp
//!   rflags
//!   cs
//!   rip
//!   error_code    <- by the CPU, or 0 from the stub
//!   vector        <- by the stub
//!   rax .. r15    <- by trap_common; rsp then points at TrapFrame.r15
//! ```
//!
//! 5 + 2 + 15 = 22 quadwords keep `rsp` 16-byte aligned at the `call`.
//!
//! System Call Isolation: the stubs and the common path live in the entry
//! section (`.text.entry`), which every restricted page table maps, and so
//! do the stack (the thread's kernel stack) and the per-CPU area. If a trap
//! interrupts code running on the restricted table of an isolated syscall
//! (CR3 is `PerCpu::sci_restricted_cr3`; a kernel service of that syscall
//! runs on the full table), the common path switches to the full kernel
//! page table (`PerCpu::sci_full_cr3`) before calling `dispatch`, and back to the interrupted table (saved in `rbx`; `r12`
//! says a switch was made; `dispatch` preserves both) before `iretq`. `dispatch` gets that table's CR3
//! as its second argument, so it can tell a fault of isolated code.

use core::arch::global_asm;
use core::mem::offset_of;

/// The registers of an interrupted context, as the entry path saved them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// True if the trap interrupted user mode (ring 3).
    pub fn is_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// Bitmap of the vectors for which the CPU pushes an error code:
/// #DF(8), #TS(10), #NP(11), #SS(12), #GP(13), #PF(14), #AC(17), #CP(21),
/// #VC(29), #SX(30).
const ERROR_CODE_VECTORS: u64 = 1 << 8
    | 1 << 10
    | 1 << 11
    | 1 << 12
    | 1 << 13
    | 1 << 14
    | 1 << 17
    | 1 << 21
    | 1 << 29
    | 1 << 30;

/// The PML4 address bits of a CR3 value (without PCID and no-flush bits).
pub const CR3_ADDRESS: u64 = 0x000f_ffff_ffff_f000;

/// Size of one stub.
pub const STUB_SIZE: u64 = 16;

extern "C" {
    /// The first of the 256 entry stubs.
    pub static trap_stubs: u8;
}

global_asm!(
    r#"
    .section .text.entry, "ax"
    .balign 16
.global trap_stubs
trap_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if ((({errmask} >> vector) & 1) == 0) || (vector >= 32)
    pushq $0
    .endif
    pushq $vector
    jmp trap_common
    .set vector, vector + 1
    .endr

    .balign 16
trap_common:
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
    testb $3, {cs}(%rsp)
    jz 1f
    swapgs
1:  cld
    mov %cr3, %rbx                        /* the interrupted page table */
    xor %r12d, %r12d
    mov %gs:{sci_restricted}, %rax        /* an isolated syscall's, or 0 */
    test %rax, %rax
    jz 4f
    xor %rbx, %rax
    movabs ${address}, %rcx
    test %rcx, %rax
    jnz 4f                                /* not on the restricted table */
    mov %gs:{sci_full}, %rax
    mov %rax, %cr3                        /* isolated: to the full table */
    mov $1, %r12d
4:  mov %rsp, %rdi
    mov %rbx, %rsi
    call {dispatch}
    test %r12d, %r12d
    jz 5f
    mov %rbx, %cr3                        /* back to the restricted table */
5:  testb $3, {cs}(%rsp)
    jz 2f
    swapgs
2:  popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                        /* vector, error code */
    iretq
    "#,
    errmask = const ERROR_CODE_VECTORS,
    cs = const offset_of!(TrapFrame, cs),
    sci_full = const super::percpu::SCI_FULL_CR3,
    sci_restricted = const super::percpu::SCI_RESTRICTED_CR3,
    address = const CR3_ADDRESS,
    dispatch = sym super::traps::dispatch,
    options(att_syntax)
);
