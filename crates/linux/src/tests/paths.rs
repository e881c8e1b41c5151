//! Paths and directories: mkdir, rmdir, unlink, rename, getdents64,
//! getcwd/chdir, *at calls, access, readlink.

use std::vec::Vec;

use super::mock::{err, stat_field, Harness};
use crate::Errno;

const AT_FDCWD: u64 = (-100i64) as u64;
const O_CREAT: u64 = 0o100;
const O_DIRECTORY: u64 = 0o200000;

fn touch(h: &mut Harness, path: &str) {
    let fd = h.open(path, O_CREAT | 1, 0o644);
    assert!(fd >= 0, "create {path}: {fd}");
    h.sys(3, &[fd as u64]);
}

#[test]
fn mkdir_rmdir_rules() {
    let mut h = Harness::new();
    assert_eq!(h.path_call(83, "/a", &[0o755]), 0);
    assert_eq!(h.path_call(83, "/a", &[0o755]), err(Errno::EEXIST));
    assert_eq!(h.path_call(83, "/", &[0o755]), err(Errno::EEXIST));
    assert_eq!(h.path_call(83, "/x/y", &[0o755]), err(Errno::ENOENT));
    assert_eq!(
        h.path_call(83, "/a/b/", &[0o755]),
        0,
        "trailing slash is fine for mkdir"
    );
    touch(&mut h, "/a/b/f");
    assert_eq!(h.path_call(83, "/a/b/f/g", &[0o755]), err(Errno::ENOTDIR));
    assert_eq!(h.path_call(84, "/a", &[]), err(Errno::ENOTEMPTY));
    assert_eq!(h.path_call(84, "/a/b/f", &[]), err(Errno::ENOTDIR));
    assert_eq!(h.path_call(84, "/a/b/.", &[]), err(Errno::EINVAL));
    assert_eq!(h.path_call(84, "/a/nothing", &[]), err(Errno::ENOENT));
    assert_eq!(h.path_call(87, "/a/b", &[]), err(Errno::EISDIR));
    assert_eq!(h.path_call(87, "/a/b/f/", &[]), err(Errno::ENOTDIR));
    assert_eq!(h.path_call(87, "/a/b/f", &[]), 0);
    assert_eq!(h.path_call(87, "/a/b/f", &[]), err(Errno::ENOENT));
    assert_eq!(h.path_call(84, "/a/b", &[]), 0);
    let stat = h.stat("/a").unwrap();
    assert_eq!(stat_field(&stat, 16, 8), 2, "nlink back to 2");
    assert_eq!(stat_field(&stat, 24, 4), 0o040755);
    assert_eq!(h.path_call(84, "/a", &[]), 0);
}

#[test]
fn path_normalisation() {
    let mut h = Harness::new();
    h.path_call(83, "/a", &[0o755]);
    touch(&mut h, "/a/f");
    assert!(h.stat("//a///f").is_ok());
    assert!(h.stat("/a/./f").is_ok());
    assert!(h.stat("/a/../a/f").is_ok());
    assert!(
        h.stat("/../../a/f").is_ok(),
        ".. at the root stays at the root"
    );
    assert_eq!(h.stat("/a/f/").unwrap_err(), err(Errno::ENOTDIR));
    assert_eq!(h.stat("").unwrap_err(), err(Errno::ENOENT));
    assert!(h.stat("/a/").is_ok());
}

#[test]
fn cwd_and_relative_paths() {
    let mut h = Harness::new();
    let buf = h.alloc(64);
    assert_eq!(h.sys(79, &[buf, 64]), 2);
    assert_eq!(h.mem(buf, 2), b"/\0");
    h.path_call(83, "/a", &[0o755]);
    h.path_call(83, "/a/b", &[0o755]);
    assert_eq!(h.path_call(80, "/a/b", &[]), 0);
    assert_eq!(h.sys(79, &[buf, 64]), 5);
    assert_eq!(h.mem(buf, 5), b"/a/b\0");
    assert_eq!(h.sys(79, &[buf, 4]), err(Errno::ERANGE));
    assert_eq!(h.sys(79, &[0, 64]), err(Errno::EFAULT));
    touch(&mut h, "rel");
    assert!(h.stat("/a/b/rel").is_ok());
    assert!(h.stat("../b/rel").is_ok());
    assert_eq!(h.path_call(80, "rel", &[]), err(Errno::ENOTDIR));
    assert_eq!(h.path_call(80, "..", &[]), 0);
    assert_eq!(h.sys(79, &[buf, 64]), 3);
    let dir = h.open("/a/b", O_DIRECTORY, 0);
    assert_eq!(h.path_call(80, "/", &[]), 0);
    assert_eq!(h.sys(81, &[dir as u64]), 0);
    assert_eq!(h.sys(79, &[buf, 64]), 5);
    let file = h.open("rel", 0, 0);
    assert_eq!(h.sys(81, &[file as u64]), err(Errno::ENOTDIR));
    // Removing the working directory leaves getcwd with ENOENT.
    h.path_call(87, "rel", &[]);
    h.path_call(84, "/a/b", &[]);
    assert_eq!(h.sys(79, &[buf, 64]), err(Errno::ENOENT));
    assert_eq!(h.open("new", O_CREAT, 0o644), err(Errno::ENOENT));
}

#[test]
fn at_calls_with_directory_fds() {
    let mut h = Harness::new();
    h.path_call(83, "/d", &[0o755]);
    let dir = h.open("/d", O_DIRECTORY, 0) as u64;
    let name = h.cstr("f");
    let fd = h.sys(257, &[dir, name, O_CREAT | 1, 0o600]);
    assert!(fd >= 0);
    assert!(h.stat("/d/f").is_ok());
    let sub = h.cstr("sub");
    assert_eq!(h.sys(258, &[dir, sub, 0o700]), 0);
    let buf = h.alloc(144);
    assert_eq!(h.sys(262, &[dir, name, buf, 0]), 0);
    assert_eq!(stat_field(&h.mem(buf, 144), 24, 4), 0o100600);
    let empty = h.cstr("");
    assert_eq!(
        h.sys(262, &[fd as u64, empty, buf, 0x1000]),
        0,
        "AT_EMPTY_PATH"
    );
    assert_eq!(stat_field(&h.mem(buf, 144), 24, 4), 0o100600);
    assert_eq!(h.sys(262, &[fd as u64, empty, buf, 0]), err(Errno::ENOENT));
    assert_eq!(
        h.sys(262, &[fd as u64, name, buf, 0]),
        err(Errno::ENOTDIR),
        "relative to a file fd"
    );
    assert_eq!(h.sys(262, &[99, name, buf, 0]), err(Errno::EBADF));
    let absolute = h.cstr("/d/f");
    assert_eq!(
        h.sys(262, &[99, absolute, buf, 0]),
        0,
        "absolute paths ignore dirfd"
    );
    assert_eq!(h.sys(263, &[dir, sub, 0]), err(Errno::EISDIR));
    assert_eq!(h.sys(263, &[dir, sub, 0x200]), 0, "AT_REMOVEDIR");
    assert_eq!(h.sys(263, &[dir, name, 0x200]), err(Errno::ENOTDIR));
    assert_eq!(h.sys(263, &[dir, name, 0x4]), err(Errno::EINVAL));
    assert_eq!(h.sys(263, &[dir, name, 0]), 0);
    let to = h.cstr("g");
    touch(&mut h, "/d/x");
    let x = h.cstr("x");
    assert_eq!(h.sys(264, &[dir, x, AT_FDCWD, to]), 0);
    assert!(h.stat("/g").is_ok());
    assert_eq!(h.sys(269, &[dir, x, 0]), err(Errno::ENOENT));
    assert_eq!(h.sys(269, &[AT_FDCWD, to, 4]), 0);
    assert_eq!(
        h.sys(269, &[AT_FDCWD, to, 1]),
        err(Errno::EACCES),
        "no execute bit"
    );
    assert_eq!(h.sys(269, &[AT_FDCWD, to, 8]), err(Errno::EINVAL));
    assert_eq!(h.path_call(21, "/d", &[1]), 0);
}

#[test]
fn rename_cases() {
    let mut h = Harness::new();
    for dir in ["/a", "/a/sub", "/b", "/empty", "/full"] {
        h.path_call(83, dir, &[0o755]);
    }
    touch(&mut h, "/a/f");
    touch(&mut h, "/b/g");
    touch(&mut h, "/full/x");
    let rename = |h: &mut Harness, from: &str, to: &str| {
        let from = h.cstr(from);
        let to = h.cstr(to);
        h.sys(82, &[from, to])
    };
    assert_eq!(rename(&mut h, "/a/f", "/b/f"), 0, "across directories");
    assert!(h.stat("/a/f").is_err());
    assert_eq!(rename(&mut h, "/b/f", "/b/g"), 0, "replace a file");
    assert_eq!(
        h.container
            .fs
            .entry_count(h.container.fs.resolve(1, b"/b").unwrap())
            .unwrap(),
        1
    );
    assert_eq!(rename(&mut h, "/b/g", "/b/g"), 0, "onto itself");
    assert_eq!(rename(&mut h, "/b/g", "/empty"), err(Errno::EISDIR));
    assert_eq!(rename(&mut h, "/a", "/b/g"), err(Errno::ENOTDIR));
    assert_eq!(rename(&mut h, "/a", "/full"), err(Errno::ENOTEMPTY));
    assert_eq!(rename(&mut h, "/a", "/a/sub/inside"), err(Errno::EINVAL));
    assert_eq!(
        rename(&mut h, "/a", "/a/sub"),
        err(Errno::EINVAL),
        "into itself, replacing"
    );
    assert_eq!(rename(&mut h, "/missing", "/z"), err(Errno::ENOENT));
    assert_eq!(rename(&mut h, "/b/g/", "/z"), err(Errno::ENOTDIR));
    assert_eq!(rename(&mut h, "/b/g", "/nodir/z"), err(Errno::ENOENT));
    assert_eq!(
        rename(&mut h, "/a", "/empty"),
        0,
        "replace an empty directory"
    );
    assert!(h.stat("/empty/sub").is_ok());
    assert_eq!(
        stat_field(&h.stat("/").unwrap(), 16, 8),
        2 + 5,
        "root nlink: dev tmp b empty full"
    );
    // renameat2 RENAME_NOREPLACE
    let from = h.cstr("/b/g");
    let to = h.cstr("/full/x");
    assert_eq!(
        h.sys(316, &[AT_FDCWD, from, AT_FDCWD, to, 1]),
        err(Errno::EEXIST)
    );
    assert_eq!(
        h.sys(316, &[AT_FDCWD, from, AT_FDCWD, to, 8]),
        err(Errno::EINVAL)
    );
}

/// Parses linux_dirent64 records into (name, type).
fn parse_dirents(bytes: &[u8]) -> Vec<(std::string::String, u8)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let reclen = u16::from_le_bytes([bytes[offset + 16], bytes[offset + 17]]) as usize;
        assert_eq!(reclen % 8, 0);
        let kind = bytes[offset + 18];
        let name = &bytes[offset + 19..offset + reclen];
        let end = name.iter().position(|&b| b == 0).unwrap();
        out.push((
            std::string::String::from_utf8(name[..end].to_vec()).unwrap(),
            kind,
        ));
        offset += reclen;
    }
    out
}

#[test]
fn getdents_across_calls() {
    let mut h = Harness::new();
    h.path_call(83, "/d", &[0o755]);
    for index in 0..10 {
        touch(&mut h, &std::format!("/d/file{index:02}"));
    }
    h.path_call(83, "/d/sub", &[0o755]);
    let fd = h.open("/d", O_DIRECTORY, 0) as u64;
    let buf = h.alloc(64);
    let mut names = Vec::new();
    loop {
        let got = h.sys(217, &[fd, buf, 64]);
        assert!(got >= 0, "getdents64: {got}");
        if got == 0 {
            break;
        }
        let records = h.mem(buf, got as usize);
        names.extend(parse_dirents(&records));
    }
    assert_eq!(names.len(), 13);
    assert_eq!(names[0], (".".into(), 4));
    assert_eq!(names[1], ("..".into(), 4));
    assert_eq!(names[2], ("file00".into(), 8));
    assert_eq!(names[12], ("sub".into(), 4));
    assert_eq!(
        h.sys(217, &[fd, buf, 10]),
        0,
        "at the end even with a tiny buffer"
    );
    h.sys(8, &[fd, 0, 0]);
    assert_eq!(
        h.sys(217, &[fd, buf, 10]),
        err(Errno::EINVAL),
        "buffer too small for one entry"
    );
    assert_eq!(h.sys(217, &[fd, 0, 64]), err(Errno::EFAULT));
    let file = h.open("/d/file00", 0, 0) as u64;
    assert_eq!(h.sys(217, &[file, buf, 64]), err(Errno::ENOTDIR));
    assert_eq!(h.sys(217, &[99, buf, 64]), err(Errno::EBADF));
    let dev = h.open("/dev", O_DIRECTORY, 0) as u64;
    let big = h.alloc(1024);
    let got = h.sys(217, &[dev, big, 1024]);
    let names = parse_dirents(&h.mem(big, got as usize));
    assert!(names.contains(&("null".into(), 2)));
}

#[test]
fn readlink_and_umask() {
    let mut h = Harness::new();
    let buf = h.alloc(64);
    let path = h.cstr("/tmp");
    assert_eq!(h.sys(89, &[path, buf, 64]), err(Errno::EINVAL));
    let missing = h.cstr("/proc/self/exe");
    assert_eq!(h.sys(89, &[missing, buf, 64]), err(Errno::ENOENT));
    assert_eq!(h.sys(95, &[0o077]), 0o022);
    assert_eq!(h.sys(95, &[0o022]), 0o077);
}

#[test]
fn truncate_by_path() {
    let mut h = Harness::new();
    let fd = h.open("/tmp/f", O_CREAT | 2, 0o644);
    h.write_fd(fd, b"abcdef");
    assert_eq!(h.path_call(76, "/tmp/f", &[3]), 0);
    assert_eq!(h.container.fs.read_whole_file("/tmp/f").unwrap(), b"abc");
    assert_eq!(h.path_call(76, "/tmp", &[3]), err(Errno::EISDIR));
    assert_eq!(h.sys(77, &[fd as u64, 5]), 0);
    assert_eq!(
        h.container.fs.read_whole_file("/tmp/f").unwrap(),
        b"abc\0\0"
    );
    assert_eq!(h.sys(77, &[fd as u64, (-1i64) as u64]), err(Errno::EINVAL));
}
