//! The backend: everything the personality needs from the world outside it.
//!
//! The syscall logic in this crate is pure: it never touches hardware,
//! page tables or the app's memory directly. Whoever hosts it (the
//! per-container syscall server in `ipc` mode, the kernel in `direct` and
//! `sci` modes, or the mock in the tests) implements [`Backend`]. Every
//! access to the application's memory goes through [`Backend::read_user`]
//! and [`Backend::write_user`], which must *check* the address range and
//! answer `Err(Errno::EFAULT)` instead of faulting; that is what lets the
//! personality turn any bad pointer into `-EFAULT` without a panic.

use crate::Errno;

/// The size of one page of app memory. All mapping calls use multiples.
pub const PAGE_SIZE: u64 = 4096;

/// Page protection, as in `PROT_READ | PROT_WRITE | PROT_EXEC`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// No access at all (`PROT_NONE`).
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };
    /// Read and write, no execute: data, heap and stack.
    pub const READ_WRITE: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// Decodes Linux `PROT_*` bits (1 = read, 2 = write, 4 = exec).
    /// Returns `None` when unknown bits are set.
    pub fn from_linux(bits: u64) -> Option<Prot> {
        const KNOWN: u64 = 0b111;
        // PROT_GROWSDOWN / PROT_GROWSUP are accepted and ignored.
        const GROWS: u64 = 0x0100_0000 | 0x0200_0000;
        if bits & !(KNOWN | GROWS) != 0 {
            return None;
        }
        Some(Prot {
            read: bits & 1 != 0,
            write: bits & 2 != 0,
            exec: bits & 4 != 0,
        })
    }

    /// Encodes as Linux `PROT_*` bits.
    pub fn to_linux(self) -> u64 {
        u64::from(self.read) | (u64::from(self.write) << 1) | (u64::from(self.exec) << 2)
    }
}

/// What the personality needs from its host. See the module docs.
pub trait Backend {
    /// Copy from the app's memory; `Err(Errno::EFAULT)` if any byte is not
    /// readable user memory.
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Copy into the app's memory; `Err(EFAULT)` if not writable user memory.
    fn write_user(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// Map fresh zero-filled pages at `[addr, addr+len)` (page-aligned, `len`
    /// a multiple of 4096) with `prot`. Existing mappings in the range have
    /// been unmapped by the caller first.
    fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno>;
    /// Unmap `[addr, addr+len)` (page-aligned); unmapped holes inside are fine.
    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno>;
    /// Change the protection of mapped pages in `[addr, addr+len)`.
    fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno>;
    /// Set the calling thread's FS base (`arch_prctl(ARCH_SET_FS)`).
    fn set_fs_base(&mut self, base: u64) -> Result<(), Errno>;
    /// Write bytes to the console (stdout/stderr; the backend prefixes lines
    /// with the container name).
    fn console_write(&mut self, bytes: &[u8]);
    /// Read console input without blocking; returns bytes read (0 = none).
    fn console_read(&mut self, buf: &mut [u8]) -> usize;
    /// Nanoseconds since boot (`CLOCK_MONOTONIC`).
    fn monotonic_ns(&mut self) -> u64;
    /// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`).
    fn realtime_ns(&mut self) -> u64;
    /// Block for at least `ns` nanoseconds.
    fn sleep_ns(&mut self, ns: u64);
    /// Fill `buf` with random bytes.
    fn random(&mut self, buf: &mut [u8]);
    /// A diagnostic line for the console.
    fn log(&mut self, message: core::fmt::Arguments<'_>);
}
