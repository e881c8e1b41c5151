//! `poll`: readiness without blocking.
//!
//! Nothing here ever blocks a read or write: files, `/dev/*` and the
//! console (whose reads report end of file when no input is waiting) are
//! always ready for what is asked. So `poll` marks every valid descriptor
//! ready for the requested `POLLIN`/`POLLOUT` events, flags bad ones with
//! `POLLNVAL`, and only sleeps (for the timeout, in milliseconds) when no
//! descriptor is ready at all, which happens only for an all-invalid or
//! all-negative set.

use alloc::vec;

use super::{Call, SysResult};
use crate::Errno;

const POLLIN: u16 = 0x001;
const POLLPRI: u16 = 0x002;
const POLLOUT: u16 = 0x004;
const POLLNVAL: u16 = 0x020;
const POLLRDNORM: u16 = 0x040;
const POLLWRNORM: u16 = 0x100;

/// Events a descriptor can report as ready.
const READY_EVENTS: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

pub fn poll(call: &mut Call, fds: u64, count: u64, timeout_ms: u64) -> SysResult {
    if count > crate::fd_table::FD_LIMIT as u64 {
        return Err(Errno::EINVAL);
    }
    let mut entries = vec![0u8; count as usize * 8];
    call.backend.read_user(fds, &mut entries)?;
    let mut ready: i64 = 0;
    for entry in entries.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let events = u16::from_le_bytes([entry[4], entry[5]]);
        let revents = if fd < 0 {
            0
        } else if call.process.files.get(fd).is_err() {
            POLLNVAL
        } else {
            events & READY_EVENTS & !POLLPRI
        };
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
        if revents != 0 {
            ready += 1;
        }
    }
    call.backend.write_user(fds, &entries)?;
    let timeout = timeout_ms as u32 as i32;
    if ready == 0 && timeout > 0 {
        call.backend
            .sleep_ns(u64::from(timeout.unsigned_abs()) * 1_000_000);
    }
    Ok(ready)
}
