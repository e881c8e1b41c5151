//! Address-space calls: create a space, map Frames into it with rights,
//! unmap, change rights, and copy bytes to or from another space. Rights
//! for mappings are the `READ | WRITE | EXECUTE` subset of [`Rights`]; the
//! kernel refuses writable-and-executable mappings.

use bulkhead_abi::{CapRef, Error, Rights, Syscall};

use crate::syscall;

/// A new, empty address space paid from `memory`.
pub fn space_create(memory: CapRef) -> Result<CapRef, Error> {
    // SAFETY: no pointer arguments.
    let [space, _, _] = unsafe { syscall::syscall1(Syscall::SpaceCreate, memory.0) }?;
    Ok(CapRef(space))
}

/// Maps `pages` pages of `frames`, starting at page `first_page` of the
/// frames, at user address `address` of `space`, with `rights`.
pub fn space_map(
    space: CapRef,
    frames: CapRef,
    first_page: u64,
    pages: u64,
    address: u64,
    rights: Rights,
) -> Result<(), Error> {
    let rights = u64::from(rights.bits());
    // SAFETY: `address` names a place in `space`, not memory this call
    // dereferences; see the module docs of `sys` for mapping one's own space.
    unsafe {
        syscall::syscall6(
            Syscall::SpaceMap,
            space.0,
            frames.0,
            first_page,
            pages,
            address,
            rights,
        )
    }
    .map(drop)
}

/// Unmaps `pages` pages at `address` in `space`.
pub fn space_unmap(space: CapRef, address: u64, pages: u64) -> Result<(), Error> {
    // SAFETY: as for `space_map`.
    unsafe { syscall::syscall3(Syscall::SpaceUnmap, space.0, address, pages) }.map(drop)
}

/// Gives `pages` mapped pages at `address` in `space` new `rights`.
pub fn space_protect(space: CapRef, address: u64, pages: u64, rights: Rights) -> Result<(), Error> {
    let rights = u64::from(rights.bits());
    // SAFETY: as for `space_map`.
    unsafe { syscall::syscall4(Syscall::SpaceProtect, space.0, address, pages, rights) }.map(drop)
}

/// Reads `buffer.len()` bytes at `address` of `space` into `buffer`.
pub fn space_read(space: CapRef, address: u64, buffer: &mut [u8]) -> Result<(), Error> {
    let (ptr, len) = (buffer.as_mut_ptr() as u64, buffer.len() as u64);
    // SAFETY: the kernel writes at most `len` bytes into `buffer`, which we
    // borrow mutably for the duration of the call.
    unsafe { syscall::syscall4(Syscall::SpaceRead, space.0, address, ptr, len) }.map(drop)
}

/// Writes `bytes` at `address` of `space`.
pub fn space_write(space: CapRef, address: u64, bytes: &[u8]) -> Result<(), Error> {
    let (ptr, len) = (bytes.as_ptr() as u64, bytes.len() as u64);
    // SAFETY: the kernel only reads our `bytes`; the target is `space`
    // (see the module docs of `sys` for writing one's own space).
    unsafe { syscall::syscall4(Syscall::SpaceWrite, space.0, address, ptr, len) }.map(drop)
}
