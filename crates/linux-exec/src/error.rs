//! Why a program could not be loaded.
//!
//! [`ExecError`] has one variant per reason, so a caller (the Linux
//! personality) can map it to an `errno` (`ENOEXEC`, `E2BIG`, `ENOMEM`, ...)
//! and a human can read what was wrong. Every variant except
//! [`ExecError::Target`] is found while checking the image and the
//! arguments, before anything is mapped, so those errors leave the target
//! address space untouched. `Target(e)` carries the error of the
//! [`crate::ExecTarget`] call that failed; the loader stops at the first
//! failing call and the caller should throw the half-built space away.

use core::fmt;

use bulkhead_elf::ElfError;

/// Why [`crate::load`] failed. `E` is the target's error type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecError<E> {
    /// Shorter than the 64-byte ELF header.
    FileTooShort,
    /// The file does not start with `\x7fELF`.
    NotElf,
    /// Not a 64-bit ELF file (the `EI_CLASS` byte is given).
    WrongClass(u8),
    /// Not an x86-64 ELF file (the `e_machine` value is given).
    WrongMachine(u16),
    /// Not `ET_EXEC` or `ET_DYN` (for example `ET_REL` = 1 or `ET_CORE` = 4).
    NotExecutable(u16),
    /// Any other header problem found by the ELF reader (bad version,
    /// header table outside the file, entry size too small, ...).
    Elf(ElfError),
    /// The program has a `PT_INTERP` header: it needs a dynamic linker,
    /// and only static programs are supported.
    Interpreter,
    /// No `PT_LOAD` segment with a non-zero memory size.
    NoLoadableSegment,
    /// More `PT_LOAD` segments than [`crate::MAX_LOAD_SEGMENTS`].
    TooManySegments,
    /// Segment `index` (program header index): its file bytes lie past the end
    /// of the file.
    SegmentPastEndOfFile { index: usize },
    /// Segment `index`: `p_filesz` is larger than `p_memsz`.
    FileSizeExceedsMemSize { index: usize },
    /// Segment `index`: its address range (after the load bias) wraps, lies
    /// below [`crate::LOWEST_LOAD_ADDRESS`] or reaches past
    /// [`crate::USER_LIMIT`].
    SegmentOutOfRange { index: usize },
    /// Segment `index`: `p_align` is not zero or a power of two.
    BadAlignment { index: usize },
    /// Segment `index`: `p_vaddr` and `p_offset` differ modulo the page size
    /// (or modulo `p_align`).
    MisalignedSegment { index: usize },
    /// The memory ranges of segments `first` and `second` overlap (sharing
    /// a page is fine, sharing a byte is not).
    OverlappingSegments { first: usize, second: usize },
    /// Segment `index` overlaps the stack range chosen by the configuration.
    SegmentOverlapsStack { index: usize },
    /// The entry point (the biased address is given) is not inside an
    /// executable segment.
    BadEntry(u64),
    /// `PT_PHDR` names memory that no segment loads from the file.
    PhdrNotLoaded,
    /// The [`crate::ExecConfig`] is unusable (the reason is given).
    BadConfig(&'static str),
    /// An argument, environment string, exec-fn or platform string contains
    /// a NUL byte (the program would see it cut short).
    ArgumentContainsNul,
    /// Argument and environment strings and pointers together exceed the
    /// limit (see [`crate::ARGUMENT_LIMIT`]); Linux says `E2BIG`.
    ArgumentsTooLarge,
    /// The initial stack contents do not fit in the stack.
    StackTooSmall,
    /// A call to the target failed.
    Target(E),
}

impl<E> From<ElfError> for ExecError<E> {
    /// Maps the reader's header errors to the precise variants above.
    fn from(error: ElfError) -> Self {
        match error {
            ElfError::Truncated => ExecError::FileTooShort,
            ElfError::BadMagic => ExecError::NotElf,
            ElfError::UnsupportedClass(class) => ExecError::WrongClass(class),
            ElfError::UnsupportedMachine(machine) => ExecError::WrongMachine(machine),
            ElfError::UnsupportedType(kind) => ExecError::NotExecutable(kind),
            other => ExecError::Elf(other),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ExecError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::FileTooShort => f.write_str("file shorter than an ELF header"),
            ExecError::NotElf => f.write_str("not an ELF file"),
            ExecError::WrongClass(class) => write!(f, "ELF class {class} is not 64-bit"),
            ExecError::WrongMachine(machine) => write!(f, "ELF machine {machine} is not x86-64"),
            ExecError::NotExecutable(kind) => {
                write!(f, "ELF type {kind} is not an executable (EXEC or DYN)")
            }
            ExecError::Elf(error) => write!(f, "bad ELF file: {error}"),
            ExecError::Interpreter => {
                f.write_str("program needs a dynamic linker (PT_INTERP); only static programs run")
            }
            ExecError::NoLoadableSegment => f.write_str("no loadable segment"),
            ExecError::TooManySegments => f.write_str("too many loadable segments"),
            other => segment_or_stack_message(other, f),
        }
    }
}

/// The second half of the messages, split to keep functions short.
fn segment_or_stack_message<E: fmt::Display>(
    error: &ExecError<E>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    match error {
        ExecError::SegmentPastEndOfFile { index } => {
            write!(
                f,
                "segment {index}: file bytes lie past the end of the file"
            )
        }
        ExecError::FileSizeExceedsMemSize { index } => {
            write!(f, "segment {index}: file size exceeds memory size")
        }
        ExecError::SegmentOutOfRange { index } => {
            write!(f, "segment {index}: address range outside user memory")
        }
        ExecError::BadAlignment { index } => {
            write!(f, "segment {index}: alignment is not a power of two")
        }
        ExecError::MisalignedSegment { index } => {
            write!(
                f,
                "segment {index}: address and file offset disagree modulo the page size"
            )
        }
        ExecError::OverlappingSegments { first, second } => {
            write!(f, "segments {first} and {second} overlap")
        }
        ExecError::SegmentOverlapsStack { index } => {
            write!(f, "segment {index} overlaps the stack")
        }
        ExecError::BadEntry(entry) => {
            write!(f, "entry point {entry:#x} is not in an executable segment")
        }
        ExecError::PhdrNotLoaded => f.write_str("PT_PHDR is not inside a loaded segment"),
        ExecError::BadConfig(reason) => write!(f, "bad exec configuration: {reason}"),
        ExecError::ArgumentContainsNul => f.write_str("argument or environment contains NUL"),
        ExecError::ArgumentsTooLarge => f.write_str("argument list too long"),
        ExecError::StackTooSmall => f.write_str("initial stack does not fit in the stack"),
        ExecError::Target(error) => write!(f, "address space: {error}"),
        _ => f.write_str("exec error"),
    }
}
