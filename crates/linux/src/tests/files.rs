//! Descriptors and I/O: open, read, write, lseek, pread/pwrite, readv/writev,
//! dup, fcntl, ioctl, devices and the console.

use super::mock::{err, stat_field, Harness};
use crate::Errno;

const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_DIRECTORY: u64 = 0o200000;
const O_CLOEXEC: u64 = 0o2000000;

#[test]
fn console_write_and_stdin_eof() {
    let mut h = Harness::new();
    assert_eq!(h.write_fd(1, b"hello\n"), 6);
    assert_eq!(h.write_fd(2, b"err"), 3);
    assert_eq!(h.backend.console_out, b"hello\nerr");
    assert_eq!(h.read_fd(0, 16).0, 0, "no input is end of file");
    h.backend.console_in.extend_from_slice(b"abc");
    assert_eq!(h.read_fd(0, 16), (3, b"abc".to_vec()));
}

#[test]
fn create_write_read_back() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/a", O_CREAT | O_RDWR, 0o644);
    assert_eq!(fd, 3);
    assert_eq!(h.write_fd(fd, b"hello world"), 11);
    assert_eq!(h.sys(8, &[fd as u64, 0, 0]), 0);
    assert_eq!(h.read_fd(fd, 5), (5, b"hello".to_vec()));
    assert_eq!(h.read_fd(fd, 100), (6, b" world".to_vec()));
    assert_eq!(h.read_fd(fd, 100).0, 0);
    assert_eq!(h.sys(3, &[fd as u64]), 0);
    assert_eq!(h.sys(3, &[fd as u64]), err(Errno::EBADF));
    let stat = h.stat("/tmp/a").unwrap();
    assert_eq!(stat_field(&stat, 48, 8), 11);
    assert_eq!(stat_field(&stat, 24, 4), 0o100644, "umask 022 applied");
}

#[test]
fn open_errors() {
    let mut h = Harness::new();
    assert_eq!(h.open("/nope", 0, 0), err(Errno::ENOENT));
    assert_eq!(h.open("/nope/x", O_CREAT, 0), err(Errno::ENOENT));
    assert!(h.open("/tmp/f", O_CREAT | O_WRONLY, 0o600) >= 0);
    assert_eq!(h.open("/tmp/f", O_CREAT | O_EXCL, 0), err(Errno::EEXIST));
    assert_eq!(h.open("/tmp/f/", 0, 0), err(Errno::ENOTDIR));
    assert_eq!(h.open("/tmp/f/x", 0, 0), err(Errno::ENOTDIR));
    assert_eq!(h.open("/tmp/f", O_DIRECTORY, 0), err(Errno::ENOTDIR));
    assert_eq!(h.open("/tmp", O_WRONLY, 0), err(Errno::EISDIR));
    assert_eq!(h.open("/tmp/new/", O_CREAT, 0), err(Errno::EISDIR));
    assert!(h.open("/tmp", O_DIRECTORY, 0) >= 0);
    assert_eq!(h.sys(2, &[0, 0, 0]), err(Errno::EFAULT));
    assert_eq!(h.sys(2, &[u64::MAX - 2, 0, 0]), err(Errno::EFAULT));
    let long = "a/".repeat(2100);
    assert_eq!(h.open(&long, 0, 0), err(Errno::ENAMETOOLONG));
    let long_name = std::format!("/tmp/{}", "x".repeat(300));
    assert_eq!(h.open(&long_name, O_CREAT, 0), err(Errno::ENAMETOOLONG));
}

#[test]
fn read_only_and_write_only_enforced() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_WRONLY, 0o644);
    assert_eq!(h.read_fd(fd, 4).0, err(Errno::EBADF));
    h.write_fd(fd, b"data");
    let ro = h.open("/tmp/f", 0, 0);
    assert_eq!(h.write_fd(ro, b"x"), err(Errno::EBADF));
    assert_eq!(
        h.sys(77, &[ro as u64, 0]),
        err(Errno::EINVAL),
        "ftruncate needs write access"
    );
    let dir = h.open("/tmp", 0, 0);
    assert_eq!(h.read_fd(dir, 4).0, err(Errno::EISDIR));
}

#[test]
fn trunc_and_append() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_WRONLY, 0o644);
    h.write_fd(fd, b"0123456789");
    let appender = h.open("/tmp/f", O_WRONLY | O_APPEND, 0);
    assert_eq!(h.write_fd(appender, b"AB"), 2);
    assert_eq!(
        h.sys(8, &[appender as u64, 0, 1]),
        12,
        "offset follows the append"
    );
    assert_eq!(
        h.container.fs.read_whole_file("/tmp/f").unwrap(),
        b"0123456789AB"
    );
    let truncating = h.open("/tmp/f", O_WRONLY | O_TRUNC, 0);
    assert!(truncating >= 0);
    assert_eq!(h.container.fs.read_whole_file("/tmp/f").unwrap(), b"");
}

#[test]
fn lseek_whence_and_errors() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    h.write_fd(fd as i64, b"0123456789");
    assert_eq!(h.sys(8, &[fd, 3, 0]), 3);
    assert_eq!(h.sys(8, &[fd, 2, 1]), 5);
    assert_eq!(h.sys(8, &[fd, (-4i64) as u64, 2]), 6);
    assert_eq!(h.sys(8, &[fd, (-100i64) as u64, 1]), err(Errno::EINVAL));
    assert_eq!(h.sys(8, &[fd, (-1i64) as u64, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(8, &[fd, 0, 9]), err(Errno::EINVAL));
    assert_eq!(h.sys(8, &[fd, i64::MAX as u64, 2]), err(Errno::EOVERFLOW));
    assert_eq!(h.sys(8, &[fd, 1, 1]), 7, "failed seeks leave the offset");
    assert_eq!(
        h.sys(8, &[fd, 20, 0]),
        20,
        "seeking past the end is allowed"
    );
    assert_eq!(h.write_fd(fd as i64, b"Z"), 1);
    let contents = h.container.fs.read_whole_file("/tmp/f").unwrap();
    assert_eq!(contents.len(), 21);
    assert_eq!(&contents[10..20], &[0; 10], "the gap reads as zeros");
    assert_eq!(h.sys(8, &[1, 0, 0]), err(Errno::ESPIPE));
    assert_eq!(h.sys(8, &[99, 0, 0]), err(Errno::EBADF));
}

#[test]
fn pread_pwrite_keep_offset() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    h.write_fd(fd as i64, b"abcdef");
    let data = h.bytes(b"XY");
    assert_eq!(h.sys(18, &[fd, data, 2, 1]), 2);
    let buf = h.alloc(4);
    assert_eq!(h.sys(17, &[fd, buf, 4, 0]), 4);
    assert_eq!(h.mem(buf, 4), b"aXYd");
    assert_eq!(h.sys(8, &[fd, 0, 1]), 6, "offset unchanged");
    assert_eq!(h.sys(17, &[fd, buf, 4, (-1i64) as u64]), err(Errno::EINVAL));
    assert_eq!(h.sys(17, &[0, buf, 4, 0]), err(Errno::ESPIPE));
    assert_eq!(h.sys(17, &[fd, buf, 4, 100]), 0);
}

#[test]
fn readv_writev() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    let a = h.bytes(b"hello ");
    let b = h.bytes(b"world");
    let iov = h.alloc(32);
    let mut raw = std::vec::Vec::new();
    for (base, len) in [(a, 6u64), (b, 5)] {
        raw.extend_from_slice(&base.to_le_bytes());
        raw.extend_from_slice(&len.to_le_bytes());
    }
    h.backend_write(iov, &raw);
    assert_eq!(h.sys(20, &[fd, iov, 2]), 11);
    assert_eq!(
        h.container.fs.read_whole_file("/tmp/f").unwrap(),
        b"hello world"
    );
    h.sys(8, &[fd, 0, 0]);
    let x = h.alloc(3);
    let y = h.alloc(20);
    let mut raw = std::vec::Vec::new();
    for (base, len) in [(x, 3u64), (y, 20)] {
        raw.extend_from_slice(&base.to_le_bytes());
        raw.extend_from_slice(&len.to_le_bytes());
    }
    h.backend_write(iov, &raw);
    assert_eq!(h.sys(19, &[fd, iov, 2]), 11);
    assert_eq!(h.mem(x, 3), b"hel");
    assert_eq!(h.mem(y, 8), b"lo world");
    assert_eq!(h.sys(20, &[fd, iov, 1025]), err(Errno::EINVAL));
    assert_eq!(h.sys(20, &[fd, iov, (-1i64) as u64]), err(Errno::EINVAL));
    assert_eq!(h.sys(20, &[fd, 0, 2]), err(Errno::EFAULT));
    assert_eq!(h.sys(20, &[fd, iov, 0]), 0);
    // Console writev.
    h.backend_write(
        iov,
        &[
            a.to_le_bytes(),
            6u64.to_le_bytes(),
            b.to_le_bytes(),
            5u64.to_le_bytes(),
        ]
        .concat(),
    );
    assert_eq!(h.sys(20, &[1, iov, 2]), 11);
    assert_eq!(h.backend.console_out, b"hello world");
}

#[test]
fn bad_pointers_are_efault() {
    let mut h = Harness::new();
    assert_eq!(h.sys(1, &[1, 0xdead_0000, 10]), err(Errno::EFAULT));
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    h.write_fd(fd as i64, b"abc");
    h.sys(8, &[fd, 0, 0]);
    assert_eq!(h.sys(0, &[fd, 0xdead_0000, 10]), err(Errno::EFAULT));
    assert_eq!(h.sys(5, &[fd, 0x10]), err(Errno::EFAULT));
    assert_eq!(h.sys(0, &[fd, u64::MAX - 1, 10]), err(Errno::EFAULT));
    // A write that runs off the end of mapped memory moves what it can.
    let end = super::mock::SCRATCH + super::mock::SCRATCH_PAGES * 4096;
    assert_eq!(
        h.sys(1, &[1, end - 4, 100]),
        err(Errno::EFAULT),
        "the chunk faults before anything moved"
    );
}

#[test]
fn huge_lengths_do_not_allocate() {
    let mut h = Harness::new();
    let buf = h.alloc(64);
    let null = h.open("/dev/null", O_RDWR, 0);
    assert_eq!(h.sys(1, &[null as u64, buf, 64]), 64);
    assert_eq!(h.sys(1, &[null as u64, buf, 1 << 63]), 0x7fff_f000);
    assert_eq!(h.sys(0, &[null as u64, buf, 1 << 63]), 0);
    // Copies go in 64 KiB chunks until one faults at the end of scratch.
    let scratch_end = super::mock::SCRATCH + super::mock::SCRATCH_PAGES * 4096;
    let from_buf = ((scratch_end - buf) / 65536 * 65536) as i64;
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    assert_eq!(h.sys(1, &[fd, buf, 1 << 63]), from_buf);
    assert_eq!(h.sys(1, &[1, buf, u64::MAX]), from_buf);
    assert_eq!(h.sys(1, &[fd, 0x10, 1 << 63]), err(Errno::EFAULT));
    let zero = h.open("/dev/zero", 0, 0) as u64;
    let big = h.alloc(100_000);
    let whole_chunks = (scratch_end - big) / 65536 * 65536;
    assert_eq!(
        h.sys(0, &[zero, big, u64::MAX]),
        whole_chunks as i64,
        "stops at the first faulting chunk"
    );
    assert!(h.sys(318, &[buf, 1 << 40, 0]) > 0);
}

#[test]
fn devices() {
    let mut h = Harness::new();
    let zero = h.open("/dev/zero", O_RDWR, 0);
    let buf = h.bytes(&[0xff; 16]);
    assert_eq!(h.sys(0, &[zero as u64, buf, 16]), 16);
    assert_eq!(h.mem(buf, 16), [0; 16]);
    let random = h.open("/dev/urandom", 0, 0);
    assert_eq!(h.sys(0, &[random as u64, buf, 16]), 16);
    assert_ne!(h.mem(buf, 16), [0; 16]);
    let null = h.open("/dev/null", O_RDWR, 0);
    assert_eq!(h.read_fd(null, 10).0, 0);
    assert_eq!(h.write_fd(null, &[1; 64]), 64);
    assert_eq!(h.sys(8, &[null as u64, 5, 0]), 0);
    let stat = h.stat("/dev/null").unwrap();
    assert_eq!(stat_field(&stat, 24, 4) & 0o170000, 0o020000);
    assert_eq!(stat_field(&stat, 40, 8), (1 << 8) | 3);
}

#[test]
fn fstat_console_is_char_device() {
    let mut h = Harness::new();
    let buf = h.alloc(144);
    assert_eq!(h.sys(5, &[1, buf, 0]), 0);
    let stat = h.mem(buf, 144);
    assert_eq!(stat_field(&stat, 24, 4) & 0o170000, 0o020000);
    assert_eq!(h.sys(5, &[77, buf]), err(Errno::EBADF));
    assert_eq!(h.sys(5, &[(-1i64) as u64, buf]), err(Errno::EBADF));
}

#[test]
fn ioctl_terminal() {
    let mut h = Harness::new();
    let buf = h.alloc(64);
    assert_eq!(h.sys(16, &[1, 0x5401, buf]), 0);
    let termios = h.mem(buf, 36);
    assert_eq!(
        u32::from_le_bytes(termios[12..16].try_into().unwrap()) & 2,
        2,
        "ICANON"
    );
    assert_eq!(h.sys(16, &[1, 0x5413, buf]), 0);
    assert_eq!(h.mem(buf, 4), [24, 0, 80, 0]);
    assert_eq!(h.sys(16, &[1, 0x5413, 0]), err(Errno::EFAULT));
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    assert_eq!(h.sys(16, &[fd, 0x5401, buf]), err(Errno::ENOTTY));
    let null = h.open("/dev/null", 0, 0) as u64;
    assert_eq!(h.sys(16, &[null, 0x5413, buf]), err(Errno::ENOTTY));
    assert_eq!(h.sys(16, &[99, 0x5401, buf]), err(Errno::EBADF));
    assert_eq!(h.sys(16, &[1, 0x1234, buf]), err(Errno::ENOTTY));
}

#[test]
fn dup_shares_offset_and_lowest_fd() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    h.write_fd(fd as i64, b"abcdef");
    let copy = h.sys(32, &[fd]);
    assert_eq!(copy, 4);
    assert_eq!(h.sys(8, &[copy as u64, 0, 1]), 6, "shared offset");
    h.sys(8, &[fd, 1, 0]);
    assert_eq!(h.read_fd(copy, 2), (2, b"bc".to_vec()));
    assert_eq!(h.sys(33, &[fd, 10]), 10);
    assert_eq!(h.sys(33, &[fd, fd]), fd as i64);
    assert_eq!(h.sys(33, &[99, 5]), err(Errno::EBADF));
    assert_eq!(h.sys(33, &[fd, 4096]), err(Errno::EBADF));
    assert_eq!(h.sys(292, &[fd, fd, 0]), err(Errno::EINVAL));
    assert_eq!(h.sys(292, &[fd, 11, O_CLOEXEC]), 11);
    assert_eq!(h.sys(72, &[11, 1, 0]), 1, "F_GETFD sees FD_CLOEXEC");
    h.sys(3, &[0]);
    assert_eq!(h.sys(32, &[fd]), 0, "lowest free number");
    // dup2 onto stdout redirects it.
    assert_eq!(h.sys(33, &[fd, 1]), 1);
    h.write_fd(1, b"!");
    assert!(h.backend.console_out.is_empty());
}

#[test]
fn fcntl_commands() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) as u64;
    assert_eq!(h.sys(72, &[fd, 1]), 1);
    assert_eq!(h.sys(72, &[fd, 2, 0]), 0);
    assert_eq!(h.sys(72, &[fd, 1]), 0);
    assert_eq!(h.sys(72, &[fd, 3]) & 0o3, 1);
    assert_eq!(h.sys(72, &[fd, 4, O_APPEND]), 0);
    assert_eq!(h.sys(72, &[fd, 3]) as u64 & O_APPEND, O_APPEND);
    assert_eq!(h.sys(72, &[fd, 0, 20]), 20);
    assert_eq!(h.sys(72, &[fd, 1030, 20]), 21);
    assert_eq!(h.sys(72, &[21, 1]), 1);
    assert_eq!(h.sys(72, &[fd, 0, 1000]), err(Errno::EINVAL));
    assert_eq!(h.sys(72, &[fd, 999]), err(Errno::EINVAL));
    assert_eq!(h.sys(72, &[77, 1]), err(Errno::EBADF));
}

#[test]
fn descriptor_limit_is_emfile() {
    let mut h = Harness::new();
    let mut opened = 3;
    loop {
        let fd = h.open("/dev/null", 0, 0);
        if fd < 0 {
            assert_eq!(fd, err(Errno::EMFILE));
            break;
        }
        opened += 1;
    }
    assert_eq!(opened, crate::fd_table::FD_LIMIT);
    assert_eq!(h.sys(32, &[0]), err(Errno::EMFILE));
    h.sys(3, &[100]);
    assert_eq!(h.open("/dev/null", 0, 0), 100);
}

#[test]
fn unlinked_file_stays_readable() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644);
    h.write_fd(fd, b"still here");
    let inodes = h.container.fs.inode_count();
    assert_eq!(h.path_call(87, "/tmp/f", &[]), 0);
    assert!(h.stat("/tmp/f").is_err());
    h.sys(8, &[fd as u64, 0, 0]);
    assert_eq!(h.read_fd(fd, 20), (10, b"still here".to_vec()));
    let buf = h.alloc(144);
    assert_eq!(h.sys(5, &[fd as u64, buf]), 0);
    assert_eq!(stat_field(&h.mem(buf, 144), 16, 8), 0, "nlink 0");
    assert_eq!(h.container.fs.inode_count(), inodes);
    h.sys(3, &[fd as u64]);
    assert_eq!(
        h.container.fs.inode_count(),
        inodes - 1,
        "freed on last close"
    );
}

#[test]
fn size_limit_gives_enospc() {
    let mut h = Harness::new();
    let used = h.container.fs.used_bytes();
    h.container.fs.set_limit(used + 512 + 1000);
    let fd = h.open("/tmp/f", O_CREAT | O_RDWR, 0o644) as u64;
    let buf = h.alloc(4000);
    assert_eq!(
        h.sys(1, &[fd, buf, 4000]),
        1000,
        "partial write up to the limit"
    );
    assert_eq!(h.sys(1, &[fd, buf, 4000]), err(Errno::ENOSPC));
    assert_eq!(h.sys(77, &[fd, 1 << 40]), err(Errno::EFBIG));
    assert_eq!(h.sys(77, &[fd, 10]), 0);
    assert_eq!(h.sys(8, &[fd, 10, 0]), 10);
    assert_eq!(
        h.sys(1, &[fd, buf, 100]),
        100,
        "space freed by truncation is reusable"
    );
}
