//! Deliberately malformed calls for testing the kernel's argument checks.
//!
//! Each function passes raw addresses and lengths the kernel must refuse,
//! but only in calls where the kernel would *read* the caller's memory, so
//! even a kernel that wrongly accepted them could not corrupt this program:
//! these stay safe functions. Use them only to assert errors.

use bulkhead_abi::{CapRef, Error, Syscall};

use crate::syscall;

/// A syscall number the ABI promises never to assign.
pub const UNASSIGNED_CALL_NUMBER: u64 = u64::MAX;

/// `ConsoleWrite` from an arbitrary address and length.
pub fn console_write_raw(console: CapRef, address: u64, len: u64) -> Result<u64, Error> {
    // SAFETY: the kernel only reads user memory in this call.
    let [written, _, _] =
        unsafe { syscall::syscall3(Syscall::ConsoleWrite, console.0, address, len) }?;
    Ok(written)
}

/// `ContainerAddThread` with a process image at an arbitrary address.
pub fn container_add_process_raw(
    container: CapRef,
    thread: CapRef,
    badge: u64,
    image: u64,
) -> Result<(), Error> {
    // SAFETY: the kernel only reads user memory in this call.
    unsafe {
        syscall::syscall4(
            Syscall::ContainerAddThread,
            container.0,
            thread.0,
            badge,
            image,
        )
    }
    .map(drop)
}

/// `SpaceWrite` into `space` at `target` from an arbitrary source address.
pub fn space_write_raw(space: CapRef, target: u64, source: u64, len: u64) -> Result<(), Error> {
    // SAFETY: the kernel only reads our memory at `source`; `space` must not
    // be the caller's own space (callers use scratch spaces).
    unsafe { syscall::syscall4(Syscall::SpaceWrite, space.0, target, source, len) }.map(drop)
}

/// `PortWrite` with an arbitrary width code.
pub fn port_write_raw(ports: CapRef, port: u64, width: u64, value: u64) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall4(Syscall::PortWrite, ports.0, port, width, value) }.map(drop)
}

/// A call with a number no syscall has; must fail with `NoSuchCall`.
pub fn unassigned_call() -> Result<(), Error> {
    let status: u64;
    // SAFETY: an unassigned number is rejected before any argument is
    // looked at; the register contract is that of `syscall::syscall6`.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") UNASSIGNED_CALL_NUMBER => status,
            lateout("rdi") _, lateout("rsi") _, lateout("rdx") _,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    syscall::decode_status(status, [0; 3]).map(drop)
}
