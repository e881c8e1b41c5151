//! Directory operations: lookup, create, remove, rename, list.
//!
//! Each operation takes the directory's inode number and one name (never a
//! path; `path.rs` splits paths). Linux's rules are kept:
//!
//! - `unlink` refuses directories (`EISDIR`), `rmdir` refuses anything else
//!   (`ENOTDIR`) and non-empty directories (`ENOTEMPTY`).
//! - `rename` may replace its target: a file only by a file (`EISDIR`
//!   otherwise), a directory only by a directory (`ENOTDIR`) that is empty
//!   (`ENOTEMPTY`); it refuses to move a directory into itself or one of
//!   its descendants (`EINVAL`). Renaming something onto itself does
//!   nothing and succeeds.
//! - The names `.` and `..` can be looked up but never created, removed or
//!   renamed.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{DeviceKind, FileType, Fs, Ino, NodeData, INODE_CHARGE, ROOT_INO};
use crate::Errno;

/// Linux's `NAME_MAX`: the longest single path component.
pub const NAME_MAX: usize = 255;

/// True for the names that always exist and can never be changed.
fn is_dot_name(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

/// Checks a name that is about to be created.
fn check_new_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl Fs {
    fn entries(&self, dir: Ino) -> Result<&BTreeMap<Vec<u8>, Ino>, Errno> {
        match &self.inode(dir)?.data {
            NodeData::Directory { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> Result<&mut BTreeMap<Vec<u8>, Ino>, Errno> {
        match &mut self.inode_mut(dir)?.data {
            NodeData::Directory { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The parent of a directory (the root is its own parent).
    pub fn parent_of(&self, dir: Ino) -> Result<Ino, Errno> {
        match &self.inode(dir)?.data {
            NodeData::Directory { parent, .. } => Ok(*parent),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Finds `name` in directory `dir` (`.` and `..` included).
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let entries = self.entries(dir)?;
        match name {
            b"." | b"" => Ok(dir),
            b".." => self.parent_of(dir),
            _ => entries.get(name).copied().ok_or(Errno::ENOENT),
        }
    }

    /// Number of entries in a directory, not counting `.` and `..`.
    pub fn entry_count(&self, dir: Ino) -> Result<usize, Errno> {
        Ok(self.entries(dir)?.len())
    }

    /// The `index`-th entry of a directory listing: 0 is `.`, 1 is `..`,
    /// then the names in sorted order. `None` past the end.
    pub fn entry_at(
        &self,
        dir: Ino,
        index: u64,
    ) -> Result<Option<(Vec<u8>, Ino, FileType)>, Errno> {
        let entries = self.entries(dir)?;
        let (name, ino) = match index {
            0 => (b".".to_vec(), dir),
            1 => (b"..".to_vec(), self.parent_of(dir)?),
            _ => {
                let skip = usize::try_from(index - 2).unwrap_or(usize::MAX);
                match entries.iter().nth(skip) {
                    Some((name, ino)) => (name.clone(), *ino),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some((name, ino, self.file_type(ino)?)))
    }

    /// Links a new inode under `name` in `dir`, charging for it.
    fn link_new(&mut self, dir: Ino, name: &[u8], data: NodeData, perm: u32) -> Result<Ino, Errno> {
        check_new_name(name)?;
        if is_dot_name(name) || self.entries(dir)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        if self.inode(dir)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        self.charge(INODE_CHARGE)?;
        let is_dir = matches!(data, NodeData::Directory { .. });
        let ino = self.allocate_inode(data, perm);
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        if let Ok(inode) = self.inode_mut(ino) {
            inode.nlink = if is_dir { 2 } else { 1 };
        }
        if is_dir {
            self.adjust_nlink(dir, true);
        }
        self.touch(dir);
        Ok(ino)
    }

    /// Creates an empty regular file; `EEXIST` if the name is taken.
    pub fn create_file(&mut self, dir: Ino, name: &[u8], perm: u32) -> Result<Ino, Errno> {
        self.link_new(dir, name, NodeData::File(Vec::new()), perm)
    }

    /// Creates an empty directory; `EEXIST` if the name is taken.
    pub fn mkdir(&mut self, dir: Ino, name: &[u8], perm: u32) -> Result<Ino, Errno> {
        let data = NodeData::Directory {
            entries: BTreeMap::new(),
            parent: dir,
        };
        self.link_new(dir, name, data, perm)
    }

    /// Creates a character device node.
    pub fn create_device(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: DeviceKind,
        perm: u32,
    ) -> Result<Ino, Errno> {
        self.link_new(dir, name, NodeData::Device(kind), perm)
    }

    fn adjust_nlink(&mut self, ino: Ino, increase: bool) {
        if let Ok(inode) = self.inode_mut(ino) {
            inode.nlink = if increase {
                inode.nlink.saturating_add(1)
            } else {
                inode.nlink.saturating_sub(1)
            };
        }
    }

    /// Removes a non-directory's name.
    pub fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        if is_dot_name(name) {
            return Err(Errno::EISDIR);
        }
        let ino = self.lookup(dir, name)?;
        if self.file_type(ino)? == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        self.entries_mut(dir)?.remove(name);
        self.drop_link(ino);
        self.touch(dir);
        Ok(())
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        match name {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let ino = self.lookup(dir, name)?;
        if self.file_type(ino)? != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if ino == ROOT_INO {
            return Err(Errno::EBUSY);
        }
        if self.entry_count(ino)? != 0 {
            return Err(Errno::ENOTEMPTY);
        }
        self.entries_mut(dir)?.remove(name);
        self.adjust_nlink(dir, false);
        if let Ok(inode) = self.inode_mut(ino) {
            inode.nlink = 0;
        }
        self.free_if_unused(ino);
        self.touch(dir);
        Ok(())
    }

    /// Drops one name of a non-directory and frees it when unused.
    fn drop_link(&mut self, ino: Ino) {
        self.adjust_nlink(ino, false);
        self.free_if_unused(ino);
    }

    /// True when `ancestor` is `dir` or one of `dir`'s ancestors.
    fn is_ancestor(&self, ancestor: Ino, mut dir: Ino) -> bool {
        // Depth is bounded by the number of inodes; the loop also stops at
        // the root, which is its own parent.
        for _ in 0..=self.inode_count() {
            if dir == ancestor {
                return true;
            }
            match self.parent_of(dir) {
                Ok(parent) if parent != dir => dir = parent,
                _ => return false,
            }
        }
        false
    }

    /// Moves `old_dir/old_name` to `new_dir/new_name`, replacing the target
    /// per the rules in the module docs. `no_replace` gives `EEXIST`
    /// instead of replacing (`RENAME_NOREPLACE`).
    pub fn rename(
        &mut self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
        no_replace: bool,
    ) -> Result<(), Errno> {
        if is_dot_name(old_name) || is_dot_name(new_name) {
            return Err(Errno::EBUSY);
        }
        let source = self.lookup(old_dir, old_name)?;
        check_new_name(new_name)?;
        let source_is_dir = self.file_type(source)? == FileType::Directory;
        let target = match self.lookup(new_dir, new_name) {
            Ok(target) => Some(target),
            Err(Errno::ENOENT) => None,
            Err(error) => return Err(error),
        };
        if target == Some(source) {
            return Ok(());
        }
        if target.is_some() && no_replace {
            return Err(Errno::EEXIST);
        }
        if source_is_dir && self.is_ancestor(source, new_dir) {
            return Err(Errno::EINVAL);
        }
        if let Some(target) = target {
            self.check_replaceable(source_is_dir, target)?;
        }
        if target.is_none() && self.inode(new_dir)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        self.move_entry(
            source,
            source_is_dir,
            old_dir,
            old_name,
            new_dir,
            new_name,
            target,
        )
    }

    /// Checks the type rules for replacing `target` during a rename.
    fn check_replaceable(&self, source_is_dir: bool, target: Ino) -> Result<(), Errno> {
        let target_is_dir = self.file_type(target)? == FileType::Directory;
        match (source_is_dir, target_is_dir) {
            (false, true) => Err(Errno::EISDIR),
            (true, false) => Err(Errno::ENOTDIR),
            (true, true) if self.entry_count(target)? != 0 => Err(Errno::ENOTEMPTY),
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn move_entry(
        &mut self,
        source: Ino,
        source_is_dir: bool,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
        target: Option<Ino>,
    ) -> Result<(), Errno> {
        if let Some(target) = target {
            self.entries_mut(new_dir)?.remove(new_name);
            if source_is_dir {
                self.adjust_nlink(new_dir, false);
                if let Ok(inode) = self.inode_mut(target) {
                    inode.nlink = 0;
                }
                self.free_if_unused(target);
            } else {
                self.drop_link(target);
            }
        }
        self.entries_mut(old_dir)?.remove(old_name);
        self.entries_mut(new_dir)?.insert(new_name.to_vec(), source);
        if source_is_dir {
            self.adjust_nlink(old_dir, false);
            self.adjust_nlink(new_dir, true);
            if let Ok(inode) = self.inode_mut(source) {
                if let NodeData::Directory { parent, .. } = &mut inode.data {
                    *parent = new_dir;
                }
            }
        }
        self.touch(old_dir);
        self.touch(new_dir);
        Ok(())
    }

    /// The absolute path of a directory, found by walking parent links
    /// (`ENOENT` if it has been removed).
    pub fn path_of(&self, dir: Ino) -> Result<Vec<u8>, Errno> {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut current = dir;
        while current != ROOT_INO {
            if self.inode(current)?.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            let parent = self.parent_of(current)?;
            let entries = self.entries(parent)?;
            let name = entries
                .iter()
                .find(|(_, ino)| **ino == current)
                .map(|(name, _)| name.as_slice())
                .ok_or(Errno::ENOENT)?;
            names.push(name);
            if names.len() > self.inode_count() {
                return Err(Errno::ELOOP);
            }
            current = parent;
        }
        let mut path = Vec::new();
        for name in names.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        Ok(path)
    }
}
