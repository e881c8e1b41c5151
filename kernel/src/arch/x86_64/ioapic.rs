//! IO-APICs: where device interrupt lines (global system interrupts, GSIs)
//! are turned into vectors for a CPU.
//!
//! [`init`] maps every IO-APIC the platform lists and masks all of its
//! pins. The 16 ISA IRQs are pre-programmed (still masked) with the
//! polarity and trigger mode from the ACPI interrupt source overrides, so
//! a later [`route_isa`] only has to fill in the vector and unmask. Nothing
//! is unmasked here.
//!
//! Each IO-APIC is reached through an index/data register pair, so every
//! access holds that IO-APIC's lock. Routing is done from normal kernel
//! context, never from interrupt handlers, so the lock cannot deadlock.
//! A redirection entry is always masked before it is changed and unmasked
//! (if at all) by the last write.

use crate::acpi::{Platform, Polarity, Trigger, ISA_IRQS};
use alloc::vec::Vec;
use core::fmt;
use spin::{Mutex, Once};

/// Register window: select register, then data window.
const REG_SELECT: usize = 0x00;
const REG_WINDOW: usize = 0x10;
/// Register indices.
const IOAPIC_VERSION: u32 = 0x01;
const REDIRECTION_BASE: u32 = 0x10;
/// Version register: maximum redirection entry in bits 16..24.
const MAX_ENTRY_SHIFT: u32 = 16;
const MAX_ENTRY_MASK: u32 = 0xff;
/// What a read from an address with no device behind it returns.
const NO_DEVICE: u32 = u32::MAX;
/// Redirection entry, low half: polarity, trigger, mask bits (fixed
/// delivery, physical destination mode are zeros).
const ENTRY_ACTIVE_LOW: u32 = 1 << 13;
const ENTRY_LEVEL: u32 = 1 << 15;
const ENTRY_MASKED: u32 = 1 << 16;
const ENTRY_VECTOR_MASK: u32 = 0xff;
/// Redirection entry, high half: destination APIC ID in bits 24..32.
const DESTINATION_SHIFT: u32 = 24;

/// Why a routing request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No IO-APIC has a pin for this GSI.
    NoSuchGsi,
    /// Not a device vector (exception range, or the spurious vector).
    BadVector,
    /// Not an ISA IRQ (0..16).
    NoSuchIsaIrq,
}

/// One mapped IO-APIC.
pub struct IoApic {
    pub id: u8,
    pub phys: u64,
    pub gsi_base: u32,
    pub pins: u32,
    /// Virtual address of the register window, under the access lock.
    regs: Mutex<usize>,
}

impl IoApic {
    fn read(regs: usize, index: u32) -> u32 {
        // SAFETY: `regs` maps this IO-APIC's register page uncached; the
        // select and window registers are aligned 32-bit registers in it.
        // The caller holds the lock, so the select/data pair is not split.
        unsafe {
            core::ptr::write_volatile((regs + REG_SELECT) as *mut u32, index);
            core::ptr::read_volatile((regs + REG_WINDOW) as *const u32)
        }
    }

    fn write(regs: usize, index: u32, value: u32) {
        // SAFETY: as for `read`.
        unsafe {
            core::ptr::write_volatile((regs + REG_SELECT) as *mut u32, index);
            core::ptr::write_volatile((regs + REG_WINDOW) as *mut u32, value);
        }
    }

    fn handles(&self, gsi: u32) -> bool {
        gsi >= self.gsi_base && gsi - self.gsi_base < self.pins
    }

    /// Reads redirection entry `pin` as (low, high).
    fn entry(&self, pin: u32) -> (u32, u32) {
        let regs = self.regs.lock();
        let index = REDIRECTION_BASE + 2 * pin;
        (Self::read(*regs, index), Self::read(*regs, index + 1))
    }

    /// Writes redirection entry `pin`: masks it, sets the destination,
    /// then writes the low half (which may unmask it) last.
    fn set_entry(&self, pin: u32, low: u32, high: u32) {
        let regs = self.regs.lock();
        let index = REDIRECTION_BASE + 2 * pin;
        let old_low = Self::read(*regs, index);
        Self::write(*regs, index, old_low | ENTRY_MASKED);
        Self::write(*regs, index + 1, high);
        Self::write(*regs, index, low);
    }
}

static IOAPICS: Once<Vec<IoApic>> = Once::new();
/// ISA IRQ -> (GSI, polarity, trigger), overrides applied.
static ISA_ROUTES: Once<[(u32, Polarity, Trigger); ISA_IRQS as usize]> = Once::new();

/// Maps every IO-APIC of `platform`, masks all pins and pre-programs the
/// ISA lines. Returns how many IO-APICs are usable.
pub fn init(platform: &Platform) -> usize {
    let list = IOAPICS.call_once(|| {
        platform
            .io_apics
            .iter()
            .filter_map(|info| map_one(info.id, info.address, info.gsi_base))
            .collect()
    });
    for io in list {
        for pin in 0..io.pins {
            io.set_entry(pin, ENTRY_MASKED, 0);
        }
    }
    let routes = ISA_ROUTES.call_once(|| core::array::from_fn(|irq| platform.isa_route(irq as u8)));
    // Identity-mapped lines first, overridden ones last, so that where an
    // override takes a GSI that an identity line would also claim (IRQ 0
    // on GSI 2 displacing the cascade), the override's settings win.
    let overridden = |irq: usize| {
        platform
            .isa_overrides
            .iter()
            .any(|o| usize::from(o.isa_irq) == irq)
    };
    let identity = (0..routes.len()).filter(|&irq| !overridden(irq));
    for irq in identity.chain((0..routes.len()).filter(|&irq| overridden(irq))) {
        let (gsi, polarity, trigger) = routes[irq];
        if let Some((io, pin)) = find(gsi) {
            io.set_entry(pin, ENTRY_MASKED | line_bits(polarity, trigger), 0);
        }
    }
    list.len()
}

fn map_one(id: u8, phys: u64, gsi_base: u32) -> Option<IoApic> {
    let Some(regs) = crate::acpi::map_registers(phys) else {
        log::warn!("ioapic: cannot map IO-APIC {id} at {phys:#x}; ignoring it");
        return None;
    };
    let regs = regs as usize;
    let version = IoApic::read(regs, IOAPIC_VERSION);
    if version == NO_DEVICE {
        log::warn!("ioapic: nothing answers at {phys:#x} (IO-APIC {id}); ignoring it");
        return None;
    }
    let pins = ((version >> MAX_ENTRY_SHIFT) & MAX_ENTRY_MASK) + 1;
    Some(IoApic {
        id,
        phys,
        gsi_base,
        pins,
        regs: Mutex::new(regs),
    })
}

/// The IO-APICs [`init`] mapped.
pub fn controllers() -> &'static [IoApic] {
    IOAPICS.get().map_or(&[], |v| v.as_slice())
}

fn find(gsi: u32) -> Option<(&'static IoApic, u32)> {
    controllers()
        .iter()
        .find(|io| io.handles(gsi))
        .map(|io| (io, gsi - io.gsi_base))
}

fn line_bits(polarity: Polarity, trigger: Trigger) -> u32 {
    let mut bits = 0;
    if polarity == Polarity::ActiveLow {
        bits |= ENTRY_ACTIVE_LOW;
    }
    if trigger == Trigger::Level {
        bits |= ENTRY_LEVEL;
    }
    bits
}

/// Routes `gsi` to `vector` on the CPU with APIC ID `destination`, with
/// the given line properties, and unmasks it.
pub fn route(
    gsi: u32,
    vector: u8,
    destination: u8,
    polarity: Polarity,
    trigger: Trigger,
) -> Result<(), RouteError> {
    let spurious = super::idt::vector::SPURIOUS;
    if vector < super::idt::vector::FIRST_IRQ || vector == spurious {
        return Err(RouteError::BadVector);
    }
    let (io, pin) = find(gsi).ok_or(RouteError::NoSuchGsi)?;
    let low = u32::from(vector) | line_bits(polarity, trigger);
    io.set_entry(pin, low, u32::from(destination) << DESTINATION_SHIFT);
    Ok(())
}

/// Routes ISA IRQ `irq` (overrides applied) to `vector` on `destination`
/// and unmasks it. Returns the GSI it arrives on.
// Only the tests route ISA lines until device drivers arrive.
pub fn route_isa(irq: u8, vector: u8, destination: u8) -> Result<u32, RouteError> {
    let (gsi, polarity, trigger) = isa_route(irq).ok_or(RouteError::NoSuchIsaIrq)?;
    route(gsi, vector, destination, polarity, trigger)?;
    Ok(gsi)
}

/// The GSI and line properties of ISA IRQ `irq`, once [`init`] ran.
pub fn isa_route(irq: u8) -> Option<(u32, Polarity, Trigger)> {
    ISA_ROUTES.get()?.get(usize::from(irq)).copied()
}

/// Masks `gsi`, keeping the rest of its entry.
// Only the tests mask lines until device drivers arrive.
pub fn mask(gsi: u32) -> Result<(), RouteError> {
    let (io, pin) = find(gsi).ok_or(RouteError::NoSuchGsi)?;
    let (low, high) = io.entry(pin);
    io.set_entry(pin, low | ENTRY_MASKED, high);
    Ok(())
}

/// Unmasks `gsi`, keeping the rest of its entry (route it first).
// Only the tests unmask lines until device drivers arrive.
pub fn unmask(gsi: u32) -> Result<(), RouteError> {
    let (io, pin) = find(gsi).ok_or(RouteError::NoSuchGsi)?;
    let (low, high) = io.entry(pin);
    if low & ENTRY_VECTOR_MASK < u32::from(super::idt::vector::FIRST_IRQ) {
        return Err(RouteError::BadVector);
    }
    io.set_entry(pin, low & !ENTRY_MASKED, high);
    Ok(())
}

/// A pin's current programming, for tests and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinState {
    pub vector: u8,
    pub masked: bool,
    pub active_low: bool,
    pub level: bool,
    pub destination: u8,
}

/// Reads back how `gsi` is programmed.
pub fn pin_state(gsi: u32) -> Option<PinState> {
    let (io, pin) = find(gsi)?;
    let (low, high) = io.entry(pin);
    Some(PinState {
        vector: (low & ENTRY_VECTOR_MASK) as u8,
        masked: low & ENTRY_MASKED != 0,
        active_low: low & ENTRY_ACTIVE_LOW != 0,
        level: low & ENTRY_LEVEL != 0,
        destination: (high >> DESTINATION_SHIFT) as u8,
    })
}

impl fmt::Display for IoApic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IO-APIC {} at {:#x} ({} pins",
            self.id, self.phys, self.pins
        )?;
        if self.gsi_base != 0 {
            write!(f, ", GSI {}", self.gsi_base)?;
        }
        f.write_str(")")
    }
}
