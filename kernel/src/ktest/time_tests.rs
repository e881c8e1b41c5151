//! Tests of ACPI discovery, the interrupt controllers and the timer.
//!
//! They run with interrupts enabled and the tick running. Waiting is done
//! by busy-polling the TSC with generous deadlines, and rates are checked
//! with wide tolerances, because QEMU's TCG makes guest time uneven.

use super::Test;
use crate::arch::x86_64::idt::vector;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::arch::x86_64::{apic, cpu, ioapic, pic, traps};
use crate::{acpi, check, check_eq, time};
use alloc::string::String;

#[rustfmt::skip]
pub const TESTS: &[Test] = &[
    Test { name: "acpi::platform_found", run: platform_found },
    Test { name: "acpi::isa_irq0_override", run: isa_irq0_override },
    Test { name: "acpi::madt_walk_survives_bad_entries", run: madt_walk_survives_bad_entries },
    Test { name: "acpi::pc_defaults_route_timer_to_gsi2", run: pc_defaults_route_timer_to_gsi2 },
    Test { name: "apic::spurious_vector_set", run: spurious_vector_set },
    Test { name: "apic::timer_periodic_on_tick_vector", run: timer_periodic_on_tick_vector },
    Test { name: "pic::legacy_pic_masked", run: legacy_pic_masked },
    Test { name: "ioapic::pins_masked_at_init", run: pins_masked_at_init },
    Test { name: "ioapic::route_then_mask", run: route_then_mask },
    Test { name: "ioapic::route_isa_follows_override", run: route_isa_follows_override },
    Test { name: "time::tsc_calibrated", run: tsc_calibrated },
    Test { name: "time::timer_ticks_arrive", run: timer_ticks_arrive },
    Test { name: "time::tick_rate_matches_hz", run: tick_rate_matches_hz },
    Test { name: "time::uptime_monotonic", run: uptime_monotonic },
    Test { name: "time::busy_wait_waits", run: busy_wait_waits },
    Test { name: "time::sleep_ticks_sleeps", run: sleep_ticks_sleeps },
];

/// Where QEMU (and every PC) puts the local APIC and the first IO-APIC.
const QEMU_LOCAL_APIC: u64 = 0xfee0_0000;
const QEMU_IO_APIC: u64 = 0xfec0_0000;
/// QEMU's IO-APIC has 24 pins; the ISA timer (IRQ 0) arrives on GSI 2.
const QEMU_IO_APIC_PINS: u32 = 24;
const QEMU_IRQ0_GSI: u32 = 2;
const MICROS_PER_SEC: u64 = 1_000_000;
/// Longest a test waits for something that should happen, in microseconds,
/// on top of the time the ticks it waits for take at the configured rate.
const DEADLINE_MICROS: u64 = 1_000_000;
/// Ticks that must arrive within the deadline (at the default 100 Hz, a
/// second brings 100).
const MIN_TICKS: u64 = 5;
/// Interval over which the tick rate is measured (at least this, and at
/// least [`RATE_WINDOW_TICKS`] ticks long), and the tolerance.
const RATE_WINDOW_MICROS: u64 = 500_000;
const RATE_WINDOW_TICKS: u64 = 10;
const RATE_TOLERANCE_PERCENT: u64 = 50;
const PERCENT: u64 = 100;
/// Both 8259 masks with every line masked.
const ALL_MASKED: (u8, u8) = (0xff, 0xff);
/// Plausible TSC range.
const TSC_MIN_HZ: u64 = 100_000_000;
const TSC_MAX_HZ: u64 = 20_000_000_000;
/// A GSI no device uses on QEMU q35 (the top pin) and a test vector.
const SPARE_GSI: u32 = 23;
const TEST_VECTOR: u8 = 0x50;
/// An ISA line no device drives on QEMU (the second parallel port).
const SPARE_ISA_IRQ: u8 = 5;

/// Handles [`TEST_VECTOR`] in case a routed test line fires.
fn on_test_vector(_frame: &mut TrapFrame) {
    apic::eoi();
}

/// Runs `f` with a handler on [`TEST_VECTOR`] and interrupts off, so a
/// line that fires while routed is acknowledged after `f` masked it.
fn with_test_vector<R>(f: impl FnOnce() -> R) -> R {
    traps::register_irq(TEST_VECTOR, on_test_vector);
    x86_64::instructions::interrupts::without_interrupts(f)
}

fn destination() -> u8 {
    apic::id() as u8
}

fn micros_to_cycles(us: u64) -> u64 {
    (u128::from(us) * u128::from(time::tsc_hz()) / u128::from(MICROS_PER_SEC)) as u64
}

fn cycles_to_micros(cycles: u64) -> u64 {
    (u128::from(cycles) * u128::from(MICROS_PER_SEC) / u128::from(time::tsc_hz().max(1))) as u64
}

/// Microseconds `ticks` ticks take at the running rate.
fn ticks_to_micros(ticks: u64) -> u64 {
    ticks * MICROS_PER_SEC / u64::from(time::timer_hz().max(1))
}

/// Busy-waits until `done()`, or [`DEADLINE_MICROS`] plus the time
/// `ticks` ticks take; returns whether `done()`.
fn wait_for(ticks: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = cpu::rdtsc();
    let cycles = micros_to_cycles(DEADLINE_MICROS + ticks_to_micros(ticks));
    while cpu::rdtsc() - start < cycles {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

fn platform_found() -> Result<(), String> {
    let p = acpi::platform().ok_or("acpi::init did not run")?;
    check_eq!(p.source, acpi::Source::Acpi);
    check_eq!(p.local_apic, QEMU_LOCAL_APIC);
    check!(!p.io_apics.is_empty(), "no IO-APIC in the MADT");
    check_eq!(p.io_apics[0].address, QEMU_IO_APIC);
    check!(p.hpet.is_some(), "q35 has an HPET but none was found");
    check!(p.cpus >= 1);
    Ok(())
}

fn isa_irq0_override() -> Result<(), String> {
    let (gsi, _, _) = ioapic::isa_route(0).ok_or("ioapic::init did not run")?;
    check_eq!(gsi, QEMU_IRQ0_GSI);
    Ok(())
}

/// A MADT entry list with good entries, broken ones, and entries after a
/// zero-length one (which must not be read).
#[rustfmt::skip]
const SYNTHETIC_MADT: &[u8] = &[
    0, 8, 0, 0, 1, 0, 0, 0,                     // local APIC 0, enabled
    0, 8, 1, 1, 0, 0, 0, 0,                     // local APIC 1, disabled
    1, 12, 2, 0, 0x00, 0x10, 0xc0, 0xfe, 24, 0, 0, 0, // IO-APIC 2 at 0xfec01000, GSI 24
    2, 10, 0, 0, 2, 0, 0, 0, 0x0f, 0,           // ISA IRQ 0 -> GSI 2, active low, level
    2, 10, 1, 5, 9, 0, 0, 0, 0, 0,              // bus 1: not ISA, ignored
    2, 10, 0, 16, 9, 0, 0, 0, 0, 0,             // IRQ 16: not ISA, ignored
    1, 4, 0, 0,                                 // IO-APIC entry too short: ignored
    0x7f, 0,                                    // zero length: the walk stops here
    0, 8, 2, 2, 1, 0, 0, 0,                     // never read
];

fn madt_walk_survives_bad_entries() -> Result<(), String> {
    let mut p = acpi::Platform::pc_defaults();
    p.io_apics.clear();
    p.isa_overrides.clear();
    p.cpus = 0;
    acpi::read_madt_entries(SYNTHETIC_MADT, &mut p);
    check_eq!(p.cpus, 1);
    let io = acpi::IoApicInfo {
        id: 2,
        address: 0xfec0_1000,
        gsi_base: 24,
    };
    check_eq!(p.io_apics.as_slice(), &[io]);
    let irq0 = acpi::IsaOverride {
        isa_irq: 0,
        gsi: 2,
        polarity: acpi::Polarity::ActiveLow,
        trigger: acpi::Trigger::Level,
    };
    check_eq!(p.isa_overrides.as_slice(), &[irq0]);
    // An entry running past the end of the table stops the walk too.
    acpi::read_madt_entries(&[0, 200, 0, 0, 1, 0, 0, 0], &mut p);
    check_eq!(p.cpus, 1);
    Ok(())
}

fn pc_defaults_route_timer_to_gsi2() -> Result<(), String> {
    use acpi::{Polarity::ActiveHigh, Trigger::Edge};
    const COM1_IRQ: u8 = 4;
    let p = acpi::Platform::pc_defaults();
    check_eq!(p.isa_route(0), (QEMU_IRQ0_GSI, ActiveHigh, Edge));
    check_eq!(
        p.isa_route(COM1_IRQ),
        (u32::from(COM1_IRQ), ActiveHigh, Edge)
    );
    Ok(())
}

fn spurious_vector_set() -> Result<(), String> {
    check!(apic::enabled(), "local APIC not software-enabled");
    check_eq!(apic::spurious_vector(), vector::SPURIOUS);
    Ok(())
}

fn timer_periodic_on_tick_vector() -> Result<(), String> {
    const PERIODIC: u32 = 1 << 17;
    const MASKED: u32 = 1 << 16;
    const VECTOR_MASK: u32 = 0xff;
    let lvt = apic::timer_lvt();
    check_eq!(lvt & VECTOR_MASK, u32::from(vector::TIMER));
    check!(lvt & PERIODIC != 0, "timer not periodic: LVT {lvt:#x}");
    check!(lvt & MASKED == 0, "timer masked: LVT {lvt:#x}");
    Ok(())
}

fn legacy_pic_masked() -> Result<(), String> {
    check_eq!(pic::masks(), ALL_MASKED);
    Ok(())
}

fn pins_masked_at_init() -> Result<(), String> {
    let controllers = ioapic::controllers();
    check!(!controllers.is_empty());
    check_eq!(controllers[0].pins, QEMU_IO_APIC_PINS);
    for gsi in 0..controllers[0].pins {
        let state = ioapic::pin_state(gsi).ok_or("pin vanished")?;
        check!(state.masked, "GSI {gsi} is unmasked: {state:?}");
    }
    Ok(())
}

fn route_then_mask() -> Result<(), String> {
    use acpi::{Polarity, Trigger};
    let bad = ioapic::route(
        SPARE_GSI,
        vector::NMI,
        destination(),
        Polarity::ActiveHigh,
        Trigger::Edge,
    );
    check_eq!(bad, Err(ioapic::RouteError::BadVector));
    let (routed, masked, unmasked, remasked) = with_test_vector(|| {
        let routed = ioapic::route(
            SPARE_GSI,
            TEST_VECTOR,
            destination(),
            Polarity::ActiveLow,
            Trigger::Level,
        )
        .map(|()| ioapic::pin_state(SPARE_GSI));
        let masked = ioapic::mask(SPARE_GSI).map(|()| ioapic::pin_state(SPARE_GSI));
        let unmasked = ioapic::unmask(SPARE_GSI).map(|()| ioapic::pin_state(SPARE_GSI));
        (routed, masked, unmasked, ioapic::mask(SPARE_GSI))
    });
    check_eq!(remasked, Ok(()));
    let routed = routed
        .map_err(|e| alloc::format!("{e:?}"))?
        .ok_or("no such pin")?;
    check_eq!(routed.vector, TEST_VECTOR);
    check_eq!(routed.destination, destination());
    check!(
        !routed.masked && routed.active_low && routed.level,
        "{routed:?}"
    );
    check!(
        matches!(masked, Ok(Some(s)) if s.masked && s.vector == TEST_VECTOR),
        "{masked:?}"
    );
    check!(
        matches!(unmasked, Ok(Some(s)) if !s.masked && s.level),
        "{unmasked:?}"
    );
    check!(ioapic::pin_state(SPARE_GSI).is_some_and(|s| s.masked));
    check_eq!(ioapic::mask(u32::MAX), Err(ioapic::RouteError::NoSuchGsi));
    Ok(())
}

fn route_isa_follows_override() -> Result<(), String> {
    let (gsi, _, _) = ioapic::isa_route(SPARE_ISA_IRQ).ok_or("ioapic::init did not run")?;
    let (routed, state, remasked) = with_test_vector(|| {
        let routed = ioapic::route_isa(SPARE_ISA_IRQ, TEST_VECTOR, destination());
        let state = ioapic::pin_state(gsi);
        (routed, state, ioapic::mask(gsi))
    });
    check_eq!(routed, Ok(gsi));
    check_eq!(remasked, Ok(()));
    check!(
        matches!(state, Some(s) if s.vector == TEST_VECTOR && !s.masked),
        "{state:?}"
    );
    check_eq!(
        ioapic::route_isa(acpi::ISA_IRQS, TEST_VECTOR, 0),
        Err(ioapic::RouteError::NoSuchIsaIrq)
    );
    Ok(())
}

fn tsc_calibrated() -> Result<(), String> {
    let hz = time::tsc_hz();
    check!((TSC_MIN_HZ..=TSC_MAX_HZ).contains(&hz), "TSC at {hz} Hz");
    Ok(())
}

fn timer_ticks_arrive() -> Result<(), String> {
    check!(x86_64::instructions::interrupts::are_enabled());
    let start = time::ticks();
    let arrived = wait_for(MIN_TICKS, || time::ticks() >= start + MIN_TICKS);
    check!(arrived, "only {} ticks arrived", time::ticks() - start);
    Ok(())
}

fn tick_rate_matches_hz() -> Result<(), String> {
    let hz = u64::from(time::timer_hz());
    check!(hz > 0, "timer not running");
    // Start on a tick edge so the count is not off by one.
    let edge = time::ticks();
    check!(wait_for(1, || time::ticks() != edge), "no tick");
    let (t0, tsc0) = (time::ticks(), cpu::rdtsc());
    time::busy_wait_micros(RATE_WINDOW_MICROS.max(ticks_to_micros(RATE_WINDOW_TICKS)));
    let (t1, tsc1) = (time::ticks(), cpu::rdtsc());
    let micros = cycles_to_micros(tsc1 - tsc0);
    let expected = hz * micros / MICROS_PER_SEC;
    let got = t1 - t0;
    let slack = expected * RATE_TOLERANCE_PERCENT / PERCENT + 1;
    check!(
        got + slack >= expected && got <= expected + slack,
        "{got} ticks in {micros} us at {hz} Hz, expected {expected} +- {slack}"
    );
    Ok(())
}

fn uptime_monotonic() -> Result<(), String> {
    const SAMPLES: usize = 10_000;
    let mut last = time::uptime_micros();
    check!(last > 0, "uptime still 0 after init");
    for _ in 0..SAMPLES {
        let now = time::uptime_micros();
        check!(now >= last, "uptime went back from {last} to {now}");
        last = now;
    }
    Ok(())
}

fn busy_wait_waits() -> Result<(), String> {
    const WAIT_MICROS: u64 = 20_000;
    let before = time::uptime_micros();
    time::busy_wait_micros(WAIT_MICROS);
    let waited = time::uptime_micros() - before;
    check!(waited >= WAIT_MICROS * 99 / 100, "waited only {waited} us");
    Ok(())
}

fn sleep_ticks_sleeps() -> Result<(), String> {
    const SLEEP: u64 = 3;
    let before = time::ticks();
    time::sleep_ticks(SLEEP);
    check!(time::ticks() >= before + SLEEP);
    Ok(())
}
