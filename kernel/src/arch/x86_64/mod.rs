//! x86_64 specifics: boot trampoline, descriptor tables, trap entry, CPU
//! features, and the interrupt controllers and timers.

pub mod apic;
pub mod context;
pub mod cpu;
#[cfg(feature = "exploit-demos")]
pub mod exploit_gadget;
pub mod gdt;
pub mod hpet;
pub mod idt;
pub mod ioapic;
pub mod ipc_exit;
pub mod multiboot2_entry;
pub mod percpu;
pub mod pic;
pub mod pit;
pub mod sci_entry;
pub mod syscall_entry;
pub mod trap_entry;
pub mod traps;

/// Loads the GDT, TSS and IDT and switches on the CPU's protections.
pub fn init_cpu() -> cpu::Features {
    gdt::init();
    idt::init();
    percpu::init();
    let features = cpu::init();
    context::init(features.xsave);
    syscall_entry::init();
    features
}
