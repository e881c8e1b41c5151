//! The console and I/O ports.
//!
//! Console output is copied from user memory in small chunks and written
//! to the serial console; input is read without blocking. An I/O-port
//! capability covers a range of ports; accesses outside it fail, so a test
//! runner can end a QEMU run through `isa-debug-exit` with a capability
//! instead of a kernel special case.

use super::{locked, lookup, Caller, Results};
use crate::object::Object;
use crate::usercopy::{copy_from_user, copy_to_user, USlice};
use bulkhead_abi::{Error, ObjectType, Rights};
use x86_64::instructions::port::Port;

const CHUNK: usize = 256;

/// `ConsoleWrite(console, buffer, length)` → bytes written.
pub fn console_write(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        lookup(
            k,
            caller,
            caller.cap_arg(0),
            ObjectType::Console,
            Rights::WRITE,
        )
    })?;
    let (addr, len) = (caller.arg(1), caller.arg(2));
    USlice::<u8>::new(addr, len)?;
    let mut buf = [0u8; CHUNK];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK as u64);
        let part = USlice::<u8>::new(addr + done, n)?;
        copy_from_user(&mut buf[..n as usize], part)?;
        crate::serial::write_bytes(&buf[..n as usize]);
        done += n;
    }
    Ok([len, 0, 0])
}

/// `ConsoleRead(console, buffer, length)` → bytes read (0 if none waiting).
pub fn console_read(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        lookup(
            k,
            caller,
            caller.cap_arg(0),
            ObjectType::Console,
            Rights::READ,
        )
    })?;
    let dst = USlice::<u8>::new(caller.arg(1), caller.arg(2).min(CHUNK as u64))?;
    let mut buf = [0u8; CHUNK];
    let mut n = 0;
    while (n as u64) < dst.len() {
        match crate::serial::try_read() {
            Some(b) => {
                buf[n] = b;
                n += 1;
            }
            None => break,
        }
    }
    copy_to_user(dst, &buf[..n])?;
    Ok([n as u64, 0, 0])
}

/// Checks the port capability covers `port..port + width`.
fn port_access(caller: &Caller, rights: Rights) -> Result<(u16, u64), Error> {
    let (port, width) = (caller.arg(1), caller.arg(2));
    if !matches!(width, 1 | 2 | 4) {
        return Err(Error::InvalidArgument);
    }
    locked(|k| {
        let (r, _, _) = lookup(k, caller, caller.cap_arg(0), ObjectType::IoPort, rights)?;
        let Some(Object::IoPort { first, count }) = k.get(r) else {
            return Err(Error::WrongType);
        };
        let end = u64::from(*first) + u64::from(*count);
        let last = port.checked_add(width).ok_or(Error::PortOutOfRange)?;
        if port < u64::from(*first) || last > end {
            return Err(Error::PortOutOfRange);
        }
        Ok((port as u16, width))
    })
}

/// `PortRead(port cap, port, width)` → value.
pub fn port_read(caller: &mut Caller) -> Result<Results, Error> {
    let (port, width) = port_access(caller, Rights::READ)?;
    // SAFETY: the capability grants this port range; port reads do not
    // touch kernel memory.
    let value = unsafe {
        match width {
            1 => u64::from(Port::<u8>::new(port).read()),
            2 => u64::from(Port::<u16>::new(port).read()),
            _ => u64::from(Port::<u32>::new(port).read()),
        }
    };
    Ok([value, 0, 0])
}

/// `PortWrite(port cap, port, width, value)`.
pub fn port_write(caller: &mut Caller) -> Result<Results, Error> {
    let (port, width) = port_access(caller, Rights::WRITE)?;
    let value = caller.arg(3);
    if port == crate::exit::QEMU_EXIT_PORT {
        crate::serial::drain();
    }
    // SAFETY: as for `port_read`; the value is truncated to the width.
    unsafe {
        match width {
            1 => Port::<u8>::new(port).write(value as u8),
            2 => Port::<u16>::new(port).write(value as u16),
            _ => Port::<u32>::new(port).write(value as u32),
        }
    }
    Ok([0; 3])
}
