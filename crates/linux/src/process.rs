//! One process: everything the personality remembers per process.
//!
//! A [`Process`] holds its ids, its descriptor table, working directory and
//! umask, its memory areas and program break, the signal actions and mask
//! it has set (recorded only: this personality does not deliver signals),
//! its `set_tid_address` pointer and FS base, resource limits, and
//! per-syscall-number call counts for statistics.
//!
//! The program break (`brk`) works like Linux's: it starts at the first
//! page boundary after the loaded image and only the pages below the
//! rounded-up break are mapped. `heap_start <= current` always holds, and
//! `mapped_end` is `current` rounded up to a page.

use alloc::vec;
use alloc::vec::Vec;

use crate::address_space::{AddressSpace, AreaKind};
use crate::fd_table::{Access, FdTable, OpenFile, FD_LIMIT};
use crate::fs::{DeviceKind, Fs, Ino, ROOT_INO};
use crate::{Prot, PAGE_SIZE};

/// Syscall numbers below this are counted individually; others together.
pub const COUNTED_SYSCALLS: usize = 512;

/// Where a process's dynamic memory goes (user addresses, page aligned):
/// `mmap` without a usable hint allocates inside `[mmap_base, mmap_end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLayout {
    pub mmap_base: u64,
    pub mmap_end: u64,
}

/// The program break. See the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Break {
    pub heap_start: u64,
    pub current: u64,
    pub mapped_end: u64,
}

/// A recorded `struct k_sigaction`: handler, flags, restorer, mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// A resource limit (`struct rlimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimit {
    pub current: u64,
    pub maximum: u64,
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Number of Linux resource limits (`RLIM_NLIMITS`).
pub const RESOURCE_COUNT: usize = 16;

/// Per-process state. See the module docs.
#[derive(Debug)]
pub struct Process {
    pub(crate) pid: i32,
    pub(crate) ppid: i32,
    pub(crate) files: FdTable,
    pub(crate) cwd: Ino,
    pub(crate) umask: u32,
    pub(crate) memory: AddressSpace,
    pub(crate) layout: MemoryLayout,
    pub(crate) brk: Break,
    pub(crate) signal_actions: [SignalAction; 64],
    pub(crate) signal_mask: u64,
    pub(crate) pending_signals: u64,
    pub(crate) alternate_stack: [u64; 3],
    pub(crate) tid_address: u64,
    pub(crate) fs_base: u64,
    pub(crate) limits: [ResourceLimit; RESOURCE_COUNT],
    pub(crate) start_ns: Option<u64>,
    counts: Vec<u64>,
    other_count: u64,
}

fn default_limits() -> [ResourceLimit; RESOURCE_COUNT] {
    let unlimited = ResourceLimit {
        current: RLIM_INFINITY,
        maximum: RLIM_INFINITY,
    };
    let mut limits = [unlimited; RESOURCE_COUNT];
    limits[3] = ResourceLimit {
        current: 8 << 20,
        maximum: RLIM_INFINITY,
    };
    limits[4] = ResourceLimit {
        current: 0,
        maximum: RLIM_INFINITY,
    };
    let files = FD_LIMIT as u64;
    limits[7] = ResourceLimit {
        current: files,
        maximum: files,
    };
    limits
}

/// Finds `/dev/console`, or makes a nameless console inode if the tree
/// has none.
fn console_inode(fs: &mut Fs) -> Ino {
    if let Ok(ino) = fs.resolve(ROOT_INO, b"/dev/console") {
        if fs.file_type(ino) == Ok(crate::fs::FileType::CharDevice(DeviceKind::Console)) {
            return ino;
        }
    }
    fs.allocate_detached_device(DeviceKind::Console)
}

impl Process {
    pub(crate) fn new(pid: i32, ppid: i32, layout: MemoryLayout, fs: &mut Fs) -> Process {
        let mut process = Process {
            pid,
            ppid,
            files: FdTable::new(),
            cwd: ROOT_INO,
            umask: 0o022,
            memory: AddressSpace::new(),
            layout,
            brk: Break::default(),
            signal_actions: [SignalAction::default(); 64],
            signal_mask: 0,
            pending_signals: 0,
            alternate_stack: [0, 2, 0],
            tid_address: 0,
            fs_base: 0,
            limits: default_limits(),
            start_ns: None,
            counts: vec![0; COUNTED_SYSCALLS],
            other_count: 0,
        };
        process.open_console(fs);
        process
    }

    /// Opens the console as fd 0 and duplicates it to fds 1 and 2.
    fn open_console(&mut self, fs: &mut Fs) {
        let console = console_inode(fs);
        if fs.open_inode(console).is_err() {
            return;
        }
        let file = OpenFile::new(console, Access::ReadWrite);
        if let Ok(fd) = self.files.install(file, false, FD_LIMIT) {
            let _ = self.files.duplicate(fd, 1, false, FD_LIMIT);
            let _ = self.files.duplicate(fd, 2, false, FD_LIMIT);
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The parent's process id (0 for none).
    pub fn ppid(&self) -> i32 {
        self.ppid
    }

    /// Sets the start of the heap: `brk` grows from the first page
    /// boundary at or after `addr` (the first byte after the image).
    pub fn set_brk_start(&mut self, addr: u64) {
        let start = addr.checked_next_multiple_of(PAGE_SIZE).unwrap_or(addr);
        self.brk = Break {
            heap_start: start,
            current: start,
            mapped_end: start,
        };
    }

    /// The program break state.
    pub fn program_break(&self) -> Break {
        self.brk
    }

    /// Records memory mapped by the loader (image segments, stack) so that
    /// `mmap` never hands it out and `munmap`/`mprotect` know it exists.
    /// The range is widened to whole pages.
    pub fn note_mapping(&mut self, addr: u64, len: u64, prot: Prot) {
        let start = addr - addr % PAGE_SIZE;
        let end = addr
            .saturating_add(len)
            .checked_next_multiple_of(PAGE_SIZE)
            .unwrap_or(u64::MAX - (PAGE_SIZE - 1));
        self.memory.remove_range(start, end, None);
        self.memory.insert(start, end, prot, AreaKind::Image);
    }

    /// The process's memory areas.
    pub fn address_space(&self) -> &AddressSpace {
        &self.memory
    }

    /// The descriptor table (read-only, for statistics and tests).
    pub fn files(&self) -> &FdTable {
        &self.files
    }

    /// The FS base last set through `arch_prctl`.
    pub fn fs_base(&self) -> u64 {
        self.fs_base
    }

    /// The address recorded by `set_tid_address`.
    pub fn tid_address(&self) -> u64 {
        self.tid_address
    }

    /// Calls per syscall number: index `n` counts syscall `n`, for
    /// `n < COUNTED_SYSCALLS`.
    pub fn syscall_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Calls with numbers `>= COUNTED_SYSCALLS`.
    pub fn other_syscall_count(&self) -> u64 {
        self.other_count
    }

    pub(crate) fn count_syscall(&mut self, nr: u64) {
        let slot = usize::try_from(nr)
            .ok()
            .and_then(|index| self.counts.get_mut(index));
        match slot {
            Some(count) => *count = count.saturating_add(1),
            None => self.other_count = self.other_count.saturating_add(1),
        }
    }

    /// Closes every descriptor, releasing the files in `fs`. `handle` does
    /// this itself when the process exits; call it when ending a process
    /// any other way.
    pub fn close_all_files(&mut self, fs: &mut Fs) {
        for ino in self.files.close_all() {
            fs.close_inode(ino);
        }
    }

    /// The current open-files limit (`RLIMIT_NOFILE`), at most `FD_LIMIT`.
    pub(crate) fn fd_limit(&self) -> usize {
        let limit = self.limits[7].current;
        usize::try_from(limit).unwrap_or(FD_LIMIT).min(FD_LIMIT)
    }
}
