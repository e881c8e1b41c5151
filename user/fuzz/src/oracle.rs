//! What the ABI allows a call to return, from `docs/syscalls.md`.
//!
//! [`judge`] and [`judge_ipc`] look at one call's status and results and
//! name what is impossible, if anything:
//!
//! - a status that is no error code at all, or `Busy` (no call returns it);
//! - `NoSuchCall` for a number the ABI assigns, or anything else for one
//!   it does not;
//! - an error the call's documentation does not list;
//! - an error that changed a register other than `rax` (the ABI keeps
//!   them: results on error are the arguments, unchanged);
//! - results the call cannot produce: an unused result register that is
//!   not 0, an object type or thread state that does not exist, a copy that
//!   reports a length other than the one asked for, more pages used than a
//!   quota holds, a delivered message-info word with bits the kernel clears;
//! - a kernel self-check (`KernelCheck`) that found a broken invariant.
//!
//! Every one of these is a finding; the run then exits with 1.

use bulkhead_rt::abi::ipc::{MessageInfo, MAX_WORDS};
use bulkhead_rt::abi::{Error, Syscall};

use crate::raw::{IpcRaw, Raw};

/// Error codes the ABI knows (1..=21).
pub const CODES: usize = 21;

const fn bit(e: Error) -> u32 {
    1 << (e as u32)
}

/// The capability lookup: `InvalidCap`, `StaleCap`, `WrongType`, `NoRights`.
const LOOKUP: u32 =
    bit(Error::InvalidCap) | bit(Error::StaleCap) | bit(Error::WrongType) | bit(Error::NoRights);
/// A lookup that checks neither type nor rights.
const HANDLE: u32 = bit(Error::InvalidCap) | bit(Error::StaleCap);
/// What creating an object can add.
const CREATE: u32 =
    LOOKUP | bit(Error::QuotaExhausted) | bit(Error::OutOfMemory) | bit(Error::TableFull);
const ARG: u32 = bit(Error::InvalidArgument);
const ADDR: u32 = bit(Error::BadAddress);
const STATE: u32 = bit(Error::BadState);
const WAIT_ENDS: u32 = bit(Error::TimedOut) | bit(Error::Cancelled) | bit(Error::PartnerGone);

/// Each call's documented errors and how many result registers it uses
/// on success (`None`: the documentation promises nothing about them).
/// A call missing here (one added to the ABI after the fuzzer) may return
/// any known error.
const CONTRACTS: &[(Syscall, u32, Option<u8>)] = {
    use Syscall::*;
    &[
        (Null, 0, Some(0)),
        (Yield, 0, Some(0)),
        (Sleep, 0, Some(0)),
        (KernelCounters, 0, Some(3)),
        (KernelCheck, 0, Some(3)),
        (KernelMemory, 0, Some(3)),
        (ThreadExit, 0, None),
        (CapInfo, HANDLE, Some(3)),
        (CapDelete, HANDLE, Some(0)),
        (CapRevoke, HANDLE, Some(1)),
        (CapCopy, COPY, Some(1)),
        (CapMint, COPY | bit(Error::AlreadyBadged), Some(1)),
        (MemorySplit, CREATE | ARG, Some(1)),
        (FramesAlloc, CREATE | ARG, Some(1)),
        (TableCreate, CREATE | ARG, Some(1)),
        (MemoryInfo, LOOKUP, Some(2)),
        (ThreadInfo, LOOKUP, Some(3)),
        (IpcCancel, LOOKUP, Some(1)),
        (Signal, LOOKUP, Some(0)),
        (SpaceCreate, CREATE, Some(1)),
        (EndpointCreate, CREATE, Some(1)),
        (NotificationCreate, CREATE, Some(1)),
        (ThreadCreate, CREATE | ARG, Some(1)),
        (SpaceMap, MAP, Some(0)),
        (SpaceUnmap, LOOKUP | ARG | bit(Error::NotMapped), Some(0)),
        (SpaceProtect, PROTECT, Some(0)),
        (
            SpaceRead,
            LOOKUP | ARG | ADDR | bit(Error::NotMapped),
            Some(1),
        ),
        (
            SpaceWrite,
            LOOKUP | ARG | ADDR | bit(Error::NotMapped),
            Some(1),
        ),
        (ThreadSetEntry, LOOKUP | ARG | STATE, Some(0)),
        (ThreadStart, LOOKUP | STATE, Some(0)),
        (ThreadSuspend, LOOKUP | STATE, Some(0)),
        (ThreadResume, LOOKUP | STATE, Some(0)),
        (ThreadWait, LOOKUP | STATE, Some(3)),
        (ThreadSetFaultHandler, LOOKUP | STATE, Some(0)),
        (ThreadSetPriority, LOOKUP | ARG, Some(0)),
        (ThreadSetFsBase, LOOKUP | ARG, Some(0)),
        (ThreadSetGsBase, LOOKUP | ARG, Some(0)),
        (ConsoleWrite, LOOKUP | ARG | ADDR, Some(1)),
        (ConsoleRead, LOOKUP | ARG | ADDR, Some(1)),
        (ThreadSetIpcBuffer, LOOKUP | ARG | ADDR, Some(0)),
        (PortRead, LOOKUP | ARG | bit(Error::PortOutOfRange), Some(1)),
        (
            PortWrite,
            LOOKUP | ARG | bit(Error::PortOutOfRange),
            Some(0),
        ),
        (Send, LOOKUP | ARG | WAIT_ENDS, None),
        (Call, LOOKUP | ARG | WAIT_ENDS, None),
        (ReplyRecv, LOOKUP | ARG | WAIT_ENDS, None),
        (Recv, LOOKUP | WAIT_ENDS, None),
        (SendNonBlocking, LOOKUP | ARG | bit(Error::WouldBlock), None),
        (RecvNonBlocking, LOOKUP | bit(Error::WouldBlock), None),
        (Reply, ARG, None),
        (Wait, LOOKUP | ARG | WAIT_ENDS, None),
        (Poll, LOOKUP | ARG, Some(1)),
    ]
};

/// `CapCopy`: the destination's lookup, the mask, the source, the slot.
const COPY: u32 = LOOKUP | ARG | bit(Error::TableFull) | bit(Error::OutOfMemory);
/// `SpaceMap`.
const MAP: u32 = LOOKUP
    | ARG
    | ADDR
    | bit(Error::WriteAndExecute)
    | bit(Error::OutOfMemory)
    | bit(Error::AlreadyMapped)
    | bit(Error::QuotaExhausted);
/// `SpaceProtect`.
const PROTECT: u32 = LOOKUP | ARG | bit(Error::WriteAndExecute) | bit(Error::NotMapped);

fn contract(call: Syscall) -> Option<(u32, Option<u8>)> {
    CONTRACTS
        .iter()
        .find(|(c, _, _)| *c == call)
        .map(|(_, errors, used)| (*errors, *used))
}

/// The errors `call` may return (all of them for a call the fuzzer does
/// not know).
pub fn allowed(call: Syscall) -> u32 {
    contract(call).map_or(u32::MAX, |(errors, _)| errors)
}

/// How many result registers a successful call uses (the rest must be 0).
fn used_results(call: Syscall) -> Option<usize> {
    contract(call).and_then(|(_, used)| used).map(usize::from)
}

/// Problems with the status alone.
fn judge_status(call: Option<Syscall>, status: u64) -> Option<&'static str> {
    if status > CODES as u64 {
        return Some("status is not an error code the ABI knows");
    }
    let Some(call) = call else {
        return (status != Error::NoSuchCall as u64)
            .then_some("an unassigned call number was not refused with NoSuchCall");
    };
    if status == Error::NoSuchCall as u64 {
        return Some("NoSuchCall for an assigned call number");
    }
    if status == Error::Busy as u64 {
        return Some("Busy, which no call returns");
    }
    (status != 0 && allowed(call) & (1 << status) == 0)
        .then_some("an error the call's documentation does not list")
}

/// What is impossible about a plain (non-IPC) call's outcome, if anything.
pub fn judge(call: Option<Syscall>, args: &[u64; 6], raw: &Raw) -> Option<&'static str> {
    if let Some(problem) = judge_status(call, raw.status) {
        return Some(problem);
    }
    let call = call?;
    if raw.status != 0 {
        // "On error: unchanged" (a blocking call's registers are written by
        // whoever ends its wait, so those two are left out).
        let unchanged = raw.results == [args[0], args[1], args[2]];
        let blocking = matches!(call, Syscall::Wait | Syscall::ThreadWait);
        return (!unchanged && !blocking).then_some("an error changed a result register");
    }
    let [r0, r1, r2] = raw.results;
    if let Some(used) = used_results(call) {
        if raw.results[used..].iter().any(|r| *r != 0) {
            return Some("an unused result register is not 0");
        }
    }
    use Syscall::*;
    let bad = match call {
        CapInfo => !(1..=9).contains(&r0) || r1 & !0x1f != 0,
        ThreadInfo => r0 > 5 || (r0 < 4 && (r1 != 0 || r2 != 0)) || (r0 == 4 && r2 != 0),
        ThreadWait => r0 != 4 && r0 != 5,
        MemoryInfo => r1 > r0,
        ConsoleWrite => r0 != args[2],
        ConsoleRead => r0 > args[2].min(256),
        SpaceRead | SpaceWrite => r0 != args[3],
        PortRead => args[2] < 8 && r0 >> (8 * args[2]) != 0,
        IpcCancel => r0 > 1,
        KernelCounters => r1 > r0,
        KernelCheck => r0 != 0,
        // The caller's page tables and the kernel's are always there.
        KernelMemory => r0 == 0 || r2 == 0,
        _ => false,
    };
    bad.then_some(match call {
        KernelCheck => "the kernel's self-check found broken invariants",
        _ => "results the call cannot produce",
    })
}

/// True if a delivered message-info word is well formed: at most 8 words,
/// and the bits the kernel clears for the receiver (FORCE_SLOW, 6-7,
/// 24-63) are clear.
pub fn delivered_info_ok(info: u64) -> bool {
    let words = MessageInfo(info).words();
    let cleared = MessageInfo::FORCE_SLOW | (0b11 << 6) | (u64::MAX << 24);
    words <= MAX_WORDS as u64 && info & cleared == 0
}

/// What is impossible about an IPC call's outcome, if anything.
pub fn judge_ipc(call: Syscall, sent: &IpcRaw, raw: &IpcRaw) -> Option<&'static str> {
    if let Some(problem) = judge_status(Some(call), raw.status) {
        return Some(problem);
    }
    if raw.status != 0 {
        // "On error only rax changes."
        let unchanged = raw.badge == sent.badge && raw.info == sent.info && raw.mrs == sent.mrs;
        return (!unchanged).then_some("an error changed a register other than rax");
    }
    use Syscall::*;
    match call {
        Recv | RecvNonBlocking | ReplyRecv | Call if !delivered_info_ok(raw.info) => {
            Some("a delivered message-info word has bits the kernel must clear")
        }
        Call if raw.badge != 0 => Some("a reply carried a badge"),
        Send | SendNonBlocking | Reply if raw.badge != 0 || raw.info != 0 => {
            Some("a send delivered something to its caller")
        }
        _ => None,
    }
}
