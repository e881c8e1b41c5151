//! Signals: recorded, not delivered.
//!
//! This personality has no way to interrupt a running program and push a
//! signal frame, so it keeps the bookkeeping honest instead:
//! `rt_sigaction`, `rt_sigprocmask` and `sigaltstack` record and report
//! exactly what the program set, with Linux's argument checks. `kill`,
//! `tkill` and `tgkill` check that the target exists (signal 0 is the
//! classic "does this pid exist" probe). A real signal sent to the caller
//! itself applies the *default* action when no handler is installed:
//! ignored signals (SIGCHLD, SIGCONT, SIGURG, SIGWINCH) do nothing, all
//! others end the process with status `128 + signal`, as a shell reports
//! it. A blocked signal becomes pending and takes effect when
//! `rt_sigprocmask` unblocks it (musl's `abort` and `raise` rely on this).
//! A signal with a handler installed, or aimed at another process, cannot
//! be delivered and fails with `EPERM` rather than being silently dropped.

use super::{Call, SysResult};
use crate::process::SignalAction;
use crate::user_memory::{read_bytes, read_u64, write_u64};
use crate::{Errno, Outcome};

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
const SIG_IGN: u64 = 1;
const SIGNAL_COUNT: u64 = 64;
const SIGSET_SIZE: u64 = 8;

/// Signals whose default action is to do nothing: SIGCHLD, SIGCONT,
/// SIGURG, SIGWINCH, plus the stop signals (SIGSTOP, SIGTSTP, SIGTTIN,
/// SIGTTOU), since a process here cannot be stopped.
fn ignored_by_default(signal: u64) -> bool {
    matches!(signal, 17..=23 | 28)
}

/// Bits for SIGKILL and SIGSTOP, which can never be blocked.
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

fn action_index(signal: u64) -> Result<usize, Errno> {
    if (1..=SIGNAL_COUNT).contains(&signal) {
        Ok((signal - 1) as usize)
    } else {
        Err(Errno::EINVAL)
    }
}

fn encode_action(action: &SignalAction) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    let fields = [action.handler, action.flags, action.restorer, action.mask];
    for (chunk, value) in bytes.chunks_exact_mut(8).zip(fields) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn decode_action(bytes: &[u8; 32]) -> SignalAction {
    let mut fields = [0u64; 4];
    for (field, chunk) in fields.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *field = u64::from_le_bytes(word);
    }
    SignalAction {
        handler: fields[0],
        flags: fields[1],
        restorer: fields[2],
        mask: fields[3] & !UNBLOCKABLE,
    }
}

/// `rt_sigaction(signal, act, oldact, sigsetsize)`.
pub fn rt_sigaction(call: &mut Call, signal: u64, act: u64, old: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let index = action_index(signal)?;
    let new_action = if act != 0 {
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        Some(decode_action(&read_bytes::<32>(call.backend, act)?))
    } else {
        None
    };
    let current = call
        .process
        .signal_actions
        .get(index)
        .copied()
        .unwrap_or_default();
    if old != 0 {
        call.backend.write_user(old, &encode_action(&current))?;
    }
    if let (Some(action), Some(slot)) = (new_action, call.process.signal_actions.get_mut(index)) {
        *slot = action;
        if action.handler == SIG_IGN {
            call.process.pending_signals &= !(1 << index);
        }
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`; unblocking a pending
/// signal applies it.
pub fn rt_sigprocmask(
    call: &mut Call,
    how: u64,
    set: u64,
    old: u64,
    size: u64,
) -> Result<Outcome, Errno> {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let current = call.process.signal_mask;
    let new_mask = if set != 0 {
        let requested = read_u64(call.backend, set)?;
        let mask = match how {
            0 => current | requested,
            1 => current & !requested,
            2 => requested,
            _ => return Err(Errno::EINVAL),
        };
        Some(mask & !UNBLOCKABLE)
    } else {
        None
    };
    if old != 0 {
        write_u64(call.backend, old, current)?;
    }
    if let Some(mask) = new_mask {
        call.process.signal_mask = mask;
    }
    deliver_pending(call)
}

/// Applies pending signals that are no longer blocked.
fn deliver_pending(call: &mut Call) -> Result<Outcome, Errno> {
    let deliverable = call.process.pending_signals & !call.process.signal_mask;
    call.process.pending_signals &= !deliverable;
    for index in 0..SIGNAL_COUNT {
        if deliverable & (1 << index) != 0 {
            if let Outcome::Exit(status) = apply_signal(call, index + 1)? {
                return Ok(Outcome::Exit(status));
            }
        }
    }
    Ok(Outcome::Return(0))
}

/// `sigaltstack(ss, old_ss)`: records the 24-byte `stack_t`.
pub fn sigaltstack(call: &mut Call, new: u64, old: u64) -> SysResult {
    let replacement = if new != 0 {
        let bytes = read_bytes::<24>(call.backend, new)?;
        let mut fields = [0u64; 3];
        for (field, chunk) in fields.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *field = u64::from_le_bytes(word);
        }
        // ss_flags is an int at offset 8: only 0 and SS_DISABLE (2).
        let flags = fields[1] as u32;
        if flags != 0 && flags != 2 {
            return Err(Errno::EINVAL);
        }
        fields[1] = u64::from(flags);
        Some(fields)
    } else {
        None
    };
    if old != 0 {
        let mut bytes = [0u8; 24];
        for (chunk, value) in bytes.chunks_exact_mut(8).zip(call.process.alternate_stack) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        call.backend.write_user(old, &bytes)?;
    }
    if let Some(fields) = replacement {
        call.process.alternate_stack = fields;
    }
    Ok(0)
}

/// Sends `signal` to the caller itself (see the module docs).
fn signal_self(call: &mut Call, signal: u64) -> Result<Outcome, Errno> {
    if signal == 0 {
        return Ok(Outcome::Return(0));
    }
    let index = action_index(signal)?;
    if call.process.signal_mask & (1 << index) != 0 {
        call.process.pending_signals |= 1 << index;
        return Ok(Outcome::Return(0));
    }
    apply_signal(call, signal)
}

/// Takes the action for an unblocked `signal` sent to the caller.
fn apply_signal(call: &mut Call, signal: u64) -> Result<Outcome, Errno> {
    let index = action_index(signal)?;
    let handler = call
        .process
        .signal_actions
        .get(index)
        .map_or(0, |action| action.handler);
    if handler == SIG_IGN || (handler == 0 && ignored_by_default(signal)) {
        return Ok(Outcome::Return(0));
    }
    if handler != 0 {
        call.backend.log(format_args!(
            "{}: pid {} sent itself signal {}, which cannot be delivered",
            call.container.name(),
            call.process.pid,
            signal
        ));
        return Err(Errno::EPERM);
    }
    Ok(Outcome::Exit(128 + signal as i32))
}

/// Sends `signal` to another process of the container.
fn signal_other(call: &mut Call, pid: i32, signal: u64) -> Result<Outcome, Errno> {
    if !call.container.process_exists(pid) {
        return Err(Errno::ESRCH);
    }
    if signal == 0 {
        Ok(Outcome::Return(0))
    } else {
        Err(Errno::EPERM)
    }
}

/// `kill(pid, signal)`: pid 0 and `-own pid` mean the caller's group,
/// which is just the caller.
pub fn kill(call: &mut Call, pid: u64, signal: u64) -> Result<Outcome, Errno> {
    let signal = u64::from(signal as u32);
    if signal > SIGNAL_COUNT {
        return Err(Errno::EINVAL);
    }
    let pid = pid as u32 as i32;
    let own = call.process.pid;
    if pid == 0 || pid == own || pid == own.wrapping_neg() {
        return signal_self(call, signal);
    }
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    signal_other(call, pid, signal)
}

/// `tkill(tid, signal)`: thread ids are process ids here.
pub fn tkill(call: &mut Call, tid: u64, signal: u64) -> Result<Outcome, Errno> {
    let tid = tid as u32 as i32;
    if tid <= 0 || signal as u32 as u64 > SIGNAL_COUNT {
        return Err(Errno::EINVAL);
    }
    if tid == call.process.pid {
        return signal_self(call, u64::from(signal as u32));
    }
    signal_other(call, tid, u64::from(signal as u32))
}

/// `tgkill(tgid, tid, signal)`: the thread group must match the thread.
pub fn tgkill(call: &mut Call, tgid: u64, tid: u64, signal: u64) -> Result<Outcome, Errno> {
    let group = tgid as u32 as i32;
    if group <= 0 {
        return Err(Errno::EINVAL);
    }
    if group != tid as u32 as i32 {
        return Err(Errno::ESRCH);
    }
    tkill(call, tid, signal)
}
