//! The interrupt descriptor table: all 256 vectors point at their entry
//! stub in `trap_entry`; #DF, NMI and #MC run on their own IST stacks.
//!
//! Every gate is an interrupt gate (interrupts off on entry) with DPL 0, so
//! user code cannot raise a vector with `int n`; the breakpoint vector (3)
//! will get DPL 3 when debuggers arrive.

use super::gdt::{self, KERNEL_CODE};
use super::trap_entry::{trap_stubs, STUB_SIZE};
use spin::Once;

#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

/// Present, DPL 0, 64-bit interrupt gate.
const INTERRUPT_GATE: u8 = 0x8e;

impl Gate {
    fn new(handler: u64, ist: u16) -> Self {
        Self {
            offset_low: handler as u16,
            selector: KERNEL_CODE.0,
            ist: ist as u8,
            type_attr: INTERRUPT_GATE,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// The IDT fills one page of its own (256 gates of 16 bytes): System Call
/// Isolation maps it into every restricted page table.
#[repr(C, align(4096))]
struct Idt([Gate; 256]);

static IDT: Once<Idt> = Once::new();

/// The IDT's address range (whole pages).
pub fn table_range() -> (u64, u64) {
    let start = core::ptr::addr_of!(IDT) as u64;
    (start, start + core::mem::size_of_val(&IDT) as u64)
}

/// Exception vectors with names.
pub mod vector {
    pub const DIVIDE_ERROR: u8 = 0;
    pub const NMI: u8 = 2;
    pub const BREAKPOINT: u8 = 3;
    pub const INVALID_OPCODE: u8 = 6;
    pub const DOUBLE_FAULT: u8 = 8;
    pub const GENERAL_PROTECTION: u8 = 13;
    pub const PAGE_FAULT: u8 = 14;
    pub const MACHINE_CHECK: u8 = 18;
    /// First vector available to devices (after the 32 exceptions).
    pub const FIRST_IRQ: u8 = 32;
    /// The local APIC timer.
    pub const TIMER: u8 = 32;
    /// The local APIC's spurious-interrupt vector.
    pub const SPURIOUS: u8 = 255;
}

fn ist_for(vector: u8) -> u16 {
    match vector {
        vector::DOUBLE_FAULT => gdt::IST_DOUBLE_FAULT,
        vector::NMI => gdt::IST_NMI,
        vector::MACHINE_CHECK => gdt::IST_MACHINE_CHECK,
        _ => 0,
    }
}

/// Builds and loads the IDT.
pub fn init() {
    let idt = IDT.call_once(|| {
        let base = core::ptr::addr_of!(trap_stubs) as u64;
        let mut gates = [Gate::new(0, 0); 256];
        for (v, gate) in (0u8..=255).zip(gates.iter_mut()) {
            *gate = Gate::new(base + u64::from(v) * STUB_SIZE, ist_for(v));
        }
        Idt(gates)
    });
    let pointer = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is 'static and every gate points at a valid stub.
    unsafe { x86_64::instructions::tables::lidt(&pointer) };
}
