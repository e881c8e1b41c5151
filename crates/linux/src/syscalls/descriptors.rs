//! Making and changing descriptors: `open`, `openat`, `close`, `dup`,
//! `dup2`, `dup3`, `fcntl` and `ioctl`.
//!
//! `open` follows Linux's order of checks: resolve the parent directory,
//! then either find the name (failing with `EEXIST` under `O_CREAT|O_EXCL`,
//! `EISDIR` when asking to write a directory, `ENOTDIR` under
//! `O_DIRECTORY` or a trailing slash on a non-directory) or create it
//! (only with `O_CREAT`, else `ENOENT`). Every process runs as root, so
//! permission bits are recorded but never refuse access.

use super::{fd_arg, start_directory, Call, SysResult, AT_FDCWD};
use crate::fd_table::{Access, OpenFile, FD_LIMIT};
use crate::fs::{DeviceKind, FileType, Ino};
use crate::linux_structs::{default_termios, default_winsize};
use crate::user_memory::{read_path, write_u32};
use crate::Errno;

pub const O_ACCMODE: u64 = 0o3;
pub const O_CREAT: u64 = 0o100;
pub const O_EXCL: u64 = 0o200;
pub const O_TRUNC: u64 = 0o1000;
pub const O_APPEND: u64 = 0o2000;
pub const O_NONBLOCK: u64 = 0o4000;
pub const O_DIRECTORY: u64 = 0o200000;
pub const O_CLOEXEC: u64 = 0o2000000;
pub const O_PATH: u64 = 0o10000000;
pub const O_TMPFILE: u64 = 0o20000000;
/// Reported by `F_GETFL` as on 64-bit Linux, where it is always forced on.
pub const O_LARGEFILE: u64 = 0o100000;

fn access_mode(flags: u64) -> Result<Access, Errno> {
    if flags & O_PATH != 0 {
        return Ok(Access::PathOnly);
    }
    match flags & O_ACCMODE {
        0 => Ok(Access::ReadOnly),
        1 => Ok(Access::WriteOnly),
        2 => Ok(Access::ReadWrite),
        _ => Err(Errno::EINVAL),
    }
}

pub fn open(call: &mut Call, path: u64, flags: u64, mode: u64) -> SysResult {
    openat(call, AT_FDCWD, path, flags, mode)
}

pub fn openat(call: &mut Call, dirfd: u64, path: u64, flags: u64, mode: u64) -> SysResult {
    let path = read_path(call.backend, path)?;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let access = access_mode(flags)?;
    let start = start_directory(call, dirfd, &path)?;
    let ino = find_or_create(call, start, &path, flags, mode, access)?;
    let file_type = call.container.fs.file_type(ino)?;
    if file_type == FileType::Regular && flags & O_TRUNC != 0 && access.can_write() {
        let now = call.backend.realtime_ns();
        call.container.fs.set_time(now);
        call.container.fs.truncate(ino, 0)?;
    }
    let mut file = OpenFile::new(ino, access);
    file.append = flags & O_APPEND != 0;
    file.nonblocking = flags & O_NONBLOCK != 0;
    install(call, file, flags & O_CLOEXEC != 0)
}

/// Opens `file.ino` as a new descriptor, counting the open in the tree.
pub fn install(call: &mut Call, file: OpenFile, close_on_exec: bool) -> SysResult {
    call.container.fs.open_inode(file.ino)?;
    let limit = call.process.fd_limit();
    match call.process.files.install(file, close_on_exec, limit) {
        Ok(fd) => Ok(i64::from(fd)),
        Err(error) => {
            call.container.fs.close_inode(file.ino);
            Err(error)
        }
    }
}

fn find_or_create(
    call: &mut Call,
    start: Ino,
    path: &[u8],
    flags: u64,
    mode: u64,
    access: Access,
) -> Result<Ino, Errno> {
    let fs = &mut call.container.fs;
    let target = fs.resolve_parent(start, path)?;
    let existing = match fs.lookup(target.dir, &target.name) {
        Ok(ino) => Some(ino),
        Err(Errno::ENOENT) => None,
        Err(error) => return Err(error),
    };
    let creating = flags & O_CREAT != 0 && access != Access::PathOnly;
    let Some(ino) = existing else {
        if !creating {
            return Err(Errno::ENOENT);
        }
        if target.trailing_slash {
            return Err(Errno::EISDIR);
        }
        if flags & O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        let perm = (mode as u32) & 0o7777 & !call.process.umask;
        let now = call.backend.realtime_ns();
        fs.set_time(now);
        return fs.create_file(target.dir, &target.name, perm);
    };
    if creating && flags & O_EXCL != 0 {
        return Err(Errno::EEXIST);
    }
    let is_dir = fs.file_type(ino)? == FileType::Directory;
    if is_dir && (access.can_write() || creating) {
        return Err(Errno::EISDIR);
    }
    if !is_dir && (flags & O_DIRECTORY != 0 || target.trailing_slash) {
        return Err(Errno::ENOTDIR);
    }
    Ok(ino)
}

/// Closes `fd` and releases its inode when the description dies.
pub fn close_fd(call: &mut Call, fd: i32) -> Result<(), Errno> {
    if let Some(ino) = call.process.files.close(fd)? {
        call.container.fs.close_inode(ino);
    }
    Ok(())
}

pub fn close(call: &mut Call, fd: u64) -> SysResult {
    close_fd(call, fd_arg(fd)).map(|()| 0)
}

pub fn dup(call: &mut Call, fd: u64) -> SysResult {
    duplicate(call, fd_arg(fd), 0, false)
}

fn duplicate(call: &mut Call, fd: i32, min_fd: usize, close_on_exec: bool) -> SysResult {
    // A duplicate shares the description, so the tree's open count of
    // the inode does not change.
    let limit = call.process.fd_limit();
    let new_fd = call
        .process
        .files
        .duplicate(fd, min_fd, close_on_exec, limit)?;
    Ok(i64::from(new_fd))
}

pub fn dup2(call: &mut Call, old_fd: u64, new_fd: u64) -> SysResult {
    let (old_fd, new_fd) = (fd_arg(old_fd), fd_arg(new_fd));
    if old_fd == new_fd {
        call.process.files.get(old_fd)?;
        return Ok(i64::from(new_fd));
    }
    duplicate_to(call, old_fd, new_fd, false)
}

pub fn dup3(call: &mut Call, old_fd: u64, new_fd: u64, flags: u64) -> SysResult {
    let (old_fd, new_fd) = (fd_arg(old_fd), fd_arg(new_fd));
    if flags & !O_CLOEXEC != 0 || old_fd == new_fd {
        return Err(Errno::EINVAL);
    }
    duplicate_to(call, old_fd, new_fd, flags & O_CLOEXEC != 0)
}

fn duplicate_to(call: &mut Call, old_fd: i32, new_fd: i32, close_on_exec: bool) -> SysResult {
    let limit = call.process.fd_limit();
    let released = call
        .process
        .files
        .duplicate_to(old_fd, new_fd, close_on_exec, limit)?;
    if let Some(ino) = released {
        call.container.fs.close_inode(ino);
    }
    Ok(i64::from(new_fd))
}

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_DUPFD_CLOEXEC: u64 = 1030;
const FD_CLOEXEC: u64 = 1;

pub fn fcntl(call: &mut Call, fd: u64, command: u64, arg: u64) -> SysResult {
    let fd = fd_arg(fd);
    let file = *call.process.files.get(fd)?;
    match command as u32 as u64 {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min_fd = usize::try_from(arg as u32 as i32).map_err(|_| Errno::EINVAL)?;
            if min_fd >= FD_LIMIT {
                return Err(Errno::EINVAL);
            }
            duplicate(call, fd, min_fd, command == F_DUPFD_CLOEXEC)
        }
        F_GETFD => Ok(i64::from(call.process.files.close_on_exec(fd)?)),
        F_SETFD => {
            call.process
                .files
                .set_close_on_exec(fd, arg & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(status_flags(&file) as i64),
        F_SETFL => {
            let entry = call.process.files.get_mut(fd)?;
            entry.append = arg & O_APPEND != 0;
            entry.nonblocking = arg & O_NONBLOCK != 0;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn status_flags(file: &OpenFile) -> u64 {
    let access = match file.access {
        Access::ReadOnly => 0,
        Access::WriteOnly => 1,
        Access::ReadWrite => 2,
        Access::PathOnly => O_PATH,
    };
    let append = if file.append { O_APPEND } else { 0 };
    let nonblocking = if file.nonblocking { O_NONBLOCK } else { 0 };
    access | append | nonblocking | O_LARGEFILE
}

const TCGETS: u64 = 0x5401;
const TCSETS: u64 = 0x5402;
const TCSETSW: u64 = 0x5403;
const TCSETSF: u64 = 0x5404;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;
const FIONBIO: u64 = 0x5421;

/// `ioctl`: terminal queries on the console, close-on-exec and
/// non-blocking toggles on anything; `ENOTTY` otherwise.
pub fn ioctl(call: &mut Call, fd: u64, request: u64, arg: u64) -> SysResult {
    let fd = fd_arg(fd);
    let file = *call.process.files.get(fd)?;
    if file.access == Access::PathOnly {
        return Err(Errno::EBADF);
    }
    let request = request as u32 as u64;
    match request {
        FIOCLEX | FIONCLEX => {
            call.process
                .files
                .set_close_on_exec(fd, request == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let value = crate::user_memory::read_bytes::<4>(call.backend, arg)?;
            call.process.files.get_mut(fd)?.nonblocking = u32::from_le_bytes(value) != 0;
            return Ok(0);
        }
        _ => {}
    }
    if call.container.fs.file_type(file.ino)? != FileType::CharDevice(DeviceKind::Console) {
        return Err(Errno::ENOTTY);
    }
    match request {
        TCGETS => call.backend.write_user(arg, &default_termios()).map(|()| 0),
        TCSETS | TCSETSW | TCSETSF => {
            crate::user_memory::read_bytes::<36>(call.backend, arg).map(|_| 0)
        }
        TIOCGWINSZ => call.backend.write_user(arg, &default_winsize()).map(|()| 0),
        TIOCSWINSZ => crate::user_memory::read_bytes::<8>(call.backend, arg).map(|_| 0),
        TIOCGPGRP => write_u32(call.backend, arg, call.process.pid as u32).map(|()| 0),
        TIOCSPGRP => crate::user_memory::read_bytes::<4>(call.backend, arg).map(|_| 0),
        _ => Err(Errno::ENOTTY),
    }
}
