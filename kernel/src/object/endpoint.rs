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

use crate::sched::ipc::{self, Waiter};
use alloc::collections::VecDeque;
use bulkhead_abi::Error;

/// A synchronous IPC endpoint.
#[derive(Debug, Default)]
pub struct Endpoint {
    pub senders: VecDeque<Waiter>,
    pub receivers: VecDeque<Waiter>,
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
    pub waiters: VecDeque<Waiter>,
}

/// Pops the first entry of `queue` that still waits.
pub fn pop_live(queue: &mut VecDeque<Waiter>) -> Option<Waiter> {
    while let Some(w) = queue.pop_front() {
        if ipc::still_waiting(w).is_some() {
            return Some(w);
        }
    }
    None
}

impl Endpoint {
    /// Wakes every waiter with `PartnerGone` (the endpoint is going away).
    pub fn wake_all(self) {
        for w in self.senders.into_iter().chain(self.receivers) {
            ipc::fail(w, Error::PartnerGone);
        }
    }
}

impl Notification {
    /// Wakes every waiter with `PartnerGone` (the notification is going away).
    pub fn wake_all(self) {
        for w in self.waiters {
            ipc::fail(w, Error::PartnerGone);
        }
    }
}
