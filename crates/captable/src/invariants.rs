//! [`CapSpace::check_invariants`]: a full consistency check of the space.
//!
//! Meant for tests and for a kernel self-check, not for hot paths: it walks
//! every slot and allocates a visited map. It checks, in order:
//! 1. per table: `used` matches the occupied slots and the free hint is the
//!    lowest empty slot;
//! 2. per slot: an empty slot has no links; every link of an occupied slot
//!    points at an occupied slot of a live table, and is mirrored (a child's
//!    parent lists it, siblings are doubly linked, roots have no siblings);
//!    a child derives legally from its parent (same object, subset of its
//!    rights, same badge or minted from an unbadged parent);
//! 3. the tree: walking down from every root reaches every occupied slot
//!    exactly once, which rules out cycles and orphaned sibling chains.
//!
//! Generations need no cross-check: any value is valid for a slot, and the
//! table code alone bumps them when a slot is emptied.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

use crate::handle::SlotId;
use crate::space::CapSpace;
use crate::table::{Link, Slot, Table};
use crate::{Capability, MAX_TABLE_SLOTS};

type Check = Result<(), String>;

impl<O: Copy + Eq + Debug> CapSpace<O> {
    /// Verifies every structural invariant; describes the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut occupied = 0;
        for (table_index, entry) in self.tables.iter().enumerate() {
            if let Some(table) = &entry.table {
                check_table_counts(table_index, table)?;
                occupied += table.used() as usize;
                self.check_table_links(table_index as u32, table)?;
            }
        }
        self.check_forest(occupied)
    }

    fn check_table_links(&self, table_index: u32, table: &Table<O>) -> Check {
        for (index, slot) in table.slots().iter().enumerate() {
            let id = SlotId {
                table: table_index,
                index: index as u32,
            };
            self.check_slot(id, slot)?;
        }
        Ok(())
    }

    fn check_slot(&self, id: SlotId, slot: &Slot<O>) -> Check {
        let Some(cap) = &slot.cap else {
            return expect(slot.links.is_none(), || {
                format!("{id:?}: empty slot has links")
            });
        };
        let links = slot.links;
        for link in [
            links.parent,
            links.first_child,
            links.next_sibling,
            links.prev_sibling,
        ] {
            self.occupied_target(id, link)?;
        }
        self.check_parent(id, cap, links.parent, links.prev_sibling)?;
        self.check_siblings(id, links.parent, links.prev_sibling, links.next_sibling)?;
        if let Some(child) = links.first_child {
            let child_links = self.links(child);
            expect(
                child_links.parent == Some(id) && child_links.prev_sibling.is_none(),
                || format!("{id:?}: first child {child:?} does not point back"),
            )?;
        }
        Ok(())
    }

    /// The capability at `link`, which must be an occupied slot of a live table.
    fn occupied_target(&self, from: SlotId, link: Link) -> Result<Option<&Capability<O>>, String> {
        let Some(to) = link else { return Ok(None) };
        let slot = self
            .tables
            .get(to.table as usize)
            .and_then(|entry| entry.table.as_ref())
            .and_then(|table| table.slots().get(to.index as usize));
        match slot.and_then(|slot| slot.cap.as_ref()) {
            Some(cap) => Ok(Some(cap)),
            None => Err(format!("{from:?}: link to dead or empty {to:?}")),
        }
    }

    fn check_parent(&self, id: SlotId, cap: &Capability<O>, parent: Link, prev: Link) -> Check {
        let Some(parent_cap) = self.occupied_target(id, parent)? else {
            return Ok(());
        };
        if prev.is_none() {
            let first = self.links(parent.expect("checked")).first_child;
            expect(first == Some(id), || {
                format!("{id:?}: no previous sibling but not its parent's first child")
            })?;
        }
        expect(derives_from(cap, parent_cap), || {
            format!("{id:?}: {cap:?} cannot derive from parent {parent_cap:?}")
        })
    }

    fn check_siblings(&self, id: SlotId, parent: Link, prev: Link, next: Link) -> Check {
        if parent.is_none() {
            return expect(prev.is_none() && next.is_none(), || {
                format!("{id:?}: root with siblings")
            });
        }
        if let Some(prev) = prev {
            let prev_links = self.links(prev);
            expect(
                prev_links.next_sibling == Some(id) && prev_links.parent == parent,
                || format!("{id:?}: previous sibling {prev:?} does not point back"),
            )?;
        }
        if let Some(next) = next {
            let next_links = self.links(next);
            expect(
                next_links.prev_sibling == Some(id) && next_links.parent == parent,
                || format!("{id:?}: next sibling {next:?} does not point back"),
            )?;
        }
        Ok(())
    }

    /// Walks every tree from its root and checks each occupied slot is
    /// reached exactly once.
    fn check_forest(&self, occupied: usize) -> Check {
        let mut visited = self.visited_map();
        let mut count = 0;
        for (table_index, entry) in self.tables.iter().enumerate() {
            let Some(table) = &entry.table else { continue };
            for (index, slot) in table.slots().iter().enumerate() {
                if slot.cap.is_some() && slot.links.parent.is_none() {
                    let root = SlotId {
                        table: table_index as u32,
                        index: index as u32,
                    };
                    count += self.walk_tree(root, &mut visited)?;
                }
            }
        }
        expect(count == occupied, || {
            format!(
                "{} occupied slots unreachable from any root",
                occupied - count
            )
        })
    }

    fn visited_map(&self) -> Vec<Vec<bool>> {
        let size = |table: &Option<Table<O>>| table.as_ref().map_or(0, |t| t.capacity());
        self.tables
            .iter()
            .map(|entry| alloc::vec![false; size(&entry.table) as usize])
            .collect()
    }

    /// Pre-order walk of the tree under `root` without recursion; returns the
    /// number of nodes, or an error on a node reached twice.
    fn walk_tree(&self, root: SlotId, visited: &mut [Vec<bool>]) -> Result<usize, String> {
        let mut count = 0;
        let mut node = root;
        loop {
            let seen = &mut visited[node.table as usize][node.index as usize];
            if *seen {
                return Err(format!("{node:?} reached twice: the tree has a cycle"));
            }
            *seen = true;
            count += 1;
            if let Some(child) = self.links(node).first_child {
                node = child;
                continue;
            }
            match self.next_in_preorder(root, node) {
                Some(next) => node = next,
                None => return Ok(count),
            }
        }
    }

    /// The next sibling of `node` or of its nearest ancestor below `root`.
    fn next_in_preorder(&self, root: SlotId, mut node: SlotId) -> Option<SlotId> {
        while node != root {
            let links = self.links(node);
            if links.next_sibling.is_some() {
                return links.next_sibling;
            }
            node = links.parent?;
        }
        None
    }
}

fn check_table_counts<O: Copy>(table_index: usize, table: &Table<O>) -> Check {
    let capacity = table.slots().len();
    expect(capacity > 0 && capacity <= MAX_TABLE_SLOTS as usize, || {
        format!("table {table_index}: bad capacity {capacity}")
    })?;
    let used = table.slots().iter().filter(|s| s.cap.is_some()).count();
    expect(used == table.used() as usize, || {
        format!(
            "table {table_index}: used {} but {used} occupied",
            table.used()
        )
    })?;
    let lowest_free = table.slots().iter().position(|s| s.cap.is_none());
    let expected_hint = lowest_free.unwrap_or(capacity);
    expect(expected_hint == table.free_hint() as usize, || {
        format!(
            "table {table_index}: free hint {} but lowest free {expected_hint}",
            table.free_hint()
        )
    })
}

/// Whether `child` could have been copied or minted from `parent`.
fn derives_from<O: Eq>(child: &Capability<O>, parent: &Capability<O>) -> bool {
    child.object == parent.object
        && parent.rights.contains(child.rights)
        && (child.badge == parent.badge || parent.badge == 0)
}

fn expect(condition: bool, describe: impl FnOnce() -> String) -> Check {
    if condition {
        Ok(())
    } else {
        Err(describe())
    }
}
