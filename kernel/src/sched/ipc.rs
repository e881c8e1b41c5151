//! The scheduler's half of IPC: blocking a thread in an IPC wait, checking
//! that a queued waiter is still waiting, completing a wait, timeouts,
//! cancellation, and what a dying thread owes its partners.
//!
//! A thread blocked in IPC has `ipc.waiting` set and a `token` that changes
//! on every transition; endpoint queues hold `(thread, token)` pairs, so an
//! entry whose thread timed out, was cancelled or died is simply skipped
//! when it reaches the front. Whoever completes a wait writes the results
//! into the waiting thread's saved user registers (its `TrapFrame`) and
//! makes it ready; the woken thread returns them to user mode as they are
//! (straight from its frame, or after reading them back in its syscall).

use super::thread::{IpcWait, Thread};
use super::{with_sched, Scheduler, State, ThreadId};
use crate::arch::x86_64::trap_entry::TrapFrame;
use bulkhead_abi::Error;
use core::sync::atomic::{AtomicU64, Ordering};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A wait token never used before: a queue entry left behind by a thread
/// that died can never match a later thread in the same slot.
pub fn fresh_token() -> u64 {
    NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
}

/// `N` consecutive tokens never used before (the first is returned): one
/// atomic operation where a fast path needs several.
#[inline(always)]
pub fn fresh_tokens<const N: u64>() -> u64 {
    NEXT_TOKEN.fetch_add(N, Ordering::Relaxed)
}

/// A queued IPC waiter: which thread, and the token it blocked with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiter {
    pub thread: ThreadId,
    pub token: u64,
}

/// Blocks the current thread in `wait` (it must then call
/// [`super::schedule`] once every lock is released) and returns its queue
/// entry. With `timeout_ticks`, the wait ends with `TimedOut` after that
/// many timer ticks.
pub fn block_current(wait: IpcWait, badge: u64, grant: bool, timeout_ticks: Option<u64>) -> Waiter {
    with_sched(|s| block_current_in(s, wait, badge, grant, timeout_ticks))
}

/// [`block_current`] with the scheduler already locked.
#[inline(always)]
pub(crate) fn block_current_in(
    s: &mut Scheduler,
    wait: IpcWait,
    badge: u64,
    grant: bool,
    timeout_ticks: Option<u64>,
) -> Waiter {
    let me = s.current();
    // SAFETY: the running thread's boxed record (`current_record`), never
    // freed while it is current; this borrow ends before `s` is used.
    let t = unsafe { &mut *s.current_record };
    t.ipc.waiting = Some(wait);
    t.ipc.token = fresh_token();
    t.ipc.badge = badge;
    t.ipc.grant = grant;
    t.state = State::Blocked;
    let token = t.ipc.token;
    if let Some(ticks) = timeout_ticks {
        let at = crate::time::ticks() + ticks.max(1);
        s.sleepers.push((at, me, Some(token)));
    }
    Waiter { thread: me, token }
}

/// Blocks until the current thread's IPC wait has been completed (spurious
/// wake-ups go back to sleep).
pub fn wait_for_completion() {
    wait_parked(Err(()));
}

/// [`wait_for_completion`] for a thread whose first switch away was
/// already decided under the lock that blocked it
/// ([`Scheduler::park_current`]): makes that switch (or, for `Err`,
/// schedules), then, once resumed, goes back to sleep until the wait is
/// really over. One scheduler lock per wake-up.
pub(crate) fn wait_parked(first: Result<Option<super::Switch>, ()>) {
    match first {
        Ok(Some(switch)) => switch.make(),
        Ok(None) => {}
        Err(()) => super::schedule(),
    }
    loop {
        let done = with_sched(|s| {
            let me = s.current();
            match s.thread(me) {
                Some(t) if t.ipc.waiting.is_some() => {
                    t.state = State::Blocked;
                    false
                }
                _ => true,
            }
        });
        if done {
            return;
        }
        super::schedule();
    }
}

/// The waiter's IPC state if it is still waiting with that token.
pub fn still_waiting(w: Waiter) -> Option<(IpcWait, u64, bool)> {
    with_sched(|s| still_waiting_in(s, w))
}

/// [`still_waiting`] with the scheduler already locked.
pub(crate) fn still_waiting_in(s: &mut Scheduler, w: Waiter) -> Option<(IpcWait, u64, bool)> {
    let t = s.thread(w.thread)?;
    let wait = t.ipc.waiting.filter(|_| t.ipc.token == w.token)?;
    Some((wait, t.ipc.badge, t.ipc.grant))
}

/// The record of `w`'s thread if it still waits with that token and is
/// not the running thread (which waits for nothing: a blocked thread runs
/// again only once its wait is over). The record is boxed, so the pointer
/// stays valid while the scheduler is locked.
#[inline(always)]
pub(crate) fn live_waiter(s: &mut Scheduler, w: Waiter) -> Option<*mut Thread> {
    if w.thread == s.current() {
        return None;
    }
    let t = s.thread(w.thread)?;
    (t.ipc.token == w.token && t.ipc.waiting.is_some()).then_some(t as *mut Thread)
}

/// Ends `w`'s wait: runs `fill` on its saved registers and makes it ready.
/// Returns false (doing nothing) if it no longer waits with that token.
pub fn complete(w: Waiter, fill: impl FnOnce(&mut TrapFrame)) -> bool {
    with_sched(|s| complete_in(s, w, fill))
}

/// [`complete`] with the scheduler already locked.
#[inline(always)]
pub(crate) fn complete_in(s: &mut Scheduler, w: Waiter, fill: impl FnOnce(&mut TrapFrame)) -> bool {
    let Some(t) = s.thread_ptr(w.thread) else {
        return false;
    };
    // SAFETY: a boxed record of the scheduler's table, reached by nothing
    // else while the scheduler is locked; `end_wait` takes the record and
    // the rest of the scheduler separately.
    let t = unsafe { &mut *t };
    if t.ipc.token != w.token || t.ipc.waiting.is_none() {
        return false;
    }
    fill_registers(t, fill);
    end_wait(s, t);
    true
}

/// Writes the results of `t`'s wait with `fill`: into its saved
/// registers, or for a container member through
/// `container_call::complete_forwarded` (a kernel thread has none).
#[inline(always)]
pub(crate) fn fill_registers(t: &mut Thread, fill: impl FnOnce(&mut TrapFrame)) {
    if t.linux.is_some() {
        crate::container_call::complete_forwarded(t, fill);
    } else if t.user {
        fill(t.user_frame());
    }
}

/// Ends the IPC wait of `t` (a record of `s`'s table, found still waiting,
/// whose results are already written): a new token, its timeout's entry
/// dropped, and ready to run.
#[inline(always)]
pub(crate) fn end_wait(s: &mut Scheduler, t: &mut Thread) {
    t.ipc.waiting = None;
    t.ipc.token = fresh_token();
    if !s.sleepers.is_empty() {
        let id = t.id;
        s.sleepers
            .retain(|(_, sleeper, token)| !(*sleeper == id && token.is_some()));
    }
    s.make_ready_thread(t);
}

/// Ends `w`'s wait with `error` in its `rax`.
pub fn fail(w: Waiter, error: Error) -> bool {
    complete(w, |f| f.rax = error as u64)
}

/// Moves the sender `t` (the thread of the live entry `w`) whose Call was
/// received into the reply wait, and returns its serial, which the
/// receiver keeps with its id as its reply target.
pub(crate) fn await_reply_rec(s: &mut Scheduler, w: Waiter, t: &mut Thread) -> u64 {
    t.ipc.token = fresh_token();
    // A Call's timeout covers the wait for the reply too.
    let mut timed = false;
    for entry in s.sleepers.iter_mut() {
        if entry.1 == w.thread && entry.2 == Some(w.token) {
            entry.2 = Some(t.ipc.token);
            timed = true;
        }
    }
    t.ipc.waiting = Some(IpcWait::reply(timed));
    t.serial
}

/// Timer expiry of an IPC wait made with `token`.
pub(super) fn time_out(s: &mut Scheduler, id: ThreadId, token: u64) {
    complete_in(s, Waiter { thread: id, token }, |f| {
        f.rax = Error::TimedOut as u64
    });
}

/// Cancels thread `id`'s IPC wait, if it has one. Returns true if it did.
pub fn cancel(id: ThreadId) -> bool {
    with_sched(|s| {
        let token = match s.thread(id) {
            Some(t) if t.ipc.waiting.is_some() => t.ipc.token,
            _ => return false,
        };
        complete_in(s, Waiter { thread: id, token }, |f| {
            f.rax = Error::Cancelled as u64
        })
    })
}

/// A dying thread: its own waits become stale, and a caller waiting for
/// its reply learns that the partner is gone.
pub(super) fn on_thread_end(s: &mut Scheduler, id: ThreadId) {
    let Some(t) = s.thread(id) else { return };
    t.ipc.waiting = None;
    t.ipc.token = fresh_token();
    let Some((client, serial)) = t.ipc.reply_to.take() else {
        return;
    };
    let waiting_client = s
        .thread(client)
        .filter(|c| c.serial == serial && c.ipc.waiting.is_some_and(IpcWait::is_reply))
        .map(|c| c.ipc.token);
    if let Some(token) = waiting_client {
        complete_in(
            s,
            Waiter {
                thread: client,
                token,
            },
            |f| f.rax = Error::PartnerGone as u64,
        );
    }
}

/// Sets a thread's IPC buffer.
pub fn set_buffer(id: ThreadId, buffer: (u64, u64)) -> bool {
    with_sched(|s| s.thread(id).map(|t| t.ipc.buffer = buffer).is_some())
}
