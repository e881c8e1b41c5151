//! `Frames`: physical pages that can be mapped into address spaces.
//!
//! A Frames object owns a list of zeroed 4 KiB frames, allocated one by one
//! so no buddy round-up is wasted, and frees them when it is destroyed.
//! Boot modules are Frames objects too, but they only borrow the loader's
//! memory (which is never freed). Mappings hold a reference on the Frames
//! they map, so a frame is never freed while a page table still points at
//! it.

use crate::mm::{frames, PAGE_SIZE};
use alloc::vec::Vec;
use bulkhead_abi::Error;

/// A set of physical pages.
#[derive(Debug)]
pub struct Frames {
    pages: Vec<u64>,
    owned: bool,
}

impl Frames {
    /// Allocates `count` zeroed frames, or none at all.
    pub fn alloc(count: u64) -> Result<Self, Error> {
        let mut pages = Vec::new();
        pages
            .try_reserve_exact(count as usize)
            .map_err(|_| Error::OutOfMemory)?;
        for _ in 0..count {
            match frames::alloc_zeroed() {
                Ok(p) => pages.push(p),
                Err(_) => {
                    Frames { pages, owned: true }.free();
                    return Err(Error::OutOfMemory);
                }
            }
        }
        Ok(Frames { pages, owned: true })
    }

    /// Frames over existing memory `[phys, phys + len)` that are never freed
    /// (boot modules).
    pub fn borrowed(phys: u64, len: u64) -> Result<Self, Error> {
        let count = len.div_ceil(PAGE_SIZE);
        let mut pages = Vec::new();
        pages
            .try_reserve_exact(count as usize)
            .map_err(|_| Error::OutOfMemory)?;
        pages.extend((0..count).map(|i| (phys & !(PAGE_SIZE - 1)) + i * PAGE_SIZE));
        Ok(Frames {
            pages,
            owned: false,
        })
    }

    /// Number of pages.
    pub fn count(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Number of pages this object allocated (0 for borrowed memory).
    pub fn owned_count(&self) -> u64 {
        if self.owned {
            self.count()
        } else {
            0
        }
    }

    /// Physical address of page `i`.
    pub fn page(&self, i: u64) -> Option<u64> {
        self.pages.get(i as usize).copied()
    }

    /// Frees owned frames.
    pub fn free(self) {
        if self.owned {
            for p in self.pages {
                // SAFETY: the frames were allocated by `alloc` and, since the
                // object is being destroyed, no mapping refers to them.
                unsafe { frames::free(p) };
            }
        }
    }
}
