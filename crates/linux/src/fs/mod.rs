//! The container's file tree: a small in-memory file system.
//!
//! Every container has one [`Fs`], shared by all its processes. It is an
//! inode table (`BTreeMap<Ino, Inode>`): each inode is a directory (a sorted
//! map from name to inode number plus its parent's number), a regular file
//! (its bytes in a `Vec<u8>`) or a character device (console, null, zero,
//! urandom). Names are raw bytes, as on Linux, not UTF-8 strings.
//!
//! Invariants a reader can rely on:
//!
//! - Inode numbers are never reused (a counter only goes up), so a stale
//!   number held somewhere (a removed working directory) simply fails to
//!   look up with `ENOENT` instead of aliasing a newer file.
//! - An inode lives while it has a name (`nlink > 0`) *or* an open file
//!   description (`open_count > 0`). That is how a file unlinked while
//!   open stays readable until the last `close`.
//! - A directory's `nlink` is 2 plus its number of subdirectories, as on
//!   Linux; `rmdir` drops it to 0.
//! - `used_bytes` counts file contents plus a fixed charge per inode and is
//!   never allowed above `limit_bytes`: a container that writes too much
//!   gets `ENOSPC` instead of exhausting its server's heap.
//!
//! The tree has no symbolic links, hard links or permission checks (every
//! process runs as root); see the crate docs for the full list of gaps.

mod cpio;
mod directory;
mod file_data;
mod path;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::Errno;

pub use cpio::{CpioError, CpioErrorKind};
pub use path::ParentAndName;

/// An inode number.
pub type Ino = u64;

/// The root directory's inode number.
pub const ROOT_INO: Ino = 1;

/// What each inode costs against the limit besides its contents (covers
/// the name, the table entry and the directory entry).
const INODE_CHARGE: u64 = 512;

/// The default total-size limit: 64 MiB.
pub const DEFAULT_LIMIT_BYTES: u64 = 64 << 20;

/// The character devices the tree knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// `/dev/null`: reads give end of file, writes are discarded.
    Null,
    /// `/dev/zero`: reads give zeros, writes are discarded.
    Zero,
    /// `/dev/urandom`: reads give random bytes, writes are discarded.
    Urandom,
    /// `/dev/console` (and fds 0, 1, 2): the backend's console.
    Console,
}

impl DeviceKind {
    /// The Linux device number (`makedev(major, minor)` for small numbers).
    pub fn rdev(self) -> u64 {
        let (major, minor) = match self {
            DeviceKind::Null => (1, 3),
            DeviceKind::Zero => (1, 5),
            DeviceKind::Urandom => (1, 9),
            DeviceKind::Console => (5, 1),
        };
        (major << 8) | minor
    }
}

/// The type of an inode, as `stat` and `getdents64` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Directory,
    Regular,
    CharDevice(DeviceKind),
}

impl FileType {
    /// The `S_IFMT` bits of `st_mode`.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Directory => 0o040000,
            FileType::Regular => 0o100000,
            FileType::CharDevice(_) => 0o020000,
        }
    }

    /// The `d_type` byte of a `linux_dirent64`.
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Directory => 4,
            FileType::Regular => 8,
            FileType::CharDevice(_) => 2,
        }
    }
}

/// What `stat` needs to know about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub ino: Ino,
    pub file_type: FileType,
    /// Permission bits only (`0o7777`).
    pub perm: u32,
    pub nlink: u32,
    pub size: u64,
    pub rdev: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
}

impl Metadata {
    /// The full `st_mode`: type bits and permission bits.
    pub fn mode(&self) -> u32 {
        self.file_type.mode_bits() | self.perm
    }
}

/// The contents of an inode.
#[derive(Debug)]
pub(crate) enum NodeData {
    Directory {
        entries: BTreeMap<Vec<u8>, Ino>,
        parent: Ino,
    },
    File(Vec<u8>),
    Device(DeviceKind),
}

/// One inode: contents plus the bookkeeping `stat` reports.
#[derive(Debug)]
pub(crate) struct Inode {
    pub(crate) data: NodeData,
    pub(crate) perm: u32,
    pub(crate) nlink: u32,
    pub(crate) open_count: u32,
    pub(crate) mtime_ns: u64,
    pub(crate) ctime_ns: u64,
}

impl Inode {
    fn file_type(&self) -> FileType {
        match &self.data {
            NodeData::Directory { .. } => FileType::Directory,
            NodeData::File(_) => FileType::Regular,
            NodeData::Device(kind) => FileType::CharDevice(*kind),
        }
    }
}

/// The in-memory file tree. See the module docs.
#[derive(Debug)]
pub struct Fs {
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    used_bytes: u64,
    limit_bytes: u64,
    now_ns: u64,
}

impl Default for Fs {
    fn default() -> Self {
        Fs::new()
    }
}

impl Fs {
    /// An empty tree with `/`, `/dev/{null,zero,urandom,console}` and `/tmp`.
    pub fn new() -> Fs {
        let mut fs = Fs::bare();
        fs.add_standard_nodes();
        fs
    }

    /// Only the root directory.
    fn bare() -> Fs {
        let mut fs = Fs {
            inodes: BTreeMap::new(),
            next_ino: ROOT_INO,
            used_bytes: 0,
            limit_bytes: DEFAULT_LIMIT_BYTES,
            now_ns: 0,
        };
        let root = NodeData::Directory {
            entries: BTreeMap::new(),
            parent: ROOT_INO,
        };
        let ino = fs.allocate_inode(root, 0o755);
        debug_assert_eq!(ino, ROOT_INO);
        fs.inode_mut(ino).map(|inode| inode.nlink = 2).ok();
        fs
    }

    /// Adds `/dev` with its devices and a world-writable `/tmp`, keeping
    /// whatever already exists under those names.
    fn add_standard_nodes(&mut self) {
        let dev = self.ensure_directory(ROOT_INO, b"dev", 0o755);
        if let Ok(dev) = dev {
            let devices = [
                (&b"null"[..], DeviceKind::Null, 0o666),
                (b"zero", DeviceKind::Zero, 0o666),
                (b"urandom", DeviceKind::Urandom, 0o666),
                (b"console", DeviceKind::Console, 0o620),
            ];
            for (name, kind, perm) in devices {
                // An archive may already provide the node; keep it then.
                let _ = self.create_device(dev, name, kind, perm);
            }
        }
        let _ = self.ensure_directory(ROOT_INO, b"tmp", 0o1777);
    }

    /// Sets the total-size limit in bytes (contents plus a per-inode charge).
    pub fn set_limit(&mut self, bytes: u64) {
        self.limit_bytes = bytes;
    }

    /// The current total-size limit.
    pub fn limit(&self) -> u64 {
        self.limit_bytes
    }

    /// Bytes charged against the limit right now.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Sets the time stamp given to files modified from now on (nanoseconds
    /// since the epoch). The syscall layer calls this from the backend clock.
    pub fn set_time(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
    }

    /// Recomputes what `used_bytes` should be from the inodes themselves
    /// (for consistency checks): contents plus the per-inode charge for
    /// every inode but the root.
    pub fn recount_used_bytes(&self) -> u64 {
        self.inodes
            .iter()
            .filter(|(ino, _)| **ino != ROOT_INO)
            .map(|(_, inode)| match &inode.data {
                NodeData::File(bytes) => bytes.len() as u64 + INODE_CHARGE,
                _ => INODE_CHARGE,
            })
            .sum()
    }

    /// The number of live inodes (for tests and statistics).
    pub fn inode_count(&self) -> usize {
        self.inodes.len()
    }

    /// `stat` information for an inode.
    pub fn metadata(&self, ino: Ino) -> Result<Metadata, Errno> {
        let inode = self.inode(ino)?;
        let (size, rdev) = match &inode.data {
            NodeData::Directory { entries, .. } => {
                let size = u64::try_from(entries.len()).unwrap_or(u64::MAX);
                (size.saturating_add(2).saturating_mul(32), 0)
            }
            NodeData::File(bytes) => (bytes.len() as u64, 0),
            NodeData::Device(kind) => (0, kind.rdev()),
        };
        Ok(Metadata {
            ino,
            file_type: inode.file_type(),
            perm: inode.perm,
            nlink: inode.nlink,
            size,
            rdev,
            mtime_ns: inode.mtime_ns,
            ctime_ns: inode.ctime_ns,
        })
    }

    /// The type of an inode.
    pub fn file_type(&self, ino: Ino) -> Result<FileType, Errno> {
        Ok(self.inode(ino)?.file_type())
    }

    /// Records one more open file description on `ino`.
    pub fn open_inode(&mut self, ino: Ino) -> Result<(), Errno> {
        let inode = self.inode_mut(ino)?;
        inode.open_count = inode.open_count.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    /// Drops one open file description on `ino`; frees the inode when it
    /// has neither names nor open descriptions left.
    pub fn close_inode(&mut self, ino: Ino) {
        if let Ok(inode) = self.inode_mut(ino) {
            inode.open_count = inode.open_count.saturating_sub(1);
            self.free_if_unused(ino);
        }
    }

    /// Reads a whole regular file by absolute path (for the ELF loader).
    pub fn read_whole_file(&self, path: &str) -> Result<Vec<u8>, Errno> {
        self.file_contents(path).map(<[u8]>::to_vec)
    }

    /// Borrows a whole regular file's contents by absolute path.
    pub fn file_contents(&self, path: &str) -> Result<&[u8], Errno> {
        let ino = self.resolve(ROOT_INO, path.as_bytes())?;
        match &self.inode(ino)?.data {
            NodeData::File(bytes) => Ok(bytes),
            NodeData::Directory { .. } => Err(Errno::EISDIR),
            NodeData::Device(_) => Err(Errno::EINVAL),
        }
    }

    /// Creates (or replaces the contents of) a regular file by absolute
    /// path, creating missing parent directories. For setting up a tree.
    pub fn install_file(&mut self, path: &str, contents: &[u8], perm: u32) -> Result<Ino, Errno> {
        let (dir, name) = self.ensure_parent_directories(path.as_bytes())?;
        let ino = match self.lookup(dir, &name) {
            Ok(existing) => existing,
            Err(_) => self.create_file(dir, &name, perm)?,
        };
        self.truncate(ino, 0)?;
        if self.write_at(ino, 0, contents)? != contents.len() {
            return Err(Errno::ENOSPC);
        }
        Ok(ino)
    }

    /// Creates a directory by absolute path, with any missing parents.
    pub fn install_directory(&mut self, path: &str, perm: u32) -> Result<Ino, Errno> {
        let (dir, name) = self.ensure_parent_directories(path.as_bytes())?;
        if name.is_empty() {
            return Ok(dir);
        }
        self.ensure_directory(dir, &name, perm)
    }

    /// Walks `path` from the root creating missing directories for every
    /// component but the last; returns that directory and the last name
    /// (empty when the path names the root itself).
    pub(crate) fn ensure_parent_directories(
        &mut self,
        path: &[u8],
    ) -> Result<(Ino, Vec<u8>), Errno> {
        let mut components: Vec<&[u8]> = path
            .split(|&byte| byte == b'/')
            .filter(|part| !part.is_empty() && *part != b".")
            .collect();
        let last = components.pop().map(<[u8]>::to_vec).unwrap_or_default();
        let mut dir = ROOT_INO;
        for component in components {
            if component == b".." {
                return Err(Errno::EINVAL);
            }
            dir = self.ensure_directory(dir, component, 0o755)?;
        }
        if last == b".." {
            return Err(Errno::EINVAL);
        }
        Ok((dir, last))
    }

    /// Looks `name` up in `dir`, creating it as a directory when missing.
    pub(crate) fn ensure_directory(
        &mut self,
        dir: Ino,
        name: &[u8],
        perm: u32,
    ) -> Result<Ino, Errno> {
        match self.lookup(dir, name) {
            Ok(existing) if self.file_type(existing)? == FileType::Directory => Ok(existing),
            Ok(_) => Err(Errno::ENOTDIR),
            Err(Errno::ENOENT) => self.mkdir(dir, name, perm),
            Err(error) => Err(error),
        }
    }

    pub(crate) fn inode(&self, ino: Ino) -> Result<&Inode, Errno> {
        self.inodes.get(&ino).ok_or(Errno::ENOENT)
    }

    pub(crate) fn inode_mut(&mut self, ino: Ino) -> Result<&mut Inode, Errno> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    /// Charges `bytes` more against the limit, or fails with `ENOSPC`.
    pub(crate) fn charge(&mut self, bytes: u64) -> Result<(), Errno> {
        let total = self.used_bytes.checked_add(bytes).ok_or(Errno::ENOSPC)?;
        if total > self.limit_bytes {
            return Err(Errno::ENOSPC);
        }
        self.used_bytes = total;
        Ok(())
    }

    /// Gives `bytes` back to the budget.
    pub(crate) fn refund(&mut self, bytes: u64) {
        self.used_bytes = self.used_bytes.saturating_sub(bytes);
    }

    /// Room left under the limit.
    pub(crate) fn room_left(&self) -> u64 {
        self.limit_bytes.saturating_sub(self.used_bytes)
    }

    /// Adds an inode with no name yet (`nlink` 0) and returns its number.
    pub(crate) fn allocate_inode(&mut self, data: NodeData, perm: u32) -> Ino {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.saturating_add(1);
        let inode = Inode {
            data,
            perm: perm & 0o7777,
            nlink: 0,
            open_count: 0,
            mtime_ns: self.now_ns,
            ctime_ns: self.now_ns,
        };
        self.inodes.insert(ino, inode);
        ino
    }

    /// Removes an inode that has no names and no open descriptions.
    pub(crate) fn free_if_unused(&mut self, ino: Ino) {
        let unused = match self.inodes.get(&ino) {
            Some(inode) => inode.nlink == 0 && inode.open_count == 0 && ino != ROOT_INO,
            None => false,
        };
        if unused {
            if let Some(inode) = self.inodes.remove(&ino) {
                let contents = match &inode.data {
                    NodeData::File(bytes) => bytes.len() as u64,
                    _ => 0,
                };
                self.refund(contents.saturating_add(INODE_CHARGE));
            }
        }
    }

    /// Marks an inode as modified now.
    pub(crate) fn touch(&mut self, ino: Ino) {
        let now = self.now_ns;
        if let Ok(inode) = self.inode_mut(ino) {
            inode.mtime_ns = now;
            inode.ctime_ns = now;
        }
    }
}

impl Fs {
    /// Makes a device inode with no name (it lives while it is open).
    pub(crate) fn allocate_detached_device(&mut self, kind: DeviceKind) -> Ino {
        let _ = self.charge(INODE_CHARGE);
        self.allocate_inode(NodeData::Device(kind), 0o620)
    }
}
