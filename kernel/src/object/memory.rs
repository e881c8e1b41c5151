//! `Memory`: a quota of physical pages.
//!
//! A quota does not hold frames; it counts the pages that objects created
//! from it occupy (Frames, address-space page tables, capability tables,
//! thread stacks, sub-quotas). Creating an object charges the pages first
//! and fails with `QuotaExhausted` if they do not fit; destroying the object
//! returns them. A sub-quota made by `MemorySplit` is itself charged to its
//! parent for its whole size, so no tree of quotas can promise more pages
//! than the root quota holds, and the root quota holds no more than the
//! free memory at boot.

use super::{Kernel, ObjRef, Object};
use bulkhead_abi::Error;

/// A page quota.
#[derive(Debug)]
pub struct Memory {
    pub limit: u64,
    pub used: u64,
}

impl Memory {
    /// Pages still available.
    pub fn available(&self) -> u64 {
        self.limit - self.used
    }
}

fn quota_mut(k: &mut Kernel, quota: ObjRef) -> Result<&mut Memory, Error> {
    match k.get_mut(quota) {
        Some(Object::Memory(m)) => Ok(m),
        Some(_) => Err(Error::WrongType),
        None => Err(Error::InvalidCap),
    }
}

/// Charges `pages` to `quota`, or fails without changing anything.
pub fn charge(k: &mut Kernel, quota: ObjRef, pages: u64) -> Result<(), Error> {
    let m = quota_mut(k, quota)?;
    if pages > m.available() {
        return Err(Error::QuotaExhausted);
    }
    m.used += pages;
    Ok(())
}

/// Returns `pages` to `quota`.
pub fn uncharge(k: &mut Kernel, quota: ObjRef, pages: u64) {
    if let Ok(m) = quota_mut(k, quota) {
        m.used = m.used.saturating_sub(pages);
    }
}

/// A new Frames object of `pages` zeroed pages charged to `quota` (no
/// references yet).
pub fn alloc_frames(k: &mut Kernel, quota: ObjRef, pages: u64) -> Result<ObjRef, Error> {
    charge(k, quota, pages)?;
    let frames = match super::frames::Frames::alloc(pages) {
        Ok(f) => f,
        Err(e) => {
            uncharge(k, quota, pages);
            return Err(e);
        }
    };
    let object = k.insert(Object::Frames(frames), Some((quota, pages)));
    k.add_ref(quota);
    Ok(object)
}

/// Creates a sub-quota of `pages` charged to `parent`.
pub fn split(k: &mut Kernel, parent: ObjRef, pages: u64) -> Result<ObjRef, Error> {
    charge(k, parent, pages)?;
    let child = k.insert(
        Object::Memory(Memory {
            limit: pages,
            used: 0,
        }),
        Some((parent, pages)),
    );
    k.add_ref(parent);
    Ok(child)
}
