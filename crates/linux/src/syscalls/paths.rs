//! Calls that name files by path or inspect them: the `stat` family,
//! `access`, `mkdir`, `unlink`, `rmdir`, `rename`, `readlink`, `getcwd`,
//! `chdir`, `fchdir`, `truncate`, `ftruncate`, `getdents64` and `umask`.
//!
//! Each `*at` variant resolves relative paths from a directory descriptor
//! (or the working directory for `AT_FDCWD`) through
//! [`super::start_directory`]; the plain variants are the `*at` ones with
//! `AT_FDCWD`. There are no symbolic links, so `lstat` is `stat`, and
//! `readlink` answers `EINVAL` for every existing file.
//!
//! `getdents64` uses the descriptor's offset as an index into the listing
//! (`.`, `..`, then names in sorted order), so a listing continues where
//! the previous call stopped. Creating or removing names between calls may
//! shift later names by one, a simplification of Linux's hash cookies.

use alloc::vec::Vec;

use super::{fd_arg, start_directory, Call, SysResult, AT_FDCWD};
use crate::fs::{FileType, Ino};
use crate::linux_structs::{dirent_len, encode_stat, push_dirent};
use crate::user_memory::read_path;
use crate::Errno;

pub const AT_EMPTY_PATH: u64 = 0x1000;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_REMOVEDIR: u64 = 0x200;
const RENAME_NOREPLACE: u64 = 1;

/// Records "now" as the tree's time stamp before a modifying call.
fn stamp_time(call: &mut Call) {
    let now = call.backend.realtime_ns();
    call.container.fs.set_time(now);
}

fn write_stat(call: &mut Call, ino: Ino, statbuf: u64) -> SysResult {
    let meta = call.container.fs.metadata(ino)?;
    call.backend.write_user(statbuf, &encode_stat(&meta))?;
    Ok(0)
}

/// Resolves a path argument of an `*at` call to an inode.
fn resolve_at(call: &mut Call, dirfd: u64, path: u64) -> Result<Ino, Errno> {
    let path = read_path(call.backend, path)?;
    let start = start_directory(call, dirfd, &path)?;
    call.container.fs.resolve(start, &path)
}

pub fn stat(call: &mut Call, path: u64, statbuf: u64) -> SysResult {
    newfstatat(call, AT_FDCWD, path, statbuf, 0)
}

pub fn fstat(call: &mut Call, fd: u64, statbuf: u64) -> SysResult {
    let ino = call.process.files.get(fd_arg(fd))?.ino;
    write_stat(call, ino, statbuf)
}

pub fn newfstatat(call: &mut Call, dirfd: u64, path: u64, statbuf: u64, flags: u64) -> SysResult {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | 0x800) != 0 {
        return Err(Errno::EINVAL);
    }
    let path_bytes = read_path(call.backend, path)?;
    if path_bytes.is_empty() && flags & AT_EMPTY_PATH != 0 {
        let ino = match dirfd as u32 as i32 {
            -100 => call.process.cwd,
            fd => call.process.files.get(fd)?.ino,
        };
        return write_stat(call, ino, statbuf);
    }
    let start = start_directory(call, dirfd, &path_bytes)?;
    let ino = call.container.fs.resolve(start, &path_bytes)?;
    write_stat(call, ino, statbuf)
}

pub fn access(call: &mut Call, path: u64, mode: u64) -> SysResult {
    faccessat(call, AT_FDCWD, path, mode)
}

/// Everyone is root: existing files are accessible, except that `X_OK`
/// needs at least one execute bit on a non-directory.
pub fn faccessat(call: &mut Call, dirfd: u64, path: u64, mode: u64) -> SysResult {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let ino = resolve_at(call, dirfd, path)?;
    let meta = call.container.fs.metadata(ino)?;
    let wants_exec = mode & 1 != 0;
    if wants_exec && meta.file_type != FileType::Directory && meta.perm & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn mkdir(call: &mut Call, path: u64, mode: u64) -> SysResult {
    mkdirat(call, AT_FDCWD, path, mode)
}

pub fn mkdirat(call: &mut Call, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let path = read_path(call.backend, path)?;
    let start = start_directory(call, dirfd, &path)?;
    let target = call.container.fs.resolve_parent(start, &path)?;
    let perm = (mode as u32) & 0o7777 & !call.process.umask;
    stamp_time(call);
    call.container.fs.mkdir(target.dir, &target.name, perm)?;
    Ok(0)
}

pub fn unlink(call: &mut Call, path: u64) -> SysResult {
    unlinkat(call, AT_FDCWD, path, 0)
}

pub fn rmdir(call: &mut Call, path: u64) -> SysResult {
    unlinkat(call, AT_FDCWD, path, AT_REMOVEDIR)
}

pub fn unlinkat(call: &mut Call, dirfd: u64, path: u64, flags: u64) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(call.backend, path)?;
    let start = start_directory(call, dirfd, &path)?;
    let target = call.container.fs.resolve_parent(start, &path)?;
    stamp_time(call);
    let fs = &mut call.container.fs;
    if flags & AT_REMOVEDIR != 0 {
        fs.rmdir(target.dir, &target.name)?;
    } else {
        if target.trailing_slash {
            let ino = fs.lookup(target.dir, &target.name)?;
            return Err(if fs.file_type(ino)? == FileType::Directory {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        fs.unlink(target.dir, &target.name)?;
    }
    Ok(0)
}

pub fn rename(call: &mut Call, old: u64, new: u64) -> SysResult {
    renameat2(call, AT_FDCWD, old, AT_FDCWD, new, 0)
}

pub fn renameat2(
    call: &mut Call,
    old_dirfd: u64,
    old: u64,
    new_dirfd: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let old_path = read_path(call.backend, old)?;
    let new_path = read_path(call.backend, new)?;
    let old_start = start_directory(call, old_dirfd, &old_path)?;
    let new_start = start_directory(call, new_dirfd, &new_path)?;
    let fs = &call.container.fs;
    let source = fs.resolve_parent(old_start, &old_path)?;
    let target = fs.resolve_parent(new_start, &new_path)?;
    let source_ino = fs.lookup(source.dir, &source.name)?;
    let source_is_dir = fs.file_type(source_ino)? == FileType::Directory;
    if (source.trailing_slash || target.trailing_slash) && !source_is_dir {
        return Err(Errno::ENOTDIR);
    }
    stamp_time(call);
    let no_replace = flags & RENAME_NOREPLACE != 0;
    call.container.fs.rename(
        source.dir,
        &source.name,
        target.dir,
        &target.name,
        no_replace,
    )?;
    Ok(0)
}

pub fn readlink(call: &mut Call, path: u64, buf: u64, size: u64) -> SysResult {
    readlinkat(call, AT_FDCWD, path, buf, size)
}

/// There are no symbolic links: `EINVAL` for anything that exists.
pub fn readlinkat(call: &mut Call, dirfd: u64, path: u64, _buf: u64, size: u64) -> SysResult {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    resolve_at(call, dirfd, path)?;
    Err(Errno::EINVAL)
}

/// Writes the working directory's absolute path and NUL; returns its
/// length including the NUL (the raw syscall's convention).
pub fn getcwd(call: &mut Call, buf: u64, size: u64) -> SysResult {
    let mut path = call.container.fs.path_of(call.process.cwd)?;
    path.push(0);
    if (path.len() as u64) > size {
        return Err(Errno::ERANGE);
    }
    call.backend.write_user(buf, &path)?;
    Ok(path.len() as i64)
}

fn change_directory(call: &mut Call, ino: Ino) -> SysResult {
    if call.container.fs.file_type(ino)? != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    call.process.cwd = ino;
    Ok(0)
}

pub fn chdir(call: &mut Call, path: u64) -> SysResult {
    let ino = resolve_at(call, AT_FDCWD, path)?;
    change_directory(call, ino)
}

pub fn fchdir(call: &mut Call, fd: u64) -> SysResult {
    let ino = call.process.files.get(fd_arg(fd))?.ino;
    change_directory(call, ino)
}

fn truncate_inode(call: &mut Call, ino: Ino, length: u64) -> SysResult {
    if (length as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match call.container.fs.file_type(ino)? {
        FileType::Regular => {}
        FileType::Directory => return Err(Errno::EISDIR),
        FileType::CharDevice(_) => return Err(Errno::EINVAL),
    }
    stamp_time(call);
    call.container.fs.truncate(ino, length)?;
    Ok(0)
}

pub fn ftruncate(call: &mut Call, fd: u64, length: u64) -> SysResult {
    let file = *call.process.files.get(fd_arg(fd))?;
    if !file.access.can_write() {
        return Err(Errno::EINVAL);
    }
    truncate_inode(call, file.ino, length)
}

pub fn truncate(call: &mut Call, path: u64, length: u64) -> SysResult {
    let ino = resolve_at(call, AT_FDCWD, path)?;
    truncate_inode(call, ino, length)
}

/// Fills the buffer with as many `linux_dirent64` records as fit.
pub fn getdents64(call: &mut Call, fd: u64, buf: u64, count: u64) -> SysResult {
    let fd = fd_arg(fd);
    let file = *call.process.files.get(fd)?;
    if file.access == crate::fd_table::Access::PathOnly {
        return Err(Errno::EBADF);
    }
    if call.container.fs.file_type(file.ino)? != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let capacity = usize::try_from(count.min(1 << 20)).unwrap_or(0);
    let mut out = Vec::new();
    let mut index = file.offset;
    while let Some((name, ino, file_type)) = call.container.fs.entry_at(file.ino, index)? {
        if out.len() + dirent_len(name.len()) > capacity {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let next = index.saturating_add(1);
        push_dirent(&mut out, ino, next as i64, file_type.dirent_type(), &name);
        index = next;
    }
    if !out.is_empty() {
        call.backend.write_user(buf, &out)?;
    }
    call.process.files.get_mut(fd)?.offset = index;
    Ok(out.len() as i64)
}

pub fn umask(call: &mut Call, mask: u64) -> SysResult {
    let old = call.process.umask;
    call.process.umask = (mask as u32) & 0o777;
    Ok(i64::from(old))
}
