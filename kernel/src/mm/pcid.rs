//! Loading page tables (CR3), with process-context identifiers (PCIDs)
//! where the CPU has them.
//!
//! Every address space gets a PCID (1.., the kernel's tables use 0) when it
//! is created; a CR3 value here is `PML4 physical address | PCID`. With
//! PCID, the TLB keeps each address space's entries tagged, so a switch
//! sets CR3's no-flush bit (63) and keeps them, which is the point of the
//! whole exercise. That is only correct while the entries tagged with a
//! PCID belong to the address space being loaded, so the kernel remembers,
//! per PCID, which page table last ran with it (its *owner*):
//!
//! - loading a page table whose PCID is owned by it: no-flush;
//! - otherwise (first use, a PCID shared because address spaces outnumber
//!   PCIDs, or a PCID recycled from a destroyed space): flush that PCID by
//!   loading CR3 without the no-flush bit, and take ownership;
//! - a page unmapped or protected in a space that is not loaded: with
//!   INVPCID, that one address is invalidated under the space's PCID
//!   (single-address invalidation); without it, the PCID loses its owner
//!   and the next load flushes it (the CR3-reload fallback). In the loaded
//!   space the page-table code has already used INVLPG.
//! - a space destroyed: its PCID's entries are dropped with INVPCID
//!   single-context invalidation, or by losing the owner.
//!
//! Without PCID every CR3 write flushes the (non-global) TLB. Either way
//! each write is counted, for the benchmarks.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use x86_64::registers::control::Cr3;

/// PCIDs are 12 bits; 0 is the kernel's, the last is System Call
/// Isolation's ([`RESTRICTED_PCID`]), the rest go to address spaces.
pub const MAX_PCIDS: usize = 4094;
/// The PCID every restricted (SCI) page table runs with: the SCI code
/// decides itself when its entries must be flushed (`crate::sci`).
pub const RESTRICTED_PCID: u64 = 4095;
const PCID_MASK: u64 = 0xfff;
/// CR3 bit 63: keep the TLB entries of the PCID being loaded.
pub const NO_FLUSH: u64 = 1 << 63;

static ENABLED: AtomicBool = AtomicBool::new(false);
static INVPCID: AtomicBool = AtomicBool::new(false);
/// How many PCIDs to hand out (lowered by `pcid.limit=` to force sharing).
static LIMIT: AtomicUsize = AtomicUsize::new(MAX_PCIDS);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Per PCID: the PML4 whose entries the TLB may hold under it (0 = none).
static OWNER: [AtomicU64; MAX_PCIDS + 2] = [const { AtomicU64::new(0) }; MAX_PCIDS + 2];
static WRITES: AtomicU64 = AtomicU64::new(0);
/// The CR3 value last loaded (PML4 | PCID, without the no-flush bit).
static LOADED: AtomicU64 = AtomicU64::new(0);
/// Writes that kept the TLB (no-flush bit set); the flushing ones are
/// `WRITES - KEPT_WRITES`, so that the common write without PCIDs counts
/// once, not twice.
static KEPT_WRITES: AtomicU64 = AtomicU64::new(0);

/// Uses PCIDs if the CPU has them (CR4.PCIDE was set by `cpu::init`), and
/// INVPCID with them if present; `limit` caps how many PCIDs are handed out.
pub fn init(enabled: bool, invpcid: bool, limit: usize) {
    INVPCID.store(enabled && invpcid, Ordering::Relaxed);
    let (frame, pcid) = Cr3::read_raw();
    LOADED.store(
        frame.start_address().as_u64() | u64::from(pcid),
        Ordering::Relaxed,
    );
    ENABLED.store(enabled, Ordering::Relaxed);
    LIMIT.store(limit.clamp(1, MAX_PCIDS), Ordering::Relaxed);
}

/// True if PCIDs are in use.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A PCID for a new address space (0 if PCIDs are off). When address
/// spaces outnumber PCIDs they share them round-robin; ownership tracking
/// keeps that correct.
pub fn allocate() -> u64 {
    if !enabled() {
        return 0;
    }
    let limit = LIMIT.load(Ordering::Relaxed);
    (NEXT.fetch_add(1, Ordering::Relaxed) % limit + 1) as u64
}

/// Loads the page table `cr3` (PML4 | PCID) if it is not loaded already.
#[inline(always)]
pub fn load(cr3: u64) {
    if LOADED.load(Ordering::Relaxed) == cr3 {
        return;
    }
    LOADED.store(cr3, Ordering::Relaxed);
    WRITES.fetch_add(1, Ordering::Relaxed);
    if !enabled() {
        // Every write flushes (counted as `WRITES - KEPT_WRITES`). Without
        // PCIDs every page table's PCID bits are 0 (`allocate`).
        debug_assert_eq!(cr3 & PCID_MASK, 0);
        write_cr3(cr3);
        return;
    }
    let pml4 = cr3 & !PCID_MASK;
    let owner = &OWNER[(cr3 & PCID_MASK) as usize];
    if owner.load(Ordering::Relaxed) == pml4 {
        KEPT_WRITES.fetch_add(1, Ordering::Relaxed);
        write_cr3(cr3 | NO_FLUSH);
    } else {
        owner.store(pml4, Ordering::Relaxed);
        write_cr3(cr3);
    }
}

/// Writes `value` to CR3.
#[inline(always)]
fn write_cr3(value: u64) {
    // SAFETY: every page table the kernel loads maps the kernel half
    // identically, so execution continues; the PCID bits are only set when
    // CR4.PCIDE is on.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags)) };
}

/// The CR3 value loaded now (PML4 | PCID), as `load` left it.
#[inline]
pub fn loaded() -> u64 {
    LOADED.load(Ordering::Relaxed)
}

/// Counts a CR3 write made outside [`load`] (the SCI switches), which
/// flushes unless `keeps` says the no-flush bit was set.
pub fn count_write(keeps: bool) {
    WRITES.fetch_add(1, Ordering::Relaxed);
    if keeps {
        KEPT_WRITES.fetch_add(1, Ordering::Relaxed);
    }
}

/// True if INVPCID is used.
pub fn invpcid() -> bool {
    INVPCID.load(Ordering::Relaxed)
}

/// What an INVPCID invalidates.
enum Scope {
    Address(u64),
    Context,
}

/// Drops TLB entries of the space `cr3` that is not loaded (the loaded one
/// is handled by INVLPG): with INVPCID for `scope` only, otherwise by
/// taking away its PCID's owner so the next load flushes.
fn drop_entries(cr3: u64, scope: Scope) {
    if !enabled() || LOADED.load(Ordering::Relaxed) == cr3 {
        return;
    }
    let pml4 = cr3 & !PCID_MASK;
    let pcid = cr3 & PCID_MASK;
    let owner = &OWNER[pcid as usize];
    if owner.load(Ordering::Relaxed) != pml4 {
        return; // the next load flushes anyway
    }
    if !invpcid() {
        owner.store(0, Ordering::Relaxed);
        return;
    }
    const SINGLE_ADDRESS: u64 = 0;
    const SINGLE_CONTEXT: u64 = 1;
    let (kind, address) = match scope {
        Scope::Address(a) => (SINGLE_ADDRESS, a),
        Scope::Context => (SINGLE_CONTEXT, 0),
    };
    let descriptor: [u64; 2] = [pcid, address];
    // SAFETY: INVPCID is present (checked at init) and only drops TLB
    // entries; the descriptor is a valid 16-byte memory operand.
    unsafe {
        core::arch::asm!("invpcid {}, [{}]", in(reg) kind, in(reg) &descriptor, options(nostack, readonly));
    }
    if let Scope::Context = scope {
        owner.store(0, Ordering::Relaxed);
    }
}

/// Called after the page at `vaddr` of the space `cr3` was unmapped or
/// its rights changed.
pub fn invalidate_page(cr3: u64, vaddr: u64) {
    drop_entries(cr3, Scope::Address(vaddr));
}

/// Makes the next load of `cr3` flush its PCID (for tests of the
/// fallback, and whenever a space's entries must all go).
pub fn invalidate(cr3: u64) {
    if !enabled() {
        return;
    }
    let owner = &OWNER[(cr3 & PCID_MASK) as usize];
    let _ = owner.compare_exchange(cr3 & !PCID_MASK, 0, Ordering::Relaxed, Ordering::Relaxed);
}

/// Called when the page table `cr3` is destroyed (its frame may come back
/// as a new PML4 with the same PCID).
pub fn forget(cr3: u64) {
    drop_entries(cr3, Scope::Context);
    invalidate(cr3);
}

/// (CR3 writes, of which flushing) since boot.
pub fn counters() -> (u64, u64) {
    // The kept ones first: a write counted in between adds to `writes`
    // only, never making the difference negative.
    let kept = KEPT_WRITES.load(Ordering::Relaxed);
    let writes = WRITES.load(Ordering::Relaxed);
    (writes, writes - kept)
}
