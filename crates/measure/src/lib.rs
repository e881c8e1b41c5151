//! Benchmark helpers shared by the kernel (`--features bench`) and the user
//! benchmark program (`user/bench`): a serialised time-stamp counter read,
//! the median of many timed runs after a warm-up with the counter's own
//! cost subtracted, which accelerator the guest runs on, and the line
//! format `tools/runner` (`bulkhead-runner bench`) reads:
//!
//! ```text
//! bench: NAME VALUE UNIT [NOTE ...]      one result
//! bench-env: KEY VALUE ...               one fact about the machine
//! ```
//!
//! **What the figures mean.** `make bench` runs QEMU's TCG with
//! `-icount shift=0,sleep=off`: the guest's RDTSC then advances by one per
//! executed instruction, so a figure is a path length in instructions,
//! identical run to run, and blind to cache and TLB misses. Under KVM or on
//! real hardware RDTSC counts (reference) cycles and the figures vary.
//! [`Unit::for_accelerator`] picks the unit from the CPUID hypervisor
//! signature (TCG means the runner's icount run); the runner checks that
//! the unit matches how it started QEMU.
//!
//! **How a figure is made** ([`Measurer::median`]): run the operation
//! [`Config::warmup`] times untimed, then [`Config::iterations`] times with
//! a counter read on each side; take the median delta (the lower middle
//! value, so it is always an observed, integer delta) and subtract the
//! median delta of two back-to-back counter reads ([`Measurer::overhead`]).
//! The median ignores the few runs a timer interrupt lands in.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

/// Untimed runs before measuring: fills caches and TLBs, and faults in
/// anything lazily mapped.
pub const DEFAULT_WARMUP: usize = 100;
/// Timed runs whose median is reported.
pub const DEFAULT_ITERATIONS: usize = 1000;

/// How many times an operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Untimed runs first.
    pub warmup: usize,
    /// Timed runs (at least one is made even if this is 0).
    pub iterations: usize,
}

impl Config {
    /// [`DEFAULT_WARMUP`] and [`DEFAULT_ITERATIONS`].
    pub const DEFAULT: Config = Config {
        warmup: DEFAULT_WARMUP,
        iterations: DEFAULT_ITERATIONS,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// The lower median of `samples` (sorted in place): the middle value, or
/// the lower of the two middle values for an even count. `None` if empty.
pub fn median(samples: &mut [u64]) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    Some(samples[(samples.len() - 1) / 2])
}

/// Times operations against a counter `clock` (normally [`tsc`]).
pub struct Measurer<C: Fn() -> u64> {
    clock: C,
    config: Config,
    overhead: u64,
}

impl<C: Fn() -> u64> Measurer<C> {
    /// Calibrates: the overhead is the median delta of two back-to-back
    /// clock reads, measured with the same warm-up and iteration count.
    pub fn new(clock: C, config: Config) -> Self {
        let mut measurer = Measurer {
            clock,
            config,
            overhead: 0,
        };
        measurer.overhead = measurer
            .raw_median(|| Ok::<(), core::convert::Infallible>(()))
            .unwrap_or_else(|never| match never {});
        measurer
    }

    /// The counter's own cost, subtracted from every figure.
    pub fn overhead(&self) -> u64 {
        self.overhead
    }

    /// The warm-up and iteration counts.
    pub fn config(&self) -> Config {
        self.config
    }

    /// How the figures are made, for a `bench:` line's note.
    pub fn method(&self) -> Method {
        Method {
            config: self.config,
            overhead: self.overhead,
        }
    }

    /// The median cost of `op` minus [`Measurer::overhead`] (never below
    /// 0). The first error `op` returns stops the measurement.
    pub fn median<E>(&self, op: impl FnMut() -> Result<(), E>) -> Result<u64, E> {
        Ok(self.raw_median(op)?.saturating_sub(self.overhead))
    }

    /// The median delta around `op`, overhead included.
    fn raw_median<E>(&self, mut op: impl FnMut() -> Result<(), E>) -> Result<u64, E> {
        for _ in 0..self.config.warmup {
            op()?;
        }
        let runs = self.config.iterations.max(1);
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = (self.clock)();
            let result = op();
            let end = (self.clock)();
            result?;
            samples.push(end.wrapping_sub(start));
        }
        Ok(median(&mut samples).unwrap_or(0))
    }
}

/// How a [`Measurer`] makes its figures: prints as `median of 1000 after
/// 100 warm-up, counter overhead 6 subtracted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    pub config: Config,
    pub overhead: u64,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "median of {} after {} warm-up, counter overhead {} subtracted",
            self.config.iterations.max(1),
            self.config.warmup,
            self.overhead
        )
    }
}

/// Reads the time-stamp counter, ordered against the instructions around
/// it: LFENCE before (earlier instructions have finished) and after (later
/// ones have not started). Under icount the fences are just two more
/// instructions, part of the overhead that [`Measurer`] subtracts.
#[cfg(target_arch = "x86_64")]
pub fn tsc() -> u64 {
    let low: u32;
    let high: u32;
    // SAFETY: LFENCE and RDTSC touch no memory and no register but EAX and
    // EDX (declared); RDTSC is allowed in every ring while CR4.TSD is clear,
    // which Bulkhead never sets.
    unsafe {
        core::arch::asm!(
            "lfence",
            "rdtsc",
            "lfence",
            out("eax") low,
            out("edx") high,
            options(nostack, preserves_flags),
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// CPUID leaf 1, ECX bit 31: running under a hypervisor.
const HYPERVISOR_BIT: u32 = 1 << 31;
/// CPUID leaf with the hypervisor's vendor signature in EBX, ECX, EDX.
const HYPERVISOR_LEAF: u32 = 0x4000_0000;
/// First of the three CPUID leaves holding the 48-byte brand string.
const BRAND_FIRST_LEAF: u32 = 0x8000_0002;
/// Highest extended leaf number is reported by this leaf.
const EXTENDED_MAX_LEAF: u32 = 0x8000_0000;
/// QEMU's TCG signature.
const TCG_SIGNATURE: &[u8; 12] = b"TCGTCGTCGTCG";
/// KVM's signature.
const KVM_SIGNATURE: &[u8; 12] = b"KVMKVMKVM\0\0\0";

/// What the guest runs on, from CPUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accelerator {
    /// QEMU's TCG (`TCGTCGTCGTCG`).
    Tcg,
    /// KVM (`KVMKVMKVM`).
    Kvm,
    /// Another hypervisor, with its signature.
    Other([u8; 12]),
    /// No hypervisor bit: real hardware, or an emulator that hides itself.
    None,
}

impl Accelerator {
    /// Decodes the hypervisor bit and the leaf 0x4000_0000 signature.
    pub fn from_cpuid(hypervisor_bit: bool, signature: [u8; 12]) -> Self {
        if !hypervisor_bit {
            Accelerator::None
        } else if &signature == TCG_SIGNATURE {
            Accelerator::Tcg
        } else if &signature == KVM_SIGNATURE {
            Accelerator::Kvm
        } else {
            Accelerator::Other(signature)
        }
    }

    /// Asks this CPU.
    #[cfg(target_arch = "x86_64")]
    pub fn detect() -> Self {
        use core::arch::x86_64::__cpuid;
        let hypervisor_bit = __cpuid(1).ecx & HYPERVISOR_BIT != 0;
        if !hypervisor_bit {
            return Accelerator::None;
        }
        let leaf = __cpuid(HYPERVISOR_LEAF);
        let mut signature = [0u8; 12];
        for (chunk, reg) in signature
            .chunks_exact_mut(4)
            .zip([leaf.ebx, leaf.ecx, leaf.edx])
        {
            chunk.copy_from_slice(&reg.to_le_bytes());
        }
        Accelerator::from_cpuid(true, signature)
    }

    /// `tcg`, `kvm`, `other` or `none` (the runner's `--accel` spelling
    /// for the first two).
    pub fn name(&self) -> &'static str {
        match self {
            Accelerator::Tcg => "tcg",
            Accelerator::Kvm => "kvm",
            Accelerator::Other(_) => "other",
            Accelerator::None => "none",
        }
    }
}

impl fmt::Display for Accelerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accelerator::Other(signature) => {
                f.write_str("other:")?;
                for &byte in signature.iter().filter(|b| b.is_ascii_graphic()) {
                    write!(f, "{}", char::from(byte))?;
                }
                Ok(())
            }
            plain => f.write_str(plain.name()),
        }
    }
}

/// The CPU's brand string (CPUID leaves 0x8000_0002..4), NUL-padded; all
/// zero if the CPU has none.
#[cfg(target_arch = "x86_64")]
pub fn cpu_brand() -> [u8; 48] {
    use core::arch::x86_64::__cpuid;
    let mut brand = [0u8; 48];
    if __cpuid(EXTENDED_MAX_LEAF).eax < BRAND_FIRST_LEAF + 2 {
        return brand;
    }
    for (leaf, chunk) in (BRAND_FIRST_LEAF..).zip(brand.chunks_exact_mut(16)) {
        let r = __cpuid(leaf);
        for (part, reg) in chunk.chunks_exact_mut(4).zip([r.eax, r.ebx, r.ecx, r.edx]) {
            part.copy_from_slice(&reg.to_le_bytes());
        }
    }
    brand
}

/// The CPU's vendor string (CPUID leaf 0: EBX, EDX, ECX).
#[cfg(target_arch = "x86_64")]
pub fn cpu_vendor() -> [u8; 12] {
    let leaf = core::arch::x86_64::__cpuid(0);
    let mut vendor = [0u8; 12];
    for (chunk, reg) in vendor
        .chunks_exact_mut(4)
        .zip([leaf.ebx, leaf.edx, leaf.ecx])
    {
        chunk.copy_from_slice(&reg.to_le_bytes());
    }
    vendor
}

/// A CPUID string for printing: trimmed, NULs dropped, non-ASCII as `?`.
pub struct CpuidText<'a>(pub &'a [u8]);

impl fmt::Display for CpuidText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes: Vec<u8> = self.0.iter().copied().filter(|&b| b != 0).collect();
        let text = bytes.trim_ascii();
        if text.is_empty() {
            return f.write_str("unknown");
        }
        for &byte in text {
            let shown = if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '?'
            };
            write!(f, "{shown}")?;
        }
        Ok(())
    }
}

/// What a figure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// RDTSC under QEMU `-icount shift=0`: executed instructions.
    Instructions,
    /// RDTSC elsewhere: (reference) cycles.
    Cycles,
    /// A count of CR3 writes (an event count, the same under any counter).
    Writes,
}

impl Unit {
    /// TCG means instructions (the runner always adds `-icount` for TCG);
    /// anything else counts cycles.
    pub fn for_accelerator(accelerator: Accelerator) -> Unit {
        match accelerator {
            Accelerator::Tcg => Unit::Instructions,
            _ => Unit::Cycles,
        }
    }

    /// The word in a `bench:` line.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Instructions => "instructions",
            Unit::Cycles => "cycles",
            Unit::Writes => "writes",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `bench: NAME VALUE UNIT [NOTE]` line (without the newline).
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// Dotted name without spaces, such as `syscall.null.native`.
    pub name: &'a str,
    pub value: u64,
    pub unit: Unit,
    /// Free text: which path ran, what was subtracted. May be empty.
    pub note: &'a str,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bench: {} {} {}", self.name, self.value, self.unit)?;
        if !self.note.is_empty() {
            write!(f, " {}", self.note)?;
        }
        Ok(())
    }
}

/// One `bench-env: KEY VALUE` line (without the newline).
pub struct EnvLine<'a, V: fmt::Display>(pub &'a str, pub V);

impl<V: fmt::Display> fmt::Display for EnvLine<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bench-env: {} {}", self.0, self.1)
    }
}

/// `yes` or `no`, as `bench-env:` feature lines spell them.
pub fn yes_no(on: bool) -> &'static str {
    if on {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use core::cell::Cell;

    #[test]
    fn median_is_the_lower_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }

    /// A clock that advances by `step` per read, plus whatever `op` adds.
    fn fake_clock(time: &Cell<u64>, step: u64) -> impl Fn() -> u64 + '_ {
        move || {
            time.set(time.get() + step);
            time.get()
        }
    }

    #[test]
    fn overhead_is_subtracted_and_outliers_ignored() {
        let time = Cell::new(0);
        let config = Config {
            warmup: 3,
            iterations: 11,
        };
        let measurer = Measurer::new(fake_clock(&time, 2), config);
        assert_eq!(measurer.overhead(), 2);
        assert_eq!(
            measurer.method().to_string(),
            "median of 11 after 3 warm-up, counter overhead 2 subtracted"
        );
        let calls = Cell::new(0u64);
        let cost = measurer
            .median(|| {
                calls.set(calls.get() + 1);
                // Every fourth run is "interrupted" and costs 1000 more.
                let extra = if calls.get().is_multiple_of(4) {
                    1000
                } else {
                    0
                };
                time.set(time.get() + 40 + extra);
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(cost, 40);
        assert_eq!(calls.get(), 3 + 11);
    }

    #[test]
    fn an_error_stops_the_measurement() {
        let time = Cell::new(0);
        let measurer = Measurer::new(fake_clock(&time, 1), Config::DEFAULT);
        let calls = Cell::new(0);
        let result = measurer.median(|| {
            calls.set(calls.get() + 1);
            if calls.get() == 5 {
                Err("boom")
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err("boom"));
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn zero_iterations_still_time_one_run() {
        let time = Cell::new(0);
        let config = Config {
            warmup: 0,
            iterations: 0,
        };
        let measurer = Measurer::new(fake_clock(&time, 1), config);
        let cost = measurer.median(|| {
            time.set(time.get() + 9);
            Ok::<(), ()>(())
        });
        assert_eq!(cost, Ok(9));
    }

    #[test]
    fn accelerators_from_cpuid() {
        assert_eq!(
            Accelerator::from_cpuid(true, *b"TCGTCGTCGTCG"),
            Accelerator::Tcg
        );
        assert_eq!(
            Accelerator::from_cpuid(true, *b"KVMKVMKVM\0\0\0"),
            Accelerator::Kvm
        );
        assert_eq!(
            Accelerator::from_cpuid(false, *b"TCGTCGTCGTCG"),
            Accelerator::None
        );
        let other = Accelerator::from_cpuid(true, *b"Microsoft Hv");
        assert_eq!(other.to_string(), "other:MicrosoftHv");
        assert_eq!(Accelerator::Tcg.to_string(), "tcg");
        assert_eq!(Unit::for_accelerator(Accelerator::Tcg), Unit::Instructions);
        assert_eq!(Unit::for_accelerator(Accelerator::Kvm), Unit::Cycles);
        assert_eq!(Unit::for_accelerator(Accelerator::None), Unit::Cycles);
    }

    #[test]
    fn lines() {
        let line = Line {
            name: "cr3.load.flush",
            value: 3,
            unit: Unit::Instructions,
            note: "PCID off",
        };
        assert_eq!(
            line.to_string(),
            "bench: cr3.load.flush 3 instructions PCID off"
        );
        let bare = Line { note: "", ..line };
        assert_eq!(bare.to_string(), "bench: cr3.load.flush 3 instructions");
        assert_eq!(
            EnvLine("pcid", yes_no(false)).to_string(),
            "bench-env: pcid no"
        );
    }

    #[test]
    fn cpuid_text_is_trimmed_and_printable() {
        assert_eq!(
            CpuidText(b"  QEMU TCG CPU\0\0\0").to_string(),
            "QEMU TCG CPU"
        );
        assert_eq!(CpuidText(&[0; 12]).to_string(), "unknown");
        assert_eq!(CpuidText(b"a\x01b").to_string(), "a?b");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_real_counter_moves_forward() {
        let measurer = Measurer::new(tsc, Config::DEFAULT);
        let first = tsc();
        assert!(tsc() >= first);
        assert!(measurer.median(|| Ok::<(), ()>(())).is_ok());
        let _ = (Accelerator::detect(), cpu_brand(), cpu_vendor());
    }
}
