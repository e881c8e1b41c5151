//! Error codes returned in `rax`. Zero is success, so no variant is zero.
//! The numbers are part of the ABI: never renumber, only append.

use core::fmt;

/// Why a native call failed.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The syscall number is unknown.
    NoSuchCall = 1,
    /// The capability index is out of range or its slot is empty.
    InvalidCap = 2,
    /// The capability's slot was emptied (and perhaps reused) since the
    /// handle was made: its generation no longer matches.
    StaleCap = 3,
    /// The capability names an object of another type.
    WrongType = 4,
    /// The capability lacks a right the operation needs.
    NoRights = 5,
    /// A pointer or length from user space is not a valid user range.
    BadAddress = 6,
    /// An argument is out of range (alignment, size, flags).
    InvalidArgument = 7,
    /// The memory quota cannot pay for the operation.
    QuotaExhausted = 8,
    /// The capability table is full.
    TableFull = 9,
    /// Something is already mapped there.
    AlreadyMapped = 10,
    /// Nothing is mapped there.
    NotMapped = 11,
    /// The requested mapping would be writable and executable.
    WriteAndExecute = 12,
    /// The thread is not in a state that allows the operation.
    BadState = 13,
    /// The kernel itself ran out of memory.
    OutOfMemory = 14,
    /// A badge is already set on the source capability.
    AlreadyBadged = 15,
    /// The I/O port is outside the capability's range.
    PortOutOfRange = 16,
    /// The object still has objects that depend on it.
    Busy = 17,
    /// The operation would block and the caller asked it not to.
    WouldBlock = 18,
    /// The blocked operation was cancelled by another thread.
    Cancelled = 19,
    /// The blocked operation's timeout expired.
    TimedOut = 20,
    /// The IPC partner is gone: the server died before replying, or the
    /// endpoint was deleted while the caller waited on it.
    PartnerGone = 21,
}

impl Error {
    /// The Linux errno a container's app sees when a kernel operation done
    /// on its behalf (mapping its memory, making its thread) fails with
    /// this error.
    pub const fn linux_errno(self) -> i32 {
        const EFAULT: i32 = 14;
        const ENOMEM: i32 = 12;
        const EAGAIN: i32 = 11;
        const EACCES: i32 = 13;
        const EEXIST: i32 = 17;
        const EINVAL: i32 = 22;
        match self {
            Error::QuotaExhausted | Error::OutOfMemory => ENOMEM,
            Error::TableFull => EAGAIN,
            Error::WriteAndExecute | Error::NoRights => EACCES,
            Error::AlreadyMapped => EEXIST,
            Error::BadAddress | Error::NotMapped => EFAULT,
            _ => EINVAL,
        }
    }

    /// Every error, in numeric order.
    pub const ALL: [Error; 21] = [
        Error::NoSuchCall,
        Error::InvalidCap,
        Error::StaleCap,
        Error::WrongType,
        Error::NoRights,
        Error::BadAddress,
        Error::InvalidArgument,
        Error::QuotaExhausted,
        Error::TableFull,
        Error::AlreadyMapped,
        Error::NotMapped,
        Error::WriteAndExecute,
        Error::BadState,
        Error::OutOfMemory,
        Error::AlreadyBadged,
        Error::PortOutOfRange,
        Error::Busy,
        Error::WouldBlock,
        Error::Cancelled,
        Error::TimedOut,
        Error::PartnerGone,
    ];

    /// Decodes an error code; `None` for 0 (success) and for unknown codes.
    pub fn from_code(code: u64) -> Option<Error> {
        Error::ALL.into_iter().find(|e| *e as u64 == code)
    }

    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            Error::NoSuchCall => "no such system call",
            Error::InvalidCap => "invalid capability",
            Error::StaleCap => "stale capability",
            Error::WrongType => "wrong object type",
            Error::NoRights => "insufficient rights",
            Error::BadAddress => "bad address",
            Error::InvalidArgument => "invalid argument",
            Error::QuotaExhausted => "memory quota exhausted",
            Error::TableFull => "capability table full",
            Error::AlreadyMapped => "already mapped",
            Error::NotMapped => "not mapped",
            Error::WriteAndExecute => "writable and executable mapping refused",
            Error::BadState => "bad thread state",
            Error::OutOfMemory => "kernel out of memory",
            Error::AlreadyBadged => "capability already badged",
            Error::PortOutOfRange => "I/O port outside the capability's range",
            Error::Busy => "object busy",
            Error::WouldBlock => "operation would block",
            Error::Cancelled => "operation cancelled",
            Error::TimedOut => "timed out",
            Error::PartnerGone => "IPC partner gone",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_unique_and_nonzero() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(*e as u64, i as u64 + 1);
            assert_eq!(Error::from_code(*e as u64), Some(*e));
        }
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(999), None);
    }
}
