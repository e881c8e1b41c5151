//! Console and I/O-port calls. Console writes may be partial: the kernel
//! reports how many bytes it took. Port accesses name their width.

use bulkhead_abi::{CapRef, Error, Syscall};

use crate::syscall;

/// Width of an I/O-port access.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortWidth {
    Byte = 1,
    Word = 2,
    Dword = 4,
}

/// Writes `bytes` to the console; returns how many were written.
pub fn console_write(console: CapRef, bytes: &[u8]) -> Result<usize, Error> {
    let (ptr, len) = (bytes.as_ptr() as u64, bytes.len() as u64);
    // SAFETY: the kernel only reads `len` bytes of our slice.
    let [written, _, _] = unsafe { syscall::syscall3(Syscall::ConsoleWrite, console.0, ptr, len) }?;
    Ok(written as usize)
}

/// Reads waiting console input into `buffer`; returns how many bytes (0 if
/// none was waiting).
pub fn console_read(console: CapRef, buffer: &mut [u8]) -> Result<usize, Error> {
    let (ptr, len) = (buffer.as_mut_ptr() as u64, buffer.len() as u64);
    // SAFETY: the kernel writes at most `len` bytes into our mutable slice.
    let [read, _, _] = unsafe { syscall::syscall3(Syscall::ConsoleRead, console.0, ptr, len) }?;
    Ok((read as usize).min(buffer.len()))
}

/// Reads I/O `port` through the port capability `ports`.
pub fn port_read(ports: CapRef, port: u16, width: PortWidth) -> Result<u32, Error> {
    let args = (ports.0, u64::from(port), width as u64);
    // SAFETY: no pointer arguments.
    let [value, _, _] = unsafe { syscall::syscall3(Syscall::PortRead, args.0, args.1, args.2) }?;
    Ok(value as u32)
}

/// Writes `value` to I/O `port` through the port capability `ports`.
pub fn port_write(ports: CapRef, port: u16, width: PortWidth, value: u32) -> Result<(), Error> {
    let args = (ports.0, u64::from(port), width as u64, u64::from(value));
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall4(Syscall::PortWrite, args.0, args.1, args.2, args.3) }.map(drop)
}
