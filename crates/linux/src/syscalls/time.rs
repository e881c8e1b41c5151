//! Clocks, sleeping and randomness: `clock_gettime`, `clock_getres`,
//! `gettimeofday`, `time`, `nanosleep`, `clock_nanosleep` and `getrandom`.
//!
//! The backend offers two clocks, monotonic (since boot) and real time
//! (since the epoch). Linux's clock ids map onto them: the REALTIME
//! family (REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI) reads real
//! time, the MONOTONIC family (MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE,
//! BOOTTIME, BOOTTIME_ALARM) reads monotonic time, and the CPU-time clocks
//! report the monotonic time since the process's first syscall (a process
//! is taken to be always running, which over-estimates on a busy system).
//! Sleeps are never interrupted, so the "remaining time" outputs are never
//! written.

use super::{Call, SysResult};
use crate::linux_structs::encode_timeval;
use crate::user_memory::{read_timespec_ns, write_timespec, write_u64, CHUNK};
use crate::Errno;

const TIMER_ABSTIME: u64 = 1;

/// Which backend clock a Linux clock id reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClockSource {
    Realtime,
    Monotonic,
    CpuTime,
}

/// Decodes a clock id; `coarse` tells `clock_getres` which resolution.
fn clock_source(clock: u64) -> Result<(ClockSource, bool), Errno> {
    match clock as u32 as i32 {
        0 | 8 | 11 => Ok((ClockSource::Realtime, false)),
        5 => Ok((ClockSource::Realtime, true)),
        1 | 4 | 7 | 9 => Ok((ClockSource::Monotonic, false)),
        6 => Ok((ClockSource::Monotonic, true)),
        2 | 3 => Ok((ClockSource::CpuTime, false)),
        _ => Err(Errno::EINVAL),
    }
}

fn read_clock(call: &mut Call, source: ClockSource) -> u64 {
    match source {
        ClockSource::Realtime => call.backend.realtime_ns(),
        ClockSource::Monotonic => call.backend.monotonic_ns(),
        ClockSource::CpuTime => {
            let now = call.backend.monotonic_ns();
            now.saturating_sub(call.process.start_ns.unwrap_or(now))
        }
    }
}

pub fn clock_gettime(call: &mut Call, clock: u64, tp: u64) -> SysResult {
    let (source, _) = clock_source(clock)?;
    let now = read_clock(call, source);
    write_timespec(call.backend, tp, now)?;
    Ok(0)
}

pub fn clock_getres(call: &mut Call, clock: u64, tp: u64) -> SysResult {
    let (_, coarse) = clock_source(clock)?;
    let resolution = if coarse { 4_000_000 } else { 1 };
    if tp != 0 {
        write_timespec(call.backend, tp, resolution)?;
    }
    Ok(0)
}

pub fn gettimeofday(call: &mut Call, tv: u64, tz: u64) -> SysResult {
    if tv != 0 {
        let now = call.backend.realtime_ns();
        call.backend.write_user(tv, &encode_timeval(now))?;
    }
    if tz != 0 {
        // struct timezone: minutes west of Greenwich and DST type, both 0.
        write_u64(call.backend, tz, 0)?;
    }
    Ok(0)
}

pub fn time(call: &mut Call, tloc: u64) -> SysResult {
    let seconds = call.backend.realtime_ns() / 1_000_000_000;
    if tloc != 0 {
        write_u64(call.backend, tloc, seconds)?;
    }
    Ok(seconds as i64)
}

pub fn nanosleep(call: &mut Call, request: u64, _remaining: u64) -> SysResult {
    let ns = read_timespec_ns(call.backend, request)?;
    call.backend.sleep_ns(ns);
    Ok(0)
}

pub fn clock_nanosleep(
    call: &mut Call,
    clock: u64,
    flags: u64,
    request: u64,
    _remaining: u64,
) -> SysResult {
    let (source, _) = clock_source(clock)?;
    if source == ClockSource::CpuTime {
        return Err(Errno::EINVAL);
    }
    let ns = read_timespec_ns(call.backend, request)?;
    let duration = if flags & TIMER_ABSTIME != 0 {
        ns.saturating_sub(read_clock(call, source))
    } else {
        ns
    };
    if duration > 0 {
        call.backend.sleep_ns(duration);
    }
    Ok(0)
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

/// `getrandom(buf, len, flags)`: fills in chunks; a fault after some bytes
/// returns the count filled so far.
pub fn getrandom(call: &mut Call, buf: u64, len: u64, flags: u64) -> SysResult {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(super::io::MAX_TRANSFER);
    let mut chunk = alloc::vec![0u8; len.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    while done < len {
        let piece_len = (len - done).min(chunk.len() as u64) as usize;
        let piece = chunk.get_mut(..piece_len).ok_or(Errno::EFAULT)?;
        call.backend.random(piece);
        let target = buf.checked_add(done).ok_or(Errno::EFAULT);
        if let Err(error) = target.and_then(|addr| call.backend.write_user(addr, piece)) {
            return if done > 0 {
                Ok(done as i64)
            } else {
                Err(error)
            };
        }
        done += piece_len as u64;
    }
    Ok(done as i64)
}
