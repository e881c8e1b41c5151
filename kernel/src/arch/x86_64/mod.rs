//! x86_64 specifics: boot trampoline, descriptor tables, trap entry, CPU
//! features, and the interrupt controllers and timers.

pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod multiboot2_entry;
pub mod trap_entry;
pub mod traps;

/// Loads the GDT, TSS and IDT and switches on the CPU's protections.
pub fn init_cpu() -> cpu::Features {
    gdt::init();
    idt::init();
    cpu::init()
}
