//! Safe access to the application's memory through the backend.
//!
//! Every pointer a syscall receives is an untrusted number. These helpers
//! are the only way the syscall code reads or writes through one, and they
//! keep three promises: a bad address becomes `EFAULT` (the backend checks
//! it), a string read stops at `PATH_MAX` (`ENAMETOOLONG`), and no helper
//! allocates more than a bounded chunk no matter what length it is given.
//! Strings are read in small pieces that never cross a page boundary, so a
//! short path at the very end of a mapped page is read correctly even
//! though the page after it is unmapped.

use alloc::vec::Vec;

use crate::{Backend, Errno, PAGE_SIZE};

/// Linux's `PATH_MAX`, counting the terminating NUL.
pub const PATH_MAX: usize = 4096;

/// The largest piece of user memory copied in one go.
pub const CHUNK: usize = 64 * 1024;

/// Reads a NUL-terminated path (without the NUL).
pub fn read_path(backend: &mut dyn Backend, addr: u64) -> Result<Vec<u8>, Errno> {
    let mut path = Vec::new();
    let mut cursor = addr;
    while path.len() < PATH_MAX {
        let to_page_end = PAGE_SIZE - cursor % PAGE_SIZE;
        let piece_len = to_page_end.min(256).min((PATH_MAX - path.len()) as u64) as usize;
        let mut piece = [0u8; 256];
        let piece = piece.get_mut(..piece_len).ok_or(Errno::EFAULT)?;
        backend.read_user(cursor, piece)?;
        if let Some(nul) = piece.iter().position(|&byte| byte == 0) {
            path.extend_from_slice(piece.get(..nul).unwrap_or(&[]));
            return Ok(path);
        }
        path.extend_from_slice(piece);
        cursor = cursor.checked_add(piece_len as u64).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::ENAMETOOLONG)
}

/// Reads exactly `N` bytes.
pub fn read_bytes<const N: usize>(backend: &mut dyn Backend, addr: u64) -> Result<[u8; N], Errno> {
    let mut bytes = [0u8; N];
    backend.read_user(addr, &mut bytes)?;
    Ok(bytes)
}

/// Reads a little-endian `u64`.
pub fn read_u64(backend: &mut dyn Backend, addr: u64) -> Result<u64, Errno> {
    read_bytes::<8>(backend, addr).map(u64::from_le_bytes)
}

/// Writes a little-endian `u64`.
pub fn write_u64(backend: &mut dyn Backend, addr: u64, value: u64) -> Result<(), Errno> {
    backend.write_user(addr, &value.to_le_bytes())
}

/// Writes a little-endian `u32`.
pub fn write_u32(backend: &mut dyn Backend, addr: u64, value: u32) -> Result<(), Errno> {
    backend.write_user(addr, &value.to_le_bytes())
}

/// Reads a `struct timespec` and converts it to nanoseconds; `EINVAL` for
/// a negative time or nanoseconds outside `0..1e9`.
pub fn read_timespec_ns(backend: &mut dyn Backend, addr: u64) -> Result<u64, Errno> {
    let bytes = read_bytes::<16>(backend, addr)?;
    let (seconds, nanos) = crate::linux_structs::decode_timespec(&bytes);
    if seconds < 0 || !(0..1_000_000_000).contains(&nanos) {
        return Err(Errno::EINVAL);
    }
    let seconds = seconds.unsigned_abs();
    Ok(seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(nanos.unsigned_abs()))
}

/// Writes a `struct timespec` holding `ns` nanoseconds.
pub fn write_timespec(backend: &mut dyn Backend, addr: u64, ns: u64) -> Result<(), Errno> {
    backend.write_user(addr, &crate::linux_structs::encode_timespec(ns))
}
