//! Loading a tree from a cpio "newc" archive (what `find | cpio -H newc -o`
//! writes, and what Linux initramfs images use).
//!
//! An archive is a sequence of entries, each a 110-byte ASCII header
//! (`070701` then thirteen 8-digit hex fields: ino, mode, uid, gid, nlink,
//! mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize,
//! check), the NUL-terminated name (`namesize` counts the NUL), padding to
//! a 4-byte boundary, the file data, and padding again. The entry named
//! `TRAILER!!!` ends the archive.
//!
//! Only directories and regular files are loaded. Symbolic links, device
//! nodes, FIFOs and sockets are skipped; hard links are loaded as separate
//! files (newc stores the data with the last link, so earlier links come
//! out empty). Leading `./` and `/` are stripped from names; missing parent
//! directories are created. Anything malformed is a [`CpioError`] naming
//! the byte offset and the reason; parsing never panics and never trusts a
//! size field before checking it against the bytes actually present.

use core::fmt;

use super::{FileType, Fs, ROOT_INO};
use crate::Errno;

const HEADER_LEN: usize = 110;
const MAGIC: &[u8] = b"070701";
const TRAILER: &[u8] = b"TRAILER!!!";
const MODE_TYPE_MASK: u32 = 0o170000;
const MODE_DIRECTORY: u32 = 0o040000;
const MODE_REGULAR: u32 = 0o100000;

/// Why an archive was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioErrorKind {
    /// The header does not start with `070701`.
    BadMagic,
    /// Fewer than 110 bytes left for a header.
    TruncatedHeader,
    /// A header field holds something other than 8 hex digits.
    BadHexDigit,
    /// The name runs past the end of the archive.
    TruncatedName,
    /// `namesize` is 0 or the name is not NUL-terminated where it says.
    BadName,
    /// The file data runs past the end of the archive.
    TruncatedData,
    /// The archive ended without a `TRAILER!!!` entry.
    MissingTrailer,
    /// The tree refused the entry (size limit, a file where a directory is
    /// needed, a `..` component, ...).
    Tree(Errno),
}

/// A malformed archive: where and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpioError {
    /// Byte offset of the entry (or field) at fault.
    pub offset: usize,
    pub kind: CpioErrorKind,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpio archive malformed at byte {}: {:?}",
            self.offset, self.kind
        )
    }
}

/// The header fields this loader uses.
struct Header {
    mode: u32,
    mtime: u32,
    file_size: usize,
    name_size: usize,
}

fn error(offset: usize, kind: CpioErrorKind) -> CpioError {
    CpioError { offset, kind }
}

/// Rounds up to a multiple of 4, failing on overflow.
fn align4(value: usize, offset: usize) -> Result<usize, CpioError> {
    value
        .checked_add(3)
        .map(|v| v & !3)
        .ok_or(error(offset, CpioErrorKind::TruncatedData))
}

/// Parses one 8-digit hex field.
fn hex_field(archive: &[u8], at: usize) -> Result<u32, CpioError> {
    let digits = archive
        .get(at..at + 8)
        .ok_or(error(at, CpioErrorKind::TruncatedHeader))?;
    let mut value: u32 = 0;
    for (index, &digit) in digits.iter().enumerate() {
        let nibble = char::from(digit)
            .to_digit(16)
            .ok_or(error(at + index, CpioErrorKind::BadHexDigit))?;
        value = (value << 4) | nibble;
    }
    Ok(value)
}

fn parse_header(archive: &[u8], at: usize) -> Result<Header, CpioError> {
    let end = at
        .checked_add(HEADER_LEN)
        .ok_or(error(at, CpioErrorKind::TruncatedHeader))?;
    let bytes = archive
        .get(at..end)
        .ok_or(error(at, CpioErrorKind::TruncatedHeader))?;
    if bytes.get(..6) != Some(MAGIC) {
        return Err(error(at, CpioErrorKind::BadMagic));
    }
    // Field n (0-based) starts at 6 + 8n.
    let field = |n: usize| hex_field(archive, at + 6 + 8 * n);
    Ok(Header {
        mode: field(1)?,
        mtime: field(5)?,
        file_size: field(6)? as usize,
        name_size: field(11)? as usize,
    })
}

/// Strips `./` and `/` prefixes (repeatedly) from an entry name.
fn strip_name(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else {
            return name;
        }
    }
}

impl Fs {
    /// Builds a tree from a cpio newc archive, then adds `/dev` and `/tmp`.
    pub fn from_cpio(archive: &[u8]) -> Result<Fs, CpioError> {
        let mut fs = Fs::bare();
        let mut offset = 0;
        loop {
            let header = parse_header(archive, offset)?;
            let name_start = offset + HEADER_LEN;
            let name_end = name_start
                .checked_add(header.name_size)
                .ok_or(error(offset, CpioErrorKind::TruncatedName))?;
            let raw_name = archive
                .get(name_start..name_end)
                .ok_or(error(name_start, CpioErrorKind::TruncatedName))?;
            let name = match raw_name.split_last() {
                Some((0, name)) if !name.contains(&0) => name,
                _ => return Err(error(name_start, CpioErrorKind::BadName)),
            };
            let data_start = align4(name_end, name_end)?;
            let data_end = data_start
                .checked_add(header.file_size)
                .ok_or(error(data_start, CpioErrorKind::TruncatedData))?;
            let data = archive
                .get(data_start..data_end)
                .ok_or(error(data_start, CpioErrorKind::TruncatedData))?;
            if name == TRAILER {
                break;
            }
            fs.set_time(u64::from(header.mtime).saturating_mul(1_000_000_000));
            fs.add_cpio_entry(strip_name(name), &header, data)
                .map_err(|errno| error(offset, CpioErrorKind::Tree(errno)))?;
            offset = align4(data_end, data_end)?;
            if offset >= archive.len() {
                return Err(error(offset, CpioErrorKind::MissingTrailer));
            }
        }
        fs.set_time(0);
        fs.add_standard_nodes();
        Ok(fs)
    }

    fn add_cpio_entry(&mut self, name: &[u8], header: &Header, data: &[u8]) -> Result<(), Errno> {
        if name.is_empty() || name == b"." {
            return Ok(());
        }
        let perm = header.mode & 0o7777;
        match header.mode & MODE_TYPE_MASK {
            MODE_DIRECTORY => {
                let (dir, last) = self.ensure_parent_directories(name)?;
                let ino = self.ensure_directory(dir, &last, perm)?;
                self.set_perm(ino, perm);
            }
            MODE_REGULAR => {
                let (dir, last) = self.ensure_parent_directories(name)?;
                let ino = match self.lookup(dir, &last) {
                    Ok(ino) if self.file_type(ino)? == FileType::Regular => ino,
                    Ok(_) => return Err(Errno::EISDIR),
                    Err(_) => self.create_file(dir, &last, perm)?,
                };
                self.truncate(ino, 0)?;
                if self.write_at(ino, 0, data)? != data.len() {
                    return Err(Errno::ENOSPC);
                }
                self.set_perm(ino, perm);
            }
            // Symlinks, devices, FIFOs, sockets: skipped (module docs).
            _ => {}
        }
        Ok(())
    }

    fn set_perm(&mut self, ino: u64, perm: u32) {
        if ino == ROOT_INO && perm == 0 {
            return;
        }
        if let Ok(inode) = self.inode_mut(ino) {
            inode.perm = perm;
        }
    }
}
