//! Container calls: make a container, add member threads (whose Linux
//! syscalls are then forwarded to the container's syscall endpoint, see
//! [`bulkhead_abi::container`]), stop every member, and read its counts.

use bulkhead_abi::container::Mode;
use bulkhead_abi::{CapRef, Error, Syscall};

use crate::syscall;

/// A new container of `mode` whose members' calls go to `endpoint`.
pub fn container_create(memory: CapRef, endpoint: CapRef, mode: Mode) -> Result<CapRef, Error> {
    // SAFETY: no pointer arguments.
    let [c, _, _] =
        unsafe { syscall::syscall3(Syscall::ContainerCreate, memory.0, endpoint.0, mode as u64) }?;
    Ok(CapRef(c))
}

/// Makes `thread` a member of `container`; the server sees `badge` on its
/// calls.
pub fn container_add_thread(container: CapRef, thread: CapRef, badge: u64) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall3(Syscall::ContainerAddThread, container.0, thread.0, badge) }
        .map(drop)
}

/// Stops every member thread for good; returns how many were stopped.
pub fn container_stop(container: CapRef) -> Result<u64, Error> {
    // SAFETY: no pointer arguments.
    let [n, _, _] = unsafe { syscall::syscall1(Syscall::ContainerStop, container.0) }?;
    Ok(n)
}

/// What `ContainerInfo` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    pub mode: Option<Mode>,
    /// Member threads still alive.
    pub members: u64,
    /// Syscalls they forwarded so far.
    pub syscalls: u64,
}

/// A container's mode and counts.
pub fn container_info(container: CapRef) -> Result<ContainerInfo, Error> {
    // SAFETY: no pointer arguments.
    let [mode, members, syscalls] =
        unsafe { syscall::syscall1(Syscall::ContainerInfo, container.0) }?;
    Ok(ContainerInfo {
        mode: Mode::from_u64(mode),
        members,
        syscalls,
    })
}
