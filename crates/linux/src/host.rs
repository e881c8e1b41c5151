//! Pieces every host of the personality needs in the same form, so the
//! syscall server (`ipc`) and the kernel (`direct`, `sci`) behave alike:
//! where `mmap` puts memory, how Linux protections become page mappings,
//! the wall-clock epoch, the generator behind `getrandom`, and console
//! output cut into whole lines.
//!
//! x86 page tables cannot express "present but inaccessible", and the
//! kernel refuses writable-and-executable pages, so two Linux requests are
//! approximated the same way by every host ([`map`], [`protect`]):
//! `PROT_NONE` leaves the range unmapped (a later `mprotect` that makes it
//! accessible maps fresh zero pages), and `PROT_WRITE|PROT_EXEC` is
//! refused with `EACCES`.

use alloc::vec::Vec;

use crate::{Errno, MemoryLayout, Prot, PAGE_SIZE};

/// Why a page operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageError {
    /// (Some of) the range is not mapped.
    NotMapped,
    /// Anything else, as the app should see it.
    Errno(Errno),
}

/// A host's primitive operations on an app's page tables. `prot` is never
/// `PROT_NONE` and never writable-and-executable; counts are in pages.
pub trait AppPages {
    /// Maps `count` fresh zeroed pages at `addr`.
    fn map_fresh(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError>;
    /// Unmaps whatever is mapped in the range; `NotMapped` if nothing was.
    fn unmap_pages(&mut self, addr: u64, count: u64) -> Result<(), PageError>;
    /// Changes the protection of the range; `NotMapped` unless every page
    /// is mapped.
    fn protect_pages(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError>;
}

/// The protection a mapping gets; `None` for `PROT_NONE`.
fn mappable(prot: Prot) -> Result<Option<Prot>, Errno> {
    if !(prot.read || prot.write || prot.exec) {
        return Ok(None);
    }
    if prot.write && prot.exec {
        return Err(Errno::EACCES);
    }
    Ok(Some(Prot { read: true, ..prot }))
}

fn errno(e: PageError) -> Errno {
    match e {
        PageError::NotMapped => Errno::EFAULT,
        PageError::Errno(e) => e,
    }
}

/// [`crate::Backend::map`] over a host's page operations.
pub fn map(pages: &mut dyn AppPages, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
    let Some(prot) = mappable(prot)? else {
        return Ok(());
    };
    match len.div_ceil(PAGE_SIZE) {
        0 => Ok(()),
        count => pages.map_fresh(addr, count, prot).map_err(errno),
    }
}

/// [`crate::Backend::unmap`]: holes are fine.
pub fn unmap(pages: &mut dyn AppPages, addr: u64, len: u64) -> Result<(), Errno> {
    match pages.unmap_pages(addr, len.div_ceil(PAGE_SIZE)) {
        Ok(()) | Err(PageError::NotMapped) => Ok(()),
        Err(e) => Err(errno(e)),
    }
}

/// [`crate::Backend::protect`]: pages left unmapped by `PROT_NONE` are
/// mapped afresh.
pub fn protect(pages: &mut dyn AppPages, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
    let Some(prot) = mappable(prot)? else {
        return unmap(pages, addr, len);
    };
    let count = len.div_ceil(PAGE_SIZE);
    match pages.protect_pages(addr, count, prot) {
        Ok(()) => Ok(()),
        Err(PageError::NotMapped) => (0..count).try_for_each(|i| {
            let page = addr + i * PAGE_SIZE;
            match pages.protect_pages(page, 1, prot) {
                Err(PageError::NotMapped) => pages.map_fresh(page, 1, prot).map_err(errno),
                other => other.map_err(errno),
            }
        }),
        Err(e) => Err(errno(e)),
    }
}

/// Where `mmap` places memory in an app (the top of the user half, below
/// the stack).
pub const DEFAULT_LAYOUT: MemoryLayout = MemoryLayout {
    mmap_base: 0x0000_7f00_0000_0000,
    mmap_end: 0x0000_7ff0_0000_0000,
};

/// `CLOCK_REALTIME` at boot: Bulkhead has no battery clock, so it starts
/// at a fixed date (2026-01-01 00:00:00 UTC).
pub const EPOCH_AT_BOOT_NS: u64 = 1_767_225_600 * 1_000_000_000;

/// Longest console line kept back waiting for its newline.
pub const MAX_LINE: usize = 512;

/// A xorshift generator seeded from a clock: varied, not secret (good
/// enough for `AT_RANDOM` and `getrandom` in tests; not cryptographic).
#[derive(Clone, Debug)]
pub struct Random(u64);

impl Random {
    /// A generator seeded with `seed` (any value).
    pub fn new(seed: u64) -> Random {
        Random(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Fills `buf` with the next bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// An app's console output, cut into lines so that containers writing at
/// the same time never interleave within a line: a partial line waits
/// until its newline, until it grows past [`MAX_LINE`], or until the app
/// ends ([`ConsoleLine::flush`]).
#[derive(Clone, Debug, Default)]
pub struct ConsoleLine {
    line: Vec<u8>,
}

impl ConsoleLine {
    /// Adds `bytes`; `emit` gets each completed line (with its newline).
    pub fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(&[u8])) {
        for &byte in bytes {
            self.line.push(byte);
            if byte == b'\n' || self.line.len() >= MAX_LINE {
                emit(&self.line);
                self.line.clear();
            }
        }
    }

    /// Emits whatever partial line is left.
    pub fn flush(&mut self, emit: impl FnOnce(&[u8])) {
        if !self.line.is_empty() {
            emit(&self.line);
            self.line.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn lines_are_cut_at_newlines_and_at_the_limit() {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut console = ConsoleLine::default();
        console.push(b"ab\ncd", |l| out.push(l.to_vec()));
        assert_eq!(out, vec![b"ab\n".to_vec()]);
        console.push(&[b'x'; MAX_LINE], |l| out.push(l.to_vec()));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].len(), MAX_LINE);
        console.flush(|l| out.push(l.to_vec()));
        assert_eq!(out[2], b"xx".to_vec());
        console.flush(|_| panic!("nothing left"));
    }

    #[test]
    fn random_bytes_vary_and_repeat_for_a_seed() {
        let (mut a, mut b) = (Random::new(7), Random::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        a.fill(&mut y);
        assert_ne!(x, y);
    }
}
