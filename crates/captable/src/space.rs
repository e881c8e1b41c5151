//! [`CapSpace`]: all capability tables and the operations on them.
//!
//! Each public operation first decodes and checks every input (table ids,
//! handles, rights, badges, destination space) without side effects, and
//! only then performs the change, which cannot fail. So an operation that
//! returns an error leaves the space exactly as it was.
//!
//! Semantics (seL4's, simplified):
//! - **delete** removes one capability; its CDT children survive and move up
//!   to its parent (or become roots if it had none), so deleting one copy
//!   never takes away capabilities derived through it. Only revoke does.
//! - **revoke** removes every CDT descendant of a capability, in any table,
//!   but not the capability itself.
//! - **destroy_table** deletes every capability in the table as by delete,
//!   in slot order; descendants elsewhere move up to the nearest surviving
//!   ancestor (or become roots). The table id then becomes invalid.
//! - **move** relocates a capability, keeping its place in the tree.
//!
//! Rights: copy and mint need [`Rights::COPY`]; copy, mint and move into a
//! different table also need [`Rights::GRANT`]. Delete and revoke need no
//! right on the capability: holding the slot is enough (the kernel may ask
//! more). `on_removed` receives every removed capability exactly once, so
//! the kernel can drop its object references.

use alloc::vec::Vec;
use core::fmt::Debug;

use crate::handle::{SlotId, TableId};
use crate::table::{Link, Table};
use crate::{CapError, CapRef, Capability, Rights, MAX_TABLES};

/// A table entry: the table, if live, and the generation of its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableEntry<O> {
    pub generation: u32,
    pub table: Option<Table<O>>,
}

/// Every capability table of the system, and the derivation tree across them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapSpace<O> {
    pub(crate) tables: Vec<TableEntry<O>>,
    /// The removal epoch: changes whenever a capability stops naming what
    /// it named (a slot emptied by delete, revoke, move or a table's
    /// destruction) and whenever [`CapSpace::invalidate_lookups`] is
    /// called. A lookup result remembered together with the epoch it was
    /// made in is still exact while the epoch is unchanged.
    pub(crate) epoch: u64,
}

/// What [`CapSpace::revoke_bounded`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevokeProgress {
    /// Descendants removed by this call.
    pub removed: usize,
    /// Whether the capability has no descendants left.
    pub complete: bool,
}

/// Rights and badge of a capability being derived.
#[derive(Clone, Copy)]
struct Derivation {
    rights_mask: Rights,
    badge: Option<u64>,
}

impl<O: Copy + Eq + Debug> Default for CapSpace<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O: Copy + Eq + Debug> CapSpace<O> {
    /// An empty space with no tables. Does not allocate.
    pub const fn new() -> Self {
        CapSpace {
            tables: Vec::new(),
            epoch: 0,
        }
    }

    /// The removal epoch (see the field's documentation): a remembered
    /// lookup made in this epoch still holds, since no slot has been
    /// emptied, no table destroyed and nothing invalidated since.
    #[inline(always)]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Starts a new epoch, so that every remembered lookup is checked
    /// again: for the user of the space's own reasons (an object that
    /// capabilities named was destroyed or moved in memory).
    #[inline]
    pub fn invalidate_lookups(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    // ----- tables -----

    /// Creates a table of `capacity` empty slots, reusing the lowest free
    /// table entry. Fails with `BadCapacity` if `capacity` is 0 or above
    /// [`crate::MAX_TABLE_SLOTS`], `TooManyTables`, or `OutOfMemory`.
    pub fn create_table(&mut self, capacity: u32) -> Result<TableId, CapError> {
        let table = Table::with_capacity(capacity)?;
        let index = match self.tables.iter().position(|e| e.table.is_none()) {
            Some(index) => index,
            None => self.push_entry()?,
        };
        let entry = &mut self.tables[index];
        entry.table = Some(table);
        Ok(TableId::new(index as u32, entry.generation))
    }

    fn push_entry(&mut self) -> Result<usize, CapError> {
        if self.tables.len() >= MAX_TABLES as usize {
            return Err(CapError::TooManyTables);
        }
        self.tables
            .try_reserve(1)
            .map_err(|_| CapError::OutOfMemory)?;
        self.tables.push(TableEntry {
            generation: 0,
            table: None,
        });
        Ok(self.tables.len() - 1)
    }

    /// Deletes every capability in `table` (as [`CapSpace::delete`] does, in
    /// slot order), frees the table and invalidates its id. Returns how many
    /// capabilities were removed.
    pub fn destroy_table(
        &mut self,
        table: TableId,
        mut on_removed: impl FnMut(Capability<O>),
    ) -> Result<usize, CapError> {
        let capacity = self.table(table)?.capacity();
        let mut removed = 0;
        for index in 0..capacity {
            if self.table_at(table.index()).slot(index).cap.is_some() {
                let node = SlotId {
                    table: table.index(),
                    index,
                };
                on_removed(self.remove_node(node));
                removed += 1;
            }
        }
        let entry = &mut self.tables[table.index() as usize];
        entry.table = None;
        entry.generation = entry.generation.wrapping_add(1);
        self.invalidate_lookups();
        Ok(removed)
    }

    /// Whether `table` names a live table.
    pub fn table_exists(&self, table: TableId) -> bool {
        self.table(table).is_ok()
    }

    /// How many tables are live.
    pub fn table_count(&self) -> usize {
        self.tables.iter().filter(|e| e.table.is_some()).count()
    }

    /// The number of slots of `table`.
    pub fn table_capacity(&self, table: TableId) -> Result<u32, CapError> {
        Ok(self.table(table)?.capacity())
    }

    /// The number of occupied slots of `table`.
    pub fn table_used(&self, table: TableId) -> Result<u32, CapError> {
        Ok(self.table(table)?.used())
    }

    // ----- roots and lookup -----

    /// Stores a new original capability (a CDT root) in the lowest free slot.
    pub fn insert_root(&mut self, table: TableId, cap: Capability<O>) -> Result<CapRef, CapError> {
        let index = self.table(table)?.find_free()?;
        Ok(self.table_at_mut(table.index()).fill(index, cap))
    }

    /// Stores a new original capability in the empty slot `index`.
    pub fn insert_root_at(
        &mut self,
        table: TableId,
        index: u32,
        cap: Capability<O>,
    ) -> Result<CapRef, CapError> {
        let index = self.table(table)?.check_free_at(index)?;
        Ok(self.table_at_mut(table.index()).fill(index, cap))
    }

    /// The capability `r` names in `table`.
    pub fn lookup(&self, table: TableId, r: CapRef) -> Result<&Capability<O>, CapError> {
        let id = self.resolve(table, r)?;
        Ok(self.cap_at(id))
    }

    /// The capability `r` names in `table`, or `None` for any reason
    /// [`CapSpace::lookup`] would give an error: the short form for hot
    /// paths that only need to know whether it is there.
    #[inline(always)]
    pub fn get(&self, table: TableId, r: CapRef) -> Option<Capability<O>> {
        let entry = self.tables.get(table.index() as usize)?;
        if entry.generation != table.generation() {
            return None;
        }
        let slot = entry.table.as_ref()?.slots().get(r.index() as usize)?;
        if slot.generation != r.generation() {
            return None;
        }
        slot.cap
    }

    /// Like [`CapSpace::lookup`], but fails with `InsufficientRights` unless
    /// the capability has every right in `required`.
    pub fn lookup_with(
        &self,
        table: TableId,
        r: CapRef,
        required: Rights,
    ) -> Result<&Capability<O>, CapError> {
        let cap = self.lookup(table, r)?;
        check_rights(cap.rights, required)?;
        Ok(cap)
    }

    // ----- derivation -----

    /// Derives a copy of `src` into the lowest free slot of `dst_table`, with
    /// rights `src.rights & rights_mask` and the same badge, as a CDT child
    /// of `src`. Needs COPY on `src`, and GRANT if the tables differ.
    pub fn copy(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        rights_mask: Rights,
    ) -> Result<CapRef, CapError> {
        let how = Derivation {
            rights_mask,
            badge: None,
        };
        self.derive(src_table, src, dst_table, None, how)
    }

    /// [`CapSpace::copy`] into the empty slot `dst_index`.
    pub fn copy_at(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        dst_index: u32,
        rights_mask: Rights,
    ) -> Result<CapRef, CapError> {
        let how = Derivation {
            rights_mask,
            badge: None,
        };
        self.derive(src_table, src, dst_table, Some(dst_index), how)
    }

    /// Like [`CapSpace::copy`], but the new capability carries `badge`.
    /// Fails with `InvalidBadge` if `badge` is 0 and `BadgeAlreadySet` if
    /// `src` is badged.
    pub fn mint(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        rights_mask: Rights,
        badge: u64,
    ) -> Result<CapRef, CapError> {
        let how = Derivation {
            rights_mask,
            badge: Some(badge),
        };
        self.derive(src_table, src, dst_table, None, how)
    }

    /// [`CapSpace::mint`] into the empty slot `dst_index`.
    pub fn mint_at(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        dst_index: u32,
        rights_mask: Rights,
        badge: u64,
    ) -> Result<CapRef, CapError> {
        let how = Derivation {
            rights_mask,
            badge: Some(badge),
        };
        self.derive(src_table, src, dst_table, Some(dst_index), how)
    }

    fn derive(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        dst_index: Option<u32>,
        how: Derivation,
    ) -> Result<CapRef, CapError> {
        let src_id = self.resolve(src_table, src)?;
        let source = *self.cap_at(src_id);
        let child = derived_capability(&source, src_table != dst_table, how)?;
        let index = self.table(dst_table)?.choose_free(dst_index)?;
        let r = self.table_at_mut(dst_table.index()).fill(index, child);
        let dst_id = SlotId {
            table: dst_table.index(),
            index,
        };
        self.link_child(src_id, dst_id);
        Ok(r)
    }

    /// Moves `src` to the lowest free slot of `dst_table`, keeping its CDT
    /// position; the old handle becomes stale. Needs GRANT if the tables differ.
    pub fn move_cap(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
    ) -> Result<CapRef, CapError> {
        self.move_to(src_table, src, dst_table, None)
    }

    /// [`CapSpace::move_cap`] into the empty slot `dst_index`.
    pub fn move_cap_at(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        dst_index: u32,
    ) -> Result<CapRef, CapError> {
        self.move_to(src_table, src, dst_table, Some(dst_index))
    }

    fn move_to(
        &mut self,
        src_table: TableId,
        src: CapRef,
        dst_table: TableId,
        dst_index: Option<u32>,
    ) -> Result<CapRef, CapError> {
        let src_id = self.resolve(src_table, src)?;
        let needed = transfer_rights(src_table != dst_table, Rights::empty());
        check_rights(self.cap_at(src_id).rights, needed)?;
        let index = self.table(dst_table)?.choose_free(dst_index)?;
        let dst_id = SlotId {
            table: dst_table.index(),
            index,
        };
        self.relocate(src_id, dst_id);
        Ok(self.table_at(dst_id.table).handle(index))
    }

    // ----- removal -----

    /// Removes the capability `r`; its CDT children move up to its parent
    /// (or become roots). `on_removed` receives the removed capability.
    pub fn delete(
        &mut self,
        table: TableId,
        r: CapRef,
        mut on_removed: impl FnMut(Capability<O>),
    ) -> Result<(), CapError> {
        let id = self.resolve(table, r)?;
        on_removed(self.remove_node(id));
        Ok(())
    }

    /// Removes every CDT descendant of `r`, in any table, but not `r`
    /// itself. Returns how many were removed.
    pub fn revoke(
        &mut self,
        table: TableId,
        r: CapRef,
        on_removed: impl FnMut(Capability<O>),
    ) -> Result<usize, CapError> {
        let progress = self.revoke_bounded(table, r, usize::MAX, on_removed)?;
        Ok(progress.removed)
    }

    /// Like [`CapSpace::revoke`], but removes at most `budget` descendants
    /// (deepest first), so the kernel can bound the time it holds its lock
    /// and call again until `complete`.
    pub fn revoke_bounded(
        &mut self,
        table: TableId,
        r: CapRef,
        budget: usize,
        mut on_removed: impl FnMut(Capability<O>),
    ) -> Result<RevokeProgress, CapError> {
        let id = self.resolve(table, r)?;
        let (removed, complete) = self.remove_descendants(id, budget, &mut on_removed);
        Ok(RevokeProgress { removed, complete })
    }

    // ----- queries -----

    /// The occupied slots of `table`, by index.
    pub fn iter_table(
        &self,
        table: TableId,
    ) -> Result<impl Iterator<Item = (CapRef, &Capability<O>)> + '_, CapError> {
        Ok(self.table(table)?.iter())
    }

    /// The lowest slot of `table` holding a capability to `object`.
    pub fn find_object(&self, table: TableId, object: O) -> Option<CapRef> {
        let mut caps = self.iter_table(table).ok()?;
        caps.find(|(_, cap)| cap.object == object).map(|(r, _)| r)
    }

    /// The CDT parent of `r`: where it was derived from, if anywhere.
    pub fn parent_of(
        &self,
        table: TableId,
        r: CapRef,
    ) -> Result<Option<(TableId, CapRef)>, CapError> {
        let id = self.resolve(table, r)?;
        Ok(self.links(id).parent.map(|p| self.public_ref(p)))
    }

    /// The direct CDT children of `r`, most recently derived first.
    pub fn children_of(&self, table: TableId, r: CapRef) -> Result<Children<'_, O>, CapError> {
        let id = self.resolve(table, r)?;
        Ok(Children {
            space: self,
            next: self.links(id).first_child,
        })
    }

    // ----- internal access -----

    /// The live table `id` names.
    pub(crate) fn table(&self, id: TableId) -> Result<&Table<O>, CapError> {
        match self.tables.get(id.index() as usize) {
            Some(entry) if entry.generation == id.generation() => {
                entry.table.as_ref().ok_or(CapError::InvalidTable)
            }
            _ => Err(CapError::InvalidTable),
        }
    }

    /// The live table at entry `index`; panics if there is none.
    pub(crate) fn table_at(&self, index: u32) -> &Table<O> {
        self.tables[index as usize]
            .table
            .as_ref()
            .expect("link to a dead table")
    }

    pub(crate) fn table_at_mut(&mut self, index: u32) -> &mut Table<O> {
        self.tables[index as usize]
            .table
            .as_mut()
            .expect("link to a dead table")
    }

    /// Decodes a user handle to an occupied slot.
    fn resolve(&self, table: TableId, r: CapRef) -> Result<SlotId, CapError> {
        let index = self.table(table)?.resolve(r)?;
        Ok(SlotId {
            table: table.index(),
            index,
        })
    }

    fn cap_at(&self, id: SlotId) -> &Capability<O> {
        let slot = self.table_at(id.table).slot(id.index);
        slot.cap.as_ref().expect("empty slot in use")
    }

    /// The current user-visible names of slot `id`.
    fn public_ref(&self, id: SlotId) -> (TableId, CapRef) {
        let generation = self.tables[id.table as usize].generation;
        let table = TableId::new(id.table, generation);
        (table, self.table_at(id.table).handle(id.index))
    }
}

/// Iterator over the direct CDT children of a capability.
pub struct Children<'a, O> {
    space: &'a CapSpace<O>,
    next: Link,
}

impl<O: Copy + Eq + Debug> Iterator for Children<'_, O> {
    type Item = (TableId, CapRef);

    fn next(&mut self) -> Option<Self::Item> {
        let current = self.next?;
        self.next = self.space.links(current).next_sibling;
        Some(self.space.public_ref(current))
    }
}

fn check_rights(have: Rights, required: Rights) -> Result<(), CapError> {
    if have.contains(required) {
        Ok(())
    } else {
        Err(CapError::InsufficientRights)
    }
}

/// `base`, plus GRANT when the capability leaves its table.
fn transfer_rights(cross_table: bool, base: Rights) -> Rights {
    if cross_table {
        base | Rights::GRANT
    } else {
        base
    }
}

/// The capability `source` yields under `how`, or why it may not.
fn derived_capability<O: Copy>(
    source: &Capability<O>,
    cross_table: bool,
    how: Derivation,
) -> Result<Capability<O>, CapError> {
    check_rights(source.rights, transfer_rights(cross_table, Rights::COPY))?;
    let badge = match how.badge {
        None => source.badge,
        Some(0) => return Err(CapError::InvalidBadge),
        Some(_) if source.is_badged() => return Err(CapError::BadgeAlreadySet),
        Some(badge) => badge,
    };
    Ok(Capability {
        object: source.object,
        rights: source.rights & how.rights_mask,
        badge,
    })
}
