//! The Multiboot2 header and the 32-bit entry that takes GRUB's protected-mode
//! hand-off to the kernel's 64-bit, higher-half world.
//!
//! GRUB enters `mb2_entry` in 32-bit protected mode, paging off, with
//! `eax = 0x36d76289` and `ebx` = the physical address of the boot
//! information. The code runs at its *physical* address (the kernel is linked
//! at `KERNEL_VMA + phys`), so every absolute address it uses is written as
//! `symbol - KERNEL_VMA`. It:
//!
//! 1. checks the magic and that the CPU has long mode (else prints a message
//!    on COM1 and halts);
//! 2. builds boot page tables in `.bss` that map, with 2 MiB pages,
//!    - the first 1 GiB identity (so this code keeps running after paging is
//!      on),
//!    - the same 1 GiB at `KERNEL_VMA` (where the kernel is linked),
//!    - the first 4 GiB at `PHYS_WINDOW`, the physical-memory window the rest
//!      of the kernel uses until it installs its own tables;
//! 3. enables PAE, long mode and paging, loads a minimal 64-bit GDT and far
//!    jumps to 64-bit code, which jumps to the higher half, switches to the
//!    boot stack and calls [`crate::boot::multiboot2::multiboot2_main`].
//!
//! These tables are thrown away once `mm::paging` builds the kernel's own.
//!
//! Boot page tables (all 4 KiB, in `.bss`):
//!
//! ```text
//!  boot_pml4[0]   -> boot_pdpt_low[0]      -> boot_pd[0..512]   identity 0..1G
//!  boot_pml4[256] -> boot_pdpt_window[0..4]-> boot_pd_window[0..2048]  0..4G
//!  boot_pml4[511] -> boot_pdpt_high[510]   -> boot_pd (shared)  KERNEL_VMA..+1G
//! ```

use core::arch::global_asm;

/// Where the kernel is linked (top 2 GiB).
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// Base of the physical-memory window the Multiboot2 path provides.
pub const PHYS_WINDOW: u64 = 0xffff_8000_0000_0000;
/// Size of the Multiboot2 boot stack: the same 256 KiB the Limine path
/// asks for. The boot path keeps several copies of the memory map (512
/// regions each) on it; at 64 KiB it overflowed into `boot_pd_window`, the
/// page directories below it, and wiped the window's entries above 1 GiB,
/// which went unnoticed until a machine had more than 1 GiB of RAM.
const BOOT_STACK_SIZE: usize = 256 * 1024;

global_asm!(
    r#"
    .section .multiboot2_header, "a"
    .balign 8
mb2_header_start:
    .long 0xe85250d6                      /* magic */
    .long 0                               /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    /* information request tag: memory map, cmdline, modules, ACPI RSDP */
    .balign 8
mb2_info_req_start:
    .short 1, 1                           /* type 1, optional */
    .long mb2_info_req_end - mb2_info_req_start
    .long 1, 3, 6, 14, 15
mb2_info_req_end:
    /* end tag */
    .balign 8
    .short 0, 0
    .long 8
mb2_header_end:

    .section .bss
    .balign 4096
boot_pml4:         .skip 4096
boot_pdpt_low:     .skip 4096
boot_pdpt_high:    .skip 4096
boot_pdpt_window:  .skip 4096
boot_pd:           .skip 4096
boot_pd_window:    .skip 4096 * 4
    .balign 16
boot_stack_bottom: .skip {stack_size}
.global boot_stack_top
boot_stack_top:

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0                               /* null */
    .quad 0x00af9a000000ffff              /* 0x08: 64-bit code, DPL0 */
    .quad 0x00cf92000000ffff              /* 0x10: data, DPL0 */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt - {vma}

    .section .text.boot32, "ax"
    .code32
.global mb2_entry
mb2_entry:
    cli
    cld
    mov %eax, %edi                        /* keep magic and info pointer for Rust */
    mov %ebx, %esi
    mov $(boot_stack_top - {vma}), %esp

    cmp $0x36d76289, %eax
    jne mb2_fail_magic

    /* long mode present? CPUID 0x80000001 EDX bit 29 */
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb mb2_fail_lm
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz mb2_fail_lm

    /* boot_pd: 512 x 2 MiB, identity 0..1 GiB (P|W|PS) */
    mov $(boot_pd - {vma}), %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%ebx, %ecx, 8)
    movl $0, 4(%ebx, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jb 1b

    /* boot_pd_window: 2048 x 2 MiB, 0..4 GiB */
    mov $(boot_pd_window - {vma}), %ebx
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%ebx, %ecx, 8)
    mov %ecx, %eax
    shr $11, %eax                         /* bits 32.. of (ecx << 21) */
    mov %eax, 4(%ebx, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jb 2b

    /* boot_pdpt_window[0..4] -> the four window PDs */
    mov $(boot_pdpt_window - {vma}), %ebx
    mov $(boot_pd_window - {vma} + 3), %eax
    xor %ecx, %ecx
3:  mov %eax, (%ebx, %ecx, 8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jb 3b

    mov $(boot_pd - {vma} + 3), %eax
    mov %eax, (boot_pdpt_low - {vma})
    mov %eax, (boot_pdpt_high - {vma} + 510 * 8)

    mov $(boot_pdpt_low - {vma} + 3), %eax
    mov %eax, (boot_pml4 - {vma})
    mov $(boot_pdpt_window - {vma} + 3), %eax
    mov %eax, (boot_pml4 - {vma} + 256 * 8)
    mov $(boot_pdpt_high - {vma} + 3), %eax
    mov %eax, (boot_pml4 - {vma} + 511 * 8)

    /* CR4.PAE, CR3, EFER.LME, CR0.PG */
    mov %cr4, %eax
    or $(1 << 5), %eax
    mov %eax, %cr4
    mov $(boot_pml4 - {vma}), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax  /* PG, WP, PE */
    mov %eax, %cr0

    lgdt (boot_gdt_ptr - {vma})
    ljmp $0x08, $(mb2_long_low - {vma})

    /* Print the NUL-terminated string at esi on COM1 (115200 is not set up;
       QEMU and Bochs accept whatever the UART holds), then halt. */
mb2_fail_magic:
    mov $(mb2_msg_magic - {vma}), %esi
    jmp mb2_fail
mb2_fail_lm:
    mov $(mb2_msg_lm - {vma}), %esi
mb2_fail:
    mov $0x3f8, %dx
4:  lodsb
    test %al, %al
    jz 5f
    out %al, %dx
    jmp 4b
5:  hlt
    jmp 5b

    .code64
mb2_long_low:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $mb2_long_high, %rax
    jmp *%rax
mb2_long_high:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %edi, %edi                        /* zero-extend magic */
    mov %esi, %esi                        /* zero-extend info pointer */
    call {main}
6:  hlt
    jmp 6b

    .section .rodata
mb2_msg_magic: .asciz "bulkhead: not started by a Multiboot2 loader; halting\r\n"
mb2_msg_lm:    .asciz "bulkhead: this CPU has no long mode (x86-64); halting\r\n"
    .text
    "#,
    vma = const KERNEL_VMA,
    stack_size = const BOOT_STACK_SIZE,
    main = sym crate::boot::multiboot2::multiboot2_main,
    options(att_syntax)
);
