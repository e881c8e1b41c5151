//! Capability tables and the capability derivation tree (CDT), as pure logic.
//!
//! Every kernel object is reached only through a [`Capability`] held in a
//! slot of a capability table. A [`CapSpace`] owns all tables; user code names
//! a table with a [`TableId`] and a slot with a [`CapRef`], both of which carry
//! a generation so that a handle to a slot (or table) that was emptied and
//! reused is rejected as stale instead of silently naming the new occupant.
//!
//! Capabilities are derived from one another by [`CapSpace::copy`] and
//! [`CapSpace::mint`]; each derived capability is a CDT child of its source,
//! names the same object, has at most the source's [`Rights`], and keeps the
//! source's badge (mint sets a badge on an unbadged source). This makes
//! [`CapSpace::revoke`] possible: it removes every capability derived, directly
//! or not, from a given one, in any table. The model is seL4's CDT, simplified:
//! the tree is explicit (parent, first child, doubly linked siblings).
//!
//! Invariants kept by every operation, and verified by
//! [`CapSpace::check_invariants`]:
//! - CDT links are symmetric and acyclic, only occupied slots carry links;
//! - a child names its parent's object, has a subset of its parent's rights,
//!   and either the parent's badge or a badge minted from an unbadged parent;
//! - a slot's generation changes every time the slot is emptied.
//!
//! Every operation validates all of its inputs before changing anything, so
//! an operation that returns an error leaves the space exactly as it was.
//! Memory is allocated only by [`CapSpace::create_table`] (and by the
//! diagnostic [`CapSpace::check_invariants`]); the kernel charges a table's
//! memory to its owner at creation. The crate is generic over the kernel's
//! object reference type `O` and contains no `unsafe`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod cdt;
mod handle;
mod invariants;
mod space;
mod table;

use core::fmt;

/// Slot handles and rights are the ABI's own types, so kernel and user code
/// exchange them without conversion.
pub use bulkhead_abi::{CapRef, Rights};
pub use handle::TableId;
pub use space::{CapSpace, Children, RevokeProgress};

/// Largest capacity of one table, in slots.
pub const MAX_TABLE_SLOTS: u32 = 65536;
/// Largest number of tables that can exist at the same time.
pub const MAX_TABLES: u32 = 1 << 20;

/// A capability: an object reference, what may be done with it, and a badge.
///
/// `O` is the kernel's object reference type (an index, a pointer wrapper,
/// ...). The badge is a word the holder can read (`CapInfo`) but not change;
/// the object's server will receive it with each invocation, so it tells
/// clients apart. `0` means unbadged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capability<O> {
    /// The kernel object this capability names.
    pub object: O,
    /// What the holder may do with the object.
    pub rights: Rights,
    /// Identifies the holder to the object's server; `0` = unbadged.
    pub badge: u64,
}

impl<O> Capability<O> {
    /// An unbadged capability.
    pub const fn new(object: O, rights: Rights) -> Self {
        Capability {
            object,
            rights,
            badge: 0,
        }
    }

    /// Whether a badge has been set.
    pub const fn is_badged(&self) -> bool {
        self.badge != 0
    }
}

/// Why a capability operation failed. The kernel maps these to ABI errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapError {
    /// The table id names no live table (never created, or destroyed).
    InvalidTable,
    /// The slot index is outside the table (this includes [`CapRef::NULL`]).
    InvalidIndex,
    /// The handle's generation is not the slot's: the capability it named
    /// was removed (and the slot possibly reused).
    Stale,
    /// The handle names an empty slot of the current generation.
    Empty,
    /// The capability lacks a right the operation needs.
    InsufficientRights,
    /// The destination table has no free slot.
    TableFull,
    /// Mint from a capability that already carries a badge.
    BadgeAlreadySet,
    /// Mint with badge `0`, which means "unbadged".
    InvalidBadge,
    /// Table capacity `0` or above [`MAX_TABLE_SLOTS`].
    BadCapacity,
    /// The requested destination slot already holds a capability.
    SlotOccupied,
    /// [`MAX_TABLES`] tables already exist.
    TooManyTables,
    /// Allocating a table's memory failed.
    OutOfMemory,
}

impl CapError {
    /// A short description of the error.
    pub const fn as_str(self) -> &'static str {
        match self {
            CapError::InvalidTable => "invalid or destroyed capability table",
            CapError::InvalidIndex => "slot index out of range",
            CapError::Stale => "stale capability handle",
            CapError::Empty => "empty capability slot",
            CapError::InsufficientRights => "insufficient rights",
            CapError::TableFull => "capability table full",
            CapError::BadgeAlreadySet => "capability already badged",
            CapError::InvalidBadge => "badge 0 means unbadged",
            CapError::BadCapacity => "bad table capacity",
            CapError::SlotOccupied => "slot occupied",
            CapError::TooManyTables => "too many capability tables",
            CapError::OutOfMemory => "out of memory",
        }
    }
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for CapError {}

#[cfg(test)]
mod tests;
