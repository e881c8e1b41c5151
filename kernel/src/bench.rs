//! In-kernel micro-benchmarks, built only with `--features bench` (the
//! kernel `make bench` boots). [`run_kernel_benches`] runs once, on the boot
//! thread before the root server starts, and prints:
//!
//! - `bench-env:` lines: the accelerator CPUID reports (QEMU's TCG, KVM,
//!   ...), the CPU's vendor and model, and whether the kernel runs with
//!   PCID, INVPCID, SMEP, SMAP and XSAVE (from [`cpu::features`], i.e. what
//!   is switched on, not merely present);
//! - `bench:` lines (format and method in `bulkhead_measure`):
//!   - `cr3.load.flush`: `mov cr3` with the current PML4 and PCID and bit 63
//!     clear, so the TLB entries of that PCID (all non-global entries
//!     without PCID) are flushed;
//!   - `cr3.load.noflush`, only when CR4.PCIDE is on: the same with bit 63
//!     set, which keeps the TLB. Without PCID bit 63 is reserved, so the
//!     line is left out and the `pcid no` env line says why.
//!
//! Every figure is the median over [`Config::DEFAULT`] runs after a
//! warm-up, with interrupts off, minus the counter's own cost. Under
//! `-icount` it counts instructions, so a CR3 load shows as its path length
//! (the cost of refilling a flushed TLB does not show, under Bochs either,
//! whose TSC also counts instructions; run on hardware or KVM with PCID
//! for that). The user-mode figures come from `user/bench`.

use crate::arch::x86_64::cpu;
use crate::println;
use bulkhead_measure::{
    cpu_brand, cpu_vendor, tsc, yes_no, Accelerator, Config, CpuidText, EnvLine, Line, Measurer,
    Unit,
};
use x86_64::instructions::interrupts;
use x86_64::registers::control::Cr3;

/// CR3 bit 63 with CR4.PCIDE set: keep the TLB entries of the new PCID.
const CR3_NO_FLUSH: u64 = 1 << 63;

/// Prints the environment and runs the kernel-side benchmarks (see the
/// module docs).
pub fn run_kernel_benches() {
    let features = cpu::features();
    let accelerator = Accelerator::detect();
    let unit = Unit::for_accelerator(accelerator);
    println!("{}", EnvLine("accelerator", accelerator));
    println!("{}", EnvLine("unit", unit));
    println!("{}", EnvLine("cpu.vendor", CpuidText(&cpu_vendor())));
    println!("{}", EnvLine("cpu.model", CpuidText(&cpu_brand())));
    println!("{}", EnvLine("pcid", yes_no(features.pcid)));
    println!("{}", EnvLine("invpcid", yes_no(features.invpcid)));
    println!("{}", EnvLine("smep", yes_no(features.smep)));
    println!("{}", EnvLine("smap", yes_no(features.smap)));
    println!("{}", EnvLine("xsave", yes_no(features.xsave)));

    let measurer = Measurer::new(tsc, Config::DEFAULT);
    let (frame, low_bits) = Cr3::read_raw();
    // With PCIDE the low 12 bits are the PCID; without, they are 0 here
    // (the kernel's page tables set no PWT/PCD).
    let cr3 = frame.start_address().as_u64() | u64::from(low_bits);

    let flush_note = if features.pcid {
        "mov cr3, same PML4 and PCID, bit 63 clear: flushes that PCID's TLB entries"
    } else {
        "mov cr3, same PML4, no PCID: flushes all non-global TLB entries"
    };
    report(
        &measurer,
        unit,
        "cr3.load.flush",
        flush_note,
        interrupts::without_interrupts(|| measurer.median(|| load_cr3(cr3))),
    );
    if features.pcid {
        report(
            &measurer,
            unit,
            "cr3.load.noflush",
            "mov cr3, same PML4 and PCID, bit 63 set: TLB kept",
            interrupts::without_interrupts(|| measurer.median(|| load_cr3(cr3 | CR3_NO_FLUSH))),
        );
    }
}

/// Prints one `bench:` line, with the method in the note.
fn report<C: Fn() -> u64>(
    measurer: &Measurer<C>,
    unit: Unit,
    name: &str,
    what: &str,
    value: Result<u64, core::convert::Infallible>,
) {
    let Ok(value) = value;
    let note = alloc::format!("({what}; kernel, interrupts off; {})", measurer.method());
    println!(
        "{}",
        Line {
            name,
            value,
            unit,
            note: &note,
        }
    );
}

/// Writes `value` to CR3.
fn load_cr3(value: u64) -> Result<(), core::convert::Infallible> {
    // SAFETY: `value` is the current CR3 (same PML4, same PCID), with at
    // most bit 63 added, which the caller sets only when CR4.PCIDE is on;
    // reloading the live page tables changes no mapping. Interrupts are
    // off, so nothing runs between the loads.
    unsafe {
        core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags));
    }
    Ok(())
}
