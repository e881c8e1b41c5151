//! The dispatcher: from a syscall number and six registers to a result.
//!
//! A [`Caller`](crate::Caller) holds a [`Call`] (the three things every
//! syscall may touch: the container, the process and the backend);
//! [`Caller::handle`](crate::Caller::handle) counts each call and hands it
//! to [`dispatch`], one `match` over the Linux x86-64 syscall numbers.
//! Each arm passes raw `u64` registers to a function in one of the topic
//! modules; those functions narrow the registers to the C types
//! themselves (an `int` argument is the low 32 bits, as on Linux) and
//! return `Result<i64, Errno>`. Only this module knows the numbers; only
//! `Caller::handle` turns errors into `-errno`.

mod descriptors;
mod identity;
mod io;
mod memory;
mod paths;
mod poll;
mod signals;
mod time;

use crate::fs::{FileType, Ino, ROOT_INO};
use crate::{Backend, Container, Errno, Outcome, Process};

pub use io::{IOV_MAX, MAX_TRANSFER};

/// What every syscall may touch.
pub struct Call<'a> {
    pub container: &'a mut Container,
    pub process: &'a mut Process,
    pub backend: &'a mut dyn Backend,
}

/// A syscall's value for `rax`, or the error.
pub type SysResult = Result<i64, Errno>;

/// `AT_FDCWD` as it arrives in a register (the `int` -100).
pub const AT_FDCWD: u64 = (-100i32) as u32 as u64;

/// Narrows a register to the `int fd` it carries.
pub fn fd_arg(register: u64) -> i32 {
    register as u32 as i32
}

/// The directory a path of an `*at` call starts from: the root for an
/// absolute path (the fd is then ignored, as on Linux), the working
/// directory for `AT_FDCWD`, else the directory open as `dirfd`.
pub fn start_directory(call: &Call, dirfd: u64, path: &[u8]) -> Result<Ino, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(ROOT_INO);
    }
    let dirfd = fd_arg(dirfd);
    if dirfd == fd_arg(AT_FDCWD) {
        return Ok(call.process.cwd);
    }
    let ino = call.process.files.get(dirfd)?.ino;
    if path.is_empty() {
        return Ok(ino);
    }
    if call.container.fs.file_type(ino)? != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(ino)
}

/// The status a parent sees: the low 8 bits of the exit code.
fn exit_status(code: u64) -> i32 {
    (code & 0xff) as i32
}

/// Runs one syscall. See the module docs. Inlined into `Caller::handle`:
/// one function, one prologue, from the number to the result.
#[inline(always)]
pub fn dispatch(call: &mut Call, nr: u64, a: [u64; 6]) -> Result<Outcome, Errno> {
    let value = match nr {
        0 => io::read(call, a[0], a[1], a[2])?,
        1 => io::write(call, a[0], a[1], a[2])?,
        2 => descriptors::open(call, a[0], a[1], a[2])?,
        3 => descriptors::close(call, a[0])?,
        4 | 6 => paths::stat(call, a[0], a[1])?,
        5 => paths::fstat(call, a[0], a[1])?,
        7 => poll::poll(call, a[0], a[1], a[2])?,
        8 => io::lseek(call, a[0], a[1], a[2])?,
        9 => memory::mmap(call, a[0], a[1], a[2], a[3], a[4], a[5])?,
        10 => memory::mprotect(call, a[0], a[1], a[2])?,
        11 => memory::munmap(call, a[0], a[1])?,
        12 => memory::brk(call, a[0])?,
        13 => signals::rt_sigaction(call, a[0], a[1], a[2], a[3])?,
        14 => return signals::rt_sigprocmask(call, a[0], a[1], a[2], a[3]),
        16 => descriptors::ioctl(call, a[0], a[1], a[2])?,
        17 => io::pread(call, a[0], a[1], a[2], a[3])?,
        18 => io::pwrite(call, a[0], a[1], a[2], a[3])?,
        19 => io::readv(call, a[0], a[1], a[2])?,
        20 => io::writev(call, a[0], a[1], a[2])?,
        21 => paths::access(call, a[0], a[1])?,
        24 => 0, // sched_yield: the caller is the only thread of its process
        25 => memory::mremap(call, a[0])?,
        28 => memory::madvise(call, a[0], a[1], a[2])?,
        32 => descriptors::dup(call, a[0])?,
        33 => descriptors::dup2(call, a[0], a[1])?,
        35 => time::nanosleep(call, a[0], a[1])?,
        39 | 186 => identity::getpid(call)?, // getpid, gettid
        60 | 231 => return Ok(Outcome::Exit(exit_status(a[0]))),
        62 => return signals::kill(call, a[0], a[1]),
        63 => identity::uname(call, a[0])?,
        72 => descriptors::fcntl(call, a[0], a[1], a[2])?,
        76 => paths::truncate(call, a[0], a[1])?,
        77 => paths::ftruncate(call, a[0], a[1])?,
        79 => paths::getcwd(call, a[0], a[1])?,
        80 => paths::chdir(call, a[0])?,
        81 => paths::fchdir(call, a[0])?,
        82 => paths::rename(call, a[0], a[1])?,
        83 => paths::mkdir(call, a[0], a[1])?,
        84 => paths::rmdir(call, a[0])?,
        87 => paths::unlink(call, a[0])?,
        89 => paths::readlink(call, a[0], a[1], a[2])?,
        95 => paths::umask(call, a[0])?,
        96 => time::gettimeofday(call, a[0], a[1])?,
        97 => identity::getrlimit(call, a[0], a[1])?,
        102 | 104 | 107 | 108 => 0, // getuid, getgid, geteuid, getegid
        105 | 106 => identity::set_id(a[0])?, // setuid, setgid
        109 => identity::group_of(call, a[0]).map(|_| 0)?, // setpgid
        110 => identity::getppid(call)?,
        111 | 112 => identity::getpid(call)?, // getpgrp, setsid
        113 | 114 => identity::set_id(a[0]).and(identity::set_id(a[1]))?, // setreuid, setregid
        115 => 0,                             // getgroups: no supplementary groups
        117 | 119 => identity::set_id(a[0])
            .and(identity::set_id(a[1]))
            .and(identity::set_id(a[2]))?, // setresuid, setresgid
        118 | 120 => identity::get_res_ids(call, a[0], a[1], a[2])?,
        121 | 124 => identity::group_of(call, a[0])?, // getpgid, getsid
        131 => signals::sigaltstack(call, a[0], a[1])?,
        158 => identity::arch_prctl(call, a[0], a[1])?,
        160 => identity::setrlimit(call, a[0], a[1])?,
        200 => return signals::tkill(call, a[0], a[1]),
        201 => time::time(call, a[0])?,
        217 => paths::getdents64(call, a[0], a[1], a[2])?,
        218 => identity::set_tid_address(call, a[0])?,
        228 => time::clock_gettime(call, a[0], a[1])?,
        229 => time::clock_getres(call, a[0], a[1])?,
        230 => time::clock_nanosleep(call, a[0], a[1], a[2], a[3])?,
        234 => return signals::tgkill(call, a[0], a[1], a[2]),
        257 => descriptors::openat(call, a[0], a[1], a[2], a[3])?,
        258 => paths::mkdirat(call, a[0], a[1], a[2])?,
        262 => paths::newfstatat(call, a[0], a[1], a[2], a[3])?,
        263 => paths::unlinkat(call, a[0], a[1], a[2])?,
        264 => paths::renameat2(call, a[0], a[1], a[2], a[3], 0)?,
        267 => paths::readlinkat(call, a[0], a[1], a[2], a[3])?,
        269 | 439 => paths::faccessat(call, a[0], a[1], a[2])?, // faccessat, faccessat2
        292 => descriptors::dup3(call, a[0], a[1], a[2])?,
        295 => io::preadv(call, a[0], a[1], a[2], a[3])?,
        296 => io::pwritev(call, a[0], a[1], a[2], a[3])?,
        302 => identity::prlimit(call, a[0], a[1], a[2], a[3])?,
        316 => paths::renameat2(call, a[0], a[1], a[2], a[3], a[4])?,
        318 => time::getrandom(call, a[0], a[1], a[2])?,
        // statx: known, deliberately unsupported; musl falls back to fstatat.
        332 => return Err(Errno::ENOSYS),
        _ => {
            call.container.report_unknown_syscall(call.backend, nr);
            return Err(Errno::ENOSYS);
        }
    };
    Ok(Outcome::Return(value))
}
