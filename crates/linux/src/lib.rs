//! The Linux x86-64 syscall personality of Bulkhead containers.
//!
//! A static musl program in a container makes Linux system calls. Wherever
//! those calls are served (the container's user-mode syscall server in
//! `ipc` mode, or the kernel in `direct` and `sci` modes), the *same* code
//! in this crate decides what they do, so the three placements differ only
//! in where the code runs and what it can reach. The crate is pure logic:
//! it owns the container's file tree, process table and per-process state,
//! and reaches everything else (the app's memory, page mappings, the FS
//! base, console, clocks, randomness) through the [`Backend`] trait.
//!
//! The entry point is [`handle`]: one syscall number and six argument
//! registers in, one [`Outcome`] out ([`Caller`] does the same for a host
//! that serves one process's calls in a row). It never panics on any input: every
//! user pointer goes through the backend and becomes `-EFAULT` on failure,
//! every length is bounded before anything is allocated, and all
//! arithmetic on user values is checked or saturating. The randomized test
//! in `tests/fuzz.rs` holds the crate to this.
//!
//! Map of the crate:
//!
//! - [`errno`] and [`backend`]: the error type and the host interface;
//! - [`fs`]: the in-memory file tree and its cpio loader;
//! - [`container`], [`process`], [`fd_table`], [`address_space`]: state;
//! - `syscalls`: one module per topic, plus the dispatcher;
//! - [`user_memory`] and [`linux_structs`]: reading the app's memory safely
//!   and the exact byte layouts of Linux structures.
//!
//! Deliberate gaps: no `fork`/`clone`/`execve`/`wait4` (processes are made
//! by the host through [`Container::new_process`]), no threads or futexes,
//! no signal delivery (see `syscalls/signals.rs`), no pipes or sockets, no
//! symbolic links, hard links or permission checks (everyone is root), no
//! `mremap` or shared writable file mappings, and `statx` answers `ENOSYS`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod address_space;
pub mod backend;
pub mod container;
pub mod errno;
pub mod fd_table;
pub mod fs;
pub mod host;
pub mod linux_structs;
pub mod process;
mod syscalls;
pub mod user_memory;

#[cfg(test)]
mod tests;

pub use backend::{Backend, Prot, PAGE_SIZE};
pub use container::Container;
pub use errno::Errno;
pub use fs::{CpioError, CpioErrorKind, Fs};
pub use process::{MemoryLayout, Process};
pub use syscalls::{IOV_MAX, MAX_TRANSFER};

/// What the host does after a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Put this value in the app's `rax` (negative errno for errors, as
    /// Linux does) and resume it.
    Return(i64),
    /// The process ends: `exit`, `exit_group`, or a fatal signal it sent
    /// itself. The status is already reduced to what a parent sees: the
    /// low 8 bits of the exit code, or `128 + signal`. The process's files
    /// have been closed; the host should call
    /// [`Container::process_exited`].
    Exit(i32),
}

/// Handles one syscall: number `nr` and the six argument registers (rdi,
/// rsi, rdx, r10, r8, r9). The same as [`Caller::handle`] on a caller made
/// for this one call.
pub fn handle(
    container: &mut Container,
    process: &mut Process,
    backend: &mut dyn Backend,
    nr: u64,
    args: [u64; 6],
) -> Outcome {
    Caller::new(container, process, backend).handle(nr, args)
}

/// One process's syscalls, served one after another: the container, the
/// process and the backend are borrowed once for all of them, so a host
/// that serves the same process again and again (the syscall server while
/// one app keeps calling) keeps its `Caller` instead of finding and
/// lending them anew for every call.
pub struct Caller<'a> {
    call: syscalls::Call<'a>,
}

impl<'a> Caller<'a> {
    /// A caller: `process` of `container`, reached through `backend`.
    pub fn new(
        container: &'a mut Container,
        process: &'a mut Process,
        backend: &'a mut dyn Backend,
    ) -> Caller<'a> {
        Caller {
            call: syscalls::Call {
                container,
                process,
                backend,
            },
        }
    }

    /// Handles one syscall: number `nr` and the six argument registers
    /// (rdi, rsi, rdx, r10, r8, r9). Inlined, with the dispatcher, into
    /// the host's serving loop, so that the arguments can stay in
    /// registers up to the syscall's own function and the common calls
    /// pay no call and return of their own.
    #[inline(always)]
    pub fn handle(&mut self, nr: u64, args: [u64; 6]) -> Outcome {
        let call = &mut self.call;
        call.process.count_syscall(nr);
        if call.process.start_ns.is_none() {
            call.process.start_ns = Some(call.backend.monotonic_ns());
        }
        let outcome = match syscalls::dispatch(call, nr, args) {
            Ok(outcome) => outcome,
            Err(errno) => Outcome::Return(errno.as_return()),
        };
        if let Outcome::Exit(_) = outcome {
            call.process.close_all_files(&mut call.container.fs);
        }
        outcome
    }
}
