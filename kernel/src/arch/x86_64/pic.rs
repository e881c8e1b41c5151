//! The legacy 8259 programmable interrupt controllers, only to silence them.
//!
//! Bulkhead takes device interrupts through the IO-APIC, so both 8259s are
//! re-initialised with their 16 vectors moved to [`VECTOR_BASE`] (away from
//! the CPU exception vectors, where a stray spurious IRQ 7 or 15 would look
//! like a fault) and then masked entirely. Nothing unmasks them again.
//! The local APIC's LINT0 line, through which the PICs would reach the CPU,
//! is masked as well (see `apic`).

use x86_64::instructions::port::Port;

/// Command and data ports of the primary and secondary controller.
const PRIMARY_COMMAND: u16 = 0x20;
const PRIMARY_DATA: u16 = 0x21;
const SECONDARY_COMMAND: u16 = 0xa0;
const SECONDARY_DATA: u16 = 0xa1;
/// A port whose writes do nothing but take time (POST diagnostics).
const DELAY_PORT: u16 = 0x80;

/// ICW1: initialise, ICW4 follows (edge-triggered, cascaded).
const ICW1_INIT_WITH_ICW4: u8 = 0x11;
/// ICW3 for the primary: a secondary hangs off input 2.
const ICW3_PRIMARY_HAS_SECONDARY_ON_2: u8 = 1 << 2;
/// ICW3 for the secondary: its cascade identity is 2.
const ICW3_SECONDARY_ID: u8 = 2;
/// ICW4: 8086 mode.
const ICW4_8086: u8 = 0x01;
/// Inputs per controller.
const LINES: u8 = 8;
/// Interrupt mask with every input masked.
const ALL_MASKED: u8 = 0xff;

/// First of the 16 vectors the (masked) PICs would use. Vectors
/// `VECTOR_BASE..VECTOR_BASE + 16` are reserved for them.
pub const VECTOR_BASE: u8 = 0xe0;

fn write(port: u16, value: u8) {
    // SAFETY: the 8259 ports and the POST delay port are standard PC I/O
    // ports; writing them affects only the legacy interrupt controllers.
    unsafe {
        Port::<u8>::new(port).write(value);
        Port::<u8>::new(DELAY_PORT).write(0);
    }
}

/// Moves both PICs' vectors to [`VECTOR_BASE`] and masks every input.
pub fn remap_and_mask() {
    write(PRIMARY_COMMAND, ICW1_INIT_WITH_ICW4);
    write(SECONDARY_COMMAND, ICW1_INIT_WITH_ICW4);
    write(PRIMARY_DATA, VECTOR_BASE);
    write(SECONDARY_DATA, VECTOR_BASE + LINES);
    write(PRIMARY_DATA, ICW3_PRIMARY_HAS_SECONDARY_ON_2);
    write(SECONDARY_DATA, ICW3_SECONDARY_ID);
    write(PRIMARY_DATA, ICW4_8086);
    write(SECONDARY_DATA, ICW4_8086);
    write(PRIMARY_DATA, ALL_MASKED);
    write(SECONDARY_DATA, ALL_MASKED);
}

/// The two controllers' interrupt masks (primary, secondary).
pub fn masks() -> (u8, u8) {
    // SAFETY: reading the data port of an initialised 8259 returns its mask
    // register and has no side effects.
    unsafe {
        (
            Port::<u8>::new(PRIMARY_DATA).read(),
            Port::<u8>::new(SECONDARY_DATA).read(),
        )
    }
}
