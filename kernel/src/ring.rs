//! [`Ring`]: the FIFO the kernel's hot queues use (an endpoint's senders
//! and receivers, the scheduler's ready threads at each priority).
//!
//! A ring buffer whose capacity is 0 or a power of two, grown (doubled)
//! only when full, so that queueing and taking an entry are a few
//! instructions inline: the IPC fast path pops a receiver on each Call and
//! pushes one on each ReplyRecv, and every slow-path hand-over queues the
//! woken partner and the scheduler takes it straight off again.
//!
//! Invariant: `len <= slots.len()`, and the entries are
//! `slots[(head + i) & (slots.len() - 1)]` for `i < len`.

use alloc::vec::Vec;

/// A FIFO of small `Copy` entries.
#[derive(Debug, Default)]
pub struct Ring<T> {
    /// The ring; its length is the capacity.
    slots: Vec<T>,
    /// Index of the first entry.
    head: usize,
    /// How many entries are queued.
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    /// Smallest capacity allocated.
    const MIN_CAPACITY: usize = 4;

    /// An empty ring (allocates nothing).
    pub const fn new() -> Self {
        Ring {
            slots: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    /// True if nothing is queued.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first entry.
    #[inline(always)]
    pub fn front(&self) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        self.slots.get(self.head)
    }

    /// Takes the first entry.
    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<T> {
        let entry = *self.front()?;
        self.discard_front();
        Some(entry)
    }

    /// Drops the first entry (if any) without reading it: for a caller
    /// that has just looked at it with [`Ring::front`].
    #[inline(always)]
    pub fn discard_front(&mut self) {
        if self.len != 0 {
            self.head = (self.head + 1) & (self.slots.len() - 1);
            self.len -= 1;
        }
    }

    /// Queues `entry` last.
    #[inline(always)]
    pub fn push_back(&mut self, entry: T) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let i = (self.head + self.len) & (self.slots.len() - 1);
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = entry;
            self.len += 1;
        }
    }

    /// Keeps only the entries for which `keep` holds, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(T) -> bool) {
        for _ in 0..self.len {
            if let Some(entry) = self.pop_front() {
                if keep(entry) {
                    self.push_back(entry);
                }
            }
        }
    }

    /// The entries in order, emptying the ring.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(|| self.pop_front())
    }

    /// Doubles the capacity, moving the entries to the start in order.
    #[inline(never)]
    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(Self::MIN_CAPACITY);
        let mut slots = Vec::with_capacity(capacity);
        slots.extend(core::iter::from_fn(|| self.pop_front()));
        let len = slots.len();
        slots.resize(capacity, T::default());
        (self.slots, self.head, self.len) = (slots, 0, len);
    }
}
