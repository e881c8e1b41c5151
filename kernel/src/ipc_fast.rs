//! The IPC fast path: Call and ReplyRecv with a register-only message and
//! a partner already waiting.
//!
//! Each function is a straight chain of guards; the first that fails
//! returns, and the slow path (`crate::ipc`) handles the call with
//! the same result, because the slow path defines the semantics. When every
//! guard holds, the caller is blocked, the partner made ready, and the CPU
//! goes straight to the partner and out to user mode, picking up the
//! message registers from the caller's saved registers on the way
//! (`arch::x86_64::ipc_exit`): no run-queue operation, one CPU state
//! switch, and one CR3 write (none when both threads share an address
//! space; with PCIDs a no-flush one whenever the partner's PCID still holds
//! only its own TLB entries, see `mm::pcid`).
//!
//! The common case is kept short on purpose: the object layer and the
//! scheduler are borrowed without taking their locks (see
//! [`borrow_state`]: a held lock just means the slow path), each thread
//! record is looked up once and then used through a pointer, the endpoint
//! capability comes from the thread's remembered lookup
//! (`object::cap_cache`), the message is never copied into the partner's
//! frame, and the switch (`Scheduler::fast_switch`) does only what the
//! next thread needs. The exits skip the SYSRET checks of
//! `return_to_user`: a user thread's saved CS and SS are always the user
//! selectors and its saved RIP is canonical (`bulkhead_abi::USER_END`
//! keeps the last page of the lower half out of user space).
//!
//! Every entry point is `#[inline(never)]` and leaves the caller's kernel
//! stack behind with frames nothing returns into: the caller resumes
//! straight into user mode from its `TrapFrame` (its `saved_rsp` says
//! `RESUME_FROM_FRAME`, and the scheduler prepares the words just below
//! the frame only if it is the one to resume it, see `sched::switch`).
//!
//! ```text
//!  Call (client)                          ReplyRecv (server)
//!   register-only message?                 register-only message?
//!   endpoint cap with WRITE?               endpoint cap with READ, no sender or fault queued?
//!   a receiver at the queue front,         a reply target still waiting for us
//!     still waiting with no timeout, a       with no timeout, a user thread, not
//!     user thread, not a container member,   being suspended, priority ≥ ours
//!     not being suspended, priority ≥ ours
//!   -> hand over, switch, sysret           -> hand over, queue us, switch, sysret
//! ```
//!
//! A message with a capability, buffer bytes, a timeout or the
//! `FORCE_SLOW` bit never qualifies (its info word exceeds 8). Nor does a
//! partner whose wait has a timeout (`IpcWait::RecvTimed`,
//! `IpcWait::ReplyTimed`): only the slow path takes the timeout's entry
//! off the sleepers list.

use crate::arch::x86_64::ipc_exit::{
    return_to_user_fast, return_with_linux_call, return_with_message,
};
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::object::endpoint::Endpoint;
use crate::object::{Kernel, KERNEL};
use crate::sched::ipc::{fresh_tokens, Waiter};
use crate::sched::thread::{IpcWait, Thread};
use crate::sched::{self, Scheduler, State};
use bulkhead_abi::ipc::MAX_WORDS;
use bulkhead_abi::{CapRef, Rights};
use core::sync::atomic::{AtomicU64, Ordering};

static HITS: AtomicU64 = AtomicU64::new(0);

/// How many calls took the fast path since boot.
pub fn hits() -> u64 {
    HITS.load(Ordering::Relaxed)
}

/// The object layer and the scheduler for one fast path, borrowed without
/// taking their locks, or `None` if either lock is held (then the slow
/// path runs, and takes them).
///
/// This is sound because Bulkhead runs on one CPU, a system call enters
/// with interrupts off, and kernel code is never preempted: from the entry
/// to the exit to user mode, or to the return into the slow path, nothing
/// else runs, and nothing the fast path calls takes either lock. Neither
/// lock is ever held when a system call enters (every lock is released
/// before a thread switch or a return to user mode), so the test only
/// guards against a kernel bug. Taking and releasing both locks would
/// cost 10 instructions per direction.
#[inline(always)]
fn borrow_state() -> Option<(&'static mut Kernel, &'static mut Scheduler)> {
    // Both locks tested at once: `|`, not `||`.
    if KERNEL.is_locked() | sched::is_locked() {
        return None;
    }
    // SAFETY: called only by the entry points below, on entry from user
    // mode with interrupts off and both locks free; their borrows end
    // before they leave to user mode or return to the slow path.
    unsafe { Some((crate::object::borrow_unlocked(), sched::borrow_unlocked())) }
}

/// The guard every fast path with a native message shares: a
/// register-only message (info ≤ 8 words, no flag). The caller's return
/// address needs no check: a saved user RIP is always canonical (a
/// `syscall` cannot sit in the last page of the lower half, which is
/// never user memory: `bulkhead_abi::USER_END`).
#[inline(always)]
fn simple_message(f: &TrapFrame) -> bool {
    f.rsi <= MAX_WORDS as u64
}

/// Whether the partner `t` can be switched to directly: a user thread
/// (so it has a `TrapFrame`, whose CS and SS are the user selectors and
/// whose RIP is canonical, as SYSRET needs), not being suspended, and of
/// at least the caller's priority (no ready thread outranks it then).
#[inline(always)]
fn can_switch_to(t: &Thread, my_priority: u8) -> bool {
    t.user && !t.suspended_from_blocked && t.priority >= my_priority
}

/// Counts a fast-path hit and returns the partner's frame.
#[inline(always)]
fn hit(frame: *mut TrapFrame) -> *mut TrapFrame {
    HITS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the partner's frame, which nothing else touches now.
    debug_assert!(canonical(unsafe { (*frame).rip }));
    frame
}

fn canonical(addr: u64) -> bool {
    ((addr << 16) as i64 >> 16) as u64 == addr
}

/// Call: the client (the current thread) sends to a waiting server and
/// waits for the reply. Returns only if a guard failed (then the slow
/// path runs).
#[inline(never)]
pub extern "C" fn try_call(frame: *mut TrapFrame) {
    // SAFETY: the caller's own frame; nothing else writes it while this
    // borrow lives (the frames written below belong to other threads).
    let f = unsafe { &*frame };
    if !simple_message(f) {
        return;
    }
    let Some((k, s)) = borrow_state() else {
        return;
    };
    let me = s.current();
    let cp = s.current_ptr();
    // SAFETY: our own boxed record; this borrow ends with the lookup.
    let own = unsafe { &mut *cp };
    let found = k.cached_endpoint(
        &mut own.send_cap,
        own.cap_table,
        CapRef(f.rdi),
        Rights::WRITE,
    );
    let Some((ep, badge)) = found else {
        return;
    };
    let Some((c, t)) = waiting_receiver(ep, s, me, cp) else {
        return;
    };
    // SAFETY: two different boxed thread records, which nothing else
    // reaches while the scheduler is borrowed.
    let (c, t) = unsafe { (&mut *c, &mut *t) };
    let next = hit(commit_call(ep, s, me, c, t));
    // SAFETY: `next` is the receiver's frame, on the stack `fast_switch`
    // installed; `frame` is ours, and we are blocked; the message guard
    // checked the word count.
    unsafe { return_with_message(badge, (*frame).rsi, next, frame) }
}

/// Call for a container member's Linux syscall (`crate::container_call`):
/// the endpoint and badge come from the thread's link, the message from
/// its Linux registers. Returns only if a guard failed.
#[inline(never)]
pub extern "C" fn try_linux_call(frame: *mut TrapFrame) {
    // SAFETY: as in `try_call`.
    let f = unsafe { &*frame };
    // `STATS` is the kernel's to answer (`container_stats`).
    if f.rax == bulkhead_abi::container::STATS {
        return;
    }
    let Some((k, s)) = borrow_state() else {
        return;
    };
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
    // reaches while the scheduler is borrowed.
    let (c, t) = unsafe { (&mut *c, &mut *t) };
    // SAFETY: a field of our own record `c`, which nothing else borrows.
    unsafe { *calls += 1 };
    let next = hit(commit_call(ep, s, me, c, t));
    // SAFETY: `next` is the server's frame, on the stack `fast_switch`
    // installed; `frame` is ours, and we are blocked.
    unsafe { return_with_linux_call(next, frame, badge) }
}

/// The guards of Call after the capability: the receiver at the front of
/// `ep` still waits in Recv with that entry's token, is another thread
/// than the caller `me` (whose record is `cp`), not a container member,
/// and can be switched to. Returns the caller's and the receiver's
/// records, which stay valid (they are boxed) while the scheduler is
/// borrowed.
#[inline(always)]
fn waiting_receiver(
    ep: &Endpoint,
    s: &mut Scheduler,
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

/// Commits a Call to the waiting receiver `t`, as `ipc::send` with a
/// receiver waiting and `complete` do: the receiver leaves the queue and
/// owes the caller `c` a reply, the caller waits for it (as
/// `block_current(Reply, 0, false, None)`), and the CPU switches to the
/// receiver. Returns the frame to leave to (the message is delivered on
/// the way out).
#[inline(always)]
fn commit_call(
    ep: &mut Endpoint,
    s: &mut Scheduler,
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
    let Some((k, s)) = borrow_state() else {
        return;
    };
    let me = s.current();
    let mp = s.current_ptr();
    // SAFETY: our own boxed record; this borrow ends with the guards on
    // our own state.
    let own = unsafe { &mut *mp };
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
    let Some((client, serial)) = own.ipc.reply_to else {
        return;
    };
    if client == me {
        return;
    }
    let Some(cp) = s.thread_ptr(client) else {
        return;
    };
    // SAFETY: two different boxed records (checked above), reached by
    // nothing else while the scheduler is borrowed.
    let (m, c) = unsafe { (&mut *mp, &mut *cp) };
    let ready =
        c.serial == serial && c.ipc.waiting == Some(IpcWait::Reply) && can_switch_to(c, m.priority);
    if !ready {
        return;
    }
    // Every guard held. Queue ourselves for the next message, as
    // `ipc::recv` does with no sender waiting (`block_current(Recv, 0,
    // false, None)`) ...
    let tokens = fresh_tokens::<2>();
    ep.receivers.push_back(Waiter {
        thread: me,
        token: tokens + 1,
    });
    m.ipc.reply_to = None;
    m.ipc.waiting = Some(IpcWait::Recv);
    m.ipc.token = tokens + 1;
    m.state = State::Blocked;
    // ... and reply, as `ipc::reply` and `complete` do.
    c.ipc.waiting = None;
    c.ipc.token = tokens;
    c.state = State::Ready;
    let next = hit(s.fast_switch(m, c));
    // The client is now the current thread.
    if sched::current_linux() != sched::LINUX_NONE {
        // A container member: only its `rax` changes, to the reply's MR0
        // (`container_call::complete_forwarded`).
        // SAFETY: `next` is the member's frame, the top of the kernel
        // stack `fast_switch` installed, of a user thread that is not
        // running; `frame` is ours. Interrupts are off and no lock is
        // held, as the exit needs.
        unsafe {
            (*next).rax = if (*frame).rsi > 0 { (*frame).rdx } else { 0 };
            return_to_user_fast(next)
        }
    }
    // SAFETY: `next` is the client's frame, on the stack `fast_switch`
    // installed; `frame` is ours, and we are blocked; the message guard
    // checked the word count.
    unsafe { return_with_message(0, (*frame).rsi, next, frame) }
}
