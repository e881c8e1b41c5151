//! An app's memory, reached only through the capabilities the server
//! holds: the app's address space (to map, unmap, protect, read and write)
//! and the container's memory quota (to allocate the pages).
//!
//! Mapping allocates one Frames object per request and maps it; the
//! Frames capability is deleted at once, so the mapping alone keeps the
//! pages, and they return to the quota when the last of them is unmapped
//! (or the address space goes). Pages of a request that is only partly
//! unmapped stay charged until the rest goes too.
//!
//! How Linux protections become mappings (`PROT_NONE`, W+X) is the
//! shared policy of `bulkhead_linux::host`; this module supplies its
//! primitive page operations through the capabilities.

use bulkhead_linux::host::{self, AppPages, PageError};
use bulkhead_linux::{Errno, Prot};
use bulkhead_rt::abi::{CapRef, Error, Rights};
use bulkhead_rt::sys;

/// The address space of one app and the quota that pays for its pages.
#[derive(Clone, Copy, Debug)]
pub struct AppMemory {
    pub space: CapRef,
    pub memory: CapRef,
}

/// The Linux errno for a kernel error on an app's memory.
pub fn errno_of(error: Error) -> Errno {
    Errno(error.linux_errno())
}

fn page_error(error: Error) -> PageError {
    match error {
        Error::NotMapped => PageError::NotMapped,
        e => PageError::Errno(errno_of(e)),
    }
}

/// Kernel rights for a mappable protection.
fn rights_of(prot: Prot) -> Rights {
    Rights::for_mapping(prot.write, prot.exec)
}

impl AppMemory {
    /// Copies from the app; `EFAULT` unless every byte is readable.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        sys::space_read(self.space, addr, buf).map_err(|_| Errno::EFAULT)
    }

    /// Copies into the app; `EFAULT` unless every byte is mapped writable
    /// (the kernel refuses read-only pages, as Linux does).
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        sys::space_write(self.space, addr, data).map_err(|_| Errno::EFAULT)
    }

    /// Maps fresh zeroed pages at `[addr, addr + len)`.
    pub fn map(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        host::map(self, addr, len, prot)
    }

    /// Unmaps `[addr, addr + len)`; holes are fine.
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        host::unmap(self, addr, len)
    }

    /// Changes the protection of `[addr, addr + len)`.
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        host::protect(self, addr, len, prot)
    }
}

impl AppPages for AppMemory {
    fn map_fresh(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError> {
        let frames = sys::frames_alloc(self.memory, count).map_err(page_error)?;
        let mapped = sys::space_map(self.space, frames, 0, count, addr, rights_of(prot));
        let _ = sys::cap_delete(frames);
        mapped.map_err(page_error)
    }

    fn unmap_pages(&mut self, addr: u64, count: u64) -> Result<(), PageError> {
        sys::space_unmap(self.space, addr, count).map_err(page_error)
    }

    fn protect_pages(&mut self, addr: u64, count: u64, prot: Prot) -> Result<(), PageError> {
        sys::space_protect(self.space, addr, count, rights_of(prot)).map_err(page_error)
    }
}

/// The ELF loader maps, fills and protects through the same calls.
impl bulkhead_linux_exec::ExecTarget for AppMemory {
    type Error = Errno;

    fn map(&mut self, addr: u64, len: u64, prot: bulkhead_linux_exec::Prot) -> Result<(), Errno> {
        AppMemory::map(self, addr, len, exec_prot(prot))
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Errno> {
        AppMemory::write(self, addr, bytes)
    }

    fn protect(
        &mut self,
        addr: u64,
        len: u64,
        prot: bulkhead_linux_exec::Prot,
    ) -> Result<(), Errno> {
        AppMemory::protect(self, addr, len, exec_prot(prot))
    }
}

/// The loader's protection as the personality's.
pub fn exec_prot(prot: bulkhead_linux_exec::Prot) -> Prot {
    Prot {
        read: prot.read,
        write: prot.write,
        exec: prot.exec,
    }
}
