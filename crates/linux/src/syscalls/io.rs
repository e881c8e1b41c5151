//! Moving bytes: `read`, `write`, `pread64`, `pwrite64`, `readv`, `writev`,
//! `preadv`, `pwritev` and `lseek`.
//!
//! All the read calls funnel into [`read_at`] and all the write calls into
//! [`write_at`], which pick the file's kind (regular file, console, null,
//! zero, urandom) and copy in chunks of at most 64 KiB, so a huge length
//! never makes a huge allocation. A single transfer is capped at
//! `0x7ffff000` bytes as on Linux. When a copy to or from the app fails
//! after some bytes moved, the call returns the count moved so far (Linux
//! does the same); only a failure before any byte moved is `EFAULT`.
//!
//! Reading the console never blocks: the backend gives what it has, and
//! zero bytes available is reported as end of file (0). A program that
//! wants interactive input must retry; `O_NONBLOCK` descriptors get
//! `EAGAIN` instead of 0.

use alloc::vec;

use super::{fd_arg, Call, SysResult};
use crate::fd_table::OpenFile;
use crate::fs::{DeviceKind, FileType};
use crate::user_memory::CHUNK;
use crate::Errno;

/// Linux's `MAX_RW_COUNT`: the most one read or write transfers.
pub const MAX_TRANSFER: u64 = 0x7fff_f000;

/// Linux's `IOV_MAX`.
pub const IOV_MAX: u64 = 1024;

/// Where a transfer happens: at the description's offset (advancing it)
/// or at an explicit offset (`pread`/`pwrite`, offset untouched).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Current,
    At(u64),
}

/// The count moved so far if any, else the error.
fn partial(done: u64, error: Errno) -> SysResult {
    if done > 0 {
        Ok(done as i64)
    } else {
        Err(error)
    }
}

/// Converts a `pread`/`pwrite` offset argument (`EINVAL` if negative).
fn offset_arg(raw: u64) -> Result<u64, Errno> {
    if (raw as i64) < 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(raw)
    }
}

pub fn read(call: &mut Call, fd: u64, buf: u64, count: u64) -> SysResult {
    read_at(call, fd_arg(fd), buf, count, Position::Current)
}

pub fn write(call: &mut Call, fd: u64, buf: u64, count: u64) -> SysResult {
    write_at(call, fd_arg(fd), buf, count, Position::Current)
}

pub fn pread(call: &mut Call, fd: u64, buf: u64, count: u64, offset: u64) -> SysResult {
    read_at(
        call,
        fd_arg(fd),
        buf,
        count,
        Position::At(offset_arg(offset)?),
    )
}

pub fn pwrite(call: &mut Call, fd: u64, buf: u64, count: u64, offset: u64) -> SysResult {
    write_at(
        call,
        fd_arg(fd),
        buf,
        count,
        Position::At(offset_arg(offset)?),
    )
}

/// Reads from `fd` into `[buf, buf+count)`.
pub fn read_at(call: &mut Call, fd: i32, buf: u64, count: u64, position: Position) -> SysResult {
    let file = *call.process.files.get(fd)?;
    if !file.access.can_read() {
        return Err(Errno::EBADF);
    }
    let count = count.min(MAX_TRANSFER);
    match call.container.fs.file_type(file.ino)? {
        FileType::Directory => Err(Errno::EISDIR),
        FileType::Regular => read_regular(call, fd, &file, buf, count, position),
        FileType::CharDevice(kind) => {
            if position != Position::Current && kind == DeviceKind::Console {
                return Err(Errno::ESPIPE);
            }
            read_device(call, &file, kind, buf, count)
        }
    }
}

fn read_regular(
    call: &mut Call,
    fd: i32,
    file: &OpenFile,
    buf: u64,
    count: u64,
    position: Position,
) -> SysResult {
    let start = match position {
        Position::Current => file.offset,
        Position::At(offset) => offset,
    };
    let mut done: u64 = 0;
    while done < count {
        let want = (count - done).min(CHUNK as u64) as usize;
        let offset = start.saturating_add(done);
        let chunk = call.container.fs.read_at(file.ino, offset, want)?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len() as u64;
        let target = buf.checked_add(done).ok_or(Errno::EFAULT);
        if let Err(error) = target.and_then(|addr| call.backend.write_user(addr, chunk)) {
            if done == 0 {
                return Err(error);
            }
            break;
        }
        done += len;
    }
    if position == Position::Current {
        call.process.files.get_mut(fd)?.offset = start.saturating_add(done);
    }
    Ok(done as i64)
}

fn read_device(
    call: &mut Call,
    file: &OpenFile,
    kind: DeviceKind,
    buf: u64,
    count: u64,
) -> SysResult {
    match kind {
        DeviceKind::Null => Ok(0),
        DeviceKind::Console => read_console(call, file, buf, count),
        DeviceKind::Zero | DeviceKind::Urandom => {
            let mut chunk = vec![0u8; count.min(CHUNK as u64) as usize];
            let mut done: u64 = 0;
            while done < count {
                let len = (count - done).min(chunk.len() as u64) as usize;
                let piece = chunk.get_mut(..len).ok_or(Errno::EFAULT)?;
                if kind == DeviceKind::Urandom {
                    call.backend.random(piece);
                }
                let target = buf.checked_add(done).ok_or(Errno::EFAULT);
                if let Err(error) = target.and_then(|addr| call.backend.write_user(addr, piece)) {
                    return partial(done, error);
                }
                done += len as u64;
            }
            Ok(done as i64)
        }
    }
}

fn read_console(call: &mut Call, file: &OpenFile, buf: u64, count: u64) -> SysResult {
    let mut chunk = [0u8; 4096];
    let len = count.min(chunk.len() as u64) as usize;
    let piece = chunk.get_mut(..len).ok_or(Errno::EFAULT)?;
    let got = call.backend.console_read(piece).min(len);
    if got == 0 {
        return if file.nonblocking && count > 0 {
            Err(Errno::EAGAIN)
        } else {
            Ok(0)
        };
    }
    call.backend
        .write_user(buf, piece.get(..got).unwrap_or(&[]))?;
    Ok(got as i64)
}

/// Writes `[buf, buf+count)` to `fd`.
pub fn write_at(call: &mut Call, fd: i32, buf: u64, count: u64, position: Position) -> SysResult {
    let file = *call.process.files.get(fd)?;
    if !file.access.can_write() {
        return Err(Errno::EBADF);
    }
    let count = count.min(MAX_TRANSFER);
    match call.container.fs.file_type(file.ino)? {
        FileType::Directory => Err(Errno::EISDIR),
        FileType::Regular => write_regular(call, fd, &file, buf, count, position),
        FileType::CharDevice(DeviceKind::Console) => {
            if position != Position::Current {
                return Err(Errno::ESPIPE);
            }
            write_console(call, buf, count)
        }
        // null, zero and urandom swallow everything without reading it.
        FileType::CharDevice(_) => Ok(count as i64),
    }
}

fn write_regular(
    call: &mut Call,
    fd: i32,
    file: &OpenFile,
    buf: u64,
    count: u64,
    position: Position,
) -> SysResult {
    let start = match position {
        _ if file.append => call.container.fs.file_size(file.ino)?,
        Position::Current => file.offset,
        Position::At(offset) => offset,
    };
    if count > 0 {
        let now = call.backend.realtime_ns();
        call.container.fs.set_time(now);
    }
    let mut chunk = vec![0u8; count.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    while done < count {
        let len = (count - done).min(chunk.len() as u64) as usize;
        let piece = chunk.get_mut(..len).ok_or(Errno::EFAULT)?;
        let source = buf.checked_add(done).ok_or(Errno::EFAULT);
        if let Err(error) = source.and_then(|addr| call.backend.read_user(addr, piece)) {
            return finish_write(call, fd, start, done, position, Err(error));
        }
        let offset = start.checked_add(done).ok_or(Errno::EFBIG)?;
        match call.container.fs.write_at(file.ino, offset, piece) {
            Ok(written) => {
                done += written as u64;
                if written < len {
                    break;
                }
            }
            Err(error) => return finish_write(call, fd, start, done, position, Err(error)),
        }
    }
    finish_write(call, fd, start, done, position, Ok(()))
}

/// Advances the offset after a write and picks the result.
fn finish_write(
    call: &mut Call,
    fd: i32,
    start: u64,
    done: u64,
    position: Position,
    status: Result<(), Errno>,
) -> SysResult {
    if position == Position::Current && done > 0 {
        call.process.files.get_mut(fd)?.offset = start.saturating_add(done);
    }
    match status {
        Ok(()) => Ok(done as i64),
        Err(error) => partial(done, error),
    }
}

fn write_console(call: &mut Call, buf: u64, count: u64) -> SysResult {
    let mut chunk = vec![0u8; count.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    while done < count {
        let len = (count - done).min(chunk.len() as u64) as usize;
        let piece = chunk.get_mut(..len).ok_or(Errno::EFAULT)?;
        let source = buf.checked_add(done).ok_or(Errno::EFAULT);
        if let Err(error) = source.and_then(|addr| call.backend.read_user(addr, piece)) {
            return partial(done, error);
        }
        call.backend.console_write(piece);
        done += len as u64;
    }
    Ok(done as i64)
}

/// One `struct iovec`.
struct IoVec {
    base: u64,
    len: u64,
}

/// Reads and checks an iovec array: at most `IOV_MAX` entries, total
/// length representable as `ssize_t`.
fn read_iovecs(call: &mut Call, iov: u64, count: u64) -> Result<alloc::vec::Vec<IoVec>, Errno> {
    let count = (count as i32) as i64;
    if !(0..=IOV_MAX as i64).contains(&count) {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 16];
    call.backend.read_user(iov, &mut raw)?;
    let mut total: u64 = 0;
    let mut vectors = alloc::vec::Vec::new();
    for entry in raw.chunks_exact(16) {
        let mut base = [0u8; 8];
        let mut len = [0u8; 8];
        base.copy_from_slice(entry.get(..8).ok_or(Errno::EINVAL)?);
        len.copy_from_slice(entry.get(8..).ok_or(Errno::EINVAL)?);
        let vector = IoVec {
            base: u64::from_le_bytes(base),
            len: u64::from_le_bytes(len),
        };
        total = total.checked_add(vector.len).ok_or(Errno::EINVAL)?;
        if total > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        vectors.push(vector);
    }
    Ok(vectors)
}

/// The shared loop of the vectored calls.
fn transfer_vectors(
    call: &mut Call,
    fd: u64,
    iov: u64,
    count: u64,
    position: Position,
    writing: bool,
) -> SysResult {
    let fd = fd_arg(fd);
    call.process.files.get(fd)?;
    let vectors = read_iovecs(call, iov, count)?;
    let mut done: u64 = 0;
    for vector in vectors {
        let remaining = MAX_TRANSFER - done;
        if remaining == 0 {
            break;
        }
        let len = vector.len.min(remaining);
        let here = match position {
            Position::Current => Position::Current,
            Position::At(offset) => Position::At(offset.saturating_add(done)),
        };
        let result = if writing {
            write_at(call, fd, vector.base, len, here)
        } else {
            read_at(call, fd, vector.base, len, here)
        };
        match result {
            Ok(moved) => {
                done += moved as u64;
                if (moved as u64) < len {
                    break;
                }
            }
            Err(error) => return partial(done, error),
        }
    }
    Ok(done as i64)
}

pub fn readv(call: &mut Call, fd: u64, iov: u64, count: u64) -> SysResult {
    transfer_vectors(call, fd, iov, count, Position::Current, false)
}

pub fn writev(call: &mut Call, fd: u64, iov: u64, count: u64) -> SysResult {
    transfer_vectors(call, fd, iov, count, Position::Current, true)
}

pub fn preadv(call: &mut Call, fd: u64, iov: u64, count: u64, offset: u64) -> SysResult {
    transfer_vectors(
        call,
        fd,
        iov,
        count,
        Position::At(offset_arg(offset)?),
        false,
    )
}

pub fn pwritev(call: &mut Call, fd: u64, iov: u64, count: u64, offset: u64) -> SysResult {
    transfer_vectors(
        call,
        fd,
        iov,
        count,
        Position::At(offset_arg(offset)?),
        true,
    )
}

/// `lseek(fd, offset, whence)`: SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
/// SEEK_HOLE. A result below zero is `EINVAL`; the console is `ESPIPE`.
pub fn lseek(call: &mut Call, fd: u64, offset: u64, whence: u64) -> SysResult {
    let fd = fd_arg(fd);
    let file = *call.process.files.get(fd)?;
    let offset = offset as i64;
    let file_type = call.container.fs.file_type(file.ino)?;
    let size = match file_type {
        FileType::Regular => call.container.fs.file_size(file.ino)?,
        FileType::Directory if (whence as u32) <= 1 => 0,
        FileType::Directory => return Err(Errno::EINVAL),
        FileType::CharDevice(DeviceKind::Console) => return Err(Errno::ESPIPE),
        FileType::CharDevice(_) => return Ok(0),
    };
    let size = i64::try_from(size).map_err(|_| Errno::EOVERFLOW)?;
    let current = i64::try_from(file.offset).map_err(|_| Errno::EOVERFLOW)?;
    let target = match whence as u32 {
        0 => offset,
        1 => current.checked_add(offset).ok_or(Errno::EOVERFLOW)?,
        2 => size.checked_add(offset).ok_or(Errno::EOVERFLOW)?,
        3 | 4 if offset < 0 || offset >= size => return Err(Errno::ENXIO),
        3 => offset,
        4 => size,
        _ => return Err(Errno::EINVAL),
    };
    if target < 0 {
        return Err(Errno::EINVAL);
    }
    call.process.files.get_mut(fd)?.offset = target as u64;
    Ok(target)
}
