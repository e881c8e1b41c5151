//! Who and where the process is: ids, `uname`, resource limits,
//! `arch_prctl`, `set_tid_address` and `sched_yield`.
//!
//! Every process of a container runs as root (uid and gid 0) and may only
//! "change" to the ids it already has. A process is its own only thread,
//! so its thread id is its pid, and it leads its own process group and
//! session. Resource limits are recorded per process; only
//! `RLIMIT_NOFILE` has an effect (it bounds the descriptor table).

use super::{Call, SysResult};
use crate::address_space::USER_END;
use crate::linux_structs::encode_utsname;
use crate::process::{ResourceLimit, RESOURCE_COUNT};
use crate::user_memory::{read_bytes, write_u32, write_u64};
use crate::Errno;

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

pub fn getpid(call: &mut Call) -> SysResult {
    Ok(i64::from(call.process.pid))
}

pub fn getppid(call: &mut Call) -> SysResult {
    Ok(i64::from(call.process.ppid))
}

/// `setuid`/`setgid` and friends: only the current id (0) is allowed.
pub fn set_id(id: u64) -> SysResult {
    if id as u32 == 0 || id as u32 == u32::MAX {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// `getresuid`/`getresgid`: three zero ids.
pub fn get_res_ids(call: &mut Call, real: u64, effective: u64, saved: u64) -> SysResult {
    for addr in [real, effective, saved] {
        write_u32(call.backend, addr, 0)?;
    }
    Ok(0)
}

pub fn uname(call: &mut Call, buf: u64) -> SysResult {
    let fields: [&[u8]; 6] = [
        b"Linux",
        call.container.name().as_bytes(),
        b"6.1.0-bulkhead",
        b"#1 SMP Bulkhead",
        b"x86_64",
        b"(none)",
    ];
    call.backend.write_user(buf, &encode_utsname(fields))?;
    Ok(0)
}

pub fn arch_prctl(call: &mut Call, code: u64, addr: u64) -> SysResult {
    match code {
        ARCH_SET_FS => {
            if addr >= USER_END {
                return Err(Errno::EPERM);
            }
            call.backend.set_fs_base(addr)?;
            call.process.fs_base = addr;
            Ok(0)
        }
        ARCH_GET_FS => {
            write_u64(call.backend, addr, call.process.fs_base)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn set_tid_address(call: &mut Call, addr: u64) -> SysResult {
    call.process.tid_address = addr;
    Ok(i64::from(call.process.pid))
}

/// Checks that a `pid` argument names the caller (0 meaning "self").
fn check_self(call: &Call, pid: u64) -> Result<(), Errno> {
    let pid = pid as u32 as i32;
    if pid == 0 || pid == call.process.pid {
        return Ok(());
    }
    if call.container.process_exists(pid) {
        Err(Errno::EPERM)
    } else {
        Err(Errno::ESRCH)
    }
}

/// `getpgid`/`getsid`: every process leads its own group and session.
pub fn group_of(call: &mut Call, pid: u64) -> SysResult {
    let target = pid as u32 as i32;
    if target == 0 || call.container.process_exists(target) {
        Ok(i64::from(if target == 0 {
            call.process.pid
        } else {
            target
        }))
    } else {
        Err(Errno::ESRCH)
    }
}

/// `prlimit64(pid, resource, new, old)`.
pub fn prlimit(call: &mut Call, pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
    check_self(call, pid)?;
    let index = usize::try_from(resource as u32).map_err(|_| Errno::EINVAL)?;
    if index >= RESOURCE_COUNT {
        return Err(Errno::EINVAL);
    }
    let replacement = if new != 0 {
        let bytes = read_bytes::<16>(call.backend, new)?;
        let (current, maximum) = split_pair(&bytes);
        Some(ResourceLimit { current, maximum })
    } else {
        None
    };
    if old != 0 {
        let limit = call.process.limits[index];
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&limit.current.to_le_bytes());
        bytes[8..].copy_from_slice(&limit.maximum.to_le_bytes());
        call.backend.write_user(old, &bytes)?;
    }
    if let Some(limit) = replacement {
        let existing = call.process.limits[index];
        if limit.current > limit.maximum {
            return Err(Errno::EINVAL);
        }
        if limit.maximum > existing.maximum {
            return Err(Errno::EPERM);
        }
        call.process.limits[index] = limit;
    }
    Ok(0)
}

fn split_pair(bytes: &[u8; 16]) -> (u64, u64) {
    let mut first = [0u8; 8];
    let mut second = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    second.copy_from_slice(&bytes[8..]);
    (u64::from_le_bytes(first), u64::from_le_bytes(second))
}

pub fn getrlimit(call: &mut Call, resource: u64, old: u64) -> SysResult {
    prlimit(call, 0, resource, 0, old)
}

pub fn setrlimit(call: &mut Call, resource: u64, new: u64) -> SysResult {
    prlimit(call, 0, resource, new, 0)
}
