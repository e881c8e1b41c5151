//! The local APIC of the boot CPU: enabling it, end-of-interrupt, and its
//! timer.
//!
//! The registers are reached through the xAPIC MMIO page, mapped uncached.
//! If the firmware already switched the APIC to x2APIC mode (which cannot
//! be undone without disabling it), the same registers are reached through
//! their MSRs instead; every access goes through [`read`] and [`write`],
//! which pick the right path. The mode and MMIO address are set once by
//! [`init`], before interrupts are enabled, and only read afterwards, so
//! [`eoi`] is lock-free and safe in interrupt context.
//!
//! After [`init`]: software-enabled with spurious vector
//! [`vector::SPURIOUS`], task priority 0, LINT0 masked (the 8259s are not
//! used), LINT1 left as the firmware set it (NMI), error and timer LVTs
//! masked until the timer is started.

use super::idt::vector;
use super::trap_entry::TrapFrame;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

/// The IA32_APIC_BASE MSR and its fields.
const IA32_APIC_BASE: u32 = 0x1b;
const BASE_GLOBAL_ENABLE: u64 = 1 << 11;
const BASE_X2APIC_ENABLE: u64 = 1 << 10;
const BASE_ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;
/// x2APIC register `r` (xAPIC offset) is MSR `X2APIC_MSR_BASE + r / 16`.
const X2APIC_MSR_BASE: u32 = 0x800;
const X2APIC_REGISTER_SHIFT: u32 = 4;

/// Register offsets in the xAPIC page.
const REG_ID: u32 = 0x020;
const REG_TASK_PRIORITY: u32 = 0x080;
const REG_EOI: u32 = 0x0b0;
const REG_SPURIOUS: u32 = 0x0f0;
const REG_ERROR_STATUS: u32 = 0x280;
const REG_LVT_TIMER: u32 = 0x320;
const REG_LVT_LINT0: u32 = 0x350;
const REG_LVT_ERROR: u32 = 0x370;
const REG_TIMER_INITIAL: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;

/// Spurious-vector register: APIC software enable.
const SPURIOUS_APIC_ENABLE: u32 = 1 << 8;
const SPURIOUS_VECTOR_MASK: u32 = 0xff;
/// LVT bits: masked; timer periodic mode.
const LVT_MASKED: u32 = 1 << 16;
const LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// xAPIC ID register: the ID sits in bits 24..32.
const XAPIC_ID_SHIFT: u32 = 24;
/// Timer divide configuration value for "divide by 16".
const DIVIDE_BY_16: u32 = 0b0011;
/// The divisor the timer runs with: timer counts = bus clocks / this.
pub const TIMER_DIVISOR: u64 = 16;

static MMIO_BASE: AtomicU64 = AtomicU64::new(0);
static X2APIC_MODE: AtomicBool = AtomicBool::new(false);

/// How the registers are reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    XApic { phys: u64 },
    X2Apic,
}

fn ready() -> bool {
    X2APIC_MODE.load(Ordering::Relaxed) || MMIO_BASE.load(Ordering::Relaxed) != 0
}

/// Reads register `reg` (xAPIC offset). Returns 0 before [`init`].
fn read(reg: u32) -> u32 {
    if X2APIC_MODE.load(Ordering::Relaxed) {
        let msr = Msr::new(X2APIC_MSR_BASE + (reg >> X2APIC_REGISTER_SHIFT));
        // SAFETY: x2APIC mode is on, so the APIC's registers are MSRs, and
        // only architectural register offsets are passed in.
        return unsafe { msr.read() } as u32;
    }
    match MMIO_BASE.load(Ordering::Relaxed) {
        0 => 0,
        // SAFETY: `base` maps the APIC's register page uncached, and `reg`
        // is an aligned 32-bit register offset inside that page.
        base => unsafe { core::ptr::read_volatile((base + u64::from(reg)) as *const u32) },
    }
}

/// Writes register `reg` (xAPIC offset). Does nothing before [`init`].
fn write(reg: u32, value: u32) {
    if X2APIC_MODE.load(Ordering::Relaxed) {
        let mut msr = Msr::new(X2APIC_MSR_BASE + (reg >> X2APIC_REGISTER_SHIFT));
        // SAFETY: as for `read`; the values written are valid for each
        // register (reserved bits kept zero).
        unsafe { msr.write(u64::from(value)) };
        return;
    }
    match MMIO_BASE.load(Ordering::Relaxed) {
        0 => {}
        // SAFETY: as for `read`.
        base => unsafe { core::ptr::write_volatile((base + u64::from(reg)) as *mut u32, value) },
    }
}

/// Enables the local APIC, whose registers the firmware placed at
/// `acpi_phys` (the IA32_APIC_BASE MSR has the final word), and sets it up
/// as described in the module documentation.
pub fn init(acpi_phys: u64) -> Result<Mode, &'static str> {
    let mut base_msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86-64 CPU.
    let base = unsafe { base_msr.read() };
    let mode = if base & BASE_X2APIC_ENABLE != 0 {
        X2APIC_MODE.store(true, Ordering::Relaxed);
        Mode::X2Apic
    } else {
        let phys = base & BASE_ADDRESS_MASK;
        if phys != acpi_phys {
            log::warn!(
                "apic: MADT says {acpi_phys:#x}, IA32_APIC_BASE says {phys:#x}; using the MSR"
            );
        }
        let virt = crate::acpi::map_registers(phys).ok_or("cannot map the local APIC registers")?;
        // SAFETY: setting the global enable bit (keeping the base address
        // and mode) only turns on the APIC this CPU already has.
        unsafe { base_msr.write(base | BASE_GLOBAL_ENABLE) };
        MMIO_BASE.store(virt as u64, Ordering::Relaxed);
        Mode::XApic { phys }
    };
    write(REG_TASK_PRIORITY, 0);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_LVT_TIMER, LVT_MASKED);
    // The error status register latches on a write; two clear it.
    write(REG_ERROR_STATUS, 0);
    write(REG_ERROR_STATUS, 0);
    write(
        REG_SPURIOUS,
        SPURIOUS_APIC_ENABLE | u32::from(vector::SPURIOUS),
    );
    super::traps::register_irq(vector::SPURIOUS, on_spurious);
    Ok(mode)
}

/// Signals end-of-interrupt for the interrupt being handled. Lock-free;
/// does nothing before [`init`].
pub fn eoi() {
    write(REG_EOI, 0);
}

/// Spurious interrupts need no EOI and no action.
fn on_spurious(_frame: &mut TrapFrame) {}

/// The vector programmed in the spurious-interrupt register.
pub fn spurious_vector() -> u8 {
    (read(REG_SPURIOUS) & SPURIOUS_VECTOR_MASK) as u8
}

/// True if the APIC is initialised and software-enabled.
pub fn enabled() -> bool {
    ready() && read(REG_SPURIOUS) & SPURIOUS_APIC_ENABLE != 0
}

/// This CPU's APIC ID.
pub fn id() -> u32 {
    let raw = read(REG_ID);
    if X2APIC_MODE.load(Ordering::Relaxed) {
        raw
    } else {
        raw >> XAPIC_ID_SHIFT
    }
}

/// Starts the timer counting down once from `initial`, interrupt masked;
/// for calibration with [`timer_current`].
pub fn timer_start_oneshot_masked(initial: u32) {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(vector::TIMER));
    write(REG_TIMER_INITIAL, initial);
}

/// The timer's current count.
pub fn timer_current() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Starts the timer raising `vec` every `initial` timer counts.
pub fn timer_start_periodic(vec: u8, initial: u32) {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_TIMER_PERIODIC | u32::from(vec));
    write(REG_TIMER_INITIAL, initial);
}

/// Stops and masks the timer.
pub fn timer_stop() {
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_TIMER_INITIAL, 0);
}

/// The timer's LVT entry (for tests and diagnostics).
pub fn timer_lvt() -> u32 {
    read(REG_LVT_TIMER)
}
