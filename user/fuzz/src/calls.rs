//! One fuzzing step: pick a call, build its arguments, make it, judge the
//! outcome, count it, and learn from it (new handles, deleted ones).
//!
//! Calls are picked by weight from [`WEIGHTS`]; numbers the ABI does not
//! assign are picked too. A call the ABI has but this table lacks (one
//! added after the fuzzer was written) is never made, because the fuzzer
//! cannot know whether it writes through a pointer: `main` lists them.
//! `ThreadExit` is never made by the fuzzer itself (the sandbox stubs
//! make it).
//!
//! Nothing here can block for long: `Sleep` gets at most 10 ms, blocking
//! IPC calls and `Wait` always carry a 1-2 ms timeout, and `ThreadWait` is
//! made only on a thread `ThreadInfo` showed has ended (or on the fuzzer's
//! own thread, which fails at once).

use alloc::boxed::Box;

use bulkhead_rt::abi::ipc::MessageInfo;
use bulkhead_rt::abi::{CapRef, ObjectType, Syscall, USER_END};
use bulkhead_rt::println;

use crate::arena::{self, Arena, Use, CODE_ADDR, DATA_ADDR};
use crate::gen::{self, Gen};
use crate::oracle;
use crate::raw::{self, IpcRaw, Raw};
use crate::stats::{self, Stats};

/// The calls fuzzed and their relative weights.
pub const WEIGHTS: &[(Syscall, u64)] = {
    use Syscall::*;
    &[
        (Null, 1),
        (Yield, 1),
        (Sleep, 1),
        (KernelCounters, 1),
        (KernelCheck, 1),
        (KernelMemory, 1),
        (CapInfo, 3),
        (CapCopy, 4),
        (CapMint, 3),
        (CapDelete, 6),
        (CapRevoke, 3),
        (MemorySplit, 3),
        (MemoryInfo, 2),
        (FramesAlloc, 3),
        (SpaceCreate, 2),
        (SpaceMap, 6),
        (SpaceUnmap, 4),
        (SpaceProtect, 4),
        (SpaceRead, 4),
        (SpaceWrite, 4),
        (TableCreate, 2),
        (ThreadCreate, 3),
        (ThreadSetEntry, 3),
        (ThreadStart, 3),
        (ThreadSuspend, 2),
        (ThreadResume, 2),
        (ThreadWait, 2),
        (ThreadSetPriority, 2),
        (ThreadInfo, 2),
        (ThreadSetFsBase, 1),
        (ThreadSetGsBase, 1),
        (ConsoleWrite, 2),
        (ConsoleRead, 2),
        (PortRead, 2),
        (PortWrite, 2),
        (ThreadSetIpcBuffer, 2),
        (IpcCancel, 2),
        (ThreadSetFaultHandler, 2),
        (EndpointCreate, 2),
        (NotificationCreate, 2),
        (Send, 1),
        (Recv, 1),
        (Call, 2),
        (Reply, 2),
        (ReplyRecv, 1),
        (SendNonBlocking, 3),
        (RecvNonBlocking, 3),
        (Signal, 3),
        (Wait, 1),
        (Poll, 3),
    ]
};

/// Weight of a call with a number the ABI does not assign.
const UNASSIGNED_WEIGHT: u64 = 3;

/// Findings printed in full (the rest are only counted).
const PRINTED_FINDINGS: u64 = 50;

/// The fuzzer's capabilities that calls may name on purpose.
#[derive(Clone, Copy, Debug)]
pub struct Own {
    pub thread: u64,
    pub console: u64,
    pub exit_ports: u64,
    /// The partner's endpoint (NULL without a partner).
    pub served: u64,
    /// The partner thread (NULL without a partner).
    pub partner: u64,
}

/// The fuzzer's state.
pub struct Fuzzer {
    pub gen: Gen,
    pub arena: Box<Arena>,
    pub stats: Box<Stats>,
    pub own: Own,
    pub seed: u64,
    /// System calls made so far (every one is counted in `stats`).
    pub calls: u64,
    /// Print every call from this call number on.
    pub trace_from: u64,
    /// Impossible outcomes seen.
    pub findings: u64,
    /// `ThreadWait`s not made because the thread was still alive.
    pub waits_skipped: u64,
    /// Follow-up checks of new capabilities made.
    pub checks: u64,
}

/// A call's name for the transcript (`unassigned` for a number the ABI
/// does not assign).
struct Name(Option<Syscall>);

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(call) => write!(f, "{call:?}"),
            None => f.write_str("unassigned"),
        }
    }
}

/// What a step will do.
enum Plan {
    /// A plain call: number and six arguments.
    Plain(Option<Syscall>, u64, [u64; 6]),
    /// A message call: endpoint, info, message registers.
    Ipc(Syscall, u64, u64, [u64; 8]),
}

impl Fuzzer {
    /// Makes one fuzzing step (one or two system calls).
    pub fn step(&mut self) {
        let call = self.pick();
        if call == Some(Syscall::ThreadWait) {
            self.thread_wait();
            return;
        }
        match self.plan(call) {
            Plan::Plain(call, number, args) => {
                if call == Some(Syscall::CapDelete) && self.holds_others(args[0]) {
                    // Deleting the root of copies that live in other
                    // tables would orphan them, and a table holding a
                    // capability to itself (or to a thread using it) is a
                    // cycle no one can break: revoke the copies first.
                    let revoke = [args[0], 0, 0, 0, 0, 0];
                    self.plain(Some(Syscall::CapRevoke), Syscall::CapRevoke as u64, revoke);
                }
                let raw = self.plain(call, number, args);
                self.learn(call, &args, &raw);
            }
            Plan::Ipc(call, cap, info, mrs) => {
                let got = self.ipc(call, cap, info, mrs);
                let delivers = matches!(
                    call,
                    Syscall::Call | Syscall::Recv | Syscall::ReplyRecv | Syscall::RecvNonBlocking
                );
                if got.status == 0 && delivers && got.info & MessageInfo::CAP != 0 {
                    self.arena.learn(got.mrs[7], 0);
                }
            }
        }
    }

    /// A weighted pick; `None` is an unassigned number.
    fn pick(&mut self) -> Option<Syscall> {
        let total: u64 = WEIGHTS.iter().map(|(_, w)| w).sum::<u64>() + UNASSIGNED_WEIGHT;
        let mut at = self.gen.rng.below(total);
        for (call, weight) in WEIGHTS {
            if at < *weight {
                return Some(*call);
            }
            at -= weight;
        }
        None
    }

    fn handle(&mut self, want: Option<ObjectType>, use_: Use) -> u64 {
        self.gen.handle(&self.arena, want, use_)
    }

    fn plan(&mut self, call: Option<Syscall>) -> Plan {
        use ObjectType as T;
        use Syscall::*;
        let Some(call) = call else {
            return Plan::Plain(None, self.unassigned_number(), [CapRef::NULL.0; 6]);
        };
        let g = |f: &mut Self| f.gen.number();
        let mut a = [0u64; 6];
        for arg in &mut a {
            *arg = g(self);
        }
        match call {
            Sleep => a[0] = self.gen.rng.pick(&[0, 1, 1000, 1_000_000, 9_999_999]),
            CapInfo => a[0] = self.handle(None, Use::Observe),
            CapCopy | CapMint => {
                a[0] = self.handle(None, Use::CopySource);
                a[1] = if self.gen.rng.chance(40) {
                    CapRef::NULL.0
                } else {
                    self.handle(Some(T::CapTable), Use::Other)
                };
                a[2] = self.gen.rights();
                a[3] = self.gen.rng.pick(&[0, 1, 7, 0xdead_beef, u64::MAX]);
            }
            CapDelete => a[0] = self.handle(None, Use::Other),
            CapRevoke => a[0] = self.handle(None, Use::Revoke),
            MemorySplit | FramesAlloc | TableCreate => {
                a[0] = self.handle(Some(T::Memory), Use::Other);
                a[1] = if self.gen.rng.chance(60) {
                    self.gen.rng.below(17)
                } else {
                    self.gen.count()
                };
            }
            MemoryInfo => a[0] = self.handle(Some(T::Memory), Use::Observe),
            SpaceCreate | EndpointCreate | NotificationCreate => {
                a[0] = self.handle(Some(T::Memory), Use::Other)
            }
            SpaceMap => {
                a[0] = self.space();
                a[1] = self.handle(Some(T::Frames), Use::Other);
                a[2] = self.small_or_count(4);
                a[3] = self.small_or_count(5);
                a[4] = self.gen.target();
                a[5] = self.gen.map_rights();
            }
            SpaceUnmap | SpaceProtect => {
                a[0] = self.space();
                a[1] = self.gen.target();
                a[2] = self.small_or_count(5);
                a[3] = self.gen.map_rights();
            }
            SpaceRead | SpaceWrite => {
                a[0] = self.space();
                a[1] = self.gen.target();
                a[2] = self.gen.pointer();
                a[3] = self.gen.length();
            }
            ThreadCreate => {
                a[0] = self.handle(Some(T::Memory), Use::Other);
                a[1] = self.space();
                a[2] = self.handle(Some(T::CapTable), Use::Other);
                a[3] = self.gen.priority();
            }
            ThreadSetEntry => {
                a[0] = self.handle(Some(T::Thread), Use::Other);
                a[1] = self.gen.rip();
                a[2] = self.gen.rsp();
                a[3] = self.entry_argument();
            }
            ThreadStart | ThreadSetPriority | ThreadSetFsBase | ThreadSetGsBase => {
                a[0] = self.handle(Some(T::Thread), Use::Other);
                a[1] = match call {
                    ThreadSetPriority => self.gen.priority(),
                    _ => self
                        .gen
                        .rng
                        .pick(&[0, 0x1000, USER_END - 1, USER_END, a[1]]),
                };
            }
            ThreadSuspend | ThreadResume => a[0] = self.handle(Some(T::Thread), Use::Control),
            ThreadInfo => a[0] = self.handle(Some(T::Thread), Use::Observe),
            IpcCancel => a[0] = self.handle(Some(T::Thread), Use::Cancel),
            ThreadSetIpcBuffer => {
                a[0] = self.handle(Some(T::Thread), Use::Other);
                a[1] = if self.gen.rng.chance(50) {
                    self.gen.pointer()
                } else {
                    self.gen.target()
                };
                a[2] = self.gen.length();
            }
            ThreadSetFaultHandler => {
                a[0] = self.handle(Some(T::Thread), Use::Other);
                a[1] = if self.gen.rng.chance(20) {
                    CapRef::NULL.0
                } else {
                    self.endpoint()
                };
            }
            ConsoleWrite | ConsoleRead => {
                a[0] = self.handle(Some(T::Console), Use::Console);
                a[1] = self.gen.pointer();
                a[2] = self.gen.length();
                let scratch = gen::SCRATCH_BASE..gen::SCRATCH_BASE + gen::SCRATCH_LEN;
                if call == ConsoleWrite && a[0] == self.own.console && scratch.contains(&a[1]) {
                    // Real bytes would end up in the transcript: keep the
                    // pointer one the kernel refuses or finds unmapped.
                    a[1] = gen::HOLE_BASE + (a[1] - gen::SCRATCH_BASE);
                }
            }
            PortRead | PortWrite => {
                a[0] = self.handle(Some(T::IoPort), Use::Port);
                a[1] = match self.gen.rng.below(4) {
                    0 | 1 => 0xf0 + self.gen.rng.below(12),
                    2 => self
                        .gen
                        .rng
                        .pick(&[0, 0x8900, 0xffff, 0x1_0000, u64::MAX - 1]),
                    _ => self.gen.number(),
                };
                a[2] = if self.gen.rng.chance(70) {
                    self.gen.rng.pick(&[1, 2, 4])
                } else {
                    self.gen.rng.pick(&[0, 3, 8, u64::MAX])
                };
                let width_ok = matches!(a[2], 1 | 2 | 4);
                if call == PortWrite && width_ok && (0xf0..0xf8).contains(&(a[1] & 0xffff)) {
                    // Never write the exit device: it would end the run.
                    a[1] += 0x100;
                }
            }
            Signal => a[0] = self.handle(Some(T::Notification), Use::Ipc),
            Wait => {
                a[0] = self.handle(Some(T::Notification), Use::Ipc);
                a[1] = if self.gen.rng.chance(85) {
                    1 + self.gen.rng.below(2)
                } else {
                    self.gen.rng.pick(&[1 << 32, 0x1_0000_0001, u64::MAX])
                };
            }
            Poll => {
                a[0] = self.handle(Some(T::Notification), Use::Ipc);
                if self.gen.rng.chance(70) {
                    a[1] = 0;
                }
            }
            Send | Call | Recv | ReplyRecv | SendNonBlocking | RecvNonBlocking | Reply => {
                let blocking = matches!(call, Send | Call | Recv | ReplyRecv);
                let cap = if call == Reply {
                    self.gen.number()
                } else {
                    self.endpoint()
                };
                let info = self.gen.info(blocking);
                let mut mrs = [0u64; 8];
                for mr in &mut mrs {
                    *mr = self.gen.number();
                }
                mrs[7] = self.handle(None, Use::CopySource);
                return Plan::Ipc(call, cap, info, mrs);
            }
            // No arguments: whatever is in the registers is ignored.
            _ => {}
        }
        Plan::Plain(Some(call), call as u64, a)
    }

    /// True if `handle` is a known table or thread capability: objects
    /// that keep other objects alive, so copies of them can form cycles.
    fn holds_others(&self, handle: u64) -> bool {
        let kind = self.arena.kind_of(handle);
        kind == ObjectType::CapTable as u8 || kind == ObjectType::Thread as u8
    }

    /// An arena space, preferably a sandbox with the stub page.
    fn space(&mut self) -> u64 {
        if self.gen.rng.chance(40) {
            let sandbox = self.arena.sandboxes[self.gen.rng.below(2) as usize];
            if !sandbox.is_null() {
                return arena::sanitize(sandbox.0, Use::Other);
            }
        }
        self.handle(Some(ObjectType::AddressSpace), Use::Other)
    }

    /// An endpoint: often the partner's, otherwise any handle.
    fn endpoint(&mut self) -> u64 {
        if self.own.served != CapRef::NULL.0 && self.gen.rng.chance(40) {
            return self.own.served;
        }
        self.handle(Some(ObjectType::Endpoint), Use::Ipc)
    }

    fn small_or_count(&mut self, small: u64) -> u64 {
        if self.gen.rng.chance(70) {
            self.gen.rng.below(small)
        } else {
            self.gen.count()
        }
    }

    /// `rdi` for a sandbox thread: an address for the load and store
    /// stubs, a call number for the syscall stub, or anything.
    fn entry_argument(&mut self) -> u64 {
        match self.gen.rng.below(5) {
            0 => self.gen.rng.pick(&[DATA_ADDR, CODE_ADDR, DATA_ADDR + 4095]),
            1 => self.gen.rng.pick(&Syscall::ALL) as u64,
            2 => self.gen.rng.pick(&[0, 1_000_000, 50_000_000, u64::MAX]),
            _ => self.gen.number(),
        }
    }

    /// A number no call has, whatever width the kernel might truncate it
    /// to (its low 32 bits are an unassigned number below 256, or all
    /// ones), or one whose low bits name a harmless call.
    fn unassigned_number(&mut self) -> u64 {
        let high = match self.gen.rng.below(3) {
            0 => 0,
            1 => 1 << (32 + self.gen.rng.below(32)),
            _ => self.gen.rng.next() & !0xffff_ffff,
        };
        let low = match self.gen.rng.below(6) {
            0 => 0xffff_ffff,
            // Only with high bits set: the low bits name Null, Yield,
            // CapInfo or KernelCounters, harmless if wrongly truncated.
            1 if high != 0 => self.gen.rng.pick(&[0, 1, 10, 110]),
            _ => loop {
                let n = self.gen.rng.below(256);
                if Syscall::from_number(n).is_none() {
                    break n;
                }
            },
        };
        let number = high | low;
        if Syscall::from_number(number).is_some() {
            u64::MAX
        } else {
            number
        }
    }

    /// `ThreadWait`, made only where it cannot block for good.
    fn thread_wait(&mut self) {
        let thread = self.handle(Some(ObjectType::Thread), Use::WaitSelf);
        let args = [thread, 0, 0, 0, 0, 0];
        if thread != self.own.thread {
            let info = self.plain(Some(Syscall::ThreadInfo), Syscall::ThreadInfo as u64, args);
            let ended = matches!(info.results[0], 4 | 5);
            if info.status == 0 && !ended {
                self.waits_skipped += 1;
                return;
            }
        }
        self.plain(Some(Syscall::ThreadWait), Syscall::ThreadWait as u64, args);
    }

    /// Makes, traces, counts and judges one plain call.
    fn plain(&mut self, call: Option<Syscall>, number: u64, args: [u64; 6]) -> Raw {
        self.calls += 1;
        let traced = self.calls >= self.trace_from;
        if traced {
            println!(
                "fuzz: call {} {} #{number:#x} ({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                self.calls,
                Name(call),
                args[0],
                args[1],
                args[2],
                args[3],
                args[4],
                args[5]
            );
        }
        let raw = raw::call(number, args);
        if traced {
            println!(
                "fuzz: -> {} [{:#x}, {:#x}, {:#x}]",
                stats::code_name(raw.status).trim_start_matches("unknown"),
                raw.results[0],
                raw.results[1],
                raw.results[2]
            );
        }
        self.stats.record(call, raw.status);
        if let Some(problem) = oracle::judge(call, &args, &raw) {
            if self.finding() {
                println!(
                    "fuzz: FINDING at call {} (seed {}): {} #{number:#x} ({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) -> status {} ({}) [{:#x}, {:#x}, {:#x}]: {problem}",
                    self.calls, self.seed, Name(call), args[0], args[1], args[2], args[3], args[4], args[5],
                    raw.status, stats::code_name(raw.status), raw.results[0], raw.results[1], raw.results[2]
                );
            }
        }
        raw
    }

    /// Makes, traces, counts and judges one message call.
    fn ipc(&mut self, call: Syscall, cap: u64, info: u64, mrs: [u64; 8]) -> IpcRaw {
        self.calls += 1;
        let traced = self.calls >= self.trace_from;
        if traced {
            println!(
                "fuzz: call {} {call:?} (cap {cap:#x}, info {info:#x}, mr7 {:#x})",
                self.calls, mrs[7]
            );
        }
        let got = raw::ipc(call as u64, cap, info, mrs);
        let sent = IpcRaw {
            status: call as u64,
            badge: cap,
            info,
            mrs,
        };
        if traced {
            println!(
                "fuzz: -> {} badge {:#x} info {:#x}",
                stats::code_name(got.status),
                got.badge,
                got.info
            );
        }
        self.stats.record(Some(call), got.status);
        if let Some(problem) = oracle::judge_ipc(call, &sent, &got) {
            if self.finding() {
                println!(
                    "fuzz: FINDING at call {} (seed {}): {call:?} (cap {cap:#x}, info {info:#x}, mr7 {:#x}) -> status {} ({}) badge {:#x} info {:#x}: {problem}",
                    self.calls, self.seed, mrs[7], got.status, stats::code_name(got.status), got.badge, got.info
                );
            }
        }
        got
    }

    /// Counts a finding; true if it should be printed in full.
    fn finding(&mut self) -> bool {
        self.findings += 1;
        self.findings <= PRINTED_FINDINGS
    }

    /// Learns from a plain call that succeeded: records new handles and
    /// deleted ones, and checks that a new capability names its object.
    fn learn(&mut self, call: Option<Syscall>, args: &[u64; 6], raw: &Raw) {
        use Syscall::*;
        let Some(call) = call else { return };
        if raw.status != 0 {
            return;
        }
        let new = raw.results[0];
        let kind = match call {
            MemorySplit => ObjectType::Memory,
            FramesAlloc => ObjectType::Frames,
            SpaceCreate => ObjectType::AddressSpace,
            TableCreate => ObjectType::CapTable,
            ThreadCreate => ObjectType::Thread,
            EndpointCreate => ObjectType::Endpoint,
            NotificationCreate => ObjectType::Notification,
            CapCopy | CapMint => {
                if args[1] == CapRef::NULL.0 {
                    let kind = self.arena.kind_of(args[0]);
                    self.arena.learn(new, kind);
                } else {
                    let _ = self.arena.foreign.push(arena::Known {
                        handle: new,
                        kind: 0,
                    });
                }
                return;
            }
            CapDelete => {
                self.arena.forget(args[0]);
                return;
            }
            _ => return,
        };
        self.arena.learn(new, kind as u8);
        self.check_new(call, new, kind);
    }

    /// A capability a create call returned must name an object of the
    /// right type with every right.
    fn check_new(&mut self, call: Syscall, handle: u64, kind: ObjectType) {
        self.checks += 1;
        let info = raw::call(Syscall::CapInfo as u64, [handle, 0, 0, 0, 0, 0]);
        let all = bulkhead_rt::abi::Rights::ALL.bits() as u64;
        let wrong = info.status != 0 || info.results[0] != kind as u64 || info.results[1] != all;
        if wrong && self.finding() {
            println!(
                "fuzz: FINDING at call {} (seed {}): {call:?} returned handle {handle:#x}, but CapInfo on it gives status {} [{:#x}, {:#x}, {:#x}] (expected type {} with all rights)",
                self.calls, self.seed, info.status, info.results[0], info.results[1], info.results[2], kind as u64
            );
        }
    }
}
