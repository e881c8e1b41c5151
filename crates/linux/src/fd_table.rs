//! File descriptors and open file descriptions.
//!
//! Linux has two levels, and so does this table. A *file descriptor* is a
//! small number in one process (plus its close-on-exec flag). It names an
//! *open file description*: the inode, the current offset, the access mode
//! and the status flags (`O_APPEND`, `O_NONBLOCK`). `dup` makes a second
//! descriptor for the *same* description, so both share one offset, which
//! is why descriptions are kept in their own map with a reference count.
//!
//! Invariants: every descriptor names a description in `descriptions`; a
//! description's `refs` equals the number of descriptors naming it; the
//! table never holds more than [`FD_LIMIT`] descriptors. When a
//! description's last descriptor closes, its inode number is handed back to
//! the caller, who must call `Fs::close_inode` (the table does not own the
//! file tree).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::fs::Ino;
use crate::Errno;

/// The most descriptors one process may hold (`RLIMIT_NOFILE`).
pub const FD_LIMIT: usize = 256;

/// How a description may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    WriteOnly,
    ReadWrite,
    /// `O_PATH`: only names the file (for `fstat`, `fchdir`, `*at` calls).
    PathOnly,
}

impl Access {
    pub fn can_read(self) -> bool {
        matches!(self, Access::ReadOnly | Access::ReadWrite)
    }

    pub fn can_write(self) -> bool {
        matches!(self, Access::WriteOnly | Access::ReadWrite)
    }
}

/// An open file description. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFile {
    pub ino: Ino,
    pub offset: u64,
    pub access: Access,
    pub append: bool,
    pub nonblocking: bool,
    refs: u32,
}

impl OpenFile {
    /// A description at offset 0, not yet referenced by any descriptor.
    pub fn new(ino: Ino, access: Access) -> OpenFile {
        OpenFile {
            ino,
            offset: 0,
            access,
            append: false,
            nonblocking: false,
            refs: 0,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Descriptor {
    description: u64,
    close_on_exec: bool,
}

/// One process's descriptors. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct FdTable {
    slots: Vec<Option<Descriptor>>,
    descriptions: BTreeMap<u64, OpenFile>,
    next_description: u64,
}

/// Converts a syscall's `int fd` argument to a slot index.
fn slot_index(fd: i32) -> Result<usize, Errno> {
    usize::try_from(fd).map_err(|_| Errno::EBADF)
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// Number of open descriptors.
    pub fn count(&self) -> usize {
        self.slots.iter().filter(|slot| slot.is_some()).count()
    }

    /// Number of open descriptions (for consistency checks).
    pub fn description_count(&self) -> usize {
        self.descriptions.len()
    }

    fn descriptor(&self, fd: i32) -> Result<Descriptor, Errno> {
        let index = slot_index(fd)?;
        self.slots.get(index).copied().flatten().ok_or(Errno::EBADF)
    }

    /// The description behind `fd`.
    pub fn get(&self, fd: i32) -> Result<&OpenFile, Errno> {
        let descriptor = self.descriptor(fd)?;
        self.descriptions
            .get(&descriptor.description)
            .ok_or(Errno::EBADF)
    }

    /// The description behind `fd`, for changing its offset or flags.
    pub fn get_mut(&mut self, fd: i32) -> Result<&mut OpenFile, Errno> {
        let descriptor = self.descriptor(fd)?;
        self.descriptions
            .get_mut(&descriptor.description)
            .ok_or(Errno::EBADF)
    }

    /// The lowest free descriptor number at or above `min_fd`.
    fn lowest_free(&self, min_fd: usize, limit: usize) -> Result<usize, Errno> {
        let limit = limit.min(FD_LIMIT);
        (min_fd..limit)
            .find(|&index| self.slots.get(index).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)
    }

    fn put(&mut self, index: usize, descriptor: Descriptor) {
        if self.slots.len() <= index {
            self.slots.resize(index + 1, None);
        }
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(descriptor);
        }
    }

    /// Installs a new description at the lowest free number.
    pub fn install(
        &mut self,
        mut file: OpenFile,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<i32, Errno> {
        let index = self.lowest_free(0, limit)?;
        let id = self.next_description;
        self.next_description = self.next_description.wrapping_add(1);
        file.refs = 1;
        self.descriptions.insert(id, file);
        self.put(
            index,
            Descriptor {
                description: id,
                close_on_exec,
            },
        );
        i32::try_from(index).map_err(|_| Errno::EMFILE)
    }

    /// A new descriptor for `fd`'s description, the lowest free `>= min_fd`.
    pub fn duplicate(
        &mut self,
        fd: i32,
        min_fd: usize,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<i32, Errno> {
        let descriptor = self.descriptor(fd)?;
        if min_fd >= limit.min(FD_LIMIT) {
            return Err(Errno::EINVAL);
        }
        let index = self.lowest_free(min_fd, limit)?;
        self.add_reference(descriptor.description);
        self.put(
            index,
            Descriptor {
                description: descriptor.description,
                close_on_exec,
            },
        );
        i32::try_from(index).map_err(|_| Errno::EMFILE)
    }

    /// Makes `new_fd` name `old_fd`'s description, closing `new_fd` first.
    /// Returns the inode to release if that close dropped a description.
    pub fn duplicate_to(
        &mut self,
        old_fd: i32,
        new_fd: i32,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<Option<Ino>, Errno> {
        let descriptor = self.descriptor(old_fd)?;
        let index = slot_index(new_fd)?;
        if index >= limit.min(FD_LIMIT) {
            return Err(Errno::EBADF);
        }
        self.add_reference(descriptor.description);
        let released = self.close(new_fd).unwrap_or(None);
        self.put(
            index,
            Descriptor {
                description: descriptor.description,
                close_on_exec,
            },
        );
        Ok(released)
    }

    fn add_reference(&mut self, id: u64) {
        if let Some(file) = self.descriptions.get_mut(&id) {
            file.refs = file.refs.saturating_add(1);
        }
    }

    /// Closes `fd`. Returns the inode to release if its description died.
    pub fn close(&mut self, fd: i32) -> Result<Option<Ino>, Errno> {
        let index = slot_index(fd)?;
        let descriptor = self
            .slots
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        let Some(file) = self.descriptions.get_mut(&descriptor.description) else {
            return Ok(None);
        };
        file.refs = file.refs.saturating_sub(1);
        if file.refs > 0 {
            return Ok(None);
        }
        let ino = file.ino;
        self.descriptions.remove(&descriptor.description);
        Ok(Some(ino))
    }

    /// Closes everything; returns the inodes to release.
    pub fn close_all(&mut self) -> Vec<Ino> {
        let mut released = Vec::new();
        for index in 0..self.slots.len() {
            let fd = i32::try_from(index).unwrap_or(i32::MAX);
            if let Ok(Some(ino)) = self.close(fd) {
                released.push(ino);
            }
        }
        released
    }

    /// The close-on-exec flag of `fd`.
    pub fn close_on_exec(&self, fd: i32) -> Result<bool, Errno> {
        Ok(self.descriptor(fd)?.close_on_exec)
    }

    /// Sets the close-on-exec flag of `fd`.
    pub fn set_close_on_exec(&mut self, fd: i32, value: bool) -> Result<(), Errno> {
        let index = slot_index(fd)?;
        match self.slots.get_mut(index) {
            Some(Some(descriptor)) => {
                descriptor.close_on_exec = value;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }
}
