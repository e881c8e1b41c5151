//! One capability table: a fixed array of slots, allocated once.
//!
//! A [`Table`] knows nothing about other tables; it stores each slot's
//! capability, generation and CDT links (which [`crate::CapSpace`] maintains),
//! and decodes [`CapRef`]s against its slots.
//!
//! Invariants:
//! - the slot vector never grows or shrinks after creation;
//! - `used` is the number of occupied slots;
//! - `free_hint` is the index of the lowest empty slot, or the capacity when
//!   the table is full, so finding the lowest free slot is O(1) except when
//!   filling the hinted slot, which scans forward;
//! - an empty slot has no CDT links (checked by the space).

use alloc::vec::Vec;

use crate::handle::SlotId;
use crate::{CapError, CapRef, Capability, MAX_TABLE_SLOTS};

/// A CDT link: the slot it points to, if any.
pub(crate) type Link = Option<SlotId>;

/// A slot's position in the capability derivation tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Links {
    pub parent: Link,
    pub first_child: Link,
    pub next_sibling: Link,
    pub prev_sibling: Link,
}

impl Links {
    pub const NONE: Links = Links {
        parent: None,
        first_child: None,
        next_sibling: None,
        prev_sibling: None,
    };

    pub fn is_none(&self) -> bool {
        *self == Links::NONE
    }
}

/// One slot: generation, optional capability, CDT links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot<O> {
    pub generation: u32,
    pub cap: Option<Capability<O>>,
    pub links: Links,
}

impl<O> Slot<O> {
    const EMPTY: Slot<O> = Slot {
        generation: 0,
        cap: None,
        links: Links::NONE,
    };
}

/// A fixed-capacity table of slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table<O> {
    slots: Vec<Slot<O>>,
    used: u32,
    free_hint: u32,
}

impl<O: Copy> Table<O> {
    /// A table of `capacity` empty slots; the only allocation of the crate.
    pub fn with_capacity(capacity: u32) -> Result<Self, CapError> {
        if capacity == 0 || capacity > MAX_TABLE_SLOTS {
            return Err(CapError::BadCapacity);
        }
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(capacity as usize)
            .map_err(|_| CapError::OutOfMemory)?;
        slots.resize(capacity as usize, Slot::EMPTY);
        Ok(Table {
            slots,
            used: 0,
            free_hint: 0,
        })
    }

    pub fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    pub fn used(&self) -> u32 {
        self.used
    }

    pub fn free_hint(&self) -> u32 {
        self.free_hint
    }

    #[inline(always)]
    pub fn slots(&self) -> &[Slot<O>] {
        &self.slots
    }

    pub fn slot(&self, index: u32) -> &Slot<O> {
        &self.slots[index as usize]
    }

    pub fn slot_mut(&mut self, index: u32) -> &mut Slot<O> {
        &mut self.slots[index as usize]
    }

    /// The current handle of slot `index`.
    pub fn handle(&self, index: u32) -> CapRef {
        CapRef::new(index, self.slot(index).generation)
    }

    /// Decodes `r` to the index of an occupied slot.
    pub fn resolve(&self, r: CapRef) -> Result<u32, CapError> {
        let slot = self
            .slots
            .get(r.index() as usize)
            .ok_or(CapError::InvalidIndex)?;
        if slot.generation != r.generation() {
            return Err(CapError::Stale);
        }
        if slot.cap.is_none() {
            return Err(CapError::Empty);
        }
        Ok(r.index())
    }

    /// Checks that slot `index` exists and is empty.
    pub fn check_free_at(&self, index: u32) -> Result<u32, CapError> {
        let slot = self
            .slots
            .get(index as usize)
            .ok_or(CapError::InvalidIndex)?;
        match slot.cap {
            Some(_) => Err(CapError::SlotOccupied),
            None => Ok(index),
        }
    }

    /// The lowest empty slot.
    pub fn find_free(&self) -> Result<u32, CapError> {
        if self.free_hint < self.capacity() {
            Ok(self.free_hint)
        } else {
            Err(CapError::TableFull)
        }
    }

    /// Either the requested slot (which must be empty) or the lowest free one.
    pub fn choose_free(&self, index: Option<u32>) -> Result<u32, CapError> {
        match index {
            Some(index) => self.check_free_at(index),
            None => self.find_free(),
        }
    }

    /// Puts `cap` in the empty slot `index`, with no links; returns its handle.
    pub fn fill(&mut self, index: u32, cap: Capability<O>) -> CapRef {
        let slot = self.slot_mut(index);
        debug_assert!(slot.cap.is_none() && slot.links.is_none());
        slot.cap = Some(cap);
        self.used += 1;
        if index == self.free_hint {
            self.advance_free_hint();
        }
        self.handle(index)
    }

    fn advance_free_hint(&mut self) {
        let start = self.free_hint as usize;
        let next = self.slots[start..]
            .iter()
            .position(|slot| slot.cap.is_none())
            .map_or(self.slots.len(), |offset| start + offset);
        self.free_hint = next as u32;
    }

    /// Empties slot `index` (whose links must already be cleared), bumps its
    /// generation, and returns the capability it held.
    pub fn vacate(&mut self, index: u32) -> Capability<O> {
        let slot = self.slot_mut(index);
        debug_assert!(slot.links.is_none());
        let cap = slot.cap.take().expect("vacating an empty slot");
        slot.generation = slot.generation.wrapping_add(1);
        self.used -= 1;
        self.free_hint = self.free_hint.min(index);
        cap
    }

    /// Handles and capabilities of the occupied slots, by index.
    pub fn iter(&self) -> impl Iterator<Item = (CapRef, &Capability<O>)> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let r = CapRef::new(index as u32, slot.generation);
            slot.cap.as_ref().map(|cap| (r, cap))
        })
    }
}
