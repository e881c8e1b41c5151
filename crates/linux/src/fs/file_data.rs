//! Regular file contents: read, write and truncate at an offset.
//!
//! A file's bytes live in one `Vec<u8>`. Writing past the end fills the gap
//! with zeros (Linux files are sparse; ours are not, so the gap is charged
//! against the tree's size limit like any other byte). Growth that would
//! exceed the limit writes what fits, and fails with `ENOSPC` only when
//! nothing fits, just as a full disk behaves on Linux.

use alloc::vec::Vec;

use super::{Fs, Ino, NodeData};
use crate::Errno;

impl Fs {
    fn file_bytes(&self, ino: Ino) -> Result<&Vec<u8>, Errno> {
        match &self.inode(ino)?.data {
            NodeData::File(bytes) => Ok(bytes),
            NodeData::Directory { .. } => Err(Errno::EISDIR),
            NodeData::Device(_) => Err(Errno::EINVAL),
        }
    }

    fn file_bytes_mut(&mut self, ino: Ino) -> Result<&mut Vec<u8>, Errno> {
        match &mut self.inode_mut(ino)?.data {
            NodeData::File(bytes) => Ok(bytes),
            NodeData::Directory { .. } => Err(Errno::EISDIR),
            NodeData::Device(_) => Err(Errno::EINVAL),
        }
    }

    /// Borrows up to `max` bytes of a regular file starting at `offset`
    /// (empty at or past the end).
    pub fn read_at(&self, ino: Ino, offset: u64, max: usize) -> Result<&[u8], Errno> {
        let bytes = self.file_bytes(ino)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(max).min(bytes.len());
        Ok(bytes.get(start..end).unwrap_or(&[]))
    }

    /// The size of a regular file.
    pub fn file_size(&self, ino: Ino) -> Result<u64, Errno> {
        Ok(self.file_bytes(ino)?.len() as u64)
    }

    /// Writes `data` at `offset`, growing the file (zero-filling any gap).
    /// Returns how many bytes were written: fewer than asked when the size
    /// limit is reached, `ENOSPC` when none fit.
    pub fn write_at(&mut self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let old_len = self.file_size(ino)?;
        let wanted_end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        let growth = wanted_end.saturating_sub(old_len);
        let allowed_growth = growth.min(self.room_left());
        if data.is_empty() {
            return Ok(0);
        }
        // Shorten the write by whatever growth the limit does not allow.
        let end = wanted_end - (growth - allowed_growth);
        if end <= offset {
            return Err(Errno::ENOSPC);
        }
        let end_index = usize::try_from(end).map_err(|_| Errno::EFBIG)?;
        let start_index = usize::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let count = end_index - start_index;
        self.charge(allowed_growth)?;
        let bytes = self.file_bytes_mut(ino)?;
        if bytes.len() < end_index {
            bytes.resize(end_index, 0);
        }
        let source = data.get(..count).ok_or(Errno::EINVAL)?;
        bytes
            .get_mut(start_index..end_index)
            .ok_or(Errno::EINVAL)?
            .copy_from_slice(source);
        self.touch(ino);
        Ok(count)
    }

    /// Sets a regular file's length, zero-filling when it grows.
    pub fn truncate(&mut self, ino: Ino, len: u64) -> Result<(), Errno> {
        let old_len = self.file_size(ino)?;
        if len > self.limit() {
            return Err(Errno::EFBIG);
        }
        let new_len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        if len > old_len {
            self.charge(len - old_len)?;
        } else {
            self.refund(old_len - len);
        }
        let bytes = self.file_bytes_mut(ino)?;
        bytes.resize(new_len, 0);
        if len < old_len {
            bytes.shrink_to_fit();
        }
        self.touch(ino);
        Ok(())
    }
}
