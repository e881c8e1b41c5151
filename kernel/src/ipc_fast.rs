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
//! Both entry points are `#[inline(never)]`: committing rewrites the words
//! just below the caller's saved registers (its kernel stack is re-prepared
//! to resume straight into user mode), which must be frames of `dispatch`
//! that are abandoned, never this function's own.
//!
//! ```text
//!  Call (client)                          ReplyRecv (server)
//!   register-only message?                 register-only message?
//!   canonical return address?              canonical return address?
//!   endpoint cap with WRITE?               endpoint cap with READ, no sender or fault queued?
//!   a receiver at the queue front,         a reply target still waiting for us,
//!     still waiting, a user thread,          a user thread, not being suspended,
//!     not being suspended, priority ≥ ours   priority ≥ ours
//!   -> hand over, switch, sysret           -> hand over, queue us, switch, sysret
//! ```
//!
//! A message with a capability, buffer bytes, a timeout or the
//! `FORCE_SLOW` bit never qualifies (its info word exceeds 8).

use crate::arch::x86_64::syscall_entry::return_to_user;
use crate::arch::x86_64::trap_entry::TrapFrame;
use crate::ipc::{message_in, write_message, Message};
use crate::object::{Kernel, ObjRef, Object, KERNEL};
use crate::sched::ipc::{fresh_token, Waiter};
use crate::sched::thread::IpcWait;
use crate::sched::{self, State, ThreadId};
use bulkhead_abi::ipc::{MessageInfo, MAX_WORDS};
use bulkhead_abi::{CapRef, Rights};
use core::sync::atomic::{AtomicU64, Ordering};

static HITS: AtomicU64 = AtomicU64::new(0);

/// How many calls took the fast path since boot.
pub fn hits() -> u64 {
    HITS.load(Ordering::Relaxed)
}

fn canonical(addr: u64) -> bool {
    ((addr << 16) as i64 >> 16) as u64 == addr
}

/// Guards every fast path shares: a register-only message (info ≤ 8 words,
/// no flag) and a return address SYSRET/IRETQ accept.
fn simple_message(f: &TrapFrame) -> bool {
    f.rsi <= MAX_WORDS as u64 && canonical(f.rip)
}

/// The register message in `f` as the receiver gets it: the words beyond
/// the count are zero, exactly as the slow path delivers them.
fn register_message(f: &TrapFrame) -> Message {
    let sent = message_in(f);
    let words = sent.info.words() as usize;
    Message {
        info: MessageInfo::new(words as u64),
        mrs: core::array::from_fn(|i| if i < words { sent.mrs[i] } else { 0 }),
    }
}

/// The endpoint that capability `handle` of thread `me` names, and its
/// badge, if it is an endpoint capability with `right`.
fn endpoint_cap(k: &Kernel, me: ThreadId, handle: u64, right: Rights) -> Option<(ObjRef, u64)> {
    let table = k.threads.get(&me)?.table;
    let cap = k.caps.lookup(table, CapRef(handle)).ok()?;
    cap.rights
        .contains(right)
        .then_some((cap.object, cap.badge))
}

/// Switches to `next`'s user registers; never returns.
fn leave_to(frame: *mut TrapFrame) -> ! {
    HITS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `frame` is the partner's TrapFrame at the top of its kernel
    // stack, whose top `fast_switch` installed for the next entries from
    // user mode; `return_to_user` moves the stack pointer there and its
    // registers were just filled in for the return to user mode.
    unsafe { return_to_user(frame) }
}

/// Call: the client `me` sends to a waiting server and waits for the
/// reply. Returns only if a guard failed (then the slow path runs).
#[inline(never)]
pub fn try_call(frame: *mut TrapFrame, me: ThreadId) {
    // SAFETY: the caller's own frame; nothing else writes it while this
    // borrow lives (other frames written below belong to other threads).
    let f = unsafe { &*frame };
    if !simple_message(f) {
        return;
    }
    let mut k = KERNEL.lock();
    let Some((object, badge)) = endpoint_cap(&k, me, f.rdi, Rights::WRITE) else {
        return;
    };
    let mut guard = sched::lock();
    let Some(s) = guard.as_mut() else {
        return;
    };
    let Some(next) = hand_over_call(&mut k, s, me, object, badge, &register_message(f)) else {
        return;
    };
    drop(guard);
    drop(k);
    leave_to(next)
}

/// Call for a container member's Linux syscall (`crate::container_call`):
/// the endpoint and badge come from the thread's link, the message from
/// its Linux registers. Returns only if a guard failed.
#[inline(never)]
pub fn try_linux_call(frame: *mut TrapFrame, me: ThreadId) {
    // SAFETY: as in `try_call`.
    let f = unsafe { &*frame };
    if !canonical(f.rip) {
        return;
    }
    let mut k = KERNEL.lock();
    let mut guard = sched::lock();
    let Some(s) = guard.as_mut() else {
        return;
    };
    let Some(link) = s.thread(me).and_then(|t| t.linux) else {
        return;
    };
    let message = crate::container_call::linux_message(f);
    let Some(next) = hand_over_call(&mut k, s, me, link.endpoint, link.badge, &message) else {
        return;
    };
    if let Some(l) = s.thread(me).and_then(|t| t.linux.as_mut()) {
        l.calls += 1;
    }
    drop(guard);
    drop(k);
    leave_to(next)
}

/// The part of Call after the capability: if a receiver of `object` is
/// ready, hand it `message` with `badge`, block `me` for the reply and
/// switch to the receiver; returns the frame to leave to, or `None` (with
/// nothing changed) if a guard failed.
fn hand_over_call(
    k: &mut Kernel,
    s: &mut sched::Scheduler,
    me: ThreadId,
    object: ObjRef,
    badge: u64,
    message: &Message,
) -> Option<*mut TrapFrame> {
    let Some(Object::Endpoint(ep)) = k.get_mut(object) else {
        return None;
    };
    let &server = ep.receivers.front()?;
    let (my_priority, my_serial) = s.thread(me).map(|t| (t.priority, t.serial))?;
    let t = s.thread(server.thread)?;
    let ready = t.user
        && t.ipc.token == server.token
        && t.ipc.waiting == Some(IpcWait::Recv)
        && !t.suspended_from_blocked
        && t.priority >= my_priority
        && canonical(t.user_frame().rip);
    if !ready {
        return None;
    }
    // Every guard held: hand the message over.
    ep.receivers.pop_front();
    write_message(t.user_frame(), badge, message);
    t.ipc.waiting = None;
    t.ipc.token = fresh_token();
    t.ipc.reply_to = Some((me, my_serial));
    t.state = State::Ready;
    if let Some(c) = s.thread(me) {
        c.ipc.waiting = Some(IpcWait::Reply);
        c.ipc.token = fresh_token();
        c.state = State::Blocked;
    }
    Some(s.fast_switch(me, server.thread))
}

/// ReplyRecv: the server `me` replies to its waiting client and waits for
/// the next message. Returns only if a guard failed.
#[inline(never)]
pub fn try_reply_recv(frame: *mut TrapFrame, me: ThreadId) {
    // SAFETY: the caller's own frame; nothing else writes it while this
    // borrow lives (other frames written below belong to other threads).
    let f = unsafe { &*frame };
    if !simple_message(f) {
        return;
    }
    let mut k = KERNEL.lock();
    let Some((object, _)) = endpoint_cap(&k, me, f.rdi, Rights::READ) else {
        return;
    };
    let Some(Object::Endpoint(ep)) = k.get_mut(object) else {
        return;
    };
    if !ep.senders.is_empty() || !ep.pending_faults.is_empty() {
        return;
    }
    let mut guard = sched::lock();
    let Some(s) = guard.as_mut() else {
        return;
    };
    let Some(me_thread) = s.thread(me) else {
        return;
    };
    let (my_priority, reply_to) = (me_thread.priority, me_thread.ipc.reply_to);
    let Some((client, serial)) = reply_to else {
        return;
    };
    let Some(c) = s.thread(client) else {
        return;
    };
    let ready = c.user
        && c.serial == serial
        && c.ipc.waiting == Some(IpcWait::Reply)
        && !c.suspended_from_blocked
        && c.priority >= my_priority
        && canonical(c.user_frame().rip);
    if !ready {
        return;
    }
    // Every guard held: reply, and queue ourselves for the next message.
    let message = register_message(f);
    if c.linux.is_some() {
        // A container member: only its `rax` changes, to the reply's MR0.
        c.user_frame().rax = message.mrs[0];
    } else {
        write_message(c.user_frame(), 0, &message);
    }
    c.ipc.waiting = None;
    c.ipc.token = fresh_token();
    c.state = State::Ready;
    let Some(m) = s.thread(me) else {
        return;
    };
    m.ipc.reply_to = None;
    m.ipc.waiting = Some(IpcWait::Recv);
    m.ipc.token = fresh_token();
    m.ipc.badge = 0;
    m.state = State::Blocked;
    ep.receivers.push_back(Waiter {
        thread: me,
        token: m.ipc.token,
    });
    let next = s.fast_switch(me, client);
    drop(guard);
    drop(k);
    leave_to(next)
}
