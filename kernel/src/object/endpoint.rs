//! `Endpoint` and `Notification`: the rendezvous points of IPC.
//!
//! An endpoint holds two queues of blocked threads, senders (and callers)
//! and receivers; at most one of them is non-empty at a time, because a
//! sender that finds a receiver (or the reverse) hands the message over at
//! once. A notification is a word of signal bits plus a queue of waiters.
//! A fault report that finds no receiver waits on the endpoint (a bounded
//! queue of kernel-made messages) until one comes. Queue entries are
//! [`Waiter`]s, which go stale by themselves when their
//! thread stops waiting (timeout, cancel, death), so nothing has to search
//! the queues. Deleting either object wakes every waiter with
//! `PartnerGone`.
//!
//! The queues are [`WaitQueue`]s, small ring buffers ([`crate::ring`])
//! whose every operation is a few instructions inline, because the IPC
//! fast path pops a receiver on each Call and pushes one on each ReplyRecv.

use crate::sched::ipc::{self, Waiter};
use alloc::collections::VecDeque;
use bulkhead_abi::Error;

/// A FIFO of waiters ([`crate::ring::Ring`]).
pub type WaitQueue = crate::ring::Ring<Waiter>;

/// A synchronous IPC endpoint.
#[derive(Debug, Default)]
pub struct Endpoint {
    pub senders: WaitQueue,
    pub receivers: WaitQueue,
    /// Fault reports (badge, MR0..MR3) that found no receiver waiting; a
    /// receive takes these before any sender. At most
    /// [`MAX_PENDING_FAULTS`]: each is a thread that died, and the oldest
    /// are dropped first.
    pub pending_faults: VecDeque<(u64, [u64; 4])>,
}

/// Fault reports an endpoint keeps for a receiver that is not waiting.
pub const MAX_PENDING_FAULTS: usize = 64;

/// Asynchronous signal bits.
#[derive(Debug, Default)]
pub struct Notification {
    pub bits: u64,
    pub waiters: WaitQueue,
}

/// Pops the first entry of `queue` that still waits.
pub fn pop_live(queue: &mut WaitQueue) -> Option<Waiter> {
    while let Some(w) = queue.pop_front() {
        if ipc::still_waiting(w).is_some() {
            return Some(w);
        }
    }
    None
}

/// [`pop_live`] with the scheduler already locked, for the running
/// thread's IPC: also gives the waiter's record (`ipc::live_waiter`).
#[inline(always)]
pub(crate) fn pop_live_in(
    queue: &mut WaitQueue,
    s: &mut crate::sched::Scheduler,
) -> Option<(Waiter, *mut crate::sched::Thread)> {
    while let Some(w) = queue.pop_front() {
        if let Some(t) = ipc::live_waiter(s, w) {
            return Some((w, t));
        }
    }
    None
}

impl Endpoint {
    /// Wakes every waiter with `PartnerGone` (the endpoint is going away).
    pub fn wake_all(mut self) {
        let (senders, receivers) = (&mut self.senders, &mut self.receivers);
        for w in senders.drain().chain(receivers.drain()) {
            ipc::fail(w, Error::PartnerGone);
        }
    }
}

impl Notification {
    /// Wakes every waiter with `PartnerGone` (the notification is going away).
    pub fn wake_all(mut self) {
        for w in self.waiters.drain() {
            ipc::fail(w, Error::PartnerGone);
        }
    }
}
