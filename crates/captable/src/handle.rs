//! Handles: [`TableId`] names a table, [`crate::CapRef`] (the ABI's type) a
//! slot in a table.
//!
//! Both pack a 32-bit index (low half) and a 32-bit generation (high half)
//! into a `u64`, which is what crosses the system-call ABI. The generation of
//! a slot is bumped every time the slot is emptied, and the generation of a
//! table entry every time the table is destroyed, so a handle kept past the
//! death of what it named is rejected ([`crate::CapError::Stale`] for slots,
//! [`crate::CapError::InvalidTable`] for tables) rather than reaching the
//! next occupant. Generations wrap after 2^32 reuses of the same slot.
//!
//! Inside the space, CDT links use [`SlotId`], which holds only the table's
//! index: a link never outlives its table (destroying a table first removes
//! every capability in it), so it needs no generation.

use core::fmt;

/// Names one table of a [`crate::CapSpace`]: index and generation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(u64);

impl TableId {
    /// The id of table entry `index` at `generation`.
    pub const fn new(index: u32, generation: u32) -> Self {
        TableId(((generation as u64) << 32) | index as u64)
    }

    /// Reinterprets a raw word.
    pub const fn from_raw(raw: u64) -> Self {
        TableId(raw)
    }

    /// The raw word.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The table entry index (low 32 bits).
    pub const fn index(self) -> u32 {
        self.0 as u32
    }

    /// The table entry generation (high 32 bits).
    pub const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Debug for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableId({}@{})", self.index(), self.generation())
    }
}

/// Internal address of a slot: table entry index and slot index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SlotId {
    pub table: u32,
    pub index: u32,
}
