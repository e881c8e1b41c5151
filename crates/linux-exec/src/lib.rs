//! Loading static Linux x86-64 programs: the kernel side of `execve`.
//!
//! [`load`] takes an ELF image (a musl `-static` `ET_EXEC` program, or a
//! `-static-pie` `ET_DYN` program without `PT_INTERP`), places its `PT_LOAD`
//! segments in a fresh address space through the small [`ExecTarget`]
//! trait, maps a stack and writes the Linux initial stack (argc, argv,
//! envp, auxiliary vector; see [`stack`]). It returns what the caller needs
//! to start the first thread: [`Loaded::entry`] and
//! [`Loaded::stack_pointer`].
//!
//! The loader works in two phases, and this is its main invariant:
//!
//! 1. **Check and plan, with no side effects.** Every header, the
//!    configuration and the argument sizes are checked, and every address
//!    is computed with checked arithmetic, before the target is called. A
//!    bad image therefore never leaves a half-built address space behind,
//!    and no input can make the loader panic.
//! 2. **Perform.** Map each page-aligned region read+write, copy each
//!    segment's file bytes (the rest, the `.bss`, stays zero because the
//!    target's fresh pages are zero-filled), set each region's final
//!    protection, map the stack and write the stack image in one call.
//!    Only target errors can happen here.
//!
//! `PT_GNU_STACK` is ignored (the stack is never executable), and `PT_TLS`
//! needs nothing: musl finds it through `AT_PHDR` and sets up TLS itself.
//! Dynamic programs (`PT_INTERP`) are rejected.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
mod plan;
pub mod stack;

use alloc::vec::Vec;
use core::ops::Range;

pub use error::ExecError;
pub use plan::{LOWEST_LOAD_ADDRESS, MAX_LOAD_SEGMENTS, PAGE_SIZE, USER_LIMIT};
pub use stack::{build_stack, decode_stack, DecodedStack, StackError, StackImage, StackSpec};

use plan::{Phdr, Plan};

/// Upper bound on argument and environment bytes (Linux's `ARG_MAX` is
/// similar); the effective limit is also at most a quarter of the stack.
pub const ARGUMENT_LIMIT: u64 = 128 * 1024;
/// `AT_CLKTCK`: Linux reports 100 ticks per second.
pub const CLOCK_TICKS: u64 = 100;

/// Page protection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// Read and write, not executable: the stack, and every segment while
    /// it is being filled.
    pub const READ_WRITE: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// Everything either protection allows.
    pub fn union(self, other: Prot) -> Prot {
        Prot {
            read: self.read || other.read,
            write: self.write || other.write,
            exec: self.exec || other.exec,
        }
    }
}

/// Where the loader puts things in the new address space.
pub trait ExecTarget {
    type Error;
    /// Map fresh zero-filled pages at `[addr, addr + len)` (page aligned)
    /// with `prot`.
    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Self::Error>;
    /// Copy bytes into already-mapped memory. The loader only writes to
    /// pages it mapped writable and has not yet protected.
    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Change the protection of mapped pages (page aligned).
    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Self::Error>;
}

/// Where and how to load; see [`ExecConfig::linux_defaults`].
#[derive(Clone, Copy, Debug)]
pub struct ExecConfig<'a> {
    /// Load bias for `ET_DYN` programs (page aligned).
    pub pie_base: u64,
    /// One past the top of the stack (page aligned).
    pub stack_top: u64,
    /// Stack size in bytes (page aligned, non-zero); mapped read+write.
    pub stack_size: u64,
    /// The `AT_RANDOM` bytes (seed for the stack protector and malloc).
    pub random: [u8; 16],
    pub uid: u32,
    pub gid: u32,
    /// `AT_PLATFORM` string; empty for none.
    pub platform: &'a str,
    /// `AT_EXECFN`: the path the program was started from.
    pub exec_fn: &'a [u8],
}

impl<'a> ExecConfig<'a> {
    /// The usual Linux layout: PIE base `0x5555_5555_0000`, stack top
    /// `0x7fff_ffff_f000`, 256 KiB of stack, root user, "x86_64".
    pub fn linux_defaults(exec_fn: &'a [u8], random: [u8; 16]) -> Self {
        ExecConfig {
            pie_base: 0x5555_5555_0000,
            stack_top: 0x7fff_ffff_f000,
            stack_size: 256 * 1024,
            random,
            uid: 0,
            gid: 0,
            platform: "x86_64",
            exec_fn,
        }
    }

    /// The stack's address range, after checking the configuration.
    fn stack_range<E>(&self) -> Result<Range<u64>, ExecError<E>> {
        let aligned = |value: u64| value.is_multiple_of(PAGE_SIZE);
        if !aligned(self.pie_base) || !aligned(self.stack_top) || !aligned(self.stack_size) {
            return Err(ExecError::BadConfig(
                "addresses and sizes must be page aligned",
            ));
        }
        if self.stack_size == 0 || self.stack_top > USER_LIMIT {
            return Err(ExecError::BadConfig("stack empty or above user memory"));
        }
        match self.stack_top.checked_sub(self.stack_size) {
            Some(bottom) if bottom >= LOWEST_LOAD_ADDRESS => Ok(bottom..self.stack_top),
            _ => Err(ExecError::BadConfig(
                "stack reaches below the lowest address",
            )),
        }
    }

    /// The effective argument limit: [`ARGUMENT_LIMIT`], at most a quarter
    /// of the stack.
    pub fn argument_limit(&self) -> u64 {
        ARGUMENT_LIMIT.min(self.stack_size / 4)
    }
}

/// What [`load`] did, for starting the thread and for bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Where to start the thread (bias applied).
    pub entry: u64,
    /// The initial `rsp`, pointing at argc, 16-byte aligned.
    pub stack_pointer: u64,
    /// The initial program break: the end of the highest segment, rounded
    /// up to a page boundary (Linux does the same, without randomisation).
    pub brk_start: u64,
    /// `AT_PHDR`: the program headers in memory (possibly a copy on the
    /// stack when no segment loads them).
    pub phdr: u64,
    /// The load bias: `pie_base` for `ET_DYN`, 0 for `ET_EXEC`.
    pub base: u64,
    /// Every range mapped, as `(address, length, final protection)`:
    /// segment regions in address order, then the stack.
    pub mappings: Vec<(u64, u64, Prot)>,
}

/// Loads `image` into `target` and builds the initial stack (see the crate
/// documentation for the two phases).
pub fn load<T: ExecTarget>(
    target: &mut T,
    image: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    config: &ExecConfig<'_>,
) -> Result<Loaded, ExecError<T::Error>> {
    let plan = plan::plan(image, config)?;
    let stack_range = config.stack_range()?;
    let auxv = auxiliary_vector(&plan, config);
    let phdr_copy = match plan.phdr {
        Phdr::InMemory(_) => &[][..],
        Phdr::Copy(table) => table,
    };
    let stack = build_stack(&StackSpec {
        stack_top: config.stack_top,
        stack_size: config.stack_size,
        argument_limit: config.argument_limit(),
        argv,
        envp,
        exec_fn: config.exec_fn,
        platform: config.platform.as_bytes(),
        random: config.random,
        phdr_copy,
        auxv: &auxv,
    })
    .map_err(stack_error)?;
    perform(target, &plan, &stack_range, &stack)?;
    Ok(loaded(&plan, &stack_range, &stack))
}

/// The auxiliary vector entries the loader knows; [`build_stack`] adds the
/// ones pointing into the stack.
fn auxiliary_vector(plan: &Plan<'_>, config: &ExecConfig<'_>) -> Vec<(u64, u64)> {
    let mut auxv = Vec::new();
    if let Phdr::InMemory(address) = plan.phdr {
        auxv.push((stack::AT_PHDR, address));
    }
    auxv.extend_from_slice(&[
        (stack::AT_PHENT, plan.phent),
        (stack::AT_PHNUM, plan.phnum),
        (stack::AT_PAGESZ, PAGE_SIZE),
        (stack::AT_BASE, 0),
        (stack::AT_FLAGS, 0),
        (stack::AT_ENTRY, plan.entry),
        (stack::AT_UID, config.uid.into()),
        (stack::AT_EUID, config.uid.into()),
        (stack::AT_GID, config.gid.into()),
        (stack::AT_EGID, config.gid.into()),
        (stack::AT_HWCAP, 0),
        (stack::AT_CLKTCK, CLOCK_TICKS),
        (stack::AT_SECURE, 0),
    ]);
    auxv
}

fn stack_error<E>(error: StackError) -> ExecError<E> {
    match error {
        StackError::ArgumentContainsNul => ExecError::ArgumentContainsNul,
        StackError::ArgumentsTooLarge => ExecError::ArgumentsTooLarge,
        StackError::StackTooSmall => ExecError::StackTooSmall,
        StackError::MisalignedTop => ExecError::BadConfig("stack top not 16-byte aligned"),
    }
}

/// Phase 2: the only place the target is called.
fn perform<T: ExecTarget>(
    target: &mut T,
    plan: &Plan<'_>,
    stack_range: &Range<u64>,
    stack: &StackImage,
) -> Result<(), ExecError<T::Error>> {
    for region in &plan.regions {
        let len = region.len();
        target
            .map(region.start, len, Prot::READ_WRITE)
            .map_err(ExecError::Target)?;
    }
    for segment in &plan.segments {
        if !segment.file_bytes.is_empty() {
            target
                .write(segment.start, segment.file_bytes)
                .map_err(ExecError::Target)?;
        }
    }
    for region in &plan.regions {
        let len = region.len();
        target
            .protect(region.start, len, region.prot)
            .map_err(ExecError::Target)?;
    }
    let stack_len = stack_range.end.saturating_sub(stack_range.start);
    target
        .map(stack_range.start, stack_len, Prot::READ_WRITE)
        .map_err(ExecError::Target)?;
    target
        .write(stack.stack_pointer, &stack.bytes)
        .map_err(ExecError::Target)
}

fn loaded(plan: &Plan<'_>, stack_range: &Range<u64>, stack: &StackImage) -> Loaded {
    let phdr = match plan.phdr {
        Phdr::InMemory(address) => address,
        Phdr::Copy(_) => copied_phdr_address(stack),
    };
    let mut mappings: Vec<(u64, u64, Prot)> = plan
        .regions
        .iter()
        .map(|region| (region.start, region.len(), region.prot))
        .collect();
    mappings.push((
        stack_range.start,
        stack_range.end.saturating_sub(stack_range.start),
        Prot::READ_WRITE,
    ));
    Loaded {
        entry: plan.entry,
        stack_pointer: stack.stack_pointer,
        brk_start: plan.brk_start,
        phdr,
        base: plan.bias,
        mappings,
    }
}

/// The `AT_PHDR` value [`build_stack`] wrote for a copied table (0 if
/// absent, which cannot happen).
fn copied_phdr_address(stack: &StackImage) -> u64 {
    decode_stack(stack.stack_pointer, &stack.bytes)
        .and_then(|decoded| decoded.aux(stack::AT_PHDR))
        .unwrap_or(0)
}
