//! Typed, safe wrappers for every native system call, one per
//! [`bulkhead_abi::Syscall`]. They take [`CapRef`]s, [`Rights`] and slices
//! instead of raw integers, and return `Result<_, Error>`.
//!
//! Soundness boundary: a wrapper only passes the kernel pointers it got
//! from a Rust slice of the right length and direction. Calls that change
//! an address space through a capability (`space_map`, `space_unmap`,
//! `space_protect`, `space_write`) are safe even when the capability names
//! the caller's own space, in the same way that writing `/proc/self/mem` is
//! outside Rust's safety model: taking memory away from oneself stops the
//! thread with a fault, it never lets safe code observe torn values.
//! [`probe`] holds deliberately malformed calls for the kernel tests.

mod cap;
mod container;
mod io;
pub mod ipc;
mod memory;
pub mod probe;
mod space;
mod thread;

pub use cap::{cap_copy, cap_delete, cap_info, cap_mint, cap_revoke, table_create, CapInfo};
pub use container::{
    container_add_process, container_add_thread, container_create, container_create_in_kernel,
    container_info, container_stop, kernel_setup, ContainerInfo,
};
pub use io::{console_read, console_write, port_read, port_write, PortWidth};
pub use memory::{
    frames_alloc, kernel_memory, memory_info, memory_split, KernelMemory, MemoryInfo,
};
pub use space::{space_create, space_map, space_protect, space_read, space_unmap, space_write};
pub use thread::{
    thread_create, thread_exit, thread_info, thread_resume, thread_set_entry, thread_set_fs_base,
    thread_set_gs_base, thread_set_priority, thread_start, thread_suspend, thread_wait, ThreadInfo,
    ThreadStatus,
};

use core::time::Duration;

use bulkhead_abi::{Error, Syscall};

use crate::syscall;

/// Does nothing in the kernel; measures the entry and exit path.
pub fn null() -> Result<(), Error> {
    // SAFETY: takes no arguments and touches no memory.
    unsafe { syscall::syscall0(Syscall::Null) }.map(drop)
}

/// Gives up the rest of the time slice.
pub fn yield_now() -> Result<(), Error> {
    // SAFETY: takes no arguments and touches no memory.
    unsafe { syscall::syscall0(Syscall::Yield) }.map(drop)
}

/// Time since boot (monotonic, from the TSC).
pub fn clock() -> Result<Duration, Error> {
    // SAFETY: takes no arguments and touches no memory.
    let [nanos, _, _] = unsafe { syscall::syscall0(Syscall::ClockRead) }?;
    Ok(Duration::from_nanos(nanos))
}

/// Blocks for at least `duration` (saturating at `u64::MAX` nanoseconds).
pub fn sleep(duration: Duration) -> Result<(), Error> {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: the argument is a number, not a pointer.
    unsafe { syscall::syscall1(Syscall::Sleep, nanos) }.map(drop)
}
