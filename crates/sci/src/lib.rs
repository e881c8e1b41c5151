//! System Call Isolation (SCI): what may be mapped into a container's
//! restricted kernel page table while one of its syscalls runs.
//!
//! Under SCI a syscall starts on a page table that holds the app's user
//! half plus a minimal kernel: the entry and exit code, the thread's
//! kernel stack, the per-CPU area and the container's own kernel data.
//! Every other kernel page the syscall touches faults, and this crate
//! decides, from the fault alone, whether the page may be mapped (and the
//! syscall resumed) or whether the access is a violation (the syscall is
//! aborted and the thread stopped). The rules, after the original SCI
//! proposal:
//!
//! ```text
//!  instruction fetch at A, in function F (kernel symbol table):
//!    A is F's first instruction             -> map A's page; F is now entered
//!    A's page is not F's first, and F was   -> map A's page (execution ran on
//!      entered, or the page before A's is      into F's next page)
//!      mapped already
//!    otherwise (mid-function, or no symbol) -> violation: a jump into the
//!                                               middle of code, as a corrupted
//!                                               return address would make
//!  data access at A:
//!    A in the container's own kernel data   -> map A's page
//!    A in the documented allow-list         -> map A's page
//!    otherwise                              -> violation
//! ```
//!
//! The decision has no side effects except recording entered functions and
//! mapped code pages in the [`SyscallTrace`], which the kernel starts
//! afresh at each syscall entry in plain SCI (the pages mapped during the
//! syscall are dropped at its exit) and keeps per container in the
//! `sci-sticky` variant (the pages stay).
//!
//! Faults come at page granularity, so "entered" cannot be seen for a
//! function whose first instruction lies on a page that is already mapped
//! (its entry does not fault). The continuation rule therefore also
//! accepts running on from a mapped page into the next one. The price is
//! the same as in the original proposal: code on a page that some
//! legitimately called function brought in is reachable, mid-function
//! included; code on pages nothing called stays out of reach.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use bulkhead_symbols::SymbolTable;
use core::fmt;

/// Page size of the restricted page table's mappings.
pub const PAGE_SIZE: u64 = 4096;

/// The page containing `addr`.
pub const fn page_of(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// What the faulting access was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Fetching an instruction (the fault address is the RIP, or the start
    /// of the next page for an instruction that crosses into it).
    Fetch,
    Read,
    Write,
}

/// A named range of kernel data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRange<'a> {
    pub name: &'a str,
    pub start: u64,
    pub end: u64,
}

impl DataRange<'_> {
    fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }
}

/// Why a page may be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason<'a> {
    /// A call into a function: its first instruction.
    FunctionEntry { function: &'a str },
    /// Execution of a function entered earlier ran on into this page.
    Continuation { function: &'a str },
    /// The container's own kernel data.
    OwnData { object: &'a str },
    /// Shared kernel data on the documented allow-list.
    AllowList { name: &'a str },
}

/// Why an access is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation<'a> {
    /// A fetch in the middle of a function not entered in this syscall.
    MidFunction { function: &'a str, offset: u64 },
    /// A fetch where the symbol table has no function.
    NoFunction,
    /// A data access outside the container's data and the allow-list;
    /// `near` names the function symbol there, if any (a data access to
    /// code).
    Data { near: Option<&'a str> },
}

/// The outcome for one fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Map this page into the restricted table and resume.
    Map { page: u64, reason: Reason<'a> },
    /// Abort the syscall and stop the thread.
    Refuse(Violation<'a>),
}

/// The functions entered and the code pages mapped during the current
/// syscall (plain SCI: cleared at every syscall entry) or ever (sticky).
#[derive(Clone, Debug, Default)]
pub struct SyscallTrace {
    entered: Vec<u64>,
    code_pages: Vec<u64>,
}

impl SyscallTrace {
    /// A trace for a new syscall.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything (syscall entry).
    pub fn clear(&mut self) {
        self.entered.clear();
        self.code_pages.clear();
    }

    /// True if the code page `page` was mapped through this trace.
    pub fn code_page_mapped(&self, page: u64) -> bool {
        self.code_pages.contains(&page)
    }

    /// True if the function starting at `start` was entered.
    pub fn entered(&self, start: u64) -> bool {
        self.entered.contains(&start)
    }

    /// Functions entered so far.
    pub fn len(&self) -> usize {
        self.entered.len()
    }

    /// True if none was entered.
    pub fn is_empty(&self) -> bool {
        self.entered.is_empty()
    }

    fn enter(&mut self, start: u64, page: u64) {
        if !self.entered(start) {
            self.entered.push(start);
        }
        if !self.code_page_mapped(page) {
            self.code_pages.push(page);
        }
    }
}

/// The policy for one container: the kernel's symbols, the container's
/// own kernel data, and the shared allow-list.
pub struct Policy<'a> {
    pub symbols: &'a SymbolTable,
    pub own: &'a [DataRange<'a>],
    pub allow: &'a [DataRange<'a>],
}

impl<'a> Policy<'a> {
    /// Decides on a fault at `addr` (see the module docs); a fetch that is
    /// allowed records its function in `trace`.
    pub fn decide(&self, trace: &mut SyscallTrace, addr: u64, access: Access) -> Decision<'a> {
        match access {
            Access::Fetch => self.fetch(trace, addr),
            Access::Read | Access::Write => self.data(addr),
        }
    }

    fn fetch(&self, trace: &mut SyscallTrace, addr: u64) -> Decision<'a> {
        let Some(function) = self.symbols.lookup(addr) else {
            return Decision::Refuse(Violation::NoFunction);
        };
        let page = page_of(addr);
        let reason = if function.offset == 0 {
            Reason::FunctionEntry {
                function: function.name,
            }
        } else if page_of(function.start) < page
            && (trace.entered(function.start) || trace.code_page_mapped(page - PAGE_SIZE))
        {
            Reason::Continuation {
                function: function.name,
            }
        } else {
            return Decision::Refuse(Violation::MidFunction {
                function: function.name,
                offset: function.offset,
            });
        };
        trace.enter(function.start, page);
        Decision::Map { page, reason }
    }

    fn data(&self, addr: u64) -> Decision<'a> {
        let page = page_of(addr);
        if let Some(range) = self.own.iter().find(|r| r.contains(addr)) {
            return Decision::Map {
                page,
                reason: Reason::OwnData { object: range.name },
            };
        }
        if let Some(range) = self.allow.iter().find(|r| r.contains(addr)) {
            return Decision::Map {
                page,
                reason: Reason::AllowList { name: range.name },
            };
        }
        Decision::Refuse(Violation::Data {
            near: self.symbols.lookup(addr).map(|s| s.name),
        })
    }
}

impl fmt::Display for Violation<'_> {
    /// One line for the console report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::MidFunction { function, offset } => write!(
                f,
                "jump into the middle of {}+{offset:#x} (not entered in this syscall)",
                bulkhead_symbols::demangle(function)
            ),
            Violation::NoFunction => write!(f, "instruction fetch outside every kernel function"),
            Violation::Data {
                near: Some(function),
            } => write!(
                f,
                "data access to kernel code ({}) outside the allow-list",
                bulkhead_symbols::demangle(function)
            ),
            Violation::Data { near: None } => {
                write!(
                    f,
                    "data access outside the container's data and the allow-list"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
