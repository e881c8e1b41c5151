//! The stale-TLB test: the classic bug that PCIDs make possible.
//!
//! With PCIDs a CR3 load with the no-flush bit keeps the TLB entries tagged
//! with that PCID, so a page unmapped while its address space was not
//! loaded may still be reachable through a stale entry when the space comes
//! back. The test first finds out whether the CPU (or emulator) really
//! keeps such entries, by unmapping behind the TLB's back, and says so on
//! the console; then it checks that the kernel's own unmap path (INVPCID,
//! or dropping the PCID's owner so the next load flushes) makes the access
//! fault. Without PCIDs every load flushes and both accesses fault.
//!
//! What it proves depends on the CPU. Bochs 2.7 (corei7_haswell_4770)
//! reports PCID and INVPCID but drops the entries on every CR3 load, no-flush
//! bit or not (the console line says "no"), so there the test shows that the
//! PCID code paths run and stay correct, not that the stale-TLB bug is
//! prevented; on a CPU that keeps the entries (the line says "yes") the
//! final check is what catches the bug.

use super::Test;
use crate::arch::x86_64::{cpu, idt::vector};
use crate::mm::{paging, pcid};
use crate::object::frames::Frames;
use crate::object::{space, ObjRef, Object, KERNEL};
use crate::{check, check_eq};
use alloc::string::String;
use bulkhead_abi::Rights;

pub const TESTS: &[Test] = &[Test {
    name: "mm::unmapped_page_of_unloaded_space_faults",
    run: unmapped_page_of_unloaded_space_faults,
}];

const BEHIND: u64 = 0x50_0000;
const PROPER: u64 = 0x60_0000;

/// Reads the user page at `addr` from the kernel (opening user access when
/// SMAP is on); `None` if it page-faults.
fn read_user(addr: u64) -> Option<u64> {
    let value: u64;
    let report = if cpu::features().smap {
        let (_, report) = raise!(
            vector::PAGE_FAULT,
            "stac; mov {v}, qword ptr [{a}]; clac",
            v = out(reg) value,
            a = in(reg) addr
        );
        report
    } else {
        let (_, report) = raise!(vector::PAGE_FAULT, "mov {v}, qword ptr [{a}]", v = out(reg) value, a = in(reg) addr);
        report
    };
    if report.is_some() {
        // A fault skips the access; with SMAP, user access is still open.
        if cpu::features().smap {
            // SAFETY: CLAC only clears RFLAGS.AC.
            unsafe { core::arch::asm!("clac") };
        }
        return None;
    }
    Some(value)
}

fn map_page(
    k: &mut crate::object::Kernel,
    s: ObjRef,
    vaddr: u64,
    value: u64,
) -> Result<(), String> {
    let frames = Frames::alloc(1).map_err(|e| alloc::format!("{e:?}"))?;
    let phys = frames.page(0).ok_or("no page")?;
    // SAFETY: a fresh frame, reached through the window.
    unsafe { (crate::mm::phys_to_virt(phys) as *mut u64).write(value) };
    let f = k.insert(Object::Frames(frames), None);
    k.add_ref(f);
    let r = space::map(
        k,
        s,
        f,
        Rights::ALL,
        0,
        1,
        vaddr,
        Rights::READ | Rights::WRITE,
    );
    k.release(f);
    r.map_err(|e| alloc::format!("{e:?}"))
}

fn unmapped_page_of_unloaded_space_faults() -> Result<(), String> {
    let _interrupts_off = InterruptsOff::new();
    let mut k = KERNEL.lock();
    let s = space::create(&mut k, None).map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(s);
    map_page(&mut k, s, BEHIND, 0x5a)?;
    map_page(&mut k, s, PROPER, 0xa5)?;
    let cr3 = match k.get(s) {
        Some(Object::Space(o)) => o.space.cr3(),
        _ => return Err("space vanished".into()),
    };
    let kernel = paging::kernel_pml4();

    // Fill the TLB under the space's PCID, switch away, unmap behind the
    // TLB's back, come back with a no-flush load (if PCIDs are on).
    pcid::load(cr3);
    let first = read_user(BEHIND);
    pcid::load(kernel);
    if let Some(Object::Space(o)) = k.get_mut(s) {
        o.space
            .unmap_behind_tlb(BEHIND)
            .map_err(|e| alloc::format!("{e:?}"))?;
    }
    pcid::load(cr3);
    let stale = read_user(BEHIND);
    pcid::load(kernel);

    // The same through the kernel's real unmap path.
    pcid::load(cr3);
    let before = read_user(PROPER);
    pcid::load(kernel);
    space::unmap(&mut k, s, PROPER, 1).map_err(|e| alloc::format!("{e:?}"))?;
    pcid::load(cr3);
    let after = read_user(PROPER);
    pcid::load(kernel);
    k.release(s);
    drop(k);

    crate::println!(
        "pcid: PCID {}, INVPCID {}; entries kept across a no-flush load: {}",
        if pcid::enabled() { "on" } else { "off" },
        if pcid::invpcid() { "used" } else { "not used" },
        if stale.is_some() {
            "yes (the kernel must invalidate)"
        } else {
            "no (this CPU flushed them)"
        }
    );
    check_eq!((first, before), (Some(0x5a), Some(0xa5)));
    check_eq!(after, None);
    if !pcid::enabled() {
        check!(stale.is_none(), "a flushing CR3 load kept a TLB entry");
    }
    Ok(())
}

/// Interrupts off for the test's lifetime (nothing may load another CR3).
struct InterruptsOff(bool);

impl InterruptsOff {
    fn new() -> Self {
        let was = x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::disable();
        InterruptsOff(was)
    }
}

impl Drop for InterruptsOff {
    fn drop(&mut self) {
        if self.0 {
            x86_64::instructions::interrupts::enable();
        }
    }
}
