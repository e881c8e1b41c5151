//! [`ReadyQueue`]: the FIFO of ready threads of one priority.
//!
//! A ring buffer whose capacity is 0 or a power of two, grown (doubled)
//! only when full, like the endpoints' `WaitQueue`: queueing and taking
//! a thread are a few instructions inline, which matters because every
//! slow-path IPC hand-over queues the woken partner and the scheduler
//! takes it straight off again.

use super::ThreadId;
use alloc::vec::Vec;

/// Ready threads of one priority, first in first out.
#[derive(Debug, Default)]
pub(super) struct ReadyQueue {
    /// The ring; its length is the capacity.
    slots: Vec<ThreadId>,
    /// Index of the first thread.
    head: usize,
    /// How many threads are queued.
    len: usize,
}

impl ReadyQueue {
    /// Smallest capacity allocated.
    const MIN_CAPACITY: usize = 4;

    /// An empty queue (allocates nothing).
    pub(super) const fn new() -> Self {
        ReadyQueue {
            slots: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    /// True if no thread is queued.
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes the first thread.
    #[inline(always)]
    pub(super) fn pop_front(&mut self) -> Option<ThreadId> {
        if self.len == 0 {
            return None;
        }
        let id = *self.slots.get(self.head)?;
        self.head = (self.head + 1) & (self.slots.len() - 1);
        self.len -= 1;
        Some(id)
    }

    /// Queues `id` last.
    #[inline(always)]
    pub(super) fn push_back(&mut self, id: ThreadId) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let i = (self.head + self.len) & (self.slots.len() - 1);
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = id;
            self.len += 1;
        }
    }

    /// Keeps only the threads for which `keep` holds, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(ThreadId) -> bool) {
        for _ in 0..self.len {
            if let Some(id) = self.pop_front() {
                if keep(id) {
                    self.push_back(id);
                }
            }
        }
    }

    /// Doubles the capacity, moving the threads to the start in order.
    #[inline(never)]
    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(Self::MIN_CAPACITY);
        let mut slots = Vec::with_capacity(capacity);
        slots.extend(core::iter::from_fn(|| self.pop_front()));
        let len = slots.len();
        slots.resize(capacity, 0);
        (self.slots, self.head, self.len) = (slots, 0, len);
    }
}
