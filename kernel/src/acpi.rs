//! ACPI: what the firmware's static tables say about interrupt controllers
//! and timers, boiled down to one [`Platform`] value.
//!
//! The `acpi` crate finds the root table from the RSDP, looks tables up by
//! signature and checks their checksums; this module reads the MADT (local
//! APIC address, IO-APICs, ISA interrupt source overrides, processors) and
//! the HPET description out of the validated tables. Nothing else (no AML)
//! is interpreted.
//!
//! Invariants and defences against bad firmware:
//!
//! * Every physical range the crate asks for is checked (below the
//!   architectural physical limit, inside the canonical window, at most
//!   [`MAX_MAP_BYTES`] long) before it is mapped. A range that fails the
//!   check, or cannot be mapped, is served from a page of zeros: the crate
//!   reads a header of zeros, finds a wrong signature and reports the table
//!   as invalid. It never reads more than that header before validating it.
//! * The RSDP's own length is checked before the crate checksums it.
//! * MADT entries are walked here, bounds-checked against the table length,
//!   rather than with the crate's iterator (which trusts entry lengths).
//! * Any failure ends in [`Platform::pc_defaults`] with a warning; nothing
//!   here panics on what the firmware wrote.
//!
//! Mappings are never torn down: the tables stay readable through the
//! physical-memory window for the kernel's lifetime.

use ::acpi::madt::{
    EntryHeader, InterruptSourceOverrideEntry, IoApicEntry, LocalApicAddressOverrideEntry,
    LocalApicEntry, LocalX2ApicEntry, Madt,
};
use ::acpi::sdt::{SdtHeader, Signature};
use ::acpi::{AcpiHandler, AcpiTable, AcpiTables, PhysicalMapping};
use alloc::vec::Vec;
use core::fmt;
use core::mem::size_of;
use core::ptr::NonNull;
use spin::Once;

use crate::mm::paging::{self, Access};
use crate::mm::PAGE_SIZE;

/// Where the local APIC lives on every PC unless the firmware moved it.
pub const DEFAULT_LOCAL_APIC: u64 = 0xfee0_0000;
/// Where the first IO-APIC lives on every PC.
pub const DEFAULT_IO_APIC: u64 = 0xfec0_0000;
/// In the MP default configuration, ISA IRQ 0 (the PIT) is on GSI 2.
const DEFAULT_TIMER_IRQ: u8 = 0;
const DEFAULT_TIMER_GSI: u32 = 2;
/// Number of legacy ISA interrupt lines.
pub const ISA_IRQS: u8 = 16;

/// Physical addresses are at most 52 bits wide (x86-64 architectural limit).
const PHYS_LIMIT: u64 = 1 << 52;
/// The longest single range the crate may ask to map (no sane static table
/// comes close).
const MAX_MAP_BYTES: u64 = 4 << 20;
/// The RSDP is 20 bytes (ACPI 1.0) or 36 (2.0+); its length field must be
/// at least that and is never more than a page.
const RSDP_V2_LEN: u32 = 36;
const RSDP_SIGNATURE: &[u8; 8] = b"RSD PTR ";
/// Byte offsets inside the RSDP.
const RSDP_REVISION_OFFSET: usize = 15;
const RSDP_LENGTH_OFFSET: usize = 20;
/// MADT local APIC flags: processor enabled, or can be brought online.
const LAPIC_ENABLED: u32 = 1 << 0;
const LAPIC_ONLINE_CAPABLE: u32 = 1 << 1;
/// MADT interrupt-override flags: polarity (bits 0..2), trigger (bits 2..4).
const MPS_POLARITY_MASK: u16 = 0b11;
const MPS_ACTIVE_HIGH: u16 = 0b01;
const MPS_ACTIVE_LOW: u16 = 0b11;
const MPS_TRIGGER_SHIFT: u16 = 2;
const MPS_EDGE: u16 = 0b01;
const MPS_LEVEL: u16 = 0b11;
/// The ISA bus number in interrupt source overrides.
const ISA_BUS: u8 = 0;
/// MADT entry types read here.
const ENTRY_LOCAL_APIC: u8 = 0;
const ENTRY_IO_APIC: u8 = 1;
const ENTRY_OVERRIDE: u8 = 2;
const ENTRY_LAPIC_ADDRESS: u8 = 5;
const ENTRY_LOCAL_X2APIC: u8 = 9;
/// Generic-address-structure address space "system memory".
const GAS_SYSTEM_MEMORY: u8 = 0;

/// Electrical polarity of an interrupt line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    ActiveHigh,
    ActiveLow,
}

/// Trigger mode of an interrupt line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Edge,
    Level,
}

/// One IO-APIC, as the MADT lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApicInfo {
    pub id: u8,
    pub address: u64,
    /// The first global system interrupt (GSI) its pin 0 carries.
    pub gsi_base: u32,
}

/// An ISA IRQ that is not wired to the GSI with the same number, or not
/// with the ISA default (active high, edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsaOverride {
    pub isa_irq: u8,
    pub gsi: u32,
    pub polarity: Polarity,
    pub trigger: Trigger,
}

/// Where the facts in a [`Platform`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Acpi,
    /// No usable tables: the standard PC layout was assumed.
    PcDefaults,
}

/// The interrupt-controller and timer layout of the machine.
#[derive(Clone, Debug)]
pub struct Platform {
    pub source: Source,
    /// Physical address of the local APIC registers.
    pub local_apic: u64,
    pub io_apics: Vec<IoApicInfo>,
    pub isa_overrides: Vec<IsaOverride>,
    /// Physical address of the HPET register block, if there is one.
    pub hpet: Option<u64>,
    /// Processors the MADT lists as enabled or online-capable (at least 1).
    pub cpus: usize,
    /// The machine also has dual 8259 PICs (they are masked either way).
    pub has_8259: bool,
}

impl Platform {
    /// The layout every PC has unless its firmware says otherwise: the
    /// MP specification's default configuration, where the timer (ISA
    /// IRQ 0) arrives on IO-APIC input 2 and every other ISA IRQ on the
    /// input with its own number.
    pub fn pc_defaults() -> Self {
        Platform {
            source: Source::PcDefaults,
            local_apic: DEFAULT_LOCAL_APIC,
            io_apics: alloc::vec![IoApicInfo {
                id: 0,
                address: DEFAULT_IO_APIC,
                gsi_base: 0
            }],
            isa_overrides: alloc::vec![IsaOverride {
                isa_irq: DEFAULT_TIMER_IRQ,
                gsi: DEFAULT_TIMER_GSI,
                polarity: Polarity::ActiveHigh,
                trigger: Trigger::Edge,
            }],
            hpet: None,
            cpus: 1,
            has_8259: true,
        }
    }

    /// The GSI, polarity and trigger of ISA IRQ `irq`, overrides applied.
    pub fn isa_route(&self, irq: u8) -> (u32, Polarity, Trigger) {
        match self.isa_overrides.iter().find(|o| o.isa_irq == irq) {
            Some(o) => (o.gsi, o.polarity, o.trigger),
            None => (u32::from(irq), Polarity::ActiveHigh, Trigger::Edge),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Acpi => f.write_str("from ACPI: ")?,
            Source::PcDefaults => f.write_str("PC defaults: ")?,
        }
        write!(f, "LAPIC at {:#x}, {} CPU(s)", self.local_apic, self.cpus)?;
        for io in &self.io_apics {
            write!(
                f,
                ", IO-APIC {} at {:#x} (GSI {})",
                io.id, io.address, io.gsi_base
            )?;
        }
        write!(f, ", {} ISA override(s)", self.isa_overrides.len())?;
        match self.hpet {
            Some(hpet) => write!(f, ", HPET at {hpet:#x}"),
            None => f.write_str(", no HPET"),
        }
    }
}

static PLATFORM: Once<Platform> = Once::new();

/// The platform [`init`] found, once it ran.
// Read by the tests; the kernel itself passes the value `init` returned.
pub fn platform() -> Option<&'static Platform> {
    PLATFORM.get()
}

/// Reads the ACPI tables behind `rsdp` (physical), or assumes the PC
/// defaults if there are none or they are broken.
pub fn init(rsdp: Option<u64>) -> Platform {
    let platform = match rsdp {
        None => {
            log::warn!("acpi: the loader found no RSDP; assuming the standard PC layout");
            Platform::pc_defaults()
        }
        Some(rsdp) => from_tables(rsdp).unwrap_or_else(|why| {
            log::warn!("acpi: {why}; assuming the standard PC layout");
            Platform::pc_defaults()
        }),
    };
    log::info!("acpi: {platform}");
    PLATFORM.call_once(|| platform).clone()
}

fn from_tables(rsdp: u64) -> Result<Platform, &'static str> {
    check_rsdp(rsdp)?;
    let address = usize::try_from(rsdp).map_err(|_| "RSDP address out of range")?;
    // SAFETY: `check_rsdp` found a mapped RSDP with a valid signature and a
    // length that stays inside what it mapped.
    let tables = unsafe { AcpiTables::from_rsdp(KernelMapper, address) }
        .map_err(|_| "the RSDP or root table is invalid")?;
    let madt = tables.find_table::<Madt>().map_err(|_| "no valid MADT")?;
    let mut platform = read_madt(&madt)?;
    platform.hpet = read_hpet(&tables);
    Ok(platform)
}

/// Checks the RSDP's signature and length before the crate reads it.
fn check_rsdp(phys: u64) -> Result<(), &'static str> {
    let base =
        map_checked(phys, u64::from(RSDP_V2_LEN), Access::ReadOnly).ok_or("RSDP unmappable")?;
    // SAFETY: `map_checked` mapped `RSDP_V2_LEN` bytes at `base`.
    let head = unsafe { core::slice::from_raw_parts(base, RSDP_V2_LEN as usize) };
    if &head[..RSDP_SIGNATURE.len()] != RSDP_SIGNATURE {
        return Err("no RSDP signature at the address the loader gave");
    }
    if head[RSDP_REVISION_OFFSET] == 0 {
        return Ok(());
    }
    let len_bytes = &head[RSDP_LENGTH_OFFSET..RSDP_LENGTH_OFFSET + 4];
    let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    if !(RSDP_V2_LEN..=PAGE_SIZE as u32).contains(&len) {
        return Err("RSDP length field is implausible");
    }
    map_checked(phys, u64::from(len), Access::ReadOnly).ok_or("RSDP unmappable")?;
    Ok(())
}

/// Reads a MADT entry of type `E` from `bytes` if it is long enough.
fn entry<E: Copy>(bytes: &[u8]) -> Option<E> {
    (bytes.len() >= size_of::<E>()).then(|| {
        // SAFETY: `bytes` holds at least `size_of::<E>()` bytes; the MADT
        // entry types are packed plain-old-data, valid for any bit pattern.
        unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<E>()) }
    })
}

fn read_madt(madt: &PhysicalMapping<KernelMapper, Madt>) -> Result<Platform, &'static str> {
    let len = (madt.get().header.length as usize).min(madt.region_length());
    if len < size_of::<Madt>() {
        return Err("MADT too short");
    }
    // SAFETY: the crate mapped the whole table (`region_length` bytes) to
    // checksum it, and `len` is no longer than that.
    let bytes =
        unsafe { core::slice::from_raw_parts(madt.virtual_start().as_ptr().cast::<u8>(), len) };
    let mut platform = Platform {
        source: Source::Acpi,
        local_apic: u64::from(madt.get().local_apic_address),
        io_apics: Vec::new(),
        isa_overrides: Vec::new(),
        hpet: None,
        cpus: 0,
        has_8259: madt.get().supports_8259(),
    };
    read_madt_entries(&bytes[size_of::<Madt>()..], &mut platform);
    finish_madt(platform)
}

/// Reads the MADT's entry list (the bytes after its fixed part) into `p`,
/// stopping at the first entry whose length is impossible.
pub fn read_madt_entries(entries: &[u8], p: &mut Platform) {
    let mut rest = entries;
    while let Some(header) = entry::<EntryHeader>(rest) {
        let len = usize::from(header.length);
        if len < size_of::<EntryHeader>() || len > rest.len() {
            let offset = entries.len() - rest.len();
            log::warn!(
                "acpi: MADT entry at offset {offset} has a bad length {len}; ignoring the rest"
            );
            return;
        }
        let (this, next) = rest.split_at(len);
        read_madt_entry(header.entry_type, this, p);
        rest = next;
    }
}

fn read_madt_entry(kind: u8, bytes: &[u8], p: &mut Platform) {
    match kind {
        ENTRY_LOCAL_APIC => {
            if let Some(e) = entry::<LocalApicEntry>(bytes) {
                p.cpus += usize::from(e.flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE) != 0);
            }
        }
        ENTRY_LOCAL_X2APIC => {
            if let Some(e) = entry::<LocalX2ApicEntry>(bytes) {
                p.cpus += usize::from(e.flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE) != 0);
            }
        }
        ENTRY_IO_APIC => {
            if let Some(e) = entry::<IoApicEntry>(bytes) {
                p.io_apics.push(IoApicInfo {
                    id: e.io_apic_id,
                    address: u64::from(e.io_apic_address),
                    gsi_base: e.global_system_interrupt_base,
                });
            }
        }
        ENTRY_OVERRIDE => {
            if let Some(o) = entry::<InterruptSourceOverrideEntry>(bytes).and_then(isa_override) {
                p.isa_overrides.retain(|old| old.isa_irq != o.isa_irq);
                p.isa_overrides.push(o);
            }
        }
        ENTRY_LAPIC_ADDRESS => {
            if let Some(e) = entry::<LocalApicAddressOverrideEntry>(bytes) {
                p.local_apic = e.local_apic_address;
            }
        }
        _ => {}
    }
}

/// Decodes an interrupt source override; `None` for non-ISA buses and
/// out-of-range IRQs. "Conforms to the bus" means active high, edge on ISA.
fn isa_override(e: InterruptSourceOverrideEntry) -> Option<IsaOverride> {
    if e.bus != ISA_BUS || e.irq >= ISA_IRQS {
        log::warn!(
            "acpi: ignoring interrupt override for bus {} IRQ {}",
            e.bus,
            e.irq
        );
        return None;
    }
    let flags = e.flags;
    let polarity = match flags & MPS_POLARITY_MASK {
        MPS_ACTIVE_LOW => Polarity::ActiveLow,
        MPS_ACTIVE_HIGH => Polarity::ActiveHigh,
        _ => Polarity::ActiveHigh,
    };
    let trigger = match (flags >> MPS_TRIGGER_SHIFT) & MPS_POLARITY_MASK {
        MPS_LEVEL => Trigger::Level,
        MPS_EDGE => Trigger::Edge,
        _ => Trigger::Edge,
    };
    Some(IsaOverride {
        isa_irq: e.irq,
        gsi: e.global_system_interrupt,
        polarity,
        trigger,
    })
}

/// Sanity checks on what the MADT said, filling gaps with defaults.
fn finish_madt(mut p: Platform) -> Result<Platform, &'static str> {
    if !plausible_mmio(p.local_apic) {
        log::warn!(
            "acpi: MADT local APIC address {:#x} is implausible; using the default",
            p.local_apic
        );
        p.local_apic = DEFAULT_LOCAL_APIC;
    }
    p.io_apics.retain(|io| {
        let ok = plausible_mmio(io.address);
        if !ok {
            log::warn!(
                "acpi: ignoring IO-APIC {} at implausible address {:#x}",
                io.id,
                io.address
            );
        }
        ok
    });
    if p.io_apics.is_empty() {
        return Err("the MADT lists no usable IO-APIC");
    }
    if p.cpus == 0 {
        log::warn!("acpi: the MADT lists no enabled processor; counting the one running this");
        p.cpus = 1;
    }
    Ok(p)
}

/// The HPET description table (ACPI "IA-PC HPET" specification).
#[repr(C, packed)]
#[derive(Clone, Copy)]
struct HpetDescription {
    header: SdtHeader,
    event_timer_block_id: u32,
    address_space: u8,
    register_bit_width: u8,
    register_bit_offset: u8,
    access_size: u8,
    address: u64,
    hpet_number: u8,
    minimum_tick: u16,
    page_protection: u8,
}

// SAFETY: the layout above is the HPET table's, starting with its header.
unsafe impl AcpiTable for HpetDescription {
    const SIGNATURE: Signature = Signature::HPET;

    fn header(&self) -> &SdtHeader {
        &self.header
    }
}

/// The HPET's register block, if a valid HPET table describes one in
/// memory space. (The crate's `HpetInfo` asserts on the address space,
/// which bad firmware must not be able to trip.)
fn read_hpet(tables: &AcpiTables<KernelMapper>) -> Option<u64> {
    let table = tables.find_table::<HpetDescription>().ok()?;
    if table.region_length() < size_of::<HpetDescription>() {
        log::warn!("acpi: HPET table too short; ignoring it");
        return None;
    }
    // SAFETY: the mapping covers `region_length` bytes, checked above to
    // hold the whole structure, which is packed (alignment 1).
    let hpet = unsafe { core::ptr::read(table.virtual_start().as_ptr()) };
    let address = hpet.address;
    if hpet.address_space != GAS_SYSTEM_MEMORY || !plausible_mmio(address) {
        log::warn!(
            "acpi: HPET at {address:#x} (space {}) is unusable",
            hpet.address_space
        );
        return None;
    }
    Some(address)
}

/// A device register block address the kernel is willing to map: nonzero,
/// page-aligned, within the physical address space.
fn plausible_mmio(phys: u64) -> bool {
    phys != 0 && phys.is_multiple_of(PAGE_SIZE) && phys < PHYS_LIMIT
}

/// Maps `[phys, phys + len)` into the window after checking the range;
/// `None` if it is out of bounds or cannot be mapped.
fn map_checked(phys: u64, len: u64, access: Access) -> Option<*mut u8> {
    let end = phys.checked_add(len)?;
    if len > MAX_MAP_BYTES || end > PHYS_LIMIT {
        return None;
    }
    let window_end = crate::mm::phys_window().checked_add(end)?;
    x86_64::VirtAddr::try_new(window_end).ok()?;
    paging::map_physical(phys, len, access).ok()
}

/// Maps a page of device registers at `phys` uncached and returns its
/// virtual address. Refuses (with `None`) addresses the firmware got wrong,
/// including ones that fall on memory already mapped as cacheable RAM.
pub fn map_registers(phys: u64) -> Option<*mut u8> {
    if !plausible_mmio(phys) {
        return None;
    }
    let virt = crate::mm::phys_window().checked_add(phys)?;
    if let Some(flags) = paging::page_flags(virt) {
        if !flags.contains(x86_64::structures::paging::PageTableFlags::NO_CACHE) {
            log::warn!(
                "acpi: device registers at {phys:#x} overlap cacheable memory; not using them"
            );
            return None;
        }
    }
    map_checked(phys, PAGE_SIZE, Access::Device)
}

/// A page of zeros handed to the crate in place of a range that cannot be
/// mapped: it reads as a table with a wrong signature.
#[repr(C, align(4096))]
struct ZeroPage([u8; PAGE_SIZE as usize]);

static ZERO_PAGE: ZeroPage = ZeroPage([0; PAGE_SIZE as usize]);

/// Maps ACPI tables for the `acpi` crate through the physical window.
#[derive(Clone, Copy, Debug)]
struct KernelMapper;

impl AcpiHandler for KernelMapper {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let (virt, mapped) = match map_checked(phys as u64, size as u64, Access::ReadOnly) {
            Some(virt) => (virt, size),
            None => {
                log::warn!("acpi: cannot map {size} bytes of tables at {phys:#x}; treating them as invalid");
                (ZERO_PAGE.0.as_ptr().cast_mut(), ZERO_PAGE.0.len())
            }
        };
        // SAFETY: `virt` is non-null (a window address or a static). Either
        // `size` bytes at `phys` are mapped there, or it is the zero page,
        // which the crate only reads as a header (36 bytes) before its
        // signature check fails. The range is never unmapped.
        unsafe {
            PhysicalMapping::new(
                phys,
                NonNull::new_unchecked(virt.cast::<T>()),
                size,
                mapped,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}
