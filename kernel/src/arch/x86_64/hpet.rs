//! The HPET (high precision event timer), used as a free-running counter:
//! the reference against which the TSC and the local APIC timer are
//! calibrated.
//!
//! Only the main counter is used. [`init`] checks that the capabilities
//! register describes a real HPET (a counter period between 0 and 100 ns,
//! as the specification requires), switches legacy replacement routing off
//! so the HPET never takes over ISA IRQs 0 and 8, starts the counter and
//! checks that it advances. The comparators are left disabled. Afterwards
//! the block is only read, so no lock is needed.

/// Register offsets.
const CAPABILITIES: usize = 0x000;
const CONFIGURATION: usize = 0x010;
const MAIN_COUNTER: usize = 0x0f0;
/// Capabilities: counter period (femtoseconds) in the upper half,
/// 64-bit counter flag, number of comparators minus one.
const PERIOD_SHIFT: u32 = 32;
const COUNTER_64BIT: u64 = 1 << 13;
const COMPARATORS_SHIFT: u32 = 8;
const COMPARATORS_MASK: u64 = 0x1f;
/// Configuration: enable the main counter; legacy replacement routing.
const ENABLE_COUNTER: u64 = 1 << 0;
const LEGACY_ROUTING: u64 = 1 << 1;
/// The specification caps the period at 100 ns.
const MAX_PERIOD_FS: u64 = 100_000_000;
/// Femtoseconds in a nanosecond and in a second.
const FS_PER_NS: u64 = 1_000_000;
const FS_PER_SEC: u64 = 1_000_000_000_000_000;
/// Reads of the counter allowed before concluding it does not advance.
const START_POLLS: u32 = 100_000;

/// A working HPET's counter.
#[derive(Clone, Copy, Debug)]
pub struct Hpet {
    /// Virtual address of the register block.
    base: usize,
    period_fs: u64,
    wide: bool,
    comparators: u8,
}

impl Hpet {
    fn read(&self, offset: usize) -> u64 {
        // SAFETY: `base` maps the HPET's 1 KiB register block uncached, and
        // every offset used is an aligned 64-bit register inside it.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u64) }
    }

    fn write(&self, offset: usize, value: u64) {
        // SAFETY: as for `read`; only the configuration register is written.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u64, value) }
    }

    /// The main counter (only the low 32 bits count on a 32-bit HPET).
    pub fn counter(&self) -> u64 {
        let value = self.read(MAIN_COUNTER);
        if self.wide {
            value
        } else {
            value & u64::from(u32::MAX)
        }
    }

    /// Counter ticks from `earlier` to `later`, across one wrap-around.
    pub fn elapsed(&self, earlier: u64, later: u64) -> u64 {
        let diff = later.wrapping_sub(earlier);
        if self.wide {
            diff
        } else {
            diff & u64::from(u32::MAX)
        }
    }

    /// Nanoseconds that `ticks` counter ticks take.
    pub fn ticks_to_nanos(&self, ticks: u64) -> u64 {
        (u128::from(ticks) * u128::from(self.period_fs) / u128::from(FS_PER_NS)) as u64
    }

    /// Counter ticks in `nanos` nanoseconds (at least one).
    pub fn nanos_to_ticks(&self, nanos: u64) -> u64 {
        (u128::from(nanos) * u128::from(FS_PER_NS) / u128::from(self.period_fs)).max(1) as u64
    }

    /// The counter frequency in Hz.
    pub fn frequency_hz(&self) -> u64 {
        FS_PER_SEC / self.period_fs
    }

    pub fn comparators(&self) -> u8 {
        self.comparators
    }

    /// Busy-waits until `ticks` counter ticks have passed since `start`.
    pub fn wait_until(&self, start: u64, ticks: u64) -> u64 {
        loop {
            let now = self.counter();
            let elapsed = self.elapsed(start, now);
            if elapsed >= ticks {
                return elapsed;
            }
            core::hint::spin_loop();
        }
    }
}

/// Maps and starts the HPET at physical `phys`; `None` if it does not look
/// like a working HPET.
pub fn init(phys: u64) -> Option<Hpet> {
    let base = crate::acpi::map_registers(phys)? as usize;
    let mut hpet = Hpet {
        base,
        period_fs: 0,
        wide: false,
        comparators: 0,
    };
    let caps = hpet.read(CAPABILITIES);
    hpet.period_fs = caps >> PERIOD_SHIFT;
    hpet.wide = caps & COUNTER_64BIT != 0;
    hpet.comparators = ((caps >> COMPARATORS_SHIFT) & COMPARATORS_MASK) as u8 + 1;
    if hpet.period_fs == 0 || hpet.period_fs > MAX_PERIOD_FS {
        log::warn!(
            "hpet: period {} fs is invalid; not using the HPET at {phys:#x}",
            hpet.period_fs
        );
        return None;
    }
    let config = hpet.read(CONFIGURATION);
    hpet.write(CONFIGURATION, (config & !LEGACY_ROUTING) | ENABLE_COUNTER);
    let start = hpet.counter();
    if !(0..START_POLLS).any(|_| hpet.counter() != start) {
        log::warn!("hpet: the counter at {phys:#x} does not advance; not using it");
        return None;
    }
    Some(hpet)
}
