//! The cpio newc loader: a hand-built archive and damaged ones.

use std::string::String;
use std::vec::Vec;

use crate::fs::{CpioErrorKind, FileType, ROOT_INO};
use crate::{Errno, Fs};

/// Appends one newc entry.
fn entry(archive: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    let name_size = name.len() + 1;
    let fields = [
        1,
        mode,
        0,
        0,
        1,
        1_700_000_000,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name_size as u32,
        0,
    ];
    let mut header = String::from("070701");
    for field in fields {
        header.push_str(&std::format!("{field:08X}"));
    }
    archive.extend_from_slice(header.as_bytes());
    archive.extend_from_slice(name.as_bytes());
    archive.push(0);
    while !archive.len().is_multiple_of(4) {
        archive.push(0);
    }
    archive.extend_from_slice(data);
    while !archive.len().is_multiple_of(4) {
        archive.push(0);
    }
}

fn sample() -> Vec<u8> {
    let mut archive = Vec::new();
    entry(&mut archive, ".", 0o040755, b"");
    entry(&mut archive, "./bin", 0o040755, b"");
    entry(&mut archive, "./bin/hello", 0o100755, b"\x7fELF hello");
    entry(&mut archive, "/etc/deep/config", 0o100644, b"key=value\n");
    entry(&mut archive, "link", 0o120777, b"bin/hello");
    entry(&mut archive, "empty", 0o100600, b"");
    entry(&mut archive, "TRAILER!!!", 0, b"");
    archive
}

#[test]
fn loads_a_hand_built_archive() {
    let fs = Fs::from_cpio(&sample()).unwrap();
    assert_eq!(fs.read_whole_file("/bin/hello").unwrap(), b"\x7fELF hello");
    assert_eq!(
        fs.read_whole_file("/etc/deep/config").unwrap(),
        b"key=value\n"
    );
    assert_eq!(fs.read_whole_file("/empty").unwrap(), b"");
    assert_eq!(
        fs.read_whole_file("/link"),
        Err(Errno::ENOENT),
        "symlinks skipped"
    );
    assert_eq!(fs.read_whole_file("/bin"), Err(Errno::EISDIR));
    let hello = fs.resolve(ROOT_INO, b"/bin/hello").unwrap();
    let meta = fs.metadata(hello).unwrap();
    assert_eq!(meta.perm, 0o755);
    assert_eq!(meta.mtime_ns, 1_700_000_000 * 1_000_000_000);
    let null = fs.resolve(ROOT_INO, b"/dev/null").unwrap();
    assert!(matches!(
        fs.file_type(null).unwrap(),
        FileType::CharDevice(_)
    ));
    assert_eq!(
        fs.file_type(fs.resolve(ROOT_INO, b"/tmp").unwrap()),
        Ok(FileType::Directory)
    );
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let archive = sample();
    for len in 0..archive.len() - 1 {
        let result = Fs::from_cpio(&archive[..len]);
        assert!(result.is_err(), "prefix of {len} bytes accepted");
    }
}

#[test]
fn corruptions_are_reported_with_offsets() {
    let good = sample();
    let mut bad_magic = good.clone();
    bad_magic[3] = b'9';
    let error = Fs::from_cpio(&bad_magic).unwrap_err();
    assert_eq!((error.offset, error.kind), (0, CpioErrorKind::BadMagic));

    let mut bad_hex = good.clone();
    bad_hex[6 + 8 + 2] = b'Z';
    let error = Fs::from_cpio(&bad_hex).unwrap_err();
    assert_eq!((error.offset, error.kind), (16, CpioErrorKind::BadHexDigit));

    let mut huge_size = Vec::new();
    entry(&mut huge_size, "f", 0o100644, b"abc");
    huge_size[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"FFFFFFFF");
    assert_eq!(
        Fs::from_cpio(&huge_size).unwrap_err().kind,
        CpioErrorKind::TruncatedData
    );

    let mut huge_name = Vec::new();
    entry(&mut huge_name, "f", 0o100644, b"abc");
    huge_name[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"FFFFFFFF");
    assert_eq!(
        Fs::from_cpio(&huge_name).unwrap_err().kind,
        CpioErrorKind::TruncatedName
    );

    let mut no_nul = Vec::new();
    entry(&mut no_nul, "abcd", 0o100644, b"");
    no_nul[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"00000002");
    assert_eq!(
        Fs::from_cpio(&no_nul).unwrap_err().kind,
        CpioErrorKind::BadName
    );

    let mut no_trailer = Vec::new();
    entry(&mut no_trailer, "f", 0o100644, b"abc");
    assert_eq!(
        Fs::from_cpio(&no_trailer).unwrap_err().kind,
        CpioErrorKind::MissingTrailer
    );

    let mut escape = Vec::new();
    entry(&mut escape, "../etc", 0o040755, b"");
    entry(&mut escape, "TRAILER!!!", 0, b"");
    assert_eq!(
        Fs::from_cpio(&escape).unwrap_err().kind,
        CpioErrorKind::Tree(Errno::EINVAL)
    );

    let mut file_then_dir = Vec::new();
    entry(&mut file_then_dir, "a", 0o100644, b"x");
    entry(&mut file_then_dir, "a/b", 0o100644, b"y");
    entry(&mut file_then_dir, "TRAILER!!!", 0, b"");
    let error = Fs::from_cpio(&file_then_dir).unwrap_err();
    assert_eq!(error.kind, CpioErrorKind::Tree(Errno::ENOTDIR));
    assert_eq!(error.offset, 116);
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let good = sample();
    for _ in 0..2000 {
        let mut archive = good.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let index = (state % archive.len() as u64) as usize;
            archive[index] = (state >> 32) as u8;
        }
        let _ = Fs::from_cpio(&archive);
    }
}

#[test]
fn tree_limit_applies_to_archives() {
    let mut archive = Vec::new();
    entry(&mut archive, "big", 0o100644, &[1; 10_000]);
    entry(&mut archive, "TRAILER!!!", 0, b"");
    assert!(Fs::from_cpio(&archive).is_ok());
    let mut fs = Fs::new();
    fs.set_limit(fs.used_bytes() + 600);
    assert_eq!(
        fs.install_file("/x", &[0; 100], 0o644).map(|_| ()),
        Err(Errno::ENOSPC)
    );
}
