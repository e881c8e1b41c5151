//! The container: state shared by all processes of one container.
//!
//! A container owns the file tree ([`Fs`]), hands out process ids (1, 2,
//! ...), remembers which processes exist and who their parents are (for
//! `getppid` and `kill`), and remembers which unknown syscall numbers it
//! has already reported, so the console gets one line per distinct number
//! instead of one per call. That memory is capped: after
//! [`UNKNOWN_LOG_CAP`] distinct numbers one final line says further ones
//! go unreported, so a fuzzer cannot grow the set without bound.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;

use crate::fs::Fs;
use crate::process::{MemoryLayout, Process};
use crate::Backend;

/// How many distinct unknown syscall numbers are logged per container.
pub const UNKNOWN_LOG_CAP: usize = 64;

/// Container-wide state. See the module docs.
#[derive(Debug)]
pub struct Container {
    /// The container's file tree.
    pub fs: Fs,
    name: String,
    next_pid: i32,
    /// Live processes: pid → parent pid (0 for none).
    processes: BTreeMap<i32, i32>,
    logged_unknown: BTreeSet<u64>,
    unknown_log_closed: bool,
}

impl Container {
    /// A container with no processes yet.
    pub fn new(name: &str, fs: Fs) -> Container {
        Container {
            fs,
            name: String::from(name),
            next_pid: 1,
            processes: BTreeMap::new(),
            logged_unknown: BTreeSet::new(),
            unknown_log_closed: false,
        }
    }

    /// The container's name (also the `nodename` in `uname`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates a process with the next pid; its parent is `parent` (0 when
    /// `None`). Its fds 0, 1 and 2 are the console, its working directory
    /// is `/`. The caller loads the program and calls
    /// [`Process::set_brk_start`] and [`Process::note_mapping`].
    pub fn new_process(&mut self, parent: Option<i32>, layout: MemoryLayout) -> Process {
        let pid = self.next_pid;
        self.next_pid = self.next_pid.checked_add(1).unwrap_or(2);
        let ppid = parent.unwrap_or(0);
        self.processes.insert(pid, ppid);
        Process::new(pid, ppid, layout, &mut self.fs)
    }

    /// Forgets a process that has ended (its files are closed by `handle`
    /// on exit, or by [`Process::close_all_files`]).
    pub fn process_exited(&mut self, pid: i32) {
        self.processes.remove(&pid);
    }

    /// True when `pid` is a live process of this container.
    pub fn process_exists(&self, pid: i32) -> bool {
        self.processes.contains_key(&pid)
    }

    /// Number of live processes.
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }

    /// Logs "unknown syscall" once per distinct number (see module docs).
    pub(crate) fn report_unknown_syscall(&mut self, backend: &mut dyn Backend, nr: u64) {
        if self.logged_unknown.contains(&nr) || self.unknown_log_closed {
            return;
        }
        if self.logged_unknown.len() >= UNKNOWN_LOG_CAP {
            self.unknown_log_closed = true;
            backend.log(format_args!(
                "more than {UNKNOWN_LOG_CAP} distinct unknown syscalls; no longer reporting them"
            ));
            return;
        }
        self.logged_unknown.insert(nr);
        backend.log(format_args!("unknown syscall {nr} → ENOSYS"));
    }
}
