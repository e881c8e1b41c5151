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
//! x86 page tables cannot express "present but inaccessible", and the
//! kernel refuses writable-and-executable pages, so two Linux requests are
//! approximated: `PROT_NONE` leaves the range unmapped (a later
//! `mprotect` that makes it accessible maps fresh zero pages), and
//! `PROT_WRITE|PROT_EXEC` is refused with `EACCES`.

use bulkhead_linux::{Errno, Prot};
use bulkhead_rt::abi::{CapRef, Error, Rights, PAGE_SIZE};
use bulkhead_rt::sys;

/// The address space of one app and the quota that pays for its pages.
#[derive(Clone, Copy, Debug)]
pub struct AppMemory {
    pub space: CapRef,
    pub memory: CapRef,
}

/// The Linux errno for a kernel error on an app's memory.
pub fn errno_of(error: Error) -> Errno {
    match error {
        Error::QuotaExhausted | Error::OutOfMemory => Errno::ENOMEM,
        Error::TableFull => Errno::EAGAIN,
        Error::WriteAndExecute | Error::NoRights => Errno::EACCES,
        Error::AlreadyMapped => Errno::EEXIST,
        Error::BadAddress | Error::NotMapped => Errno::EFAULT,
        _ => Errno::EINVAL,
    }
}

/// Kernel rights for a Linux protection; `None` for `PROT_NONE`.
fn rights_of(prot: Prot) -> Result<Option<Rights>, Errno> {
    if !(prot.read || prot.write || prot.exec) {
        return Ok(None);
    }
    if prot.write && prot.exec {
        return Err(Errno::EACCES);
    }
    let mut rights = Rights::READ;
    if prot.write {
        rights |= Rights::WRITE;
    }
    if prot.exec {
        rights |= Rights::EXECUTE;
    }
    Ok(Some(rights))
}

fn pages(len: u64) -> u64 {
    len.div_ceil(PAGE_SIZE)
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
    pub fn map(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        let Some(rights) = rights_of(prot)? else {
            return Ok(());
        };
        self.map_rights(addr, pages(len), rights)
    }

    fn map_rights(&self, addr: u64, count: u64, rights: Rights) -> Result<(), Errno> {
        if count == 0 {
            return Ok(());
        }
        let frames = sys::frames_alloc(self.memory, count).map_err(errno_of)?;
        let mapped = sys::space_map(self.space, frames, 0, count, addr, rights);
        let _ = sys::cap_delete(frames);
        mapped.map_err(errno_of)
    }

    /// Unmaps `[addr, addr + len)`; holes are fine.
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        match sys::space_unmap(self.space, addr, pages(len)) {
            Ok(()) | Err(Error::NotMapped) => Ok(()),
            Err(e) => Err(errno_of(e)),
        }
    }

    /// Changes the protection of `[addr, addr + len)`; pages left unmapped
    /// by `PROT_NONE` are mapped afresh.
    pub fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        let Some(rights) = rights_of(prot)? else {
            return self.unmap(addr, len);
        };
        let count = pages(len);
        match sys::space_protect(self.space, addr, count, rights) {
            Ok(()) => Ok(()),
            Err(Error::NotMapped) => (0..count).try_for_each(|i| {
                let page = addr + i * PAGE_SIZE;
                match sys::space_protect(self.space, page, 1, rights) {
                    Err(Error::NotMapped) => self.map_rights(page, 1, rights),
                    other => other.map_err(errno_of),
                }
            }),
            Err(e) => Err(errno_of(e)),
        }
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
