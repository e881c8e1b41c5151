//! The capability derivation tree: link surgery on a [`CapSpace`].
//!
//! Every occupied slot is a node. A node's children are a doubly linked list
//! (`first_child`, then `next_sibling`/`prev_sibling`), each child pointing
//! back with `parent`. Roots (original capabilities) have no parent and no
//! siblings: the roots are not linked to each other.
//!
//! Everything here is iterative: derivation chains can be as deep as the
//! number of slots in the space, so no function recurses. These are the
//! "perform" halves of the public operations; callers have already checked
//! that every [`SlotId`] they pass is occupied (or, for a destination, empty),
//! so a violated expectation here is a bug in this crate and panics.

use crate::handle::SlotId;
use crate::space::CapSpace;
use crate::table::Links;
use crate::Capability;

impl<O: Copy + Eq + core::fmt::Debug> CapSpace<O> {
    pub(crate) fn links(&self, id: SlotId) -> &Links {
        &self.table_at(id.table).slot(id.index).links
    }

    fn links_mut(&mut self, id: SlotId) -> &mut Links {
        &mut self.table_at_mut(id.table).slot_mut(id.index).links
    }

    /// Makes the unlinked-from-siblings node `child` the first child of `parent`.
    pub(crate) fn link_child(&mut self, parent: SlotId, child: SlotId) {
        let old_first = self.links(parent).first_child;
        let links = self.links_mut(child);
        links.parent = Some(parent);
        links.prev_sibling = None;
        links.next_sibling = old_first;
        if let Some(first) = old_first {
            self.links_mut(first).prev_sibling = Some(child);
        }
        self.links_mut(parent).first_child = Some(child);
    }

    /// Detaches `node` from its parent and siblings; its children stay.
    fn unlink_from_parent(&mut self, node: SlotId) {
        let Links {
            parent,
            next_sibling,
            prev_sibling,
            ..
        } = *self.links(node);
        match (prev_sibling, parent) {
            (Some(prev), _) => self.links_mut(prev).next_sibling = next_sibling,
            (None, Some(parent)) => self.links_mut(parent).first_child = next_sibling,
            (None, None) => {}
        }
        if let Some(next) = next_sibling {
            self.links_mut(next).prev_sibling = prev_sibling;
        }
        let links = self.links_mut(node);
        links.parent = None;
        links.next_sibling = None;
        links.prev_sibling = None;
    }

    /// Moves every child of `node` under `new_parent`, or makes them roots.
    fn reparent_children(&mut self, node: SlotId, new_parent: Option<SlotId>) {
        while let Some(child) = self.links(node).first_child {
            self.unlink_from_parent(child);
            if let Some(parent) = new_parent {
                self.link_child(parent, child);
            }
        }
    }

    /// Removes `node` from the tree and its slot; its children move up to
    /// its parent (or become roots). Returns the removed capability.
    pub(crate) fn remove_node(&mut self, node: SlotId) -> Capability<O> {
        let parent = self.links(node).parent;
        self.unlink_from_parent(node);
        self.reparent_children(node, parent);
        self.invalidate_lookups();
        self.table_at_mut(node.table).vacate(node.index)
    }

    /// Removes up to `budget` descendants of `root`, deepest first, in a
    /// loop that walks down to a leaf, removes it, and resumes at its
    /// parent. Returns how many were removed and whether none remain.
    pub(crate) fn remove_descendants(
        &mut self,
        root: SlotId,
        budget: usize,
        on_removed: &mut impl FnMut(Capability<O>),
    ) -> (usize, bool) {
        let mut removed = 0;
        let mut cursor = root;
        loop {
            if removed == budget {
                return (removed, self.links(root).first_child.is_none());
            }
            if let Some(child) = self.links(cursor).first_child {
                cursor = child;
                continue;
            }
            if cursor == root {
                return (removed, true);
            }
            let parent = self
                .links(cursor)
                .parent
                .expect("descendant without parent");
            on_removed(self.remove_node(cursor));
            removed += 1;
            cursor = parent;
        }
    }

    /// Moves the capability in `from` to the empty slot `to`, keeping its
    /// place in the tree; `from` is emptied (its generation bumped).
    pub(crate) fn relocate(&mut self, from: SlotId, to: SlotId) {
        let links = *self.links(from);
        self.point_neighbours_at(&links, from, to);
        *self.links_mut(from) = Links::NONE;
        self.invalidate_lookups();
        let cap = self.table_at_mut(from.table).vacate(from.index);
        self.table_at_mut(to.table).fill(to.index, cap);
        *self.links_mut(to) = links;
    }

    /// Redirects every link that points at `old` (per its `links`) to `new`.
    fn point_neighbours_at(&mut self, links: &Links, old: SlotId, new: SlotId) {
        match (links.prev_sibling, links.parent) {
            (Some(prev), _) => self.links_mut(prev).next_sibling = Some(new),
            (None, Some(parent)) => {
                debug_assert_eq!(self.links(parent).first_child, Some(old));
                self.links_mut(parent).first_child = Some(new);
            }
            (None, None) => {}
        }
        if let Some(next) = links.next_sibling {
            self.links_mut(next).prev_sibling = Some(new);
        }
        let mut child = links.first_child;
        while let Some(current) = child {
            let child_links = self.links_mut(current);
            child_links.parent = Some(new);
            child = child_links.next_sibling;
        }
    }
}
