//! The IPC fast path: Call and ReplyRecv with a register-only message and
//! a partner already waiting.
//!
//! Each function is a straight chain of guards; the first that fails
//! returns, and the slow path (`crate::ipc`) handles the call with
//! the same result, because the slow path defines the semantics. When every
//! guard holds, the message registers are copied into the partner's saved
//! registers, the caller is blocked, and the CPU goes straight to the
//! partner and out to user mode: no run-queue operation, one CPU state
//! switch, and one CR3 write (none when both threads share an address
//! space; with PCIDs a no-flush one whenever the partner's PCID still holds
//! only its own TLB entries, see `mm::pcid`).
//!
//! The common case is kept short on purpose: both locks are taken once
//! (with `try_lock`: a taken lock just means the slow path), each thread
//! record is looked up once and then used through a pointer, the endpoint
//! capability is checked by index, generation, rights and type only
//! (`Kernel::endpoint_cap`), the words are copied register by register,
//! and the switch (`Scheduler::fast_switch`) does only what the next
//! thread needs. The exit is `return_to_user_fast`, which skips the SYSRET
//! checks that the guards have already made.
//!
//! Every entry point is `#[inline(never)]`: committing rewrites the words
//! just below the caller's saved registers (its kernel stack is re-prepared
//! to resume straight into user mode), which must be frames of `dispatch`
//! that are abandoned, never this function's own.
//!
//! ```text
//!  Call (client)                          ReplyRecv (server)
//!   register-only message?                 register-only message?
//!   canonical return address?              canonical return address?
//!   endpoint cap with WRITE?               endpoint cap with READ, no sender or fault queued?
//!   a receiver at the queue front,         a reply target still waiting for us
//!     still waiting with no timeout, a       with no timeout, a user thread, not
//!     user thread, not a container member,   being suspended, priority ≥ ours,
//!     not being suspended, priority ≥ ours,  canonical return address
//!     canonical return address
//!   -> hand over, switch, sysret           -> hand over, queue us, switch, sysret
//! ```
//!
//! A message with a capability, buffer bytes, a timeout or the
//! `FORCE_SLOW` bit never qualifies (its info word exceeds 8). Nor does a
//! partner whose wait has a timeout (`IpcWait::RecvTimed`,
//! `IpcWait::ReplyTimed`): only the slow path takes the timeout's entry
//! off the sleepers list.

use crate::arch::x86_64::syscall_entry::return_to_user_fast;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::object::endpoint::Endpoint;
use crate::object::KERNEL;
use crate::sched::ipc::{fresh_tokens, Waiter};
use crate::sched::thread::{IpcWait, Thread};
use crate::sched::{self, State};
use bulkhead_abi::container::SYSCALL_WORDS;
use bulkhead_abi::ipc::MAX_WORDS;
use bulkhead_abi::{CapRef, Rights};
use core::sync::atomic::{AtomicU64, Ordering};

static HITS: AtomicU64 = AtomicU64::new(0);

/// How many calls took the fast path since boot.
pub fn hits() -> u64 {
    HITS.load(Ordering::Relaxed)
}

#[inline(always)]
fn canonical(addr: u64) -> bool {
    ((addr << 16) as i64 >> 16) as u64 == addr
}

/// Guards every fast path shares: a register-only message (info ≤ 8 words,
/// no flag) and a return address SYSRET accepts.
#[inline(always)]
fn simple_message(f: &TrapFrame) -> bool {
    f.rsi <= MAX_WORDS as u64 && canonical(f.rip)
}

/// Whether the partner `t` can be switched to directly: a user thread
/// (so it has a `TrapFrame`), not being suspended, of at least the
/// caller's priority (no ready thread outranks it then), and returning to
/// a canonical address, so that SYSRET can take it there (its CS and SS
/// are always the user selectors: a user thread's frame is built only by
/// SYSCALL entry, by the CPU for an interrupt from ring 3, or by
/// `sched::create_user`).
#[inline(always)]
fn can_switch_to(t: &Thread, my_priority: u8) -> bool {
    t.user
        && !t.suspended_from_blocked
        && t.priority >= my_priority
        // SAFETY: a user thread's frame tops its own kernel stack; it is
        // not running, so nothing writes it meanwhile.
        && canonical(unsafe { (*t.frame_ptr()).rip })
}

/// Writes a delivered register message into `dst` exactly as the slow
/// path does (`ipc::write_message` of what `ipc::prepare` builds): status
/// 0, the badge, the info word reduced to the word count, the first
/// `words` (≤ 8) words of `src` and zero in the rest. One jump on the
/// count, then one load and store per word sent and one store per word
/// cleared.
#[inline(always)]
fn deliver(src: &TrapFrame, dst: &mut TrapFrame, words: u64, badge: u64) {
    dst.rax = 0;
    dst.rdi = badge;
    dst.rsi = words;
    // MR0..MR7 live in rdx r10 r8 r9 r12 r13 r14 r15.
    macro_rules! mrs {
        ($($sent:ident)* ; $($cleared:ident)*) => {{
            $(dst.$sent = src.$sent;)*
            $(dst.$cleared = 0;)*
        }};
    }
    match words {
        0 => mrs!(; rdx r10 r8 r9 r12 r13 r14 r15),
        1 => mrs!(rdx ; r10 r8 r9 r12 r13 r14 r15),
        2 => mrs!(rdx r10 ; r8 r9 r12 r13 r14 r15),
        3 => mrs!(rdx r10 r8 ; r9 r12 r13 r14 r15),
        4 => mrs!(rdx r10 r8 r9 ; r12 r13 r14 r15),
        5 => mrs!(rdx r10 r8 r9 r12 ; r13 r14 r15),
        6 => mrs!(rdx r10 r8 r9 r12 r13 ; r14 r15),
        7 => mrs!(rdx r10 r8 r9 r12 r13 r14 ; r15),
        _ => mrs!(rdx r10 r8 r9 r12 r13 r14 r15 ;),
    }
}

/// Goes to user mode on `frame`; never returns.
#[inline(always)]
fn leave_to(frame: *mut TrapFrame) -> ! {
    HITS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `frame` is the partner's TrapFrame at the top of its kernel
    // stack, whose top `fast_switch` installed for the next entries from
    // user mode; its registers were just filled in, and the guards checked
    // that SYSRET can return to them.
    unsafe { return_to_user_fast(frame) }
}

/// Call: the client (the current thread) sends to a waiting server and
/// waits for the reply. Returns only if a guard failed (then the slow
/// path runs).
#[inline(never)]
pub extern "C" fn try_call(frame: *mut TrapFrame) {
    // SAFETY: the caller's own frame; nothing else writes it while this
    // borrow lives (the frame written below belongs to another thread).
    let f = unsafe { &*frame };
    if !simple_message(f) {
        return;
    }
    let Some(mut k) = KERNEL.try_lock() else {
        return;
    };
    let Some(mut guard) = sched::try_lock() else {
        return;
    };
    let s = sched::running(&mut guard);
    let me = s.current();
    let cp = s.current_ptr();
    // SAFETY: our own boxed record; this read ends here.
    let table = unsafe { (*cp).cap_table };
    // Looked up in full, not through the thread's remembered lookup
    // (`cap_cache`): that would save about 28 instructions here, but only
    // on native calls, and a container's forwarded calls must keep pace
    // with native IPC (see docs/ipc.md, "Where the instructions go").
    let Some((ep, badge)) = k.endpoint_cap(table, CapRef(f.rdi), Rights::WRITE) else {
        return;
    };
    let Some((c, t)) = waiting_receiver(ep, s, me, cp) else {
        return;
    };
    // SAFETY: two different boxed thread records, which nothing else
    // reaches while the scheduler lock is held.
    let (c, t) = unsafe { (&mut *c, &mut *t) };
    // SAFETY: `t` is a user thread (checked), its frame tops its stack.
    deliver(f, unsafe { &mut *t.frame_ptr() }, f.rsi, badge);
    let next = commit_call(ep, s, me, c, t);
    drop(guard);
    drop(k);
    leave_to(next)
}

/// Call for a container member's Linux syscall (`crate::container_call`):
/// the endpoint and badge come from the thread's link, the message from
/// its Linux registers. Returns only if a guard failed.
#[inline(never)]
pub extern "C" fn try_linux_call(frame: *mut TrapFrame) {
    // SAFETY: as in `try_call`.
    let f = unsafe { &*frame };
    // `STATS` is the kernel's to answer (`container_stats`).
    if !canonical(f.rip) || f.rax == bulkhead_abi::container::STATS {
        return;
    }
    let Some(mut k) = KERNEL.try_lock() else {
        return;
    };
    let Some(mut guard) = sched::try_lock() else {
        return;
    };
    let s = sched::running(&mut guard);
    let me = s.current();
    let cp = s.current_ptr();
    // SAFETY: our own boxed record; this borrow ends with the endpoint
    // lookup, and `calls` is written only after the guards.
    let own = unsafe { &mut *cp };
    let Some(link) = own.linux.as_mut() else {
        return;
    };
    let (endpoint, badge, calls) = (link.endpoint, link.badge, &raw mut link.calls);
    let Some(ep) = k.cached_link_endpoint(&mut own.send_cap, endpoint) else {
        return;
    };
    let Some((c, t)) = waiting_receiver(ep, s, me, cp) else {
        return;
    };
    // SAFETY: two different boxed thread records, which nothing else
    // reaches while the scheduler lock is held.
    let (c, t) = unsafe { (&mut *c, &mut *t) };
    // The message of `container_call::linux_message`: MR0 = number,
    // MR1..MR6 = the argument registers, as the slow path sends it.
    // SAFETY: `t` is a user thread (checked), its frame tops its stack.
    let dst = unsafe { &mut *t.frame_ptr() };
    dst.rax = 0;
    dst.rdi = badge;
    dst.rsi = SYSCALL_WORDS;
    (dst.rdx, dst.r10, dst.r8, dst.r9) = (f.rax, f.rdi, f.rsi, f.rdx);
    (dst.r12, dst.r13, dst.r14, dst.r15) = (f.r10, f.r8, f.r9, 0);
    // SAFETY: a field of our own record `c`, which nothing else borrows.
    unsafe { *calls += 1 };
    let next = commit_call(ep, s, me, c, t);
    drop(guard);
    drop(k);
    leave_to(next)
}

/// The guards of Call after the capability: the receiver at the front of
/// `ep` still waits in Recv with that entry's token, is another thread
/// than the caller `me` (whose record is `cp`), not a container member,
/// and can be switched to. Returns the caller's and the receiver's
/// records, which stay valid (they are boxed) while the scheduler lock is
/// held.
#[inline(always)]
fn waiting_receiver(
    ep: &Endpoint,
    s: &mut sched::Scheduler,
    me: sched::ThreadId,
    cp: *mut Thread,
) -> Option<(*mut Thread, *mut Thread)> {
    let server = *ep.receivers.front()?;
    if server.thread == me {
        return None;
    }
    let tp = s.thread_ptr(server.thread)?;
    // SAFETY: `cp` and `tp` point at two different boxed thread records
    // (checked just above); these shared borrows end here.
    let (c, t) = unsafe { (&*cp, &*tp) };
    let ready = t.ipc.token == server.token
        && t.ipc.waiting == Some(IpcWait::Recv)
        && t.linux_kind == sched::LINUX_NONE
        && can_switch_to(t, c.priority);
    ready.then_some((cp, tp))
}

/// Commits a Call whose message is already in the receiver `t`'s
/// registers, as `ipc::send` with a receiver waiting and `complete` do:
/// the receiver leaves the queue and owes the caller `c` a reply, the
/// caller waits for it (as `block_current(Reply, 0, false, None)`), and
/// the CPU switches to the receiver. Returns the frame to leave to.
#[inline(always)]
fn commit_call(
    ep: &mut Endpoint,
    s: &mut sched::Scheduler,
    me: sched::ThreadId,
    c: &mut Thread,
    t: &mut Thread,
) -> *mut TrapFrame {
    ep.receivers.discard_front();
    let token = fresh_tokens::<2>();
    t.ipc.waiting = None;
    t.ipc.token = token;
    t.ipc.reply_to = Some((me, c.serial));
    t.state = State::Ready;
    // (`badge` and `grant` matter only to a queued sender: not written.)
    c.ipc.waiting = Some(IpcWait::Reply);
    c.ipc.token = token + 1;
    c.state = State::Blocked;
    s.fast_switch(c, t)
}

/// ReplyRecv: the server (the current thread) replies to its waiting
/// client and waits for the next message. Returns only if a guard failed.
#[inline(never)]
pub extern "C" fn try_reply_recv(frame: *mut TrapFrame) {
    // SAFETY: the caller's own frame; nothing else writes it while this
    // borrow lives (the frame written below belongs to another thread).
    let f = unsafe { &*frame };
    if !simple_message(f) {
        return;
    }
    let Some(mut k) = KERNEL.try_lock() else {
        return;
    };
    let Some(mut guard) = sched::try_lock() else {
        return;
    };
    let s = sched::running(&mut guard);
    let me = s.current();
    let m = s.current_ptr();
    // SAFETY: our own boxed record; this borrow ends with the lookup.
    let own = unsafe { &mut *m };
    let found = k.cached_endpoint(
        &mut own.recv_cap,
        own.cap_table,
        CapRef(f.rdi),
        Rights::READ,
    );
    let Some((ep, _)) = found else {
        return;
    };
    if !ep.senders.is_empty() || !ep.pending_faults.is_empty() {
        return;
    }
    // SAFETY: `m` points at our own boxed record; the borrow ends here.
    let Some((client, serial)) = (unsafe { (*m).ipc.reply_to }) else {
        return;
    };
    if client == me {
        return;
    }
    let Some(c) = s.thread_ptr(client) else {
        return;
    };
    // SAFETY: two different boxed records (checked above), reached by
    // nothing else while the scheduler lock is held.
    let (m, c) = unsafe { (&mut *m, &mut *c) };
    let ready =
        c.serial == serial && c.ipc.waiting == Some(IpcWait::Reply) && can_switch_to(c, m.priority);
    if !ready {
        return;
    }
    // Every guard held: reply, as `ipc::reply` and `complete` do ...
    let words = f.rsi;
    // SAFETY: `c` is a user thread (checked), its frame tops its stack.
    let dst = unsafe { &mut *c.frame_ptr() };
    if c.linux_kind != sched::LINUX_NONE {
        // A container member: only its `rax` changes, to the reply's MR0
        // (`container_call::complete_forwarded`).
        dst.rax = if words > 0 { f.rdx } else { 0 };
    } else {
        deliver(f, dst, words, 0);
    }
    let tokens = fresh_tokens::<2>();
    c.ipc.waiting = None;
    c.ipc.token = tokens;
    c.state = State::Ready;
    // ... and queue ourselves for the next message, as `ipc::recv` does
    // with no sender waiting (`block_current(Recv, 0, false, None)`).
    m.ipc.reply_to = None;
    m.ipc.waiting = Some(IpcWait::Recv);
    let token = tokens + 1;
    m.ipc.token = token;
    m.state = State::Blocked;
    ep.receivers.push_back(Waiter { thread: me, token });
    let next = s.fast_switch(m, c);
    drop(guard);
    drop(k);
    leave_to(next)
}
