//! Windows onto Frames mapped into the program's own address space.
//!
//! [`ReadOnlyMapping`] maps Frames that nobody can write (the capability
//! lacks WRITE, as the kernel's boot-module capabilities do) and lends them
//! out as a plain `&[u8]`: the bytes cannot change under the borrow.
//! [`SharedMapping`] maps Frames read-write; since other threads or spaces
//! may map the same Frames, it never lends references and copies bytes in
//! and out with volatile accesses instead. Both unmap on drop. This module
//! holds the runtime's only raw-memory accesses outside the heap.

use bulkhead_abi::{CapRef, Error, Rights, PAGE_SIZE};

use crate::sys;

/// Pages needed to hold `len` bytes.
pub fn pages_for(len: u64) -> u64 {
    len.div_ceil(PAGE_SIZE)
}

/// A range of our own space we mapped and will unmap on drop.
struct Window {
    space: CapRef,
    address: u64,
    pages: u64,
}

impl Window {
    fn map(
        space: CapRef,
        frames: CapRef,
        pages: u64,
        address: u64,
        rights: Rights,
    ) -> Result<Self, Error> {
        if pages == 0 || !address.is_multiple_of(PAGE_SIZE) {
            return Err(Error::InvalidArgument);
        }
        sys::space_map(space, frames, 0, pages, address, rights)?;
        Ok(Window {
            space,
            address,
            pages,
        })
    }

    fn len(&self) -> u64 {
        self.pages * PAGE_SIZE
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let _ = sys::space_unmap(self.space, self.address, self.pages);
    }
}

/// Immutable Frames mapped read-only into our space.
pub struct ReadOnlyMapping {
    window: Window,
    len: usize,
}

impl ReadOnlyMapping {
    /// Maps the first `len` bytes (rounded up to pages) of `frames` at
    /// `address` of `own_space`. Fails with `NoRights` if the Frames
    /// capability could write (the bytes would not be immutable).
    pub fn new(own_space: CapRef, frames: CapRef, address: u64, len: usize) -> Result<Self, Error> {
        if sys::cap_info(frames)?.rights.contains(Rights::WRITE) {
            return Err(Error::NoRights);
        }
        let pages = pages_for(len as u64);
        let window = Window::map(own_space, frames, pages, address, Rights::READ)?;
        Ok(ReadOnlyMapping { window, len })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `Window::map` mapped `pages * PAGE_SIZE >= len` readable
        // bytes at `address` and keeps them mapped until `self` drops; the
        // Frames capability lacks WRITE, so nothing writes them meanwhile.
        unsafe { core::slice::from_raw_parts(self.window.address as *const u8, self.len) }
    }
}

/// Frames mapped read-write into our space, accessed by copying.
pub struct SharedMapping {
    window: Window,
}

impl SharedMapping {
    /// Maps `pages` pages of `frames` read-write at `address` of `own_space`.
    pub fn new(own_space: CapRef, frames: CapRef, address: u64, pages: u64) -> Result<Self, Error> {
        let rights = Rights::READ | Rights::WRITE;
        Ok(SharedMapping {
            window: Window::map(own_space, frames, pages, address, rights)?,
        })
    }

    /// Where the mapping starts.
    pub fn address(&self) -> u64 {
        self.window.address
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.window.len()
    }

    /// Always false: a mapping holds at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn check(&self, offset: u64, len: usize) -> Result<*mut u8, Error> {
        let end = offset
            .checked_add(len as u64)
            .ok_or(Error::InvalidArgument)?;
        if end > self.len() {
            return Err(Error::InvalidArgument);
        }
        Ok((self.window.address + offset) as *mut u8)
    }

    /// Copies `bytes` into the mapping at `offset`.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        let base = self.check(offset, bytes.len())?;
        for (i, byte) in bytes.iter().enumerate() {
            // SAFETY: `check` keeps `base + i` inside the mapped, writable
            // window; volatile because other mappings may share the Frames.
            unsafe { base.add(i).write_volatile(*byte) };
        }
        Ok(())
    }

    /// Copies bytes at `offset` of the mapping into `buffer`.
    pub fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<(), Error> {
        let base = self.check(offset, buffer.len())?;
        for (i, byte) in buffer.iter_mut().enumerate() {
            // SAFETY: as in `write`, for reads.
            *byte = unsafe { base.add(i).read_volatile() };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up() {
        assert_eq!(pages_for(0), 0);
        assert_eq!(pages_for(1), 1);
        assert_eq!(pages_for(4096), 1);
        assert_eq!(pages_for(4097), 2);
    }
}
