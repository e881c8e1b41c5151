//! Byte layouts of the Linux x86-64 structures the syscalls exchange.
//!
//! Each encoder builds the exact bytes the Linux ABI defines (little
//! endian, with the C compiler's padding), so the syscall code can hand
//! them to `Backend::write_user` in one piece. Offsets are written out in
//! comments next to each field so they can be checked against
//! `<asm/stat.h>` and friends.

use alloc::vec::Vec;

use crate::fs::{FileType, Metadata};

const NS_PER_SEC: u64 = 1_000_000_000;

/// The device number reported in `st_dev` for every file of the tree.
const TREE_DEVICE: u64 = 0x2a;

fn put(buffer: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(target) = buffer.get_mut(offset..offset + bytes.len()) {
        target.copy_from_slice(bytes);
    }
}

/// `struct timespec` (16 bytes: `tv_sec`, `tv_nsec`).
pub fn encode_timespec(ns: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    put(&mut bytes, 0, &(ns / NS_PER_SEC).to_le_bytes());
    put(&mut bytes, 8, &(ns % NS_PER_SEC).to_le_bytes());
    bytes
}

/// Decodes a `struct timespec` into `(tv_sec, tv_nsec)`.
pub fn decode_timespec(bytes: &[u8; 16]) -> (i64, i64) {
    let mut seconds = [0u8; 8];
    let mut nanos = [0u8; 8];
    seconds.copy_from_slice(&bytes[..8]);
    nanos.copy_from_slice(&bytes[8..]);
    (i64::from_le_bytes(seconds), i64::from_le_bytes(nanos))
}

/// `struct timeval` (16 bytes: `tv_sec`, `tv_usec`).
pub fn encode_timeval(ns: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    put(&mut bytes, 0, &(ns / NS_PER_SEC).to_le_bytes());
    put(&mut bytes, 8, &((ns % NS_PER_SEC) / 1000).to_le_bytes());
    bytes
}

/// `struct stat` for x86-64 (144 bytes).
pub fn encode_stat(meta: &Metadata) -> [u8; 144] {
    let mut bytes = [0u8; 144];
    put(&mut bytes, 0, &TREE_DEVICE.to_le_bytes()); // st_dev
    put(&mut bytes, 8, &meta.ino.to_le_bytes()); // st_ino
    put(&mut bytes, 16, &u64::from(meta.nlink).to_le_bytes()); // st_nlink
    put(&mut bytes, 24, &meta.mode().to_le_bytes()); // st_mode
                                                     // st_uid (28), st_gid (32), padding (36): all zero, everything is root.
    put(&mut bytes, 40, &meta.rdev.to_le_bytes()); // st_rdev
    put(&mut bytes, 48, &meta.size.to_le_bytes()); // st_size
    put(&mut bytes, 56, &4096u64.to_le_bytes()); // st_blksize
    let blocks = match meta.file_type {
        FileType::Regular => meta.size.div_ceil(512),
        _ => 0,
    };
    put(&mut bytes, 64, &blocks.to_le_bytes()); // st_blocks
    let times = [meta.mtime_ns, meta.mtime_ns, meta.ctime_ns]; // atime, mtime, ctime
    for (index, ns) in times.iter().enumerate() {
        put(&mut bytes, 72 + index * 16, &encode_timespec(*ns));
    }
    bytes
}

/// Length of a `linux_dirent64` record for a name of `name_len` bytes:
/// 19 bytes of header, the name, a NUL, rounded up to 8.
pub fn dirent_len(name_len: usize) -> usize {
    (19 + name_len + 1).next_multiple_of(8)
}

/// Appends one `struct linux_dirent64` record to `out`.
pub fn push_dirent(out: &mut Vec<u8>, ino: u64, next_offset: i64, file_type: u8, name: &[u8]) {
    let length = dirent_len(name.len());
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes()); // d_ino
    out.extend_from_slice(&next_offset.to_le_bytes()); // d_off
    out.extend_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_le_bytes()); // d_reclen
    out.push(file_type); // d_type
    out.extend_from_slice(name); // d_name
    out.resize(start + length, 0); // NUL and padding
}

/// `struct utsname`: six NUL-padded 65-byte fields (390 bytes).
pub fn encode_utsname(fields: [&[u8]; 6]) -> [u8; 390] {
    let mut bytes = [0u8; 390];
    for (index, field) in fields.iter().enumerate() {
        let len = field.len().min(64);
        put(&mut bytes, index * 65, field.get(..len).unwrap_or(&[]));
    }
    bytes
}

/// The kernel's `struct termios` as `TCGETS` fills it (36 bytes): a
/// cooked-mode terminal (ICRNL IXON / OPOST ONLCR / B38400 CS8 CREAD /
/// ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN) with the usual
/// control characters.
pub fn default_termios() -> [u8; 36] {
    let mut bytes = [0u8; 36];
    put(&mut bytes, 0, &0x0500u32.to_le_bytes()); // c_iflag
    put(&mut bytes, 4, &0x0005u32.to_le_bytes()); // c_oflag
    put(&mut bytes, 8, &0x00bfu32.to_le_bytes()); // c_cflag
    put(&mut bytes, 12, &0x8a3bu32.to_le_bytes()); // c_lflag
                                                   // c_line at 16 is 0; c_cc[19] starts at 17.
    let control = [
        3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0,
    ];
    put(&mut bytes, 17, &control);
    bytes
}

/// `struct winsize` (8 bytes): 24 rows, 80 columns.
pub fn default_winsize() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    put(&mut bytes, 0, &24u16.to_le_bytes());
    put(&mut bytes, 2, &80u16.to_le_bytes());
    bytes
}
