//! Container calls: make a container, add member threads (whose Linux
//! syscalls are then forwarded to the container's syscall endpoint, see
//! [`bulkhead_abi::container`]), stop every member, and read its counts.

use bulkhead_abi::container::{KernelSetup, Mode, ProcessImage, MAX_NAME};
use bulkhead_abi::{CapRef, Error, Syscall};

use crate::syscall;

/// A new `ipc` container whose members' calls go to `endpoint` (or a
/// container of another mode, which the kernel refuses without a setup).
pub fn container_create(memory: CapRef, endpoint: CapRef, mode: Mode) -> Result<CapRef, Error> {
    create(memory, endpoint, mode, core::ptr::null())
}

fn create(
    memory: CapRef,
    endpoint: CapRef,
    mode: Mode,
    setup: *const KernelSetup,
) -> Result<CapRef, Error> {
    // SAFETY: `setup` is null or points at a live `KernelSetup`, which the
    // kernel only reads.
    let [c, _, _] = unsafe {
        syscall::syscall4(
            Syscall::ContainerCreate,
            memory.0,
            endpoint.0,
            mode as u64,
            setup as u64,
        )
    }?;
    Ok(CapRef(c))
}

/// The setup of an in-kernel container named `name` (cut to
/// [`MAX_NAME`] bytes) whose files come from the first `len` bytes of
/// `archive` (Frames, READ; null for none).
pub fn kernel_setup(name: &str, archive: CapRef, len: u64) -> KernelSetup {
    let mut setup = KernelSetup {
        archive,
        archive_len: len,
        name_len: 0,
        name: [0; MAX_NAME],
    };
    let n = name.len().min(MAX_NAME);
    setup.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    setup.name_len = n as u64;
    setup
}

/// A new in-kernel container (`direct`, `sci` or `sci-sticky`) whose
/// process ends go to `endpoint`; its kernel data is charged to `memory`.
pub fn container_create_in_kernel(
    memory: CapRef,
    endpoint: CapRef,
    mode: Mode,
    setup: &KernelSetup,
) -> Result<CapRef, Error> {
    create(memory, endpoint, mode, setup)
}

/// Makes `thread`, whose address space holds the program `image`
/// describes, a member of the in-kernel `container`; the launcher sees
/// `badge` on its exit event.
pub fn container_add_process(
    container: CapRef,
    thread: CapRef,
    badge: u64,
    image: &ProcessImage,
) -> Result<(), Error> {
    let image: *const ProcessImage = image;
    // SAFETY: the kernel reads one `ProcessImage` from a live reference.
    unsafe {
        syscall::syscall4(
            Syscall::ContainerAddThread,
            container.0,
            thread.0,
            badge,
            image as u64,
        )
    }
    .map(drop)
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
    /// Linux syscalls its members made so far, ended members included
    /// (forwarded in `ipc`, served by the kernel in the other modes).
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
