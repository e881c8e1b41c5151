//! Path resolution: turning `a/../b//c/` into an inode.
//!
//! A path is split at `/`; empty components (from repeated slashes) and `.`
//! are skipped, `..` goes to the parent (the root is its own parent), and
//! every component but the last must be a directory (`ENOTDIR`). A path
//! starting with `/` starts at the root, any other at the given start
//! directory (the working directory or an `*at` call's directory fd). A
//! trailing slash demands that the result be a directory. The empty path
//! is `ENOENT`, as on Linux (callers handle `AT_EMPTY_PATH` themselves).
//! There are no symbolic links, so resolution never loops.

use alloc::vec::Vec;

use super::{FileType, Fs, Ino, ROOT_INO};
use crate::Errno;

/// The result of resolving everything but the last component of a path:
/// what creating, removing and renaming calls need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentAndName {
    /// The directory that holds (or would hold) the last component.
    pub dir: Ino,
    /// The last component; `.` when the path names the start or root
    /// directory itself (like `/` or `.`).
    pub name: Vec<u8>,
    /// True when the path ended in `/`, so the target must be a directory.
    pub trailing_slash: bool,
}

/// Splits a path into its non-empty components.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&byte| byte == b'/')
        .filter(|part| !part.is_empty())
}

impl Fs {
    /// Resolves a whole path to an inode.
    pub fn resolve(&self, start: Ino, path: &[u8]) -> Result<Ino, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut current = if path.first() == Some(&b'/') {
            ROOT_INO
        } else {
            start
        };
        // The start directory itself must still exist.
        self.inode(current)?;
        for component in components(path) {
            current = self.lookup(current, component)?;
        }
        if path.last() == Some(&b'/') && self.file_type(current)? != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(current)
    }

    /// Resolves all but the last component of a path.
    pub fn resolve_parent(&self, start: Ino, path: &[u8]) -> Result<ParentAndName, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let trailing_slash = path.last() == Some(&b'/');
        let mut trimmed = path;
        while let [rest @ .., b'/'] = trimmed {
            trimmed = rest;
        }
        let (head, name) = match trimmed.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => (
                trimmed.get(..=slash).unwrap_or(b"/"),
                trimmed.get(slash + 1..).unwrap_or(b""),
            ),
            None if trimmed.is_empty() => (&b"/"[..], &b"."[..]),
            None => (&b"."[..], trimmed),
        };
        let dir = if head == b"." {
            start
        } else {
            self.resolve(start, head)?
        };
        if self.file_type(dir)? != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > super::directory::NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(ParentAndName {
            dir,
            name: name.to_vec(),
            trailing_slash,
        })
    }
}
