//! CPU feature detection (CPUID) and the control-register settings the
//! kernel runs with.
//!
//! Every protection the CPU offers is switched on when CPUID reports it:
//! NX (EFER.NXE), write protection in ring 0 (CR0.WP), SMEP, SMAP, UMIP and
//! global pages. SSE is enabled (Rust code may use it), and XSAVE with every
//! state component the kernel knows how to size (x87, SSE, AVX). PCID is
//! switched on here when present; the address-space code decides how to use
//! it. The set actually enabled is kept in [`features`] for the banner and
//! for benchmarks, which must say which paths ran.

use core::arch::x86_64::{__cpuid, __cpuid_count};
use core::fmt;
use spin::Once;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};

/// The CPU features the kernel detected and switched on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub nx: bool,
    pub smep: bool,
    pub smap: bool,
    pub umip: bool,
    pub pge: bool,
    pub pcid: bool,
    pub invpcid: bool,
    pub xsave: bool,
    pub avx: bool,
    pub huge_1g: bool,
    pub x2apic: bool,
    pub tsc_deadline: bool,
    pub invariant_tsc: bool,
    pub rdrand: bool,
    pub hypervisor: bool,
}

static FEATURES: Once<Features> = Once::new();

/// The features detected by [`init`] (all false before it ran).
pub fn features() -> Features {
    FEATURES.get().copied().unwrap_or_default()
}

fn detect() -> Features {
    let leaf1 = __cpuid(1);
    let max_leaf = __cpuid(0).eax;
    let leaf7 = if max_leaf >= 7 {
        __cpuid_count(7, 0)
    } else {
        __cpuid(0)
    };
    let max_ext = __cpuid(0x8000_0000).eax;
    let ext1 = if max_ext >= 0x8000_0001 {
        __cpuid(0x8000_0001)
    } else {
        __cpuid(0)
    };
    let ext7 = if max_ext >= 0x8000_0007 {
        __cpuid(0x8000_0007)
    } else {
        __cpuid(0)
    };
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
    let has7 = max_leaf >= 7;
    Features {
        nx: bit(ext1.edx, 20),
        smep: has7 && bit(leaf7.ebx, 7),
        smap: has7 && bit(leaf7.ebx, 20),
        umip: has7 && bit(leaf7.ecx, 2),
        pge: bit(leaf1.edx, 13),
        pcid: bit(leaf1.ecx, 17),
        invpcid: has7 && bit(leaf7.ebx, 10),
        xsave: bit(leaf1.ecx, 26),
        avx: bit(leaf1.ecx, 28),
        huge_1g: bit(ext1.edx, 26),
        x2apic: bit(leaf1.ecx, 21),
        tsc_deadline: bit(leaf1.ecx, 24),
        invariant_tsc: bit(ext7.edx, 8),
        rdrand: bit(leaf1.ecx, 30),
        hypervisor: bit(leaf1.ecx, 31),
    }
}

/// Detects the CPU's features and switches on every protection it has.
pub fn init() -> Features {
    let f = detect();
    // SAFETY: each bit set here is supported (CPUID said so) and matches
    // what the rest of the kernel expects: NX bits in page tables need
    // EFER.NXE; the kernel never relies on writing read-only pages (WP);
    // no user pages exist yet, so SMEP/SMAP cannot trip on kernel code;
    // PCIDE requires CR3[11:0] = 0, which holds for the loaders' tables and
    // ours.
    unsafe {
        if f.nx {
            Efer::update(|e| *e |= EferFlags::NO_EXECUTE_ENABLE);
        }
        Cr0::update(|c| {
            *c |= Cr0Flags::WRITE_PROTECT | Cr0Flags::MONITOR_COPROCESSOR;
            c.remove(Cr0Flags::EMULATE_COPROCESSOR);
        });
        let mut cr4 = Cr4::read() | Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE;
        cr4.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, f.smep);
        cr4.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, f.smap);
        cr4.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, f.umip);
        cr4.set(Cr4Flags::PAGE_GLOBAL, f.pge);
        cr4.set(Cr4Flags::OSXSAVE, f.xsave);
        // Off, whatever the loader left: with FSGSBASE user code could set
        // its FS and GS bases behind the kernel's back, and a switch
        // trusts the recorded bases (`sched::switch::switch_cpu_state`).
        cr4.remove(Cr4Flags::FSGSBASE);
        if f.pcid && x86_64::registers::control::Cr3::read_raw().1 == 0 {
            cr4 |= Cr4Flags::PCID;
        }
        Cr4::write(cr4);
        if f.xsave {
            let mut xcr0 = XCr0Flags::X87 | XCr0Flags::SSE;
            xcr0.set(XCr0Flags::AVX, f.avx);
            XCr0::write(xcr0);
        }
    }
    let f = Features {
        pcid: f.pcid && Cr4::read().contains(Cr4Flags::PCID),
        ..f
    };
    *FEATURES.call_once(|| f)
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = [
            ("NX", self.nx),
            ("SMEP", self.smep),
            ("SMAP", self.smap),
            ("UMIP", self.umip),
            ("WP", true),
            ("PGE", self.pge),
            ("PCID", self.pcid),
            ("INVPCID", self.invpcid),
            ("XSAVE", self.xsave),
            ("AVX", self.avx),
            ("1G-pages", self.huge_1g),
            ("x2APIC", self.x2apic),
            ("TSC-deadline", self.tsc_deadline),
            ("invariant-TSC", self.invariant_tsc),
            ("RDRAND", self.rdrand),
            ("hypervisor", self.hypervisor),
        ];
        f.write_str("on:")?;
        for (name, _) in list.iter().filter(|(_, on)| *on) {
            write!(f, " {name}")?;
        }
        f.write_str("; absent:")?;
        for (name, _) in list.iter().filter(|(_, on)| !*on) {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects (CR4.TSD is never set).
    unsafe { core::arch::x86_64::_rdtsc() }
}
