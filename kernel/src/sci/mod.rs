//! System Call Isolation (SCI): the `sci` and `sci-sticky` placements.
//!
//! A `sci` container's syscalls run the same personality code as `direct`,
//! but on a restricted page table ([`tables`]) that maps only a base set
//! of kernel pages. Every other page the syscall touches faults, and
//! `bulkhead-sci`'s policy decides from the kernel's symbol table and the
//! container's data ranges whether to map it and resume, or to stop the
//! thread:
//!
//! ```text
//!  serve() (full table) --enter--> sci_call: CR3 = restricted, sti
//!     personality body: #PF --> trap entry: CR3 = full --> on_page_fault
//!                                  Map  -> map the page, back, retry
//!                                  Refuse -> report, stop the thread
//!     kernel service (map app memory, console, clock): CR3 = full, cli
//!  <--exit-- cli, CR3 = full; plain SCI drops the pages it mapped
//! ```
//!
//! Base set (mapped for the container's whole life): the entry section
//! (trap entry, the switch, the user-copy routine), the IDT, GDT, TSS and
//! IST stacks, the per-CPU area, and each member's kernel stack. Data a
//! syscall may fault in: the container's arena (its own kernel data) and
//! the allow-list below. Code: function entries, and running on from a
//! mapped page into the next page of the same function.
//!
//! The state here lives on the shared kernel heap, not in the arena: the
//! isolated code never reaches it, only the fault handler and the entry
//! and exit paths do, on the full table.

pub mod tables;

use crate::arch::x86_64::percpu;
use crate::arch::x86_64::trap_entry::{TrapFrame, CR3_ADDRESS};
use crate::mm::{pcid, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bulkhead_abi::{Error, USER_END};
use bulkhead_sci::{Access, DataRange, Decision, Policy, SyscallTrace};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use tables::{kernel_mapping, RestrictedTables};

/// Counters of one `sci` container.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Isolated syscalls.
    pub syscalls: u64,
    /// Page faults taken on the restricted table.
    pub faults: u64,
    /// Pages mapped into it by those faults.
    pub pages_mapped: u64,
    /// CR3 writes for the switches (entry, exit, traps, services).
    pub cr3_writes: u64,
    /// Interrupts and exceptions taken during isolated syscalls.
    pub traps: u64,
    /// Kernel pages mapped while each syscall ran, summed at its exit
    /// (divide by `syscalls` for the average attack surface).
    pub surface_pages: u64,
    /// Syscalls stopped for a violation.
    pub violations: u64,
}

/// One `sci` or `sci-sticky` container's isolation state.
pub struct Isolation {
    name: String,
    sticky: bool,
    tables: RestrictedTables,
    trace: SyscallTrace,
    /// Pages mapped during the current syscall (plain SCI drops them).
    added: Vec<u64>,
    /// The container's arena: its own kernel data.
    own: (u64, u64),
    pub stats: Stats,
}

/// What a member thread runs on while isolated.
#[derive(Clone, Copy, Debug)]
pub struct MemberTables {
    pub pml4: u64,
    pub app_pml4: u64,
}

/// The isolation of the syscall running now (for the fault handler).
static ACTIVE: AtomicPtr<Isolation> = AtomicPtr::new(core::ptr::null_mut());
static ACTIVE_MEMBER: AtomicU64 = AtomicU64::new(0);
static ACTIVE_APP: AtomicU64 = AtomicU64::new(0);
/// The restricted PML4 last loaded with [`pcid::RESTRICTED_PCID`] whose
/// TLB entries are still valid (0 = flush at the next load).
static LAST_RESTRICTED: AtomicU64 = AtomicU64::new(0);

/// The kernel's read-only data: constants, string literals, jump tables
/// and vtables. The one shared range on the allow-list: it holds no
/// container's data and cannot be written.
fn allow_list() -> [DataRange<'static>; 1] {
    let (start, end, _) = crate::mm::paging::kernel_sections()[1];
    [DataRange {
        name: "kernel read-only data (.rodata)",
        start,
        end,
    }]
}

/// The entry section's range.
fn entry_text() -> (u64, u64) {
    extern "C" {
        static __entry_text_start: u8;
        static __entry_text_end: u8;
    }
    (
        core::ptr::addr_of!(__entry_text_start) as u64,
        core::ptr::addr_of!(__entry_text_end) as u64,
    )
}

impl Isolation {
    /// The isolation of container `name` whose kernel data is the arena
    /// `own`, with its base set mapped.
    pub fn new(name: &str, sticky: bool, own: (u64, u64)) -> Result<Box<Isolation>, Error> {
        let mut tables = RestrictedTables::new()?;
        let percpu = percpu::area_page();
        let (entry_start, entry_end) = entry_text();
        // (range, read-only): the CPU only reads the IDT and the TSS while
        // delivering a trap; it may set accessed bits in the GDT.
        let [ist, tss, gdt] = crate::arch::x86_64::gdt::table_ranges();
        let base = [
            ((entry_start, entry_end), false),
            ((percpu, percpu + PAGE_SIZE), false),
            (crate::arch::x86_64::idt::table_range(), true),
            (tss, true),
            (gdt, false),
            (ist, false),
        ];
        for ((start, end), read_only) in base {
            if let Err(e) = tables.map_like_kernel(start, end, read_only) {
                tables.destroy();
                return Err(e);
            }
        }
        Ok(Box::new(Isolation {
            name: String::from(name),
            sticky,
            tables,
            trace: SyscallTrace::new(),
            added: Vec::new(),
            own,
            stats: Stats::default(),
        }))
    }

    /// True for `sci-sticky`.
    pub fn sticky(&self) -> bool {
        self.sticky
    }

    /// Kernel pages the restricted table maps now.
    pub fn mapped_pages(&self) -> usize {
        self.tables.mapped_pages()
    }

    /// One line about the container's isolated syscalls.
    pub fn summary(&self) -> impl core::fmt::Display + '_ {
        struct Summary<'a>(&'a Isolation);
        impl core::fmt::Display for Summary<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let (i, s) = (self.0, self.0.stats);
                write!(
                    f,
                    "sci: container {} ({}): {} syscalls, {} page faults, {} pages mapped, \
                     {} CR3 writes, {} traps, {} violations; {} pages and {} table frames at the end",
                    i.name,
                    if i.sticky { "sci-sticky" } else { "sci" },
                    s.syscalls,
                    s.faults,
                    s.pages_mapped,
                    s.cr3_writes,
                    s.traps,
                    s.violations,
                    i.tables.mapped_pages(),
                    i.tables.frames_used()
                )
            }
        }
        Summary(self)
    }

    /// Restricted tables for a member whose app runs on `app_pml4` and
    /// whose kernel stack is `[stack_bottom, stack_top)`.
    pub fn add_member(&mut self, app_pml4: u64, stack: (u64, u64)) -> Result<MemberTables, Error> {
        self.tables.map_like_kernel(stack.0, stack.1, false)?;
        let pml4 = self.tables.add_member(app_pml4)?;
        Ok(MemberTables { pml4, app_pml4 })
    }

    /// Forgets a member: its PML4 and its kernel stack (whose slot another
    /// thread may get next).
    pub fn remove_member(&mut self, member: MemberTables, stack: (u64, u64)) {
        let mut va = stack.0;
        while va < stack.1 {
            self.tables.unmap(va);
            va += PAGE_SIZE;
        }
        self.tables.remove_member(member.pml4);
        LAST_RESTRICTED.store(0, Ordering::Relaxed);
    }

    /// Frees the tables.
    pub fn destroy(self) {
        LAST_RESTRICTED.store(0, Ordering::Relaxed);
        self.tables.destroy();
    }

    /// Starts an isolated syscall of `member`: returns the CR3 values of
    /// its restricted table and of the full table to come back to.
    pub fn enter(&mut self, member: MemberTables) -> (u64, u64) {
        self.stats.syscalls += 1;
        self.stats.cr3_writes += 2;
        if !self.sticky {
            self.trace.clear();
        }
        ACTIVE.store(self, Ordering::Relaxed);
        ACTIVE_MEMBER.store(member.pml4, Ordering::Relaxed);
        ACTIVE_APP.store(member.app_pml4, Ordering::Relaxed);
        let full = pcid::loaded();
        if !pcid::enabled() {
            pcid::count_write(false);
            pcid::count_write(false);
            return (member.pml4, full);
        }
        let keep = self.sticky && LAST_RESTRICTED.load(Ordering::Relaxed) == member.pml4;
        LAST_RESTRICTED.store(member.pml4, Ordering::Relaxed);
        pcid::count_write(keep);
        pcid::count_write(true);
        let restricted = member.pml4 | pcid::RESTRICTED_PCID;
        let restricted = if keep {
            restricted | pcid::NO_FLUSH
        } else {
            restricted
        };
        (restricted, full | pcid::NO_FLUSH)
    }

    /// Ends the isolated syscall (back on the full table): plain SCI drops
    /// what it mapped.
    pub fn exit(&mut self) {
        self.stats.surface_pages += self.tables.mapped_pages() as u64;
        if !self.sticky {
            for page in core::mem::take(&mut self.added) {
                self.tables.unmap(page);
            }
            LAST_RESTRICTED.store(0, Ordering::Relaxed);
        }
        ACTIVE.store(core::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// True while the code that was interrupted ran on a restricted table
/// (the test `trap_common` makes too).
fn interrupted_isolated(interrupted_cr3: u64) -> bool {
    let restricted = percpu::sci_restricted_cr3();
    restricted != 0 && (interrupted_cr3 ^ restricted) & CR3_ADDRESS == 0
}

/// Counts a trap taken during an isolated syscall (two CR3 writes).
pub fn note_trap(interrupted_cr3: u64) {
    if !interrupted_isolated(interrupted_cr3) {
        return;
    }
    // SAFETY: `ACTIVE` points at the running syscall's isolation, which
    // its container keeps alive; only this CPU touches it, interrupts off.
    if let Some(iso) = unsafe { ACTIVE.load(Ordering::Relaxed).as_mut() } {
        iso.stats.traps += 1;
        iso.stats.cr3_writes += 2;
    }
    // The trap entry's two writes: to the full table (flushing without
    // PCID; with it the app's entries are kept) and back (flushing the
    // restricted PCID).
    pcid::count_write(pcid::enabled());
    pcid::count_write(false);
}

/// What the page-fault handler does after [`on_page_fault`].
pub enum FaultOutcome {
    /// The page was mapped: retry the instruction.
    Resume,
    /// A violation, already reported: stop the thread.
    Stop,
}

/// A page fault: `None` if it did not interrupt isolated code (or is a
/// user-memory fault the user-copy fix-up handles), else what to do.
pub fn on_page_fault(frame: &TrapFrame, cr2: u64, interrupted_cr3: u64) -> Option<FaultOutcome> {
    if !interrupted_isolated(interrupted_cr3) {
        return None;
    }
    // SAFETY: as in `note_trap`.
    let iso = unsafe { ACTIVE.load(Ordering::Relaxed).as_mut() }?;
    iso.stats.faults += 1;
    if cr2 < USER_END {
        let (member, app) = (
            ACTIVE_MEMBER.load(Ordering::Relaxed),
            ACTIVE_APP.load(Ordering::Relaxed),
        );
        return iso
            .tables
            .sync_user_entry(member, app, cr2)
            .then_some(FaultOutcome::Resume);
    }
    Some(iso.kernel_fault(frame, cr2))
}

impl Isolation {
    fn kernel_fault(&mut self, frame: &TrapFrame, cr2: u64) -> FaultOutcome {
        const PRESENT: u64 = 1;
        const WRITE: u64 = 1 << 1;
        const FETCH: u64 = 1 << 4;
        let code = frame.error_code;
        let access = match (code & FETCH != 0, code & WRITE != 0) {
            (true, _) => Access::Fetch,
            (false, true) => Access::Write,
            (false, false) => Access::Read,
        };
        let Some(symbols) = crate::symbols::table() else {
            return self.violation(
                frame,
                cr2,
                format_args!("no kernel symbol table to check against"),
            );
        };
        if code & PRESENT != 0 {
            return self.violation(
                frame,
                cr2,
                format_args!("{access:?} access the mapping does not allow"),
            );
        }
        let own = [DataRange {
            name: "the container's own kernel data (its arena)",
            start: self.own.0,
            end: self.own.1,
        }];
        let allow = allow_list();
        let policy = Policy {
            symbols,
            own: &own,
            allow: &allow,
        };
        match policy.decide(&mut self.trace, cr2, access) {
            Decision::Map { page, .. } => match kernel_mapping(page) {
                Some((phys, flags)) if self.tables.map(page, phys, flags).is_ok() => {
                    self.stats.pages_mapped += 1;
                    if !self.sticky {
                        self.added.push(page);
                    }
                    FaultOutcome::Resume
                }
                Some(_) => self.violation(frame, cr2, format_args!("restricted page tables full")),
                None => self.violation(
                    frame,
                    cr2,
                    format_args!("address not mapped in the kernel either"),
                ),
            },
            Decision::Refuse(v) => self.violation(frame, cr2, format_args!("{v}")),
        }
    }

    /// Reports a violation and ends the isolated syscall.
    fn violation(
        &mut self,
        frame: &TrapFrame,
        cr2: u64,
        what: core::fmt::Arguments<'_>,
    ) -> FaultOutcome {
        self.stats.violations += 1;
        crate::println!(
            "sci: container {}: thread {} stopped: {what}; rip {:#x} {}, address {cr2:#x} {}",
            self.name,
            crate::sched::current(),
            frame.rip,
            crate::symbols::describe(frame.rip),
            crate::symbols::describe(cr2),
        );
        abort_isolated();
        FaultOutcome::Stop
    }
}

/// Ends the isolated syscall running now without returning to it (its
/// thread is being stopped): the pages it mapped go, and the per-CPU area
/// says no syscall is isolated any more.
pub fn abort_isolated() {
    // SAFETY: as in `note_trap`.
    if let Some(iso) = unsafe { ACTIVE.load(Ordering::Relaxed).as_mut() } {
        iso.exit();
    }
    percpu::set_sci_full_cr3(0);
    percpu::set_sci_restricted_cr3(0);
}

/// Runs `f` on the full kernel table if an isolated syscall is running
/// (a kernel service of the personality); interrupts are off meanwhile.
/// A trap on the way back (the caller's next page, say) is taken like any
/// other in isolated code: the trap entry compares CR3 with the
/// restricted table's.
pub fn with_full_table<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if percpu::sci_full_cr3() == 0 {
            return f();
        }
        // SAFETY: an isolated syscall runs; both tables map this code, the
        // stack and the per-CPU area identically (the base set).
        unsafe { crate::arch::x86_64::sci_entry::load_full_table() };
        note_service();
        let result = f();
        // SAFETY: as above.
        unsafe { crate::arch::x86_64::sci_entry::load_restricted_table() };
        result
    })
}

/// Counts the two CR3 writes of a kernel service (on the full table).
fn note_service() {
    // SAFETY: as in `note_trap`.
    if let Some(iso) = unsafe { ACTIVE.load(Ordering::Relaxed).as_mut() } {
        iso.stats.cr3_writes += 2;
    }
    pcid::count_write(pcid::enabled());
    pcid::count_write(false);
}
