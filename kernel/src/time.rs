//! Time: the periodic tick, the TSC clock, and waiting.
//!
//! [`init`] silences the legacy 8259 PICs, enables the local APIC, masks
//! every IO-APIC pin, then calibrates the TSC and the local APIC timer
//! against a reference of known frequency: the HPET's main counter when
//! the firmware describes one, else the PIT's channel 2. Both are measured
//! over the same [`CALIBRATION_MILLIS`] window. Finally the APIC timer is
//! started periodic at the configured rate on [`vector::TIMER`]; each
//! interrupt adds one to [`ticks`].
//!
//! Invariants:
//!
//! * Everything readable from other code ([`ticks`], [`uptime_micros`],
//!   [`tsc_hz`], [`timer_hz`]) is a plain atomic load: no locks, so all of
//!   it works in interrupt context and before [`init`] (returning 0).
//! * Uptime is measured from TSC zero (CPU reset), so it includes firmware
//!   and loader time, and is 0 until the TSC has been calibrated.
//! * If neither reference works, nominal frequencies are assumed and said
//!   so in [`describe`]; bad or missing hardware never panics the kernel.

use crate::arch::x86_64::idt::vector;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::arch::x86_64::{apic, cpu, hpet, ioapic, pic, pit, traps};
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use spin::Once;

const NANOS_PER_SEC: u64 = 1_000_000_000;
const MICROS_PER_SEC: u64 = 1_000_000;
const HZ_PER_MHZ: u64 = 1_000_000;
const HZ_PER_100MHZ: u64 = 100_000_000;
const HZ_PER_GHZ: u64 = 1_000_000_000;
const MILLIS_PER_SEC: u64 = 1_000;
/// Length of the calibration window.
pub const CALIBRATION_MILLIS: u64 = 50;
/// The same window in PIT ticks (fits the PIT's 16-bit counter).
const PIT_CALIBRATION_COUNT: u16 = (pit::FREQUENCY_HZ * CALIBRATION_MILLIS / MILLIS_PER_SEC) as u16;
/// What a calibrated TSC may plausibly run at.
const TSC_HZ_MIN: u64 = 100 * HZ_PER_MHZ;
const TSC_HZ_MAX: u64 = 20 * HZ_PER_GHZ;
/// What the APIC timer's input (bus or crystal) clock may plausibly be.
const BUS_HZ_MIN: u64 = HZ_PER_MHZ;
const BUS_HZ_MAX: u64 = 10 * HZ_PER_GHZ;
/// Assumed when nothing could be measured (QEMU's values).
const ASSUMED_TSC_HZ: u64 = HZ_PER_GHZ;
const ASSUMED_BUS_HZ: u64 = HZ_PER_GHZ;
/// Fixed-point shift of the TSC-to-microseconds multiplier.
const MICROS_SHIFT: u32 = 32;
/// Spin-loop iterations per microsecond when the TSC is not calibrated
/// (a rough guess; only early boot code could get there).
const UNCALIBRATED_SPINS_PER_MICRO: u64 = 100;

static TICKS: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// `(MICROS_PER_SEC << MICROS_SHIFT) / tsc_hz`, 0 until calibrated.
static TSC_TO_MICROS: AtomicU64 = AtomicU64::new(0);
static TIMER_HZ: AtomicU32 = AtomicU32::new(0);
static SETUP: Once<Setup> = Once::new();

/// What the TSC and APIC timer were measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    Hpet,
    Pit,
    /// Nothing worked; nominal values were assumed.
    Assumed,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reference::Hpet => "calibrated against HPET",
            Reference::Pit => "calibrated against PIT",
            Reference::Assumed => "NOT calibrated, assumed",
        })
    }
}

/// One calibration measurement.
#[derive(Clone, Copy, Debug)]
struct Rates {
    reference: Reference,
    tsc_hz: u64,
    /// The APIC timer's input clock (before its divider).
    bus_hz: u64,
}

/// What [`init`] set up, for [`describe`].
#[derive(Clone, Copy, Debug)]
struct Setup {
    rates: Rates,
    /// Timer rate actually running (0 if the APIC could not be used).
    timer_hz: u32,
    apic: Option<apic::Mode>,
}

/// Brings up the interrupt controllers and starts the tick at `timer_hz`.
/// Call once, with interrupts disabled.
pub fn init(platform: &crate::acpi::Platform, timer_hz: u32) {
    if platform.has_8259 {
        pic::remap_and_mask();
    }
    let apic_mode = apic::init(platform.local_apic)
        .map_err(|why| log::error!("time: local APIC unusable ({why}); no timer interrupts"))
        .ok();
    if let Some(mode) = apic_mode {
        log::debug!("time: local APIC {} enabled ({mode:?})", apic::id());
    }
    let ioapics = ioapic::init(platform);
    if ioapics == 0 {
        log::warn!("time: no usable IO-APIC; device interrupts will not work");
    }
    let rates = calibrate(platform.hpet);
    publish_tsc(rates.tsc_hz);
    let running_hz = match apic_mode {
        Some(_) => start_tick(rates.bus_hz, timer_hz),
        None => 0,
    };
    SETUP.call_once(|| Setup {
        rates,
        timer_hz: running_hz,
        apic: apic_mode,
    });
    log::info!("time: {}", describe());
}

fn publish_tsc(tsc_hz: u64) {
    let multiplier = (u128::from(MICROS_PER_SEC) << MICROS_SHIFT) / u128::from(tsc_hz.max(1));
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    TSC_TO_MICROS.store(multiplier as u64, Ordering::Relaxed);
}

/// Starts the APIC timer periodic; returns the rate it runs at.
fn start_tick(bus_hz: u64, timer_hz: u32) -> u32 {
    let hz = timer_hz.max(1);
    let count = (bus_hz / apic::TIMER_DIVISOR / u64::from(hz)).clamp(1, u64::from(u32::MAX));
    traps::register_irq(vector::TIMER, on_tick);
    apic::timer_start_periodic(vector::TIMER, count as u32);
    TIMER_HZ.store(hz, Ordering::Relaxed);
    hz
}

/// The tick interrupt: count it, acknowledge it, and let the scheduler
/// wake sleepers and charge the time slice.
fn on_tick(_frame: &mut TrapFrame) {
    let now = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
    apic::eoi();
    crate::sched::on_tick(now);
}

/// Measures the TSC and APIC timer rates against the HPET if there is a
/// working one, else the PIT, else assumes nominal values.
fn calibrate(hpet_phys: Option<u64>) -> Rates {
    if let Some((phys, hpet)) = hpet_phys.and_then(|phys| Some((phys, hpet::init(phys)?))) {
        log::info!(
            "time: HPET at {phys:#x}, {} MHz, {} comparators",
            hpet.frequency_hz() / HZ_PER_MHZ,
            hpet.comparators()
        );
        match measure_with_hpet(&hpet) {
            Some(rates) if plausible(&rates) => return rates,
            other => log::warn!("time: HPET calibration implausible ({other:?}); trying the PIT"),
        }
    }
    match measure_with_pit() {
        Some(rates) if plausible(&rates) => return rates,
        other => log::warn!("time: PIT calibration failed ({other:?})"),
    }
    log::warn!("time: assuming TSC {ASSUMED_TSC_HZ} Hz and APIC bus {ASSUMED_BUS_HZ} Hz");
    Rates {
        reference: Reference::Assumed,
        tsc_hz: ASSUMED_TSC_HZ,
        bus_hz: ASSUMED_BUS_HZ,
    }
}

/// The TSC rate must be plausible; the bus rate too if there is an APIC.
fn plausible(rates: &Rates) -> bool {
    let tsc_ok = (TSC_HZ_MIN..=TSC_HZ_MAX).contains(&rates.tsc_hz);
    let bus_ok = !apic::enabled() || (BUS_HZ_MIN..=BUS_HZ_MAX).contains(&rates.bus_hz);
    tsc_ok && bus_ok
}

/// Converts counts over `nanos` into rates.
fn rates(reference: Reference, nanos: u64, tsc_delta: u64, apic_delta: u32) -> Option<Rates> {
    if nanos == 0 {
        return None;
    }
    let per_sec =
        |count: u64| (u128::from(count) * u128::from(NANOS_PER_SEC) / u128::from(nanos)) as u64;
    Some(Rates {
        reference,
        tsc_hz: per_sec(tsc_delta),
        bus_hz: per_sec(u64::from(apic_delta) * apic::TIMER_DIVISOR),
    })
}

fn measure_with_hpet(hpet: &hpet::Hpet) -> Option<Rates> {
    let window = hpet.nanos_to_ticks(CALIBRATION_MILLIS * NANOS_PER_SEC / MILLIS_PER_SEC);
    apic::timer_start_oneshot_masked(u32::MAX);
    let start = hpet.counter();
    let (tsc0, apic0) = (cpu::rdtsc(), apic::timer_current());
    let elapsed = hpet.wait_until(start, window);
    let (tsc1, apic1) = (cpu::rdtsc(), apic::timer_current());
    apic::timer_stop();
    rates(
        Reference::Hpet,
        hpet.ticks_to_nanos(elapsed),
        tsc1.wrapping_sub(tsc0),
        apic0.wrapping_sub(apic1),
    )
}

fn measure_with_pit() -> Option<Rates> {
    let (mut start, mut end) = ((0, 0), (0, 0));
    apic::timer_start_oneshot_masked(u32::MAX);
    let finished = pit::oneshot_wait(
        PIT_CALIBRATION_COUNT,
        || start = (cpu::rdtsc(), apic::timer_current()),
        || end = (cpu::rdtsc(), apic::timer_current()),
    );
    apic::timer_stop();
    if !finished {
        return None;
    }
    let nanos = pit::ticks_to_nanos(PIT_CALIBRATION_COUNT);
    rates(
        Reference::Pit,
        nanos,
        end.0.wrapping_sub(start.0),
        start.1.wrapping_sub(end.1),
    )
}

/// Timer interrupts received so far.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Microseconds since CPU reset, from the TSC; 0 before calibration.
/// Lock-free, safe anywhere.
pub fn uptime_micros() -> u64 {
    let multiplier = TSC_TO_MICROS.load(Ordering::Relaxed);
    if multiplier == 0 {
        return 0;
    }
    ((u128::from(cpu::rdtsc()) * u128::from(multiplier)) >> MICROS_SHIFT) as u64
}

/// Nanoseconds since CPU reset, from the TSC; 0 before calibration.
pub fn uptime_nanos() -> u64 {
    const NANOS_PER_SECOND: u128 = 1_000_000_000;
    match tsc_hz() {
        0 => 0,
        hz => (u128::from(cpu::rdtsc()) * NANOS_PER_SECOND / u128::from(hz)) as u64,
    }
}

/// The calibrated TSC frequency in Hz (0 before [`init`]).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// The rate the tick runs at (0 if it is not running).
pub fn timer_hz() -> u32 {
    TIMER_HZ.load(Ordering::Relaxed)
}

/// Busy-waits `us` microseconds on the TSC.
pub fn busy_wait_micros(us: u64) {
    let hz = tsc_hz();
    if hz == 0 {
        for _ in 0..us.saturating_mul(UNCALIBRATED_SPINS_PER_MICRO) {
            core::hint::spin_loop();
        }
        return;
    }
    let cycles = (u128::from(us) * u128::from(hz) / u128::from(MICROS_PER_SEC)) as u64;
    let start = cpu::rdtsc();
    while cpu::rdtsc().wrapping_sub(start) < cycles {
        core::hint::spin_loop();
    }
}

/// Halts until `n` more ticks have arrived. With interrupts disabled or no
/// tick running it busy-waits for as long as `n` ticks would take instead
/// of hanging.
pub fn sleep_ticks(n: u64) {
    let hz = timer_hz();
    if hz == 0 || !x86_64::instructions::interrupts::are_enabled() {
        let hz = if hz == 0 {
            bulkhead_cmdline::TIMER_HZ_DEFAULT
        } else {
            hz
        };
        busy_wait_micros(n.saturating_mul(MICROS_PER_SEC) / u64::from(hz));
        return;
    }
    let target = ticks().saturating_add(n);
    while ticks() < target {
        x86_64::instructions::hlt();
    }
}

/// A one-line summary of the timer set-up, for the boot banner.
pub fn describe() -> impl fmt::Display {
    Description
}

struct Description;

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(setup) = SETUP.get() else {
            return f.write_str("not initialised");
        };
        let rates = setup.rates;
        match setup.apic {
            Some(mode) if setup.timer_hz != 0 => write!(
                f,
                "LAPIC timer {} Hz ({}, bus {} MHz, {})",
                setup.timer_hz,
                if mode == apic::Mode::X2Apic {
                    "x2APIC"
                } else {
                    "xAPIC"
                },
                rates.bus_hz / HZ_PER_MHZ,
                rates.reference
            )?,
            _ => write!(f, "no LAPIC timer ({})", rates.reference)?,
        }
        write!(
            f,
            ", TSC {}.{} GHz{}",
            rates.tsc_hz / HZ_PER_GHZ,
            rates.tsc_hz % HZ_PER_GHZ / HZ_PER_100MHZ,
            if cpu::features().invariant_tsc {
                " invariant"
            } else {
                ""
            }
        )?;
        for io in ioapic::controllers() {
            write!(f, ", {io}")?;
        }
        Ok(())
    }
}
